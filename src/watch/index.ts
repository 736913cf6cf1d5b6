/** The quiet-mode watcher (`opg watch`, docs/quiet.md "Watching"): follows the log, re-executes, challenges. */
export * from "./challenge.js";
export * from "./evidence.js";
export * from "./fetch.js";
export * from "./health.js";
export * from "./models.js";
export * from "./store.js";
export * from "./watcher.js";
