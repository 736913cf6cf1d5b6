/** Zero-knowledge verified inference: fixed-point quantization, commitments, witness, Groth16 proving. */
export * from "./params.js";
// The Node-only file paths (params.ts is browser-safe).
export { IRIS_ZK_ARTIFACTS } from "./artifacts.js";
export * from "./field.js";
export * from "./quantize.js";
export * from "./commitment.js";
export * from "./reference.js";
export * from "./witness.js";
export * from "./prover.js";
export * from "./symbols.js";
export * from "./witness-calculator.js";
export * from "./settlement.js";
export * from "../sdk/inputs.js";
