import { readFile } from "node:fs/promises";
import type { Hex } from "viem";
import { decodeFeatures } from "../model/encoding.js";
import { VerificationMode } from "../protocol/modes.js";
import { fieldToBytes32 } from "../protocol/zk.js";
import { inputCommitment } from "../zk/commitment.js";
import { IRIS_ZK_PARAMS, type ZkCircuitParams } from "../zk/params.js";
import { quantizeInput, quantizeOnnx, type QuantizedMlp } from "../zk/quantize.js";
import { OpgError } from "./errors.js";
import { prepareSignatureInput, type PreparedInput } from "./features.js";

export { checkFeatures, parseFeatures, type PreparedInput } from "./features.js";

/** The quantized twin of an ONNX MLP file, for zk commitments. */
export async function quantizedModel(
  modelFile: string | Uint8Array,
  params: ZkCircuitParams = IRIS_ZK_PARAMS,
): Promise<QuantizedMlp> {
  const bytes = typeof modelFile === "string" ? new Uint8Array(await readFile(modelFile)) : modelFile;
  return quantizeOnnx(bytes, params);
}

/** The zk input commitment (Poseidon of the quantized input) of canonical input bytes. */
export async function zkInputCommitment(model: QuantizedMlp, bytes: Uint8Array): Promise<Hex> {
  const width = model.sizes[0];
  const features = decodeFeatures(bytes, width);
  return fieldToBytes32(await inputCommitment(quantizeInput(features, model), model.params));
}

/**
 * Encode features as float32 LE, carry them in a `data:` URI, and commit to them: keccak256 of the bytes for
 * signature mode, the circuit's Poseidon commitment for zk mode (which needs the quantized model).
 */
export async function prepareInput(
  features: readonly number[],
  mode: VerificationMode = VerificationMode.Signature,
  zkModel?: QuantizedMlp,
): Promise<PreparedInput> {
  const prepared = prepareSignatureInput(features);
  if (mode !== VerificationMode.Zk) return prepared;
  if (zkModel === undefined)
    throw new OpgError("BadInput", "zk mode needs the quantized model (quantizedModel)");
  return { ...prepared, inputHash: await zkInputCommitment(zkModel, prepared.bytes) };
}
