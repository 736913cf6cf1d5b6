import { readFile } from "node:fs/promises";
import { keccak256, type Hex } from "viem";
import { decodeFeatures, encodeFeatures, toDataUri } from "../model/encoding.js";
import { VerificationMode } from "../protocol/modes.js";
import { fieldToBytes32 } from "../protocol/zk.js";
import { inputCommitment } from "../zk/commitment.js";
import { IRIS_ZK_PARAMS, type ZkCircuitParams } from "../zk/params.js";
import { quantizeInput, quantizeOnnx, type QuantizedMlp } from "../zk/quantize.js";
import { OpgError } from "./errors.js";

/** A request input ready to open: its canonical bytes, what the request commits to, and where it travels. */
export interface PreparedInput {
  features: number[];
  bytes: Uint8Array;
  inputHash: Hex;
  inputUri: string;
}

/** `"5.1, 3.5,1.4 0.2"` → numbers; a clear error names the bad item. */
export function parseFeatures(text: string): number[] {
  const items = text.split(/[\s,]+/).filter((s) => s !== "");
  if (items.length === 0) throw new OpgError("BadInput", "the input is empty: give comma-separated numbers");
  return items.map((item, i) => {
    const value = Number(item);
    if (!Number.isFinite(value))
      throw new OpgError("BadInput", `input value ${i + 1} is not a number: "${item}"`);
    return value;
  });
}

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
  const bytes = encodeFeatures(features);
  let inputHash: Hex;
  if (mode === VerificationMode.Zk) {
    if (zkModel === undefined) throw new OpgError("BadInput", "zk mode needs the model file (--model-file)");
    inputHash = await zkInputCommitment(zkModel, bytes);
  } else {
    inputHash = keccak256(bytes);
  }
  return { features: [...features], bytes, inputHash, inputUri: toDataUri(bytes) };
}
