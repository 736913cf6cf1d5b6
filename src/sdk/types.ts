/** The SDK's shared value types: what actions take and return. */
import type { Address, Hex } from "viem";
import type { AuditResult } from "../audit/types.js";
import type { ModelStatus, RequestStatus, VerificationMode } from "../protocol/modes.js";
import type { InferenceRequest } from "../protocol/request.js";

export type { WriteResult } from "./context.js";
export type { ZkProofArgs } from "../protocol/zk.js";

/** A model version to register (`IModelRegistry.ModelSpec`); zk fields default to none. */
export interface ModelSpec {
  name: string;
  fileHash: Hex;
  runtimeHash: Hex;
  uri: string;
  fee: bigint;
  royaltyBps: number;
  /** Bit flags of {@link VerificationMode}; defaults to signature, plus zk when a verifier is given. */
  modes?: number;
  zkCommitment?: Hex;
  zkVerifier?: Address;
  /**
   * The verifier's code hash (`extcodehash`), pinned in the model id; with a verifier and without this, it is
   * read from the chain (`keccak256` of the verifier's code).
   */
  zkVerifierCodeHash?: Hex;
}

export type ModelStatusName = keyof typeof ModelStatus;

/** A registered model version as the registry holds it. */
export interface ModelInfo {
  modelId: Hex;
  owner: Address;
  familyId: Hex;
  fileHash: Hex;
  runtimeHash: Hex;
  zkCommitment: Hex;
  zkVerifier: Address;
  zkVerifierCodeHash: Hex;
  fee: bigint;
  royaltyBps: number;
  modes: number;
  status: ModelStatusName;
  gate: number;
  gateMinBalance: bigint;
  registeredAt: bigint;
}

/** A `ModelRegistered` event. */
export interface RegisteredModel {
  modelId: Hex;
  familyId: Hex;
  owner: Address;
  name: string;
  uri: string;
  fileHash: Hex;
  runtimeHash: Hex;
  zkCommitment: Hex;
  zkVerifier: Address;
  zkVerifierCodeHash: Hex;
  fee: bigint;
  royaltyBps: number;
  modes: number;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** An operator as the registry holds it, and whether it may serve now. */
export interface OperatorInfo {
  operator: Address;
  signer: Address;
  payout: Address;
  stake: bigint;
  unbonding: bigint;
  unbondingEnd: bigint;
  eligible: boolean;
}

/** How a request's fee is escrowed: from the prepaid ledger, by `transferFrom`, or by an EIP-2612 permit. */
export type PayMethod = "prepaid" | "transfer" | "permit";

/** What a requester chooses; the rest (fee, deadline) is filled in from chain state. */
export interface OpenRequestParams {
  modelId: Hex;
  inputHash: Hex;
  /** Where the input can be read; a `data:` URI carries it on chain so anyone can re-run it. */
  inputUri?: string;
  /** Defaults to the model's current fee. */
  maxFee?: bigint;
  /** Absolute deadline (unix seconds); defaults to the latest block's timestamp plus `ttl`. */
  deadline?: bigint;
  /** Seconds from the latest block; default 3600, at most `ProtocolLimits.MAX_REQUEST_TTL`. */
  ttl?: bigint;
  mode?: VerificationMode;
  operator?: Address;
  callback?: Address;
  callbackGasLimit?: number;
}

/** A request as opened (from its `RequestOpened` event) and its current status. */
export interface RequestInfo {
  requestId: bigint;
  request: InferenceRequest;
  inputUri: string;
  status: RequestStatus;
  blockNumber: bigint;
  transactionHash: Hex;
  /** The settled result, when there is one (the same shape the auditor reports). */
  result?: AuditResult;
}

/**
 * A result as an operator signs it and `SignatureMode.fulfillSigned` takes it. `outputHash` defaults to
 * `keccak256(output)`; `output` may be empty (`0x`) when the output travels by `outputUri` only. Every field is
 * signed: a result submitted with any field changed (the output stripped, another URI) is rejected.
 */
export interface SignedResult {
  operator: Address;
  outputHash?: Hex;
  output: Hex;
  outputUri?: string;
}

/** An opened request delivered to a watcher. */
export interface OpenedRequestEvent {
  requestId: bigint;
  request: InferenceRequest;
  inputUri: string;
  blockNumber: bigint;
  transactionHash: Hex;
}
