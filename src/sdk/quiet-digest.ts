/**
 * Quiet mode's EIP-712 hashes on the hot path (docs/quiet.md, "Signed structures"): the struct hashes of a
 * `QuietRequest` and a `Receipt` encoded by hand (fixed-size fields only, so `abi.encode` is nine or six words), and
 * the digest `keccak256(0x1901 ‖ domainSeparator ‖ structHash)` with the domain separator computed once per domain.
 * Same bytes as viem's `hashStruct` / `hashTypedData` (`hashQuietRequest`, `receiptDigest` in src/protocol/quiet.ts)
 * at a fraction of the cost; a value outside its Solidity type falls back to those, which throw as they always did.
 * Used by the gateway (src/operator/gateway.ts) and by `infer` / `verifyQuietReceipt`.
 */
import { domainSeparator, isAddress, keccak256, type Address, type Hex, type LocalAccount } from "viem";
import {
  hashQuietRequest,
  hashReceipt,
  QUIET_REQUEST_TYPEHASH,
  RECEIPT_TYPEHASH,
  receiptTypedData,
  type QuietRequest,
  type Receipt,
} from "../protocol/quiet.js";
import type { ProtocolDomain } from "../protocol/typed-data.js";
import { recoverDigestAddress } from "./fast-ecdsa.js";

const UINT64 = 2n ** 64n;
const UINT96 = 2n ** 96n;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const REQUEST_TYPEHASH_BYTES = Buffer.from(QUIET_REQUEST_TYPEHASH.slice(2), "hex");
const RECEIPT_TYPEHASH_BYTES = Buffer.from(RECEIPT_TYPEHASH.slice(2), "hex");
const separators = new Map<string, Buffer>();

const isUint = (value: unknown, bound: bigint): value is bigint =>
  typeof value === "bigint" && value >= 0n && value < bound;
const isBytes32 = (value: unknown): value is Hex => typeof value === "string" && BYTES32.test(value);
const isAddr = (value: unknown): value is Address => typeof value === "string" && isAddress(value);

function putWord(out: Buffer, word: number, hex: string): void {
  out.write(hex.slice(2), word * 32 + 32 - (hex.length - 2) / 2, "hex");
}

function putUint(out: Buffer, word: number, value: bigint): void {
  const hex = value.toString(16);
  out.write(hex.length % 2 === 0 ? hex : `0${hex}`, word * 32 + 32 - Math.ceil(hex.length / 2), "hex");
}

/** `hashQuietRequest(request)`, encoded by hand when every field is in range (else viem's, which throws). */
export function fastHashQuietRequest(request: QuietRequest): Hex {
  const r = request;
  if (
    !isAddr(r.payer) ||
    !isAddr(r.operator) ||
    !isBytes32(r.modelId) ||
    !isBytes32(r.inputHash) ||
    !isUint(r.fee, UINT96) ||
    !isUint(r.cumulative, UINT96) ||
    !isUint(r.index, UINT64) ||
    !isUint(r.deadline, UINT64)
  ) {
    return hashQuietRequest(request);
  }
  const out = Buffer.alloc(9 * 32);
  REQUEST_TYPEHASH_BYTES.copy(out, 0);
  putWord(out, 1, r.payer);
  putWord(out, 2, r.operator);
  putWord(out, 3, r.modelId);
  putWord(out, 4, r.inputHash);
  putUint(out, 5, r.fee);
  putUint(out, 6, r.cumulative);
  putUint(out, 7, r.index);
  putUint(out, 8, r.deadline);
  return keccak256(out);
}

/** `hashReceipt(receipt)`, encoded by hand when every field is in range (else viem's, which throws). */
export function fastHashReceipt(receipt: Receipt): Hex {
  const r = receipt;
  if (
    !isAddr(r.operator) ||
    !isUint(r.seq, UINT64) ||
    !isBytes32(r.request) ||
    !isBytes32(r.outputHash) ||
    !isUint(r.time, UINT64)
  ) {
    return hashReceipt(receipt);
  }
  const out = Buffer.alloc(6 * 32);
  RECEIPT_TYPEHASH_BYTES.copy(out, 0);
  putWord(out, 1, r.operator);
  putUint(out, 2, r.seq);
  putWord(out, 3, r.request);
  putWord(out, 4, r.outputHash);
  putUint(out, 5, r.time);
  return keccak256(out);
}

/** The EIP-712 domain separator of `domain` (computed once per domain). */
function separator(domain: ProtocolDomain): Buffer {
  const key = `${domain.chainId}:${domain.verifyingContract.toLowerCase()}:${domain.name}:${domain.version}`;
  let known = separators.get(key);
  if (known === undefined) {
    known = Buffer.from(domainSeparator({ domain }).slice(2), "hex");
    if (separators.size >= 64) separators.clear();
    separators.set(key, known);
  }
  return known;
}

/** The EIP-712 digest of a struct hash under `domain`: `keccak256(0x1901 ‖ domainSeparator ‖ structHash)`. */
export function typedDigest(domain: ProtocolDomain, structHash: Hex): Hex {
  const out = Buffer.alloc(66);
  out[0] = 0x19;
  out[1] = 0x01;
  separator(domain).copy(out, 2);
  out.write(structHash.slice(2), 34, "hex");
  return keccak256(out);
}

/** The digest a payer signs for `request` (as `quietRequestDigest`). */
export function fastQuietRequestDigest(domain: ProtocolDomain, request: QuietRequest): Hex {
  return typedDigest(domain, fastHashQuietRequest(request));
}

/** The digest an operator's key signs for `receipt` (as `receiptDigest`). */
export function fastReceiptDigest(domain: ProtocolDomain, receipt: Receipt): Hex {
  return typedDigest(domain, fastHashReceipt(receipt));
}

/**
 * The address that signed `digest` (src/sdk/fast-ecdsa.ts: libsecp256k1 where it loads). Throws on a malformed
 * signature, and on a malleable (high-`s`) one, which the contracts refuse.
 */
export function recoverDigestSigner(digest: Hex, signature: Hex): Promise<Address> {
  return recoverDigestAddress(digest, signature);
}

/** A key that signs receipts: a local account signs the digest directly; any other signs the typed data. */
export type ReceiptSigner = Pick<LocalAccount, "signTypedData"> & Partial<Pick<LocalAccount, "sign">>;

/** The operator key's signature of `receipt` (the same bytes as `signReceipt`: RFC 6979 signatures are deterministic). */
export function fastSignReceipt(
  signer: ReceiptSigner,
  domain: ProtocolDomain,
  receipt: Receipt,
): Promise<Hex> {
  if (signer.sign !== undefined) return signer.sign({ hash: fastReceiptDigest(domain, receipt) });
  return signer.signTypedData(receiptTypedData(domain, receipt));
}
