/**
 * The OPG SDK's core (the package's main entry): a viem-style client and its actions, the ABIs, decoded errors,
 * addresses, input preparation and checks for signature mode, output decoding, and the protocol's own types and
 * hashing. It loads viem and nothing heavier: zk proving, model running, audits, deployments and the operator node
 * are behind their own subpaths (`/zk`, `/model`, `/audit`, `/deploy`, `/operator`).
 */
export * from "./actions/index.js";
export * from "./addresses.js";
export * from "./client.js";
export { createCache, type OpgCache, type OpgContext } from "./context.js";
export * from "./decode.js";
export * from "./errors.js";
export * from "./features.js";
export * from "./limits.js";
export * from "./results.js";
export type { ChallengeResult, QuietBatch, SignedQuietReceipt } from "./quiet.js";
export { OperatorRefusedError, type InferFetch } from "./quiet-gateway-client.js";
export * from "./signer-proof.js";
export * from "../abi/index.js";
export * from "../protocol/index.js";
export type { KeySigner } from "../modes/types.js";
export { signResult as signResultWithKey } from "../modes/signature/sign.js";
export * from "../modes/signature/calldata.js";
export * from "../modes/zk/calldata.js";
