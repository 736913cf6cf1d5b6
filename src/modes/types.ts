/**
 * What every verification mode module provides, for the two programs that handle results of any mode: the operator
 * node (compute a result for a request, build the transaction that settles it on the mode's contract) and the
 * auditor (check a settled result of that mode from chain data). The contracts are split the same way: the core
 * (`InferenceSettlement`) settles, and one contract per mode bit verifies (`SignatureMode`, `ZkMode`).
 */
import type { Address, Hex, LocalAccount, PublicClient } from "viem";
import type { AuditedModel, AuditResult } from "../audit/types.js";
import type { LoadedModel } from "../model/onnx-runtime.js";
import type { VerificationMode } from "../protocol/modes.js";
import type { InferenceRequest } from "../protocol/request.js";
import type { ZkProofArgs } from "../protocol/zk.js";
import type { QuantizedMlp } from "../zk/quantize.js";

/**
 * A signing key: anything that signs EIP-712 typed data the viem way (a local account from a private key, or an
 * object whose `signTypedData` asks a wallet, an HSM or a remote signer).
 */
export type KeySigner = Pick<LocalAccount, "address" | "signTypedData">;

/** A signature-mode result as the node keeps it until it settles: the output and the key's EIP-712 signature. */
export interface SignedComputedResult {
  mode: "signature";
  output: Hex;
  outputHash: Hex;
  /** Where the output can also be read (signed too; empty when only inline). Absent in older records: empty. */
  outputUri?: string;
  /** The 65-byte signature (compacted to EIP-2098 `(r, vs)` in the calldata). */
  signature: Hex;
}

/** A zk-mode result as the node keeps it: the proven output and the Groth16 proof, as decimal strings. */
export interface ZkComputedResult {
  mode: "zk";
  output: string;
  proof: { a: string[]; b: string[][]; c: string[] };
}

/** The verified result a node computed, kept (as JSON) until it settles. */
export type ComputedResult = SignedComputedResult | ZkComputedResult;

/** A served model, loaded: what it is registered for, and what runs (or proves) it. */
export interface ModelRuntime {
  modelId: Hex;
  /** The mode bits the version allows. */
  modes: number;
  /** The model file run with onnxruntime-web. */
  model: LoadedModel;
  /** Its quantized twin, for modes that prove the fixed-point circuit (prepared by the zk module). */
  quantized?: QuantizedMlp;
}

/** Who computes, and for which deployment. */
export interface ComputeContext {
  chainId: bigint;
  /** The mode's contract (the EIP-712 verifying contract of signatures, the contract a zk proof is bound to). */
  modeContract: Address;
  /** The operator (staking) account: the result's operator and the sender of the fulfilment. */
  operator: Address;
  /** The operator's registered signing key. */
  signer: KeySigner;
}

/** One request to compute, its input already read from its URI. */
export interface ComputeJob {
  requestId: bigint;
  request: InferenceRequest;
  input: Uint8Array;
  runtime: ModelRuntime;
}

/** Why a mode did not compute a request, as one of the operator node's skip reason codes. */
export type ComputeSkipCode = "input_mismatch" | "malformed_input" | "input_out_of_range" | "mode_not_served";

/**
 * A computed result (and fields worth logging), or why the request is not served (`code`: the node's reason code;
 * without one the node records `input_mismatch`).
 */
export type ComputeOutcome =
  { result: ComputedResult; log?: Record<string, unknown> } | { skip: string; code?: ComputeSkipCode };

/** A fulfilment transaction: to the mode's contract, its calldata, and a gas cap. */
export interface FulfilmentTx {
  to: Address;
  data: Hex;
  gas: bigint;
}

/** A stored request with its computed result, as the node builds its fulfilment from it. */
export interface FulfilmentJob {
  requestId: bigint;
  request: InferenceRequest;
  result: ComputedResult;
}

/** Ways to re-run and verify a model, besides chain data; each mode uses the ones it needs. */
export interface AuditTools {
  /** Signature mode: re-executes the committed model on the committed input and returns the output bytes. */
  runModel?: (input: Uint8Array) => Promise<Uint8Array>;
  /** Zk mode: verifies a Groth16 proof against the four public signals (e.g. snarkjs with the model's vkey). */
  verifyZkProof?: (publicSignals: readonly bigint[], proof: ZkProofArgs) => Promise<boolean>;
  /** Zk mode: the circuit's commitment to an input (the input hash of zk requests). */
  zkInputCommitment?: (input: Uint8Array) => Promise<Hex>;
  /** Zk mode: re-executes the circuit's fixed-point model on the input and returns the public output. */
  runZkModel?: (input: Uint8Array) => Promise<bigint>;
}

/** What a mode's audit sees: the settled request, its result, the settling transaction and the model version. */
export interface ModeAuditContext {
  client: PublicClient;
  chainId: bigint;
  /** The core. */
  settlement: Address;
  /** The contract bound to the request's mode bit (live, or retired since). */
  modeContract: Address;
  requestId: bigint;
  /** The request as opened (from `RequestOpened`). */
  request: InferenceRequest;
  /** The result as settled (from `RequestFulfilled`). */
  result: AuditResult;
  /** The transaction that settled it. */
  transaction: { from: Address; to: Address | null; input: Hex };
  model: AuditedModel;
  tools: AuditTools;
  check: (name: string, ok: boolean, detail: string) => void;
}

/** A verification mode, as the operator node and the auditor use it. */
/** The auditor's half of a mode (`src/modes/auditors.ts`): what an audit needs, and nothing the operator runs. */
export interface ModeAuditor {
  /** The mode bit (`VerificationMode`). */
  readonly mode: VerificationMode;
  /** Its name in reports and on the command line. */
  readonly name: string;
  /** The name of the contract that verifies it, for messages. */
  readonly contractName: string;
  /** Auditor: check the settling transaction (signature or proof) of a settled result of this mode. */
  auditSettlement(context: ModeAuditContext): Promise<void>;
  /** Auditor: check the input against the request's commitment and re-run the model on it. */
  auditInput(context: ModeAuditContext, input: Uint8Array): Promise<void>;
}

/** A mode as the operator node serves it: its auditor's half, and computing and settling results. */
export interface ModeModule extends ModeAuditor {
  /** Whether computing one result is slow (a proof): the node then stores and submits each result at once. */
  readonly slow: boolean;
  /** Operator: prepare what this mode needs of a served model file (e.g. its quantized twin). */
  prepare(runtime: ModelRuntime, bytes: Uint8Array): void;
  /** Operator: whether this runtime can serve the mode (a zk request needs the quantized twin). */
  serves(runtime: ModelRuntime): boolean;
  /** Operator: compute the verified result of a request (run and sign, or prove), or say why not. */
  compute(context: ComputeContext, job: ComputeJob): Promise<ComputeOutcome>;
  /** Operator: the transaction that settles a computed result on this mode's contract. */
  fulfilment(modeContract: Address, operator: Address, job: FulfilmentJob): FulfilmentTx;
}
