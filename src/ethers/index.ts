export * from "./errors.js";
export * from "./events.js";
export * from "./permit.js";
export * from "./sign.js";
