/**
 * The one JSON form of quiet mode's signed structures (docs/quiet.md, "Wire format"): bigints as decimal strings,
 * addresses checksummed, bytes as 0x-prefixed hex. The gateway's body and answers, the operator's store, the payer's
 * receipt files, the watcher and the audit all read and write through this pair of functions per structure, so a
 * receipt written by one is read by every other.
 *
 * Parsers are strict: anything out of shape throws `QuietJsonError` naming the field (`request.fee`, `receipt.seq`)
 * and what it must be; nothing is coerced.
 */
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { MAX_BATCH } from "./merkle.js";
import type { QuietRequest, Receipt } from "./quiet.js";

const UINT64_MAX = 2n ** 64n - 1n;
const UINT96_MAX = 2n ** 96n - 1n;

/** A `QuietRequest` in JSON: bigints as decimal strings. */
export interface QuietRequestJson {
  payer: Address;
  operator: Address;
  modelId: Hex;
  inputHash: Hex;
  fee: string;
  cumulative: string;
  index: string;
  deadline: string;
}

/** A `Receipt` in JSON: bigints as decimal strings. */
export interface ReceiptJson {
  operator: Address;
  seq: string;
  request: Hex;
  outputHash: Hex;
  time: string;
}

/** A JSON value that is not the structure it should be: `field` is its path (`request.fee`), `message` says what to fix. */
export class QuietJsonError extends Error {
  override readonly name = "QuietJsonError";
  constructor(
    /** Path of the first bad field, e.g. `request.fee`. */
    readonly field: string,
    /** What the field must be. */
    readonly expected: string,
  ) {
    super(`${field} must be ${expected}`);
  }
}

/** Whether `value` is a plain JSON object. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `value` as an object, or `QuietJsonError` naming `path`. */
export function jsonObject(value: unknown, path: string, what = "an object"): Record<string, unknown> {
  if (!isJsonObject(value)) throw new QuietJsonError(path, what);
  return value;
}

/** An unsigned integer in decimal at most `max`. */
export function jsonUint(value: unknown, path: string, max: bigint = UINT64_MAX): bigint {
  if (typeof value !== "string" || !/^(?:0|[1-9][0-9]{0,77})$/.test(value)) {
    throw new QuietJsonError(path, "an unsigned integer as a decimal string");
  }
  const parsed = BigInt(value);
  if (parsed > max) throw new QuietJsonError(path, `at most ${max}`);
  return parsed;
}

/** 0x-prefixed hex of exactly `bytes` bytes (any whole number of bytes when omitted), returned in lower case. */
export function jsonHex(value: unknown, path: string, bytes?: number): Hex {
  const ok =
    typeof value === "string" &&
    /^0x(?:[0-9a-fA-F]{2})*$/.test(value) &&
    (bytes === undefined || value.length === 2 + 2 * bytes);
  if (!ok) {
    throw new QuietJsonError(path, `${bytes === undefined ? "bytes" : `${bytes} bytes`} as 0x-prefixed hex`);
  }
  return value.toLowerCase() as Hex;
}

/** A 20-byte address (any case), returned checksummed. */
export function jsonAddress(value: unknown, path: string): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new QuietJsonError(path, "an address (20 bytes of 0x-prefixed hex)");
  }
  return getAddress(value);
}

/** A request's JSON form. */
export function quietRequestToJson(request: QuietRequest): QuietRequestJson {
  return {
    payer: getAddress(request.payer),
    operator: getAddress(request.operator),
    modelId: request.modelId,
    inputHash: request.inputHash,
    fee: request.fee.toString(),
    cumulative: request.cumulative.toString(),
    index: request.index.toString(),
    deadline: request.deadline.toString(),
  };
}

/** A request from its JSON form; throws `QuietJsonError` on the first bad field (every field in its Solidity range). */
export function quietRequestFromJson(value: unknown, path = "request"): QuietRequest {
  const raw = jsonObject(value, path, "an object (a QuietRequest, bigints as decimal strings)");
  return {
    payer: jsonAddress(raw.payer, `${path}.payer`),
    operator: jsonAddress(raw.operator, `${path}.operator`),
    modelId: jsonHex(raw.modelId, `${path}.modelId`, 32),
    inputHash: jsonHex(raw.inputHash, `${path}.inputHash`, 32),
    fee: jsonUint(raw.fee, `${path}.fee`, UINT96_MAX),
    cumulative: jsonUint(raw.cumulative, `${path}.cumulative`, UINT96_MAX),
    index: jsonUint(raw.index, `${path}.index`, UINT64_MAX),
    deadline: jsonUint(raw.deadline, `${path}.deadline`, UINT64_MAX),
  };
}

/** A receipt's JSON form. */
export function receiptToJson(receipt: Receipt): ReceiptJson {
  return {
    operator: getAddress(receipt.operator),
    seq: receipt.seq.toString(),
    request: receipt.request,
    outputHash: receipt.outputHash,
    time: receipt.time.toString(),
  };
}

