/**
 * The OPG SDK: addresses, a typed viem client, decoded errors, input checks, inputs and audits, the verification
 * mode modules (`src/modes`), plus the protocol's own API.
 */
export * from "./addresses.js";
export * from "./audit.js";
export * from "./client.js";
export * from "./deploy.js";
export * from "./errors.js";
export * from "./inputs.js";
export * from "./limits.js";
export * from "./signer-proof.js";
export * from "../modes/index.js";
export * from "../modes/signature/index.js";
export * from "../modes/zk/index.js";
export * from "../protocol/index.js";
export * from "../abi/index.js";
export * from "../audit/audit.js";
