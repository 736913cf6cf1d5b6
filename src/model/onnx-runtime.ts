/**
 * Runs an ONNX model with onnxruntime-web's WebAssembly backend in Node.
 *
 * In Node, `import "onnxruntime-web"` resolves (export condition "node") to `dist/ort.node.min.mjs`,
 * a wasm-only build. Left alone it finds its emscripten glue by a relative dynamic import and the
 * glue then reads the `.wasm` next to itself; we do not rely on that: the WebAssembly binary is
 * read from the installed package via `import.meta.resolve` and handed over as `env.wasm.wasmBinary`,
 * so no URL or fetch is involved, and the glue module's URL is pinned with `env.wasm.wasmPaths`.
 * Both are global settings of the runtime, applied once before the first session is created.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-web";
import { sha256Hex, type Hex } from "./hash.js";
import { DEFAULT_RUNTIME, type RuntimeDescriptor } from "./runtime.js";

export { sha256Hex, type Hex } from "./hash.js";

export interface LoadedModel {
  /** The exact model file bytes. */
  readonly bytes: Uint8Array;
  /** sha256 of `bytes`: the model commitment registered on chain. */
  readonly sha256: Hex;
  /** The runtime descriptor the session was created under. */
  readonly runtime: RuntimeDescriptor;
  readonly inputName: string;
  readonly outputName: string;
  /** Features per sample (the input's last dimension). */
  readonly inputWidth: number;
  /** Values per output row (the output's last dimension). */
  readonly outputWidth: number;
  /**
   * Runs a row-major float32 batch `[batch, inputWidth]` and returns the output row-major
   * `[batch, outputWidth]`.
   */
  run(features: Float32Array, batch: number): Promise<Float32Array>;
  /** Frees the native session; the model cannot be run afterwards. */
  release(): Promise<void>;
}

export interface LoadOptions {
  /** Refuse to load unless the bytes hash to this (e.g. the sha256 registered on chain). */
  readonly expectedSha256?: Hex;
  /** Runtime configuration; defaults to {@link DEFAULT_RUNTIME}. */
  readonly runtime?: RuntimeDescriptor;
}

let wasmConfigured = false;

async function configureWasm(runtime: RuntimeDescriptor): Promise<void> {
  const installed = ort.env.versions.web;
  if (runtime.version !== installed) {
    throw new Error(
      `runtime descriptor asks for ${runtime.runtime}@${runtime.version} (${runtime.backend}), ` +
        `installed is onnxruntime-web@${installed} (wasm)`,
    );
  }
  if (runtime.threads !== 1) {
    throw new Error(
      `onnxruntime-web supports only single-threaded wasm in Node, descriptor asks for ${runtime.threads}`,
    );
  }
  if (wasmConfigured) return;
  const wasmUrl = import.meta.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm");
  ort.env.wasm.numThreads = runtime.threads;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = await readFile(fileURLToPath(wasmUrl));
  ort.env.wasm.wasmPaths = { mjs: import.meta.resolve("onnxruntime-web/ort-wasm-simd-threaded.mjs") };
  wasmConfigured = true;
}

function lastDim(metadata: readonly ort.InferenceSession.ValueMetadata[], which: string): [string, number] {
  const value = metadata[0];
  if (metadata.length !== 1 || !value || !value.isTensor || value.type !== "float32") {
    throw new Error(`expected a model with exactly one float32 tensor ${which}`);
  }
  const width = value.shape[value.shape.length - 1];
  if (value.shape.length !== 2 || typeof width !== "number") {
    throw new Error(`${which} ${value.name} must have shape [batch, width], has [${value.shape.join(", ")}]`);
  }
  return [value.name, width];
}

/** Creates a session for model bytes already in memory. */
export async function createModel(bytes: Uint8Array, options: LoadOptions = {}): Promise<LoadedModel> {
  const runtime = options.runtime ?? DEFAULT_RUNTIME;
  const sha256 = sha256Hex(bytes);
  if (options.expectedSha256 !== undefined && options.expectedSha256.toLowerCase() !== sha256) {
    throw new Error(`model sha256 ${sha256} does not match the expected ${options.expectedSha256}`);
  }
  await configureWasm(runtime);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: runtime.graphOptimizationLevel,
  });
  const [inputName, inputWidth] = lastDim(session.inputMetadata, "input");
  const [outputName, outputWidth] = lastDim(session.outputMetadata, "output");

  return {
    bytes,
    sha256,
    runtime,
    inputName,
    outputName,
    inputWidth,
    outputWidth,
    async run(features: Float32Array, batch: number): Promise<Float32Array> {
      if (!Number.isInteger(batch) || batch <= 0 || features.length !== batch * inputWidth) {
        throw new RangeError(`expected ${batch} x ${inputWidth} features, got ${features.length} values`);
      }
      const input = new ort.Tensor("float32", features, [batch, inputWidth]);
      const results = await session.run({ [inputName]: input });
      const output = results[outputName];
      if (!output || output.type !== "float32" || output.data.length !== batch * outputWidth) {
        throw new Error(`model returned no float32 ${outputName} of ${batch} x ${outputWidth}`);
      }
      // Copy so the result does not alias runtime-owned memory.
      return Float32Array.from(output.data as Float32Array);
    },
    release: () => session.release(),
  };
}

/** Reads an ONNX file and creates a session for it. */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<LoadedModel> {
  return createModel(new Uint8Array(await readFile(path)), options);
}
