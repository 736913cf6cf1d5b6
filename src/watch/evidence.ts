/**
 * Checks on one signed receipt as the contract would check it as evidence (docs/quiet.md, "Challenges"): it answers
 * its request (`hashQuietRequest`), by the request's operator, within `maxTtl`, signed by a key of that operator not
 * retired before the receipt's time (`signerRecord`); and the request is signed by its payer. Each failed check is a
 * short reason; none throws on bad input (chain reads that fail do).
 */
import { encodeAbiParameters, hexToBigInt, keccak256, type Address, type Hex } from "viem";
import { operatorRegistryAbi } from "../abi/index.js";
import {
  hashQuietRequest,
  recoverQuietRequestSigner,
  recoverReceiptSigner,
  type QuietRequest,
  type Receipt,
} from "../protocol/quiet.js";
import {
  jsonHex,
  jsonObject,
  quietRequestFromJson,
  quietRequestToJson,
  receiptFromJson,
  receiptToJson,
  type BatchEntry,
} from "../protocol/quiet-json.js";
import type { ProtocolDomain } from "../protocol/typed-data.js";
import type { OpgContext } from "../sdk/context.js";

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** What checking evidence needs from the deployment. */
export interface EvidenceContext {
  ctx: OpgContext<"operators">;
  domain: ProtocolDomain;
  maxTtl: bigint;
}

/**
 * Why `receipt` (with `request` and `signature`) is not evidence against its operator, or `undefined` when it is.
 * `signerCache` memoizes `signerRecord` reads within one pass.
 */
export async function receiptProblem(
  ec: EvidenceContext,
  receipt: Receipt,
  request: QuietRequest,
  signature: Hex,
  signerCache = new Map<string, Promise<{ operator: Address; retiredAt: bigint }>>(),
): Promise<string | undefined> {
  let requestHash: Hex;
  try {
    requestHash = hashQuietRequest(request);
  } catch {
    return "request_out_of_range";
  }
  if (!same(receipt.request, requestHash)) return "request_hash_mismatch";
  if (!same(receipt.operator, request.operator)) return "operator_mismatch";
  if (request.deadline > receipt.time + ec.maxTtl) return "ttl_too_long";
  let signer: Address;
  try {
    signer = await recoverReceiptSigner(ec.domain, receipt, signature);
  } catch {
    return "bad_receipt_signature";
  }
  const key = signer.toLowerCase();
  let record = signerCache.get(key);
  if (record === undefined) {
    record = ec.ctx.publicClient
      .readContract({
        address: ec.ctx.addresses.operators,
        abi: operatorRegistryAbi,
        functionName: "signerRecord",
        args: [signer],
      })
      .then((r) => ({ operator: r.operator, retiredAt: r.retiredAt }));
    signerCache.set(key, record);
  }
  const { operator, retiredAt } = await record;
  if (!same(operator, receipt.operator)) return "not_operator_key";
  if (retiredAt !== 0n && receipt.time >= retiredAt) return "key_retired";
  return undefined;
}

/** Why the payer's signature of `request` is not the payer's, or `undefined` when it is. */
export async function payerProblem(
  domain: ProtocolDomain,
  request: QuietRequest,
  requestSignature: Hex,
): Promise<string | undefined> {
  try {
    const payer = await recoverQuietRequestSigner(domain, request, requestSignature);
    return same(payer, request.payer) ? undefined : "bad_payer_signature";
  } catch {
    return "bad_payer_signature";
  }
}

/** An entry's JSON form in the watcher's state file (the codec's pieces, as batch data carries it). */
export function entryToJson(entry: BatchEntry): string {
  return JSON.stringify({
    receipt: receiptToJson(entry.receipt),
    signature: entry.signature,
    request: quietRequestToJson(entry.request),
    requestSignature: entry.requestSignature,
    output: entry.output,
  });
}

/** An entry from {@link entryToJson}. */
export function entryFromJson(text: string): BatchEntry {
  const raw = jsonObject(JSON.parse(text), "entry");
  return {
    receipt: receiptFromJson(raw.receipt, "entry.receipt"),
    signature: jsonHex(raw.signature, "entry.signature", 65),
    request: quietRequestFromJson(raw.request, "entry.request"),
    requestSignature: jsonHex(raw.requestSignature, "entry.requestSignature", 65),
    output: jsonHex(raw.output, "entry.output"),
  };
}

/**
 * Whether `seq` of `operator` is re-executed at sampling rate `rate` (0 to 1): a hash of (operator, seq) below the
 * rate, so a restart (or another watcher) samples the same receipts.
 */
export function sampled(operator: Address, seq: bigint, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  const h = keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint64" }], [operator, seq]));
  return Number(hexToBigInt(h) >> 203n) / 2 ** 53 < rate;
}
