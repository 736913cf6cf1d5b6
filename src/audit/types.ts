import type { Address, Hex } from "viem";
import type { InferenceRequest } from "../protocol/request.js";

/** One thing the auditor checked, with its evidence. */
export interface AuditCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export type AuditVerdict = "verified" | "rejected" | "pending" | "refunded" | "unknown";

/** A settled result, from the core's `RequestFulfilled` event. */
export interface AuditResult {
  operator: Address;
  payout: Address;
  /** The key that signed it (zero for modes without a signature). */
  signer: Address;
  outputHash: Hex;
  output: Hex;
  outputUri: string;
  transactionHash: Hex;
  blockNumber: bigint;
}

/** The model version a request ran, as the registry holds it. */
export interface AuditedModel {
  fileHash: Hex;
  runtimeHash: Hex;
  owner: Address;
  familyId: Hex;
  zkCommitment: Hex;
  zkVerifier: Address;
  /** The verifier's code hash pinned at registration (part of the model id). */
  zkVerifierCodeHash: Hex;
}

export interface AuditReport {
  requestId: bigint;
  verdict: AuditVerdict;
  checks: AuditCheck[];
  request?: InferenceRequest;
  result?: AuditResult;
  model?: AuditedModel;
}
