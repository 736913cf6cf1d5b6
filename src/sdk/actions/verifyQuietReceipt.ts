import { bytesToBigInt, hexToBigInt, isHex, size, zeroAddress, type Hex } from "viem";
import { VerificationMode } from "../../protocol/modes.js";
import { bytesOutputHash, zkOutputHash, type QuietRequest, type Receipt } from "../../protocol/quiet.js";
import type { OpgContext } from "../context.js";
import { decodeProtocolError, OpgError } from "../errors.js";
import { memoized } from "../quiet-cache.js";
import { fastHashQuietRequest, fastHashReceipt, recoverDigestSigner, typedDigest } from "../quiet-digest.js";
import type { ModelInfo } from "../types.js";
import { getModel } from "./getModel.js";
import { getOperator } from "./getOperator.js";
import { getQuietMode } from "./getQuietMode.js";

export interface VerifyQuietReceiptParams {
  /** The receipt the operator answered with. */
  receipt: Receipt;
  /** The request it answers, as the payer signed it. */
  request: QuietRequest;
  /** The operator key's signature of the receipt. */
  signature: Hex;
  /**
   * The output the operator answered with: its bytes (float32 LE scores), or for a model with a zk circuit the class,
   * as a 32-byte word or a bigint.
   */
  output: Hex | Uint8Array | bigint;
  /**
   * Accept chain reads (the operator's record, the model version) up to this old, in milliseconds, memoized per
   * client (default 0: read the chain on every call). With a positive age, a key rotated out, an operator unbonded or
   * a model deprecated is noticed at most this late; `infer` passes its `cacheTtlMs`.
   */
  maxAgeMs?: number;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function reject(check: string): never {
  throw new OpgError("ReceiptRejected", `receipt rejected: ${check}`);
}

/** The output hash the receipt must carry for `output`, or a rejection naming why `output` cannot be the model's. */
function outputHashOf(output: VerifyQuietReceiptParams["output"], zkCircuit: boolean): Hex {
  if (typeof output === "bigint") {
    if (!zkCircuit)
      reject("the output is given as a class, but the model has no zk circuit: give the output bytes");
    if (output < 0n || output >= 2n ** 256n) reject(`the class ${output} is not a uint256`);
    return zkOutputHash(output);
  }
  if (typeof output === "string" && !isHex(output, { strict: true })) reject("the output is not hex");
  if (!zkCircuit) return bytesOutputHash(output);
  if (size(output) !== 32) {
    reject(
      `the model has a zk circuit, so the output is its class as a 32-byte word, not ${size(output)} bytes`,
    );
  }
  return zkOutputHash(typeof output === "string" ? hexToBigInt(output) : bytesToBigInt(output));
}

/** The model version, or `undefined` when the registry has none by that id (any other failure is thrown). */
async function modelOrNone(ctx: OpgContext<"models">, modelId: Hex): Promise<ModelInfo | undefined> {
  try {
    return await getModel(ctx, { modelId });
  } catch (error) {
    if (decodeProtocolError(error)?.name === "UnknownModel") return undefined;
    throw error;
  }
}

/**
 * Check a quiet-mode answer before trusting it, as a payer does on receipt (docs/quiet.md). In order: the receipt
 * answers this request (`hashQuietRequest`), by the request's operator; its output hash is the output's (keccak256 of
 * the bytes, or for a zk-circuit model of the class word); the request's deadline is within the mode's `maxTtl` of
 * the receipt's time; the signature is by the operator's current registered key and the operator is eligible
 * (staked, not unbonding out); the model version is Active and allows quiet mode. Resolves to the receipt when every
 * check passes; otherwise throws `OpgError` `ReceiptRejected` naming the failed check. Chain reads that fail (an
 * unreachable RPC) are thrown as they are: nothing unverified is returned. With `maxAgeMs` the operator's record and
 * the model version are memoized per client for that long (no chain read per call in the steady state).
 */
export async function verifyQuietReceipt(
  ctx: OpgContext<"settlement" | "operators" | "models">,
  { receipt, request, signature, output, maxAgeMs = 0 }: VerifyQuietReceiptParams,
): Promise<Receipt> {
  let requestHash: Hex;
  let receiptHash: Hex;
  try {
    requestHash = fastHashQuietRequest(request);
  } catch (error) {
    reject(`the request is malformed (${(error as Error).message})`);
  }
  try {
    receiptHash = fastHashReceipt(receipt);
  } catch (error) {
    reject(`the receipt is malformed (${(error as Error).message})`);
  }
  if (typeof receipt.request !== "string" || !same(receipt.request, requestHash)) {
    reject(`the receipt answers request ${receipt.request}, not this one (${requestHash})`);
  }
  if (typeof receipt.operator !== "string" || !same(receipt.operator, request.operator)) {
    reject(`the receipt is by operator ${receipt.operator}, but the request names ${request.operator}`);
  }

  const [quiet, operator, model] = await Promise.all([
    getQuietMode(ctx),
    memoized(ctx, `operator/${request.operator.toLowerCase()}`, maxAgeMs, () =>
      getOperator(ctx, { operator: request.operator }),
    ),
    memoized(ctx, `model-or-none/${request.modelId.toLowerCase()}`, maxAgeMs, () =>
      modelOrNone(ctx, request.modelId),
    ),
  ]);
  if (model === undefined) reject(`model ${request.modelId} is not registered`);

  const expected = outputHashOf(output, model.zkVerifier !== zeroAddress);
  if (typeof receipt.outputHash !== "string" || !same(receipt.outputHash, expected)) {
    reject(`the receipt's output hash ${receipt.outputHash} is not the output's (${expected})`);
  }
  if (request.deadline > receipt.time + quiet.maxTtl) {
    reject(
      `the request's deadline ${request.deadline} is more than the mode's maxTtl (${quiet.maxTtl} s) after the receipt's time ${receipt.time}`,
    );
  }

  let signer: string;
  try {
    signer = await recoverDigestSigner(typedDigest(quiet.domain, receiptHash), signature);
  } catch (error) {
    reject(`the signature is malformed or the receipt out of range (${(error as Error).message})`);
  }
  if (operator.signer === zeroAddress) reject(`${request.operator} is not a registered operator`);
  if (!same(signer, operator.signer)) {
    reject(`the receipt is signed by ${signer}, not by the operator's current key ${operator.signer}`);
  }
  if (!operator.eligible) reject(`operator ${request.operator} is not eligible to serve (not staked enough)`);

  if (model.status !== "Active") reject(`model ${request.modelId} is ${model.status}, not Active`);
  if ((model.modes & VerificationMode.Quiet) === 0) {
    reject(`model ${request.modelId} does not allow quiet mode (mode flags ${model.modes})`);
  }
  return receipt;
}
