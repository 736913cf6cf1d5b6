/**
 * The models a watcher can re-execute: a local file per model version, checked against the registry's sha256 before
 * anything parses it. A version with a zk circuit is re-executed in the circuit's fixed-point arithmetic (the receipt's
 * output is its class, the input hash its Poseidon commitment), any other with the ONNX runtime (keccak256 of the
 * float32 output bytes).
 */
import { readFile } from "node:fs/promises";
import { keccak256, toHex, zeroAddress, type Hex } from "viem";
import { decodeFeatures } from "../model/encoding.js";
import { sha256Hex } from "../model/hash.js";
import { inferBytes } from "../model/infer.js";
import { readMlpOnnx } from "../model/onnx-mlp.js";
import { createModel, type LoadedModel } from "../model/onnx-runtime.js";
import { zkOutputHash } from "../protocol/quiet.js";
import { fieldToBytes32 } from "../protocol/zk.js";
import { getModel } from "../sdk/actions/getModel.js";
import type { OpgContext } from "../sdk/context.js";
import { inputCommitment } from "../zk/commitment.js";
import { IRIS_ZK_PARAMS } from "../zk/params.js";
import { quantizeInput, quantizeOnnx, type QuantizedMlp } from "../zk/quantize.js";
import { fixedPointForward } from "../zk/reference.js";

/** A model version the watcher re-executes. */
export interface WatchedModel {
  modelId: Hex;
  path: string;
  inputWidth: number;
  /** The circuit's quantized twin, for a version with a zk circuit. */
  quantized?: QuantizedMlp;
  /** The ONNX runtime, for a version without one. */
  runtime?: LoadedModel;
}

/** What re-executing one receipt gave. */
export type Reexecution =
  /** The canonical output's hash is the receipt's. */
  | { outcome: "match"; outputHash: Hex }
  /** It is not: `classIndex` is the circuit's class (zk models), to prove. */
  | { outcome: "mismatch"; outputHash: Hex; classIndex?: bigint; quantizedInput?: bigint[] }
  /** The input cannot be this request's (its hash or commitment differs) or cannot be run: nothing to conclude. */
  | { outcome: "unusable"; detail: string };

/**
 * Load `path` for `modelId`: its sha256 must be the registered file hash (an error naming both otherwise); a version
 * with a zk verifier gets its quantized twin, any other the ONNX runtime.
 */
export async function loadWatchedModel(
  ctx: OpgContext<"models">,
  modelId: Hex,
  path: string,
): Promise<WatchedModel> {
  const bytes = new Uint8Array(await readFile(path));
  const version = await getModel(ctx, { modelId });
  const actual = sha256Hex(bytes);
  if (actual.toLowerCase() !== version.fileHash.toLowerCase()) {
    throw new Error(`${path} has sha256 ${actual}, model ${modelId} commits to ${version.fileHash}`);
  }
  const first = readMlpOnnx(bytes).layers[0];
  if (first === undefined) throw new Error(`${path} has no layers`);
  if (version.zkVerifier !== zeroAddress) {
    return { modelId, path, inputWidth: first.inSize, quantized: quantizeOnnx(bytes, IRIS_ZK_PARAMS) };
  }
  const runtime = await createModel(bytes, { expectedSha256: version.fileHash });
  return { modelId, path, inputWidth: first.inSize, runtime };
}

/** Re-execute a receipt's request on `input` and compare with the receipt's output hash. Never throws. */
export async function reexecute(
  model: WatchedModel,
  input: Hex,
  inputHash: Hex,
  receiptOutputHash: Hex,
): Promise<Reexecution> {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  try {
    const bytes = new Uint8Array(Buffer.from(input.slice(2), "hex"));
    if (model.quantized !== undefined) {
      const q = quantizeInput(decodeFeatures(bytes, model.inputWidth), model.quantized);
      const commitment = fieldToBytes32(await inputCommitment(q, model.quantized.params));
      if (!same(commitment, inputHash)) {
        return {
          outcome: "unusable",
          detail: "the input's Poseidon commitment is not the request's inputHash",
        };
      }
      const classIndex = BigInt(fixedPointForward(model.quantized, q).label);
      const outputHash = zkOutputHash(classIndex);
      return same(outputHash, receiptOutputHash)
        ? { outcome: "match", outputHash }
        : { outcome: "mismatch", outputHash, classIndex, quantizedInput: q };
    }
    if (!same(keccak256(input), inputHash)) {
      return { outcome: "unusable", detail: "keccak256 of the input is not the request's inputHash" };
    }
    const outputHash = keccak256(toHex(await inferBytes(model.runtime!, bytes)));
    return same(outputHash, receiptOutputHash)
      ? { outcome: "match", outputHash }
      : { outcome: "mismatch", outputHash };
  } catch (error) {
    return { outcome: "unusable", detail: `the model cannot run on the input: ${(error as Error).message}` };
  }
}

/** Release the ONNX runtimes. */
export async function releaseModels(models: Iterable<WatchedModel>): Promise<void> {
  for (const model of models) await model.runtime?.release();
}
