/** The OPG SDK: addresses, a typed viem client, decoded errors, inputs and audits, plus the protocol's own API. */
export * from "./addresses.js";
export * from "./audit.js";
export * from "./client.js";
export * from "./deploy.js";
export * from "./errors.js";
export * from "./inputs.js";
export * from "../protocol/index.js";
export * from "../abi/index.js";
export * from "../audit/audit.js";