/** A receipt from its JSON form; throws `QuietJsonError` on the first bad field. */
export function receiptFromJson(value: unknown, path = "receipt"): Receipt {
  const raw = jsonObject(value, path, "an object (a Receipt, bigints as decimal strings)");
  return {
    operator: jsonAddress(raw.operator, `${path}.operator`),
    seq: jsonUint(raw.seq, `${path}.seq`, UINT64_MAX),
    request: jsonHex(raw.request, `${path}.request`, 32),
    outputHash: jsonHex(raw.outputHash, `${path}.outputHash`, 32),
    time: jsonUint(raw.time, `${path}.time`, UINT64_MAX),
  };
}

/**
 * Everything a payer keeps of one served inference, as `infer` hands it to `onReceipt` and as `opg infer --out`
 * writes it: the deployment (chain and `QuietMode`), the signed request (the voucher), the operator's signed receipt,
 * the output, and the input bytes the operator never publishes. `opg audit --receipt` and the watcher read it.
 */
export interface QuietReceiptRecord {
  /** The chain of the `QuietMode` deployment the structures are signed under. */
  chainId: number;
  /** The `QuietMode` contract (the EIP-712 domain's verifying contract). */
  quietMode: Address;
  /** The gateway that answered (absent when not known). */
  operatorUrl?: string;
  request: QuietRequest;
  /** The payer's signature of `request` (the voucher the operator redeems). */
  requestSignature: Hex;
  receipt: Receipt;
  /** The operator key's signature of `receipt`. */
  signature: Hex;
  output: Hex;
  outputHash: Hex;
  /** The input bytes (absent when the holder does not have them: then only a proof can check the output). */
  input?: Hex;
}

/** A receipt record's JSON form (the receipt file). */
export function receiptRecordToJson(record: QuietReceiptRecord): Record<string, unknown> {
  return {
    chainId: record.chainId,
    quietMode: getAddress(record.quietMode),
    ...(record.operatorUrl !== undefined && { operatorUrl: record.operatorUrl }),
    request: quietRequestToJson(record.request),
    requestSignature: record.requestSignature,
    receipt: receiptToJson(record.receipt),
    signature: record.signature,
    output: record.output,
    outputHash: record.outputHash,
    ...(record.input !== undefined && { input: record.input }),
  };
}

/** A receipt record from its JSON form (a receipt file); throws `QuietJsonError` naming the first bad field. */
export function receiptRecordFromJson(value: unknown): QuietReceiptRecord {
  const raw = jsonObject(value, "the receipt file", "a JSON object (a quiet receipt record)");
  const chainId = raw.chainId;
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new QuietJsonError("chainId", "the chain id as a positive whole number");
  }
  const operatorUrl = raw.operatorUrl;
  if (operatorUrl !== undefined && typeof operatorUrl !== "string") {
    throw new QuietJsonError("operatorUrl", "a URL string when present");
  }
  return {
    chainId,
    quietMode: jsonAddress(raw.quietMode, "quietMode"),
    ...(operatorUrl !== undefined && { operatorUrl }),
    request: quietRequestFromJson(raw.request, "request"),
    requestSignature: jsonHex(raw.requestSignature, "requestSignature", 65),
    receipt: receiptFromJson(raw.receipt, "receipt"),
    signature: jsonHex(raw.signature, "signature", 65),
    output: jsonHex(raw.output, "output"),
    outputHash: jsonHex(raw.outputHash, "outputHash", 32),
    ...(raw.input !== undefined && { input: jsonHex(raw.input, "input") }),
  };
}

/** A gateway's answer to `POST /v1/infer`: the output and its signed receipt. */
export interface InferAnswer {
  receipt: Receipt;
  /** The operator key's 65-byte signature of `receipt`. */
  signature: Hex;
  output: Hex;
  outputHash: Hex;
}

/** An answer's JSON form (the gateway's 200 body). */
export function inferAnswerToJson(answer: InferAnswer): Record<string, unknown> {
  return {
    receipt: receiptToJson(answer.receipt),
    signature: answer.signature,
    output: answer.output,
    outputHash: answer.outputHash,
  };
}

/** An answer from its JSON form (shape only: its content is for `verifyQuietReceipt`); throws `QuietJsonError`. */
export function inferAnswerFromJson(value: unknown): InferAnswer {
  const raw = jsonObject(value, "the answer", "a JSON object {receipt, signature, output, outputHash}");
  return {
    receipt: receiptFromJson(raw.receipt),
    signature: jsonHex(raw.signature, "signature", 65),
    output: jsonHex(raw.output, "output"),
    outputHash: jsonHex(raw.outputHash, "outputHash", 32),
  };
}

