/// <reference lib="dom" />
/**
 * Re-running a model in the browser with onnxruntime-web's WebAssembly backend: the same package version, backend,
 * thread count (one) and graph optimisation level as the runtime descriptor the model versions register
 * (`DEFAULT_RUNTIME`), so the output bytes are the ones an operator signs. Loaded on demand (its WebAssembly binary
 * is about 14 MB, fetched from the page's own build only when a visitor gives a model file).
 */
import * as ort from "onnxruntime-web/wasm";
import wasmUrl from "onnxruntime-web/ort-wasm-simd-threaded.wasm?url";
import { decodeFeatures, DEFAULT_RUNTIME, encodeLogits } from "../../browser/index.js";

/** Canonical input bytes in, canonical output bytes out (float32 LE), as `inferBytes` in Node. */
export type RunModel = (input: Uint8Array) => Promise<Uint8Array>;

let configured = false;

function configure(): void {
  if (ort.env.versions.web !== DEFAULT_RUNTIME.version) {
    throw new Error(
      `this page carries onnxruntime-web ${ort.env.versions.web}, the registered runtime is ${DEFAULT_RUNTIME.version}`,
    );
  }
  if (configured) return;
  ort.env.wasm.numThreads = DEFAULT_RUNTIME.threads;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, location.href).href };
  configured = true;
}

/** The only float32 tensor's name and last dimension (`[batch, width]`). */
function lastDim(metadata: readonly ort.InferenceSession.ValueMetadata[], which: string): [string, number] {
  const value = metadata[0];
  if (metadata.length !== 1 || value === undefined || !value.isTensor || value.type !== "float32") {
    throw new Error(`expected a model with exactly one float32 tensor ${which}`);
  }
  const width = value.shape[value.shape.length - 1];
  if (value.shape.length !== 2 || typeof width !== "number") {
    throw new Error(`${which} ${value.name} must have shape [batch, width]`);
  }
  return [value.name, width];
}

/**
 * A session for the model file's bytes, as a `runModel` audit tool; `release` frees it. Throws when the file is not
 * a model onnxruntime-web can run with one float32 input and output.
 */
export async function loadBrowserModel(
  bytes: Uint8Array,
): Promise<{ run: RunModel; release: () => Promise<void> }> {
  configure();
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: DEFAULT_RUNTIME.graphOptimizationLevel,
  });
  const [inputName, inputWidth] = lastDim(session.inputMetadata, "input");
  const [outputName, outputWidth] = lastDim(session.outputMetadata, "output");
  return {
    async run(input) {
      const features = decodeFeatures(input, inputWidth);
      const batch = features.length / inputWidth;
      const results = await session.run({
        [inputName]: new ort.Tensor("float32", features, [batch, inputWidth]),
      });
      const output = results[outputName];
      if (output === undefined || output.type !== "float32" || output.data.length !== batch * outputWidth) {
        throw new Error(`the model returned no float32 ${outputName} of ${batch} x ${outputWidth}`);
      }
      return encodeLogits(Float32Array.from(output.data as Float32Array));
    },
    release: () => session.release(),
  };
}
