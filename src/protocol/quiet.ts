/**
 * Quiet mode's signed structures (docs/quiet.md, "Signed structures"): the payer's `QuietRequest` (one inference,
 * and the payment voucher) and the operator's `Receipt`, both EIP-712 under the `QuietMode` contract's domain. They
 * mirror `contracts/modes/QuietMode.sol` byte for byte; the log tree over receipts is in `merkle.ts`.
 */
import {
  hashStruct,
  hashTypedData,
  keccak256,
  recoverTypedDataAddress,
  toHex,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";
import { VerificationMode } from "./modes.js";
import type { ProtocolDomain } from "./typed-data.js";
import { zkOutputBytes } from "./zk.js";

/** Quiet mode's bit in the core's verification-mode flags (`VerificationModes.QUIET`, bit value 4, beside signature 1 and zk 2). */
export const QUIET_MODE_BIT = VerificationMode.Quiet;

/** EIP-712 domain name of `QuietMode` (its `EIP712("OPG Quiet Mode", "1")` constructor arguments). */
export const QUIET_MODE_DOMAIN_NAME = "OPG Quiet Mode";
/** EIP-712 domain version of `QuietMode`. */
export const QUIET_MODE_DOMAIN_VERSION = "1";

/** The domain quiet requests and receipts are signed under: chain id and the `QuietMode` contract. */
export function quietModeDomain(chainId: bigint | number, quietMode: Address): ProtocolDomain {
  return {
    name: QUIET_MODE_DOMAIN_NAME,
    version: QUIET_MODE_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: quietMode,
  };
}

/** The `QuietRequest` type string, as hashed into `QuietMode.QUIET_REQUEST_TYPEHASH`. */
export const QUIET_REQUEST_TYPE =
  "QuietRequest(address payer,address operator,bytes32 modelId,bytes32 inputHash,uint96 fee,uint96 cumulative,uint64 index,uint64 deadline)";
/** The `Receipt` type string, as hashed into `QuietMode.RECEIPT_TYPEHASH`. */
export const RECEIPT_TYPE =
  "Receipt(address operator,uint64 seq,bytes32 request,bytes32 outputHash,uint64 time)";
/** `keccak256(QUIET_REQUEST_TYPE)`: `QuietMode.QUIET_REQUEST_TYPEHASH`. */
export const QUIET_REQUEST_TYPEHASH: Hex = keccak256(toHex(QUIET_REQUEST_TYPE));
/** `keccak256(RECEIPT_TYPE)`: `QuietMode.RECEIPT_TYPEHASH`. */
export const RECEIPT_TYPEHASH: Hex = keccak256(toHex(RECEIPT_TYPE));

/** Quiet mode's EIP-712 types for viem, fields in the order of the type strings above. */
export const QUIET_TYPES = {
  QuietRequest: [
    { name: "payer", type: "address" },
    { name: "operator", type: "address" },
    { name: "modelId", type: "bytes32" },
    { name: "inputHash", type: "bytes32" },
    { name: "fee", type: "uint96" },
    { name: "cumulative", type: "uint96" },
    { name: "index", type: "uint64" },
    { name: "deadline", type: "uint64" },
  ],
  Receipt: [
    { name: "operator", type: "address" },
    { name: "seq", type: "uint64" },
    { name: "request", type: "bytes32" },
    { name: "outputHash", type: "bytes32" },
    { name: "time", type: "uint64" },
  ],
} as const;

/** A payer's signed request for one inference, which is also its payment voucher for the (payer, operator, model) sub-channel. */
export interface QuietRequest {
  payer: Address;
  operator: Address;
  modelId: Hex;
  /** keccak256 of the input bytes, or for a zk-circuit model the circuit's Poseidon input commitment. */
  inputHash: Hex;
  /** This inference's fee (uint96). */
  fee: bigint;
  /** The sum of `fee` over indexes `0…index` of the sub-channel (uint96). */
  cumulative: bigint;
  /** The payer's request counter in the sub-channel, from 0 (uint64). */
  index: bigint;
  /** Unix seconds; the operator must answer before it (uint64). */
  deadline: bigint;
}

/** An operator's signed receipt for one request: the `seq`-th entry of its log. */
export interface Receipt {
  operator: Address;
  /** Per-operator sequence number, consecutive from 0 (uint64). */
  seq: bigint;
  /** `hashQuietRequest` of the request answered. */
  request: Hex;
  /** `bytesOutputHash(output)`, or `zkOutputHash(class)` for a zk-circuit model. */
  outputHash: Hex;
  /** Unix seconds when signed (uint64). */
  time: bigint;
}

/** Anything that signs EIP-712 typed data the viem way (a local account, or a wallet / HSM / remote signer). */
export type TypedDataSigner = Pick<LocalAccount, "signTypedData">;

/** Full typed data of a quiet request, for viem's `signTypedData` / `hashTypedData` / `recoverTypedDataAddress`. */
export function quietRequestTypedData(domain: ProtocolDomain, request: QuietRequest) {
  return { domain, types: QUIET_TYPES, primaryType: "QuietRequest", message: request } as const;
}

/** Full typed data of a receipt, for viem. */
export function receiptTypedData(domain: ProtocolDomain, receipt: Receipt) {
  return { domain, types: QUIET_TYPES, primaryType: "Receipt", message: receipt } as const;
}

/**
 * The EIP-712 struct hash (`hashStruct`) of a quiet request: what a `Receipt.request` holds and what identifies the
 * request on chain. Throws on a field out of its Solidity range (e.g. a `fee` above uint96).
 */
export function hashQuietRequest(request: QuietRequest): Hex {
  return hashStruct({ data: request, primaryType: "QuietRequest", types: QUIET_TYPES });
}

/** The EIP-712 struct hash of a receipt: the input of its log leaf (`receiptLeaf`). Throws on a field out of range. */
export function hashReceipt(receipt: Receipt): Hex {
  return hashStruct({ data: receipt, primaryType: "Receipt", types: QUIET_TYPES });
}

/** The EIP-712 digest a payer signs for `request` under `domain`. */
export function quietRequestDigest(domain: ProtocolDomain, request: QuietRequest): Hex {
  return hashTypedData(quietRequestTypedData(domain, request));
}

/** The EIP-712 digest an operator's key signs for `receipt` under `domain`. */
export function receiptDigest(domain: ProtocolDomain, receipt: Receipt): Hex {
  return hashTypedData(receiptTypedData(domain, receipt));
}

/** The payer's 65-byte EIP-712 signature of `request`. */
export function signQuietRequest(
  signer: TypedDataSigner,
  domain: ProtocolDomain,
  request: QuietRequest,
): Promise<Hex> {
  return signer.signTypedData(quietRequestTypedData(domain, request));
}

/** The operator key's 65-byte EIP-712 signature of `receipt`. */
export function signReceipt(signer: TypedDataSigner, domain: ProtocolDomain, receipt: Receipt): Promise<Hex> {
  return signer.signTypedData(receiptTypedData(domain, receipt));
}

/**
 * The address that signed `request` (compare with `request.payer`). Throws on a malformed signature. Unlike the
 * contract's ECDSA it does not reject high-`s` signatures: treat it as a check, not as a canonical form.
 */
export function recoverQuietRequestSigner(
  domain: ProtocolDomain,
  request: QuietRequest,
  signature: Hex,
): Promise<Address> {
  return recoverTypedDataAddress({ ...quietRequestTypedData(domain, request), signature });
}

/**
 * The key that signed `receipt` (it is evidence only when it is a key of `receipt.operator`, per the operator
 * registry's `signerRecord`). Throws on a malformed signature; high-`s` signatures are not rejected here.
 */
export function recoverReceiptSigner(
  domain: ProtocolDomain,
  receipt: Receipt,
  signature: Hex,
): Promise<Address> {
  return recoverTypedDataAddress({ ...receiptTypedData(domain, receipt), signature });
}

/** A zk-circuit model's output hash: `keccak256(abi.encode(uint256 class))`, as `ZkMode` settles it. */
export function zkOutputHash(classIndex: bigint): Hex {
  return keccak256(zkOutputBytes(classIndex));
}

/** Any other model's output hash: keccak256 of the output bytes (float32 LE scores, as signature mode). */
export function bytesOutputHash(output: Hex | Uint8Array): Hex {
  return keccak256(output);
}
