/**
 * The browser-ready part of the package (the `/browser` subpath): no `node:*` module in its import graph, so a
 * bundler builds it for a web page (the explorer, `src/explorer/`, is built from it). It holds the protocol's types
 * and hashing, the ABIs, the viem client and its actions (reads, events, and writes through a wallet client), the
 * decoded errors, output decoding, address parsing, the model encodings and file hash, and the request audit
 * ({@link auditRequest}, the same code `opg audit` runs) with {@link auditInBrowser}, its browser tools, and the
 * quiet receipt audit ({@link auditReceipt}, the code `opg audit --receipt` runs) with {@link auditReceiptInBrowser},
 * and the zk audit tools (`./zk.ts`: Groth16 verification with snarkjs, the Poseidon input commitment, the circuit's
 * fixed-point re-run; loaded on demand).
 *
 * Node-only, and not here: reading addresses from files (`readAddresses`), running ONNX models from disk, zk proving
 * and the circuit's file paths (`src/zk/artifacts.ts`),
 * deployments and the operator node. The one action that encodes with Node's `Buffer`
 * (`infer`) is exported with the client but fails in a browser until the quiet gateway client stops using `Buffer`.
 */
export * from "../sdk/actions/index.js";
export * from "../sdk/protocol-addresses.js";
export * from "../sdk/client.js";
export { createCache, type OpgCache, type OpgContext } from "../sdk/context.js";
export * from "../sdk/decode.js";
export * from "../sdk/errors.js";
export * from "../sdk/limits.js";
export * from "../sdk/results.js";
export * from "../abi/index.js";
export * from "../protocol/index.js";
export { auditRequest, type AuditOptions } from "../audit/audit.js";
export type { AuditCheck, AuditedModel, AuditReport, AuditResult, AuditVerdict } from "../audit/types.js";
export { DATA_URI_PREFIX, decodeFeatures, decodeLogits, encodeLogits, argmax } from "../model/encoding.js";
export { sha256Hex } from "../model/hash.js";
export { DEFAULT_RUNTIME, runtimeHash, type RuntimeDescriptor } from "../model/runtime.js";
export {
  auditInBrowser,
  checksNotRunInBrowser,
  type BrowserAuditOptions,
  type CheckNotRun,
} from "./audit.js";
export {
  auditReceipt,
  batchCommitment,
  RECEIPT_CHECKS,
  type ReceiptAuditCheck,
  type ReceiptAuditOptions,
  type ReceiptAuditReport,
  type ReceiptAuditVerdict,
  type ReceiptState,
} from "../audit/receipt.js";
export {
  browserQuantizedModel,
  browserRunZkModel,
  browserVerifyZkProof,
  browserZkInputCommitment,
  browserZkTools,
  parseVerificationKey,
  type BrowserZkTools,
  type Groth16VerificationKey,
  type VerificationKeySource,
} from "./zk.js";
export {
  auditReceiptInBrowser,
  receiptChecksNotRunInBrowser,
  type BrowserReceiptAuditOptions,
} from "./receipt.js";
