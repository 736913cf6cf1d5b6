/**
 * Audits (the package's `/audit` subpath): check a settled request from chain data alone, re-running the committed
 * model (onnxruntime-web) or verifying its Groth16 proof (snarkjs). Call `releaseZk()` (from `/zk`) when done with
 * zk audits, so snarkjs's worker threads let the process exit.
 */
export * from "./audit.js";
export * from "./types.js";
export * from "./receipt.js";
export * from "./receipt-tools.js";
export * from "../sdk/audit.js";
export * from "../modes/index.js";
export { releaseZk } from "../zk/prover.js";
