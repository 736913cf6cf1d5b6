export * from "./fees.js";
export * from "./ids.js";
export * from "./modes.js";
export * from "./request.js";
export * from "./typed-data.js";
export * from "./zk.js";
export * from "./permit.js";
export * from "./model.js";
