/**
 * A local model file, checked against the registry BEFORE anything parses it: a wrong file is a failed hash check
 * ("<file> has sha256 X, model <id> commits to Y"), never a protobuf or ONNX error.
 */
import { readFile } from "node:fs/promises";
import type { Hex } from "viem";
import { sha256Hex } from "../model/hash.js";
import { readMlpOnnx } from "../model/onnx-mlp.js";
import { OpgError } from "../sdk/errors.js";
import type { OpgClient } from "../sdk/client.js";

/** A model file whose sha256 matches the registered version, and the shape read from it. */
export interface CheckedModelFile {
  path: string;
  bytes: Uint8Array;
  /** Values per sample the model takes. */
  inputWidth: number;
  /** Values per sample the model outputs (logits per row in signature mode). */
  outputWidth: number;
}

/** The bytes of `path`; a clear error when it cannot be read. */
export async function readModelBytes(path: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    throw new OpgError("BadInput", `model file not found: ${path} (${flag})`);
  }
}

/** Compare a file's sha256 with the registered one. */
export function checkModelHash(path: string, bytes: Uint8Array, modelId: Hex, fileHash: Hex): void {
  const actual = sha256Hex(bytes);
  if (actual.toLowerCase() !== fileHash.toLowerCase()) {
    throw new OpgError(
      "BadInput",
      `${path} has sha256 ${actual}, model ${modelId} commits to ${fileHash}: pass the file this model version registered`,
    );
  }
}

/**
 * Read `path`, check its sha256 against model `modelId`'s registered file hash, then read its input and output widths
 * from the ONNX graph.
 */
export async function readCheckedModelFile(
  client: OpgClient,
  modelId: Hex,
  path: string,
  flag = "--model-file",
): Promise<CheckedModelFile> {
  const bytes = await readModelBytes(path, flag);
  const model = await client.getModel({ modelId });
  checkModelHash(path, bytes, modelId, model.fileHash);
  let layers;
  try {
    layers = readMlpOnnx(bytes).layers;
  } catch (error) {
    throw new OpgError(
      "BadInput",
      `${path} matches model ${modelId} but is not an MLP this CLI can read (${(error as Error).message})`,
    );
  }
  const first = layers[0];
  const last = layers[layers.length - 1];
  if (first === undefined || last === undefined) {
    throw new OpgError("BadInput", `${path} has no layers`);
  }
  return { path, bytes, inputWidth: first.inSize, outputWidth: last.outSize };
}
