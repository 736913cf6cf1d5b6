import type { Address, Hex } from "viem";
import type { ReceiptInclusion } from "../protocol/quiet-json.js";
import type { ZkProofArgs } from "../protocol/zk.js";
import type { AuditCheck } from "./types.js";

/**
 * The checks a receipt audit runs, by name (the `name` of each {@link ReceiptAuditCheck}), in the order they appear
 * in a report.
 */
export const RECEIPT_CHECKS = {
  chain: "deployment: chain id",
  quietMode: "deployment: QuietMode contract",
  pair: "receipt answers the request",
  payer: "payer signed the request",
  signer: "receipt signed by an operator key",
  stake: "operator staked",
  model: "model version allows quiet mode",
  output: "output matches the receipt",
  committed: "committed in the operator's log",
  inTime: "committed in time",
  struck: "not struck",
  window: "challenge window",
  onChain: "contract accepts it as final",
  input: "input matches the request's commitment",
  modelFile: "model file matches the commitment",
  rerun: "re-executed output matches the receipt",
  proof: "Groth16 proof of the receipt's output",
} as const;

export type ReceiptCheckName = (typeof RECEIPT_CHECKS)[keyof typeof RECEIPT_CHECKS];

/** One thing the receipt auditor checked; `pending` when it holds so far but is not settled yet (a deadline ahead). */
export interface ReceiptAuditCheck extends AuditCheck {
  pending?: boolean;
}

/**
 * `verified`: every check passed and the receipt is final. `pending`: nothing failed, but the receipt is not committed
 * yet or still in its challenge window. `failed`: a check failed (named in `checks`).
 */
export type ReceiptAuditVerdict = "verified" | "pending" | "failed";

/**
 * Where the receipt stands in its operator's log: not committed yet (`uncommitted`), committed and challengeable
 * (`in window`), `final`, `struck` by a proven wrong output, or `unknown` (its inclusion could not be established).
 */
export type ReceiptState = "uncommitted" | "in window" | "final" | "struck" | "unknown";

/** The batch committed at the receipt's position holds another leaf: the evidence of `challengeOmission`. */
export interface OmissionEvidence {
  batchIndex: bigint;
  root: Hex;
  firstSeq: bigint;
  count: number;
  committedAt: bigint;
  /** The leaf committed at the receipt's position. */
  committedLeaf: Hex;
  /** Its Merkle proof (verified against the on-chain root). */
  proof: Hex[];
}

/** A Groth16 proof the auditor generated for the receipt's request (zk-circuit models, `prove`). */
export interface ReceiptProof {
  /** The class the committed circuit gives on the committed input. */
  output: bigint;
  /** The binding signal: `quietBinding(operator, seq, challenger)`. */
  binding: bigint;
  challenger: Address;
  proof: ZkProofArgs;
}

/** What a receipt audit found: the checks with their evidence, the log state, the deadlines, and the verdict. */
export interface ReceiptAuditReport {
  verdict: ReceiptAuditVerdict;
  state: ReceiptState;
  checks: ReceiptAuditCheck[];
  /** What could not be checked and why (no input, no model file, no tools). */
  skipped: string[];
  operator: Address;
  seq: bigint;
  /** Chain time of the audit (the latest block's timestamp), unix seconds. */
  chainTime?: bigint;
  /** `request.deadline + commitWindow`: the receipt must be committed by then. */
  commitDeadline?: bigint;
  /** `commitDeadline + challengeWindow`: challenges land before it; the receipt is final after it. */
  challengeDeadline?: bigint;
  /** The batch holding the receipt and its Merkle proof, verified against the on-chain root. */
  inclusion?: ReceiptInclusion;
  /** Where the proof came from: the operator's gateway, or the batch data rebuilt. */
  inclusionSource?: "gateway" | "batch data";
  omission?: OmissionEvidence;
  zkProof?: ReceiptProof;
}
