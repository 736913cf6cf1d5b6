/**
 * Circuit compilation and the Groth16 trusted setup (powers of tau, then the circuit-specific
 * phase 2), with progress and per-phase timings. Run by scripts/zk-setup.ts and scripts/zk-scale.ts,
 * never by tests or CI: at 2^13 the setup takes minutes on a 2-core machine.
 *
 * Every contribution here is made by this one process, so the result is a single-party setup:
 * whoever can read this process's memory could keep the toxic waste and forge proofs. A production
 * deployment runs the same steps as a public ceremony (see docs/zk.md).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import * as snarkjs from "snarkjs";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

export interface PhaseTiming {
  readonly phase: string;
  readonly ms: number;
}

export interface CompiledCircuit {
  readonly r1cs: string;
  readonly wasm: string;
  readonly sym: string;
  readonly constraints: number;
  readonly publicInputs: number;
  readonly outputs: number;
  readonly privateInputs: number;
  readonly wires: number;
  readonly ms: number;
}

export type Log = (message: string) => void;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** A snarkjs logger that forwards `info` lines (and errors) to `log`. */
function snarkLogger(log: Log, prefix: string): snarkjs.SnarkjsLogger {
  return {
    info: (m) => {
      log(`${prefix}${m}`);
    },
    debug: () => undefined,
    log: (m) => {
      log(`${prefix}${m}`);
    },
    warn: (m) => {
      log(`${prefix}warning: ${m}`);
    },
    error: (m) => {
      log(`${prefix}error: ${m}`);
    },
  };
}

/**
 * Compiles a circom file with circom2 (`--O2 --r1cs --wasm --sym`, circomlib on the include path)
 * (plus `includeDirs`) into `outDir`, and reads the constraint count back from the r1cs.
 */
