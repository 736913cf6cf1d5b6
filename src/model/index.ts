/**
 * Models (the package's `/model` subpath): the canonical input and output encodings, the model file hash, the
 * runtime descriptor, and running an ONNX model with onnxruntime-web exactly as operators and auditors do.
 */
export * from "./encoding.js";
export * from "./hash.js";
export * from "./infer.js";
export * from "./onnx-runtime.js";
export * from "./runtime.js";
