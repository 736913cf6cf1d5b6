/**
 * The zk audit tools a browser can run (each a tool of `AuditTools`): Groth16 verification with snarkjs, the circuit's
 * Poseidon input commitment (circomlibjs) and the fixed-point re-run of the circuit's quantized model. The heavy code
 * (snarkjs, circomlibjs, the ONNX reader) is imported on demand, the first time a tool runs, so a page that audits
 * only signature-mode requests never fetches it. The verification key comes from the caller (the explorer fetches
 * `circuits/build/verification_key.json` from its own build; Node reads it with `loadVerificationKey`).
 */
import type { Hex } from "viem";
import type { AuditTools } from "../audit/audit.js";
import { decodeFeatures } from "../model/encoding.js";
import { fieldToBytes32, ZK_PUBLIC_SIGNALS, type ZkProofArgs } from "../protocol/zk.js";
import { IRIS_ZK_PARAMS, type ZkCircuitParams } from "../zk/params.js";
import type { Groth16VerificationKey } from "../zk/prover.js";
import type { QuantizedMlp } from "../zk/quantize.js";
import { snarkjsProof } from "../zk/settlement.js";

export type { Groth16VerificationKey } from "../zk/prover.js";

/** A verification key, or a way to get it when the first proof is checked (e.g. a fetch). */
export type VerificationKeySource = Groth16VerificationKey | (() => Promise<Groth16VerificationKey>);

/** The zk tools of an audit, as `auditRequest` and `auditReceipt` take them. */
export type BrowserZkTools = Pick<AuditTools, "verifyZkProof" | "zkInputCommitment" | "runZkModel">;

/**
 * Checks that a parsed JSON value is a bn128 Groth16 verification key with the protocol's four public signals (as
 * `loadVerificationKey` does in Node) and returns it typed; throws naming what is wrong.
 */
export function parseVerificationKey(json: unknown): Groth16VerificationKey {
  const key = (typeof json === "object" && json !== null ? json : {}) as Partial<Record<string, unknown>>;
  if (key.protocol !== "groth16" || key.curve !== "bn128" || key.nPublic !== ZK_PUBLIC_SIGNALS) {
    throw new Error(`not a bn128 Groth16 verification key with ${ZK_PUBLIC_SIGNALS} public signals`);
  }
  for (const field of ["vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"]) {
    if (!Array.isArray(key[field])) throw new Error(`verification key: ${field} is missing`);
  }
  return key as unknown as Groth16VerificationKey;
}

/** `verifyZkProof` with snarkjs's `groth16.verify` (loaded on first use) and the given key. */
export function browserVerifyZkProof(key: VerificationKeySource): NonNullable<AuditTools["verifyZkProof"]> {
  let vkey: Promise<Groth16VerificationKey> | undefined;
  return async (signals: readonly bigint[], proof: ZkProofArgs) => {
    vkey ??= typeof key === "function" ? key() : Promise.resolve(key);
    const [snarkjs, resolved] = await Promise.all([import("snarkjs"), vkey]);
    return snarkjs.groth16.verify(
      resolved,
      signals.map((s) => s.toString()),
      snarkjsProof(proof),
    );
  };
}

/**
 * The circuit's input commitment of canonical input bytes (float32 LE features): each feature quantized to the
 * circuit's fixed point, packed and hashed with circomlib's Poseidon; the input hash of a zk request. Without a
 * model, the features are all the input holds, at the Iris circuit's parameters (the one circuit this repository
 * compiles); with its quantized model, the model's width and parameters.
 */
export async function browserZkInputCommitment(
  input: Uint8Array,
  model?: QuantizedMlp,
  params: ZkCircuitParams = model?.params ?? IRIS_ZK_PARAMS,
): Promise<Hex> {
  const [{ inputCommitment }, { quantizeValue }] = await Promise.all([
    import("../zk/commitment.js"),
    import("../zk/quantize.js"),
  ]);
  const features = decodeFeatures(input, model?.sizes[0]);
  const quantized = Array.from(features, (v, i) => quantizeValue(v, params, `input[${i}]`));
  return fieldToBytes32(await inputCommitment(quantized, params));
}

/** The circuit's quantized twin of an ONNX model file, or `undefined` when the circuit cannot hold it. */
export async function browserQuantizedModel(
  modelFile: Uint8Array,
  params: ZkCircuitParams = IRIS_ZK_PARAMS,
): Promise<QuantizedMlp | undefined> {
  const { quantizeOnnx } = await import("../zk/quantize.js");
  try {
    return quantizeOnnx(modelFile, params);
  } catch {
    return undefined;
  }
}

/** The fixed-point re-run: the class the circuit computes for canonical input bytes. */
export async function browserRunZkModel(model: QuantizedMlp, input: Uint8Array): Promise<bigint> {
  const [{ quantizeInput }, { fixedPointForward }] = await Promise.all([
    import("../zk/quantize.js"),
    import("../zk/reference.js"),
  ]);
  const x = quantizeInput(decodeFeatures(input, model.sizes[0]), model);
  return BigInt(fixedPointForward(model, x).label);
}

/**
 * The zk tools for an audit in a browser: proof verification when a key is given, the input commitment always (with
 * the model's parameters when the model file is one the circuit holds), and the fixed-point re-run with the model
 * file. A model file the circuit cannot hold (not a dense ReLU MLP within the limits) gives no re-run.
 */
export async function browserZkTools(options: {
  verificationKey?: VerificationKeySource;
  modelFile?: Uint8Array;
}): Promise<BrowserZkTools> {
  const model = options.modelFile === undefined ? undefined : await browserQuantizedModel(options.modelFile);
  return {
    ...(options.verificationKey === undefined
      ? {}
      : { verifyZkProof: browserVerifyZkProof(options.verificationKey) }),
    zkInputCommitment: (input) => browserZkInputCommitment(input, model),
    ...(model === undefined ? {} : { runZkModel: (input) => browserRunZkModel(model, input) }),
  };
}