export async function compileCircuit(
  circuitFile: string,
  outDir: string,
  log: Log = () => undefined,
  includeDirs: readonly string[] = [],
): Promise<CompiledCircuit> {
  await mkdir(outDir, { recursive: true });
  const cli = join(CIRCOM2_ROOT, "cli.js");
  const nodeModules = join(CIRCOM2_ROOT, "..");
  const start = performance.now();
  const { stdout } = await run(
    process.execPath,
    [
      cli,
      circuitFile,
      "--O2",
      "--r1cs",
      "--wasm",
      "--sym",
      "-l",
      nodeModules,
      ...includeDirs.flatMap((dir) => ["-l", dir]),
      "-o",
      outDir,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const ms = performance.now() - start;
  const wires = /wires: (\d+)/.exec(stdout)?.[1];
  const name = basename(circuitFile, ".circom");
  const r1cs = join(outDir, `${name}.r1cs`);
  const info = await snarkjs.r1cs.info(r1cs);
  log(`compiled ${name}: ${info.nConstraints} constraints in ${(ms / 1000).toFixed(1)} s`);
  return {
    r1cs,
    wasm: join(outDir, `${name}_js`, `${name}.wasm`),
    sym: join(outDir, `${name}.sym`),
    constraints: info.nConstraints,
    publicInputs: info.nPubInputs,
    outputs: info.nOutputs,
    privateInputs: info.nPrvInputs,
    wires: wires === undefined ? info.nVars : Number(wires),
    ms,
  };
}

/** The smallest power of tau snarkjs accepts for a circuit (its own rule in zkey new). */
export function requiredPower(
  circuit: Pick<CompiledCircuit, "constraints" | "publicInputs" | "outputs">,
): number {
  const n = circuit.constraints + circuit.publicInputs + circuit.outputs;
  return Math.max(8, Math.ceil(Math.log2(n + 1)));
}

export interface Contribution {
  readonly name: string;
  /** snarkjs's contribution (response) hash, hex. */
  readonly hash: string;
}

export interface Beacon {
  readonly name: string;
  /** The beacon value (hex); in production a public, unpredictable value such as a future block hash. */
  readonly value: string;
  /** 2^iterationsExp sequential SHA-256 hashes of the beacon value make the randomness. */
  readonly iterationsExp: number;
  readonly hash: string;
}

export interface SetupRecord {
  readonly circuit: string;
  readonly protocol: "groth16";
  readonly curve: "bn128";
  readonly snarkjs: string;
  readonly circom: string;
  readonly power: number;
  readonly constraints: number;
  readonly wires: number;
  readonly publicSignals: number;
  readonly privateInputs: number;
  readonly phase1: { readonly contributions: Contribution[]; readonly beacon: Beacon };
  readonly phase2: { readonly contributions: Contribution[]; readonly beacon: Beacon };
  readonly zkeyVerified: boolean;
  readonly timingsMs: Record<string, number>;
  readonly singleParty: true;
  readonly note: string;
}

export interface CeremonyOptions {
  readonly circuit: CompiledCircuit;
  readonly circuitName: string;
  /** Scratch directory for ptau files and intermediate zkeys (not kept). */
  readonly scratchDir: string;
  /** Where the final zkey goes. */
  readonly finalZkey: string;
  readonly contributors?: readonly string[];
  /** Beacon value (hex, 32 bytes); random when absent. */
  readonly beacon?: string;
  readonly beaconIterationsExp?: number;
  readonly log?: Log;
}

/** Root directory of an installed package (snarkjs's `exports` hide its package.json and templates). */
function packageRoot(name: string, entry: string): string {
  const resolved = require.resolve(name);
  const at = resolved.lastIndexOf(`${name}/${entry}`);
  if (at < 0) throw new Error(`cannot locate the ${name} package from ${resolved}`);
  return resolved.slice(0, at + name.length);
}

function packageVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

const SNARKJS_ROOT = packageRoot("snarkjs", "build/main.cjs");
const CIRCOM2_ROOT = packageRoot("circom2", "index.js");

/**
 * Powers of tau (bn128, the smallest sufficient power) with one contribution per contributor and a
 * beacon; phase-2 preparation; Groth16 circuit setup with one contribution per contributor and a
 * beacon; `zkey verify` against the r1cs and the final ptau. Returns the ceremony record.
 */
export async function runCeremony(options: CeremonyOptions): Promise<SetupRecord> {
  const log = options.log ?? (() => undefined);
  const contributors = options.contributors ?? ["contributor-1", "contributor-2"];
  const beaconValue = options.beacon ?? randomBytes(32).toString("hex");
  const iterationsExp = options.beaconIterationsExp ?? 10;
  const { circuit, scratchDir } = options;
  await mkdir(scratchDir, { recursive: true });
  const timings: Record<string, number> = { compile: Math.round(circuit.ms) };
  const power = requiredPower(circuit);

  async function phase<T>(name: string, body: () => Promise<T>): Promise<T> {
    log(`[${name}] ...`);
    const start = performance.now();
    const result = await body();
    const ms = performance.now() - start;
    timings[name] = Math.round(ms);
    log(`[${name}] done in ${(ms / 1000).toFixed(1)} s`);
    return result;
  }

  const curve = await snarkjs.curves.getCurveFromName("bn128");
  try {
    const ptau = (k: number | string) => join(scratchDir, `pot${power}_${k}.ptau`);
    await phase("ptau new", () =>
      snarkjs.powersOfTau.newAccumulator(curve, power, ptau(0), snarkLogger(log, "  ")),
    );
    const phase1: Contribution[] = [];
    for (const [i, name] of contributors.entries()) {
      const hash = await phase(`ptau contribute ${i + 1}`, () =>
        snarkjs.powersOfTau.contribute(ptau(i), ptau(i + 1), name, randomBytes(64).toString("hex")),
      );
      phase1.push({ name, hash: hex(hash) });
    }
    const n = contributors.length;
    const beacon1Hash = await phase("ptau beacon", () =>
      snarkjs.powersOfTau.beacon(ptau(n), ptau("beacon"), "phase-1 beacon", beaconValue, iterationsExp),
    );
    await phase("ptau prepare phase2", () =>
      snarkjs.powersOfTau.preparePhase2(ptau("beacon"), ptau("final"), snarkLogger(log, "  ")),
    );

    const zkey = (k: number | string) => join(scratchDir, `${options.circuitName}_${k}.zkey`);
    await phase("groth16 setup", () => snarkjs.zKey.newZKey(circuit.r1cs, ptau("final"), zkey(0)));
    const phase2: Contribution[] = [];
    for (const [i, name] of contributors.entries()) {
      const hash = await phase(`zkey contribute ${i + 1}`, () =>
        snarkjs.zKey.contribute(zkey(i), zkey(i + 1), name, randomBytes(64).toString("hex")),
      );
      phase2.push({ name, hash: hex(hash) });
    }
    const beacon2Hash = await phase("zkey beacon", () =>
      snarkjs.zKey.beacon(zkey(n), options.finalZkey, "phase-2 beacon", beaconValue, iterationsExp),
    );
    const verified = await phase("zkey verify", () =>
      snarkjs.zKey.verifyFromR1cs(circuit.r1cs, ptau("final"), options.finalZkey, snarkLogger(log, "  ")),
    );
    if (!verified)
      throw new Error("snarkjs zkey verify failed: the final zkey does not match the r1cs and ptau");
    for (let i = 0; i <= n; i++) await rm(zkey(i), { force: true });

    return {
      circuit: options.circuitName,
      protocol: "groth16",
      curve: "bn128",
      snarkjs: packageVersion(SNARKJS_ROOT),
      circom: `circom2@${packageVersion(CIRCOM2_ROOT)} (--O2)`,
      power,
      constraints: circuit.constraints,
      wires: circuit.wires,
      publicSignals: circuit.outputs + circuit.publicInputs,
      privateInputs: circuit.privateInputs,
      phase1: {
        contributions: phase1,
        beacon: { name: "phase-1 beacon", value: beaconValue, iterationsExp, hash: hex(beacon1Hash) },
      },
      phase2: {
        contributions: phase2,
        beacon: { name: "phase-2 beacon", value: beaconValue, iterationsExp, hash: hex(beacon2Hash) },
      },
      zkeyVerified: verified,
      timingsMs: timings,
      singleParty: true,
      note:
        "All contributions were made by one process on one machine: a single-party setup. Whoever knows its " +
        "randomness could forge proofs. Production needs a public multi-party ceremony (docs/zk.md).",
    };
  } finally {
    await curve.terminate();
  }
}

/**
 * The Solidity verifier snarkjs generates for a zkey, with the contract renamed and the pragma
 * pinned (the template's `>=0.7.0 <0.9.0` admits `0.8.37`).
 */
export async function solidityVerifier(
  zkeyFile: string,
  contractName: string,
  pragma = "0.8.37",
): Promise<string> {
  const template = await readFile(join(SNARKJS_ROOT, "templates", "verifier_groth16.sol.ejs"), "utf8");
  const source = await snarkjs.zKey.exportSolidityVerifier(zkeyFile, { groth16: template });
  if (!source.includes("pragma solidity >=0.7.0 <0.9.0;") || !source.includes("contract Groth16Verifier")) {
    throw new Error("unexpected snarkjs verifier template: pragma or contract name changed");
  }
  return source
    .replace("pragma solidity >=0.7.0 <0.9.0;", `pragma solidity ${pragma};`)
    .replace("contract Groth16Verifier", `contract ${contractName}`);
}
