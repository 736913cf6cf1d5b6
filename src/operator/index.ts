/**
 * The operator node (the package's `/operator` subpath): watch requests, check each input, run or prove the
 * committed model, settle; state in SQLite (`node:sqlite`), bound to one chain and deployment. See docs/operator.md.
 */
export * from "./node.js";
export * from "./store.js";
export * from "./state-path.js";
export * from "./binding.js";
export * from "./skip.js";
export * from "./validate.js";
export * from "./gateway.js";
export { QuietCommitter, DEFAULT_BATCH_INTERVAL_MS, DEFAULT_MAX_BATCH } from "./quiet-committer.js";
export type { QuietCommitterOptions } from "./quiet-committer.js";
export * from "./quiet-store.js";
export { releaseZk } from "../zk/prover.js";
