import type { RunModel } from "./onnx.js";

/** A model file made runnable for an audit, or why it could not be; `release` frees the session either way. */
export interface ModelRunner {
  run?: RunModel;
  /** Why the file could not be loaded (not ONNX, or not a one-input one-output float32 model). */
  problem?: string;
  release(): Promise<void>;
}

/**
 * Load onnxruntime-web (on demand: its code and WebAssembly are fetched the first time a visitor gives a model file)
 * and create a session for `bytes`. Never throws: a file that is not a runnable model gives `problem`.
 */
export async function modelRunner(bytes: Uint8Array): Promise<ModelRunner> {
  try {
    const { loadBrowserModel } = await import("./onnx.js");
    const model = await loadBrowserModel(bytes);
    return { run: model.run, release: model.release };
  } catch (error) {
    return {
      problem: error instanceof Error ? error.message.split("\n")[0] : String(error),
      release: () => Promise.resolve(),
    };
  }
}