/** One entry of a committed batch's data: the receipt, the request it answers, both signatures, and the output. */
export interface BatchEntry {
  receipt: Receipt;
  signature: Hex;
  request: QuietRequest;
  requestSignature: Hex;
  output: Hex;
}

/**
 * A committed batch's data as its operator serves it (`GET /v1/batches/<firstSeq>`, the batch's `dataUri`): the
 * receipts in sequence order. Inputs are never part of it (payers keep theirs).
 */
export interface BatchData {
  firstSeq: bigint;
  count: number;
  root: Hex;
  /** The batch's index in the operator's log on chain. */
  batchIndex: bigint;
  /** When it was committed (unix seconds). */
  committedAt: bigint;
  receipts: BatchEntry[];
}

/** A batch's JSON form. */
export function batchDataToJson(batch: BatchData): Record<string, unknown> {
  return {
    firstSeq: batch.firstSeq.toString(),
    count: batch.count,
    root: batch.root,
    batchIndex: batch.batchIndex.toString(),
    committedAt: batch.committedAt.toString(),
    receipts: batch.receipts.map((entry) => ({
      receipt: receiptToJson(entry.receipt),
      signature: entry.signature,
      request: quietRequestToJson(entry.request),
      requestSignature: entry.requestSignature,
      output: entry.output,
    })),
  };
}

/**
 * A batch from its JSON form; throws `QuietJsonError` on the first bad field. Checks shape only (the count matches the
 * entries); whether the entries are the committed leaves is for the caller (rebuild the root).
 */
export function batchDataFromJson(value: unknown): BatchData {
  const raw = jsonObject(value, "the batch", "a JSON object (a committed batch's data)");
  const count = raw.count;
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1 || count > MAX_BATCH) {
    throw new QuietJsonError("count", `a whole number from 1 to ${MAX_BATCH}`);
  }
  if (!Array.isArray(raw.receipts) || raw.receipts.length !== count) {
    throw new QuietJsonError("receipts", `an array of ${count} entries (the batch's count)`);
  }
  const receipts = raw.receipts.map((item: unknown, i): BatchEntry => {
    const entry = jsonObject(item, `receipts[${i}]`);
    return {
      receipt: receiptFromJson(entry.receipt, `receipts[${i}].receipt`),
      signature: jsonHex(entry.signature, `receipts[${i}].signature`, 65),
      request: quietRequestFromJson(entry.request, `receipts[${i}].request`),
      requestSignature: jsonHex(entry.requestSignature, `receipts[${i}].requestSignature`, 65),
      output: jsonHex(entry.output, `receipts[${i}].output`),
    };
  });
  return {
    firstSeq: jsonUint(raw.firstSeq, "firstSeq"),
    count,
    root: jsonHex(raw.root, "root", 32),
    batchIndex: jsonUint(raw.batchIndex, "batchIndex"),
    committedAt: jsonUint(raw.committedAt, "committedAt"),
    receipts,
  };
}

/** Where a receipt sits in its operator's committed log: the batch and the receipt's Merkle proof in it. */
export interface ReceiptInclusion {
  /** The batch's index in the operator's log on chain. */
  batchIndex: bigint;
  root: Hex;
  firstSeq: bigint;
  count: number;
  committedAt: bigint;
  /** The receipt leaf's Merkle proof (siblings from the leaf up). */
  proof: Hex[];
}

/** An inclusion's JSON form (`GET /v1/receipts/<seq>`'s `inclusion`). */
export function receiptInclusionToJson(inclusion: ReceiptInclusion): Record<string, unknown> {
  return {
    batchIndex: inclusion.batchIndex.toString(),
    root: inclusion.root,
    firstSeq: inclusion.firstSeq.toString(),
    count: inclusion.count,
    committedAt: inclusion.committedAt.toString(),
    proof: inclusion.proof,
  };
}

/** An inclusion from its JSON form; throws `QuietJsonError` naming the first bad field. */
export function receiptInclusionFromJson(value: unknown, path = "inclusion"): ReceiptInclusion {
  const raw = jsonObject(value, path);
  const count = raw.count;
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1 || count > MAX_BATCH) {
    throw new QuietJsonError(`${path}.count`, `a whole number from 1 to ${MAX_BATCH}`);
  }
  if (!Array.isArray(raw.proof) || raw.proof.length > 16) {
    throw new QuietJsonError(`${path}.proof`, "an array of at most 16 sibling hashes");
  }
  return {
    batchIndex: jsonUint(raw.batchIndex, `${path}.batchIndex`),
    root: jsonHex(raw.root, `${path}.root`, 32),
    firstSeq: jsonUint(raw.firstSeq, `${path}.firstSeq`),
    count,
    committedAt: jsonUint(raw.committedAt, `${path}.committedAt`),
    proof: raw.proof.map((item: unknown, i) => jsonHex(item, `${path}.proof[${i}]`, 32)),
  };
}
