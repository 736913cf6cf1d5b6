import { decodeFeatures, encodeLogits } from "./encoding.js";
import type { LoadedModel } from "./onnx-runtime.js";

/**
 * The protocol's inference function: canonical input bytes in, canonical output bytes out (float32 LE both
 * ways, as the runtime descriptor says). Operators sign `keccak256` of what this returns; auditors re-run it.
 */
export async function inferBytes(model: LoadedModel, input: Uint8Array): Promise<Uint8Array> {
  const features = decodeFeatures(input, model.inputWidth);
  return encodeLogits(await model.run(features, features.length / model.inputWidth));
}
