// snarkjs ships no types: the package ships ours (types/), and this reference carries them into dist/zk/prover.d.ts.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../../types/snarkjs.d.ts" preserve="true" />
/** Groth16 proving and off-chain verification with snarkjs, and the Solidity calldata of a proof. */
import { readFile } from "node:fs/promises";
import * as snarkjs from "snarkjs";
import type { Groth16Proof, Groth16VerificationKey } from "snarkjs";
import { SNARK_SCALAR_FIELD, ZK_PUBLIC_SIGNALS } from "../protocol/zk.js";
import { IRIS_ZK_ARTIFACTS } from "./artifacts.js";
import type { MlpCircuitInput } from "./witness.js";

export type { Groth16Proof, Groth16VerificationKey } from "snarkjs";

export type ProvePhase = "witness" | "proving" | "done";

export interface ProveProgress {
  readonly phase: ProvePhase;
  /** "witness"/"proving": the phase starts (ms = 0); "done": total ms. */
  readonly ms: number;
  /** Milliseconds of the witness and proving phases, once known. */
  readonly witnessMs?: number;
  readonly provingMs?: number;
}

export interface ProveOptions {
  /** Witness generator; defaults to circuits/build/iris_mlp.wasm. */
  readonly wasm?: string;
  /** Proving key; defaults to circuits/build/iris_mlp_final.zkey. */
  readonly zkey?: string;
  readonly onProgress?: (progress: ProveProgress) => void;
}

export interface ZkProof {
  readonly proof: Groth16Proof;
  /** Decimal strings, `[out, weightCommitment, inputCommitment, binding]`. */
  readonly publicSignals: string[];
  readonly witnessMs: number;
  readonly provingMs: number;
}

/**
 * Proves one inference. Runs the two steps of snarkjs's `groth16.fullProve` (witness calculation
 * into memory, then `groth16.prove`) separately so that each phase can be reported and timed.
 * Throws (from the witness calculator) when an input is out of range.
 */
export async function prove(input: MlpCircuitInput, options: ProveOptions = {}): Promise<ZkProof> {
  const report = options.onProgress ?? (() => undefined);
  const wasm = options.wasm ?? IRIS_ZK_ARTIFACTS.wasm;
  const zkey = options.zkey ?? IRIS_ZK_ARTIFACTS.zkey;
  const start = performance.now();
  report({ phase: "witness", ms: 0 });
  const wtns: snarkjs.MemFile = { type: "mem" };
  await snarkjs.wtns.calculate(input, wasm, wtns);
  const witnessMs = performance.now() - start;
  report({ phase: "proving", ms: 0, witnessMs });
  const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns);
  const provingMs = performance.now() - start - witnessMs;
  report({ phase: "done", ms: witnessMs + provingMs, witnessMs, provingMs });
  if (publicSignals.length !== ZK_PUBLIC_SIGNALS) {
    throw new Error(`circuit has ${publicSignals.length} public signals, expected ${ZK_PUBLIC_SIGNALS}`);
  }
  return { proof, publicSignals, witnessMs, provingMs };
}

/** The full witness (all wires, wire 0 is the constant 1) for a circuit input; throws if a constraint fails. */
export async function calculateWitness(
  input: MlpCircuitInput,
  wasm: string = IRIS_ZK_ARTIFACTS.wasm,
): Promise<bigint[]> {
  const wtns: snarkjs.MemFile = { type: "mem" };
  await snarkjs.wtns.calculate(input, wasm, wtns);
  return snarkjs.wtns.exportJson(wtns);
}

export interface SolidityCalldata {
  readonly pA: [bigint, bigint];
  /** G2 point with each coordinate's two limbs swapped (snarkjs stores [c0, c1], the precompile wants [c1, c0]). */
  readonly pB: [[bigint, bigint], [bigint, bigint]];
  readonly pC: [bigint, bigint];
  /** `[out, weightCommitment, inputCommitment, binding]`. */
  readonly pubSignals: [bigint, bigint, bigint, bigint];
}

function fieldValue(value: string, what: string): bigint {
  const v = BigInt(value);
  if (v < 0n || v >= SNARK_SCALAR_FIELD * 8n) throw new RangeError(`${what} is out of range`);
  return v;
}

/** The arguments of `verifyProof(uint[2] _pA, uint[2][2] _pB, uint[2] _pC, uint[4] _pubSignals)`. */
export function toSolidityCalldata(proof: Groth16Proof, publicSignals: readonly string[]): SolidityCalldata {
  if (publicSignals.length !== ZK_PUBLIC_SIGNALS) {
    throw new RangeError(`expected ${ZK_PUBLIC_SIGNALS} public signals, got ${publicSignals.length}`);
  }
  const signals = publicSignals.map((s, i) => {
    const v = BigInt(s);
    if (v < 0n || v >= SNARK_SCALAR_FIELD) throw new RangeError(`public signal ${i} is not a field element`);
    return v;
  });
  const [a0, a1] = proof.pi_a;
  const [[b00, b01], [b10, b11]] = proof.pi_b;
  const [c0, c1] = proof.pi_c;
  return {
    pA: [fieldValue(a0, "pA"), fieldValue(a1, "pA")],
    pB: [
      [fieldValue(b01, "pB"), fieldValue(b00, "pB")],
      [fieldValue(b11, "pB"), fieldValue(b10, "pB")],
    ],
    pC: [fieldValue(c0, "pC"), fieldValue(c1, "pC")],
    pubSignals: [signals[0]!, signals[1]!, signals[2]!, signals[3]!],
  };
}

/** Off-chain Groth16 verification (snarkjs). */
export async function verifyOffchain(
  vkey: Groth16VerificationKey,
  publicSignals: readonly (string | bigint)[],
  proof: Groth16Proof,
): Promise<boolean> {
  return snarkjs.groth16.verify(
    vkey,
    publicSignals.map((s) => s.toString()),
    proof,
  );
}

/** Reads a verification key JSON (default: circuits/build/verification_key.json). */
export async function loadVerificationKey(
  path: string = IRIS_ZK_ARTIFACTS.vkey,
): Promise<Groth16VerificationKey> {
  const vkey = JSON.parse(await readFile(path, "utf8")) as Partial<
    Record<keyof Groth16VerificationKey, unknown>
  >;
  if (vkey.protocol !== "groth16" || vkey.curve !== "bn128" || vkey.nPublic !== ZK_PUBLIC_SIGNALS) {
    throw new Error(`${path} is not a bn128 Groth16 key with ${ZK_PUBLIC_SIGNALS} public signals`);
  }
  return vkey as Groth16VerificationKey;
}

/**
 * Stops snarkjs's worker threads (ffjavascript keeps the bn128 curve and its workers in a global
 * once used), so a script can exit without process.exit.
 */
export async function releaseZk(): Promise<void> {
  const holder = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  const curve = holder.curve_bn128;
  if (curve != null) {
    delete holder.curve_bn128;
    await curve.terminate();
  }
}
