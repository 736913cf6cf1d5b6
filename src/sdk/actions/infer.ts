import { getAddress, isAddress, keccak256, toHex, zeroAddress, type Address, type Hex } from "viem";
import { VerificationMode } from "../../protocol/modes.js";
import type { QuietRequest, Receipt } from "../../protocol/quiet.js";
import type { ProtocolDomain } from "../../protocol/typed-data.js";
import type { QuietReceiptRecord } from "../../protocol/quiet-json.js";
import { requireAccount, type OpgContext } from "../context.js";
import { decodeOutput, type DecodedOutput } from "../decode.js";
import { OpgError } from "../errors.js";
import { checkFinite, prepareSignatureInput } from "../features.js";
import { checkUint96 } from "../limits.js";
import { chainClock, memoized } from "../quiet-cache.js";
import { fastQuietRequestDigest } from "../quiet-digest.js";
import {
  inferBody,
  NetworkFailure,
  postInfer,
  parseAnswer,
  type InferFetch,
} from "../quiet-gateway-client.js";
import type { ModelInfo } from "../types.js";
import { getModel } from "./getModel.js";
import { getOperatorEndpoint } from "./getOperatorEndpoint.js";
import { getQuietMode } from "./getQuietMode.js";
import { getSubChannel } from "./getSubChannel.js";
import {
  signQuietVoucher,
  type SignedQuietRequest,
  type SignQuietVoucherParams,
} from "./signQuietVoucher.js";
import { verifyQuietReceipt } from "./verifyQuietReceipt.js";

/** Where a payer's (operator, model) sub-channel stands: the next voucher's index and the running total so far. */
export interface QuietVoucherPosition {
  /** The index the next voucher takes. */
  index: bigint;
  /** The sum of the fees signed so far (the next voucher's `cumulative` is this plus its fee). */
  cumulative: bigint;
}

/**
 * One payer's voucher positions, keyed `"<operator>/<modelId>"` in lower case (a `Map<string, QuietVoucherPosition>`
 * is one). Pass one to `infer` and persist it (bigints as decimal strings) to continue a sub-channel across restarts;
 * keep one per payer.
 */
export interface QuietVoucherState {
  get(key: string): QuietVoucherPosition | undefined;
  set(key: string, position: QuietVoucherPosition): unknown;
}

export interface InferParams {
  /**
   * The operator's gateway base URL (`http(s)://host:port`, as its node prints it). Default: the endpoint the operator
   * published in the operator registry (`getOperatorEndpoint`, read once per `cacheTtlMs`).
   */
  operatorUrl?: string;
  /** The operator (staking) account the voucher pays. */
  operator: Address;
  modelId: Hex;
  /** The input: its bytes, or features (numbers), encoded as float32 little-endian (`prepareSignatureInput`). */
  input: Uint8Array | readonly number[];
  /**
   * What the request commits to. Default: keccak256 of the input bytes. For a model with a zk circuit it is the
   * circuit's Poseidon commitment and must be given (`prepareInput` in the `/zk` subpath; the core loads no zk code).
   */
  inputHash?: Hex;
  /** This inference's fee; default the model version's fee now. */
  fee?: bigint;
  /** Seconds the operator has to answer (default 300, at most the mode's `maxTtl`). */
  ttlSeconds?: number;
  /** The payer's voucher positions (see `QuietVoucherState`); default: kept in this client's memory. */
  voucherState?: QuietVoucherState;
  /** Scores per row of a signature-style model's output (3 for Iris): when given, the output is decoded. */
  outputWidth?: number;
  /** Called with each verified receipt before `infer` returns: persist it (evidence for challenges and audits). */
  onReceipt?: (record: QuietReceiptRecord) => void | Promise<void>;
  /** The `fetch` to post with (default: the global one). */
  fetch?: InferFetch;
  /** Per-attempt HTTP timeout in milliseconds (default 30,000). */
  timeoutMs?: number;
  /**
   * How long chain reads are reused, in milliseconds (default 5,000; 0: read on every call): the model version, the
   * operator's record and the chain's clock (kept as its lead over this machine's clock), per client. So in the
   * steady state a call makes no RPC request; a model deprecated or an operator key rotated is noticed at most this
   * late (the gateway refuses a deprecated model itself within its own bounded delay, docs/quiet.md "Throughput").
   */
  cacheTtlMs?: number;
}

/** A verified answer: the output, the operator's receipt and signature, the signed request, and the decoded classes. */
export interface InferResult {
  output: Hex;
  outputHash: Hex;
  receipt: Receipt;
  signature: Hex;
  request: QuietRequest;
  requestSignature: Hex;
  /** The output decoded: for a zk-circuit model its class; for another model its scores, when `outputWidth` is given. */
  decoded?: DecodedOutput;
  /** Milliseconds from the call to the verified answer. */
  latencyMs: number;
}

const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CACHE_TTL_MS = 5_000;

/** The default voucher state per client (keyed by its cache), each entry keyed by payer, operator and model. */
const memoryStates = new WeakMap<object, Map<string, QuietVoucherPosition>>();
/** The tail of the calls in flight per state and key: one voucher at a time per sub-channel. */
const queues = new WeakMap<object, Map<string, Promise<unknown>>>();

/** The key of an (operator, model) sub-channel in a `QuietVoucherState`: `"<operator>/<modelId>"` in lower case. */
function voucherKey(operator: Address, modelId: Hex): string {
  return `${operator.toLowerCase()}/${modelId.toLowerCase()}`;
}

/** Run `task` after the calls queued before it on the same state and key. */
function serialized<T>(state: object, key: string, task: () => Promise<T>): Promise<T> {
  let byKey = queues.get(state);
  if (byKey === undefined) queues.set(state, (byKey = new Map<string, Promise<unknown>>()));
  const previous = byKey.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.catch(() => undefined);
  byKey.set(key, tail);
  void tail.then(() => {
    if (byKey.get(key) === tail) byKey.delete(key);
  });
  return run;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The input bytes and what the request commits to. */
function prepareInput(params: InferParams, model: ModelInfo): { bytes: Uint8Array; inputHash: Hex } {
  let bytes: Uint8Array;
  if (params.input instanceof Uint8Array) {
    bytes = params.input;
  } else {
    checkFinite(params.input);
    bytes = prepareSignatureInput(params.input).bytes;
  }
  if (bytes.length === 0) throw new OpgError("BadInput", "the input is empty");
  if (params.inputHash !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(params.inputHash)) {
      throw new OpgError(
        "BadInput",
        `inputHash must be 32 bytes of 0x-prefixed hex, not ${params.inputHash}`,
      );
    }
    return { bytes, inputHash: params.inputHash };
  }
  if (model.zkVerifier !== zeroAddress) {
    throw new OpgError(
      "BadInput",
      `model ${model.modelId} has a zk circuit: pass inputHash, the circuit's Poseidon input commitment (prepareInput in the /zk subpath)`,
    );
  }
  return { bytes, inputHash: keccak256(bytes) };
}

/**
 * The voucher signed as `signQuietVoucher` does; a local account signs the EIP-712 digest directly (the same
 * signature, RFC 6979, without viem's typed-data validation: a third of the client's signing time), any other wallet
 * through `signQuietVoucher`.
 */
async function signVoucher(
  ctx: OpgContext<"settlement">,
  domain: ProtocolDomain,
  params: SignQuietVoucherParams,
): Promise<SignedQuietRequest> {
  const account = requireAccount(ctx);
  if (account.type !== "local" || account.sign === undefined || params.index >= 2n ** 64n) {
    return signQuietVoucher(ctx, params);
  }
  checkUint96(params.fee, "the fee");
  checkUint96(params.cumulative, "the running total (cumulative)");
  const request: QuietRequest = { payer: account.address, ...params };
  return { request, signature: await account.sign({ hash: fastQuietRequestDigest(domain, request) }) };
}

/**
 * Run one inference in quiet mode (docs/quiet.md) and return its answer with the operator's receipt, verified. In
 * order: read the model (its fee and whether it has a zk circuit), sign the next voucher of the (payer, operator,
 * model) sub-channel (`signQuietVoucher`: index and running total from `voucherState`, else from this client's
 * memory, else from the chain's `claimed`: index 0 when nothing was claimed), post it with the input to the
 * operator's `POST /v1/infer`, then check the answer with `verifyQuietReceipt`: nothing unverified is returned.
 *
 * - The operator's refusal (4xx/5xx `{error, code}`) throws `OperatorRefusedError` (`OpgError` `OperatorRefused`,
 *   with the status and the operator's code); an answer that fails verification throws `ReceiptRejected`. Neither
 *   advances the voucher state.
 * - A network failure is retried once with the same signed request: the gateway answers a request it already served
 *   with the same receipt, so a retry never pays twice. A second failure throws `Unreachable`; the request may have
 *   been served then, and the next voucher of the sub-channel may be refused (`voucher_out_of_order`) until the
 *   state is corrected.
 * - The state advances only after a verified receipt; then `onReceipt` gets the record to persist (the payer's
 *   evidence for challenges and audits, and the input the operator never publishes) and may throw (the state stays
 *   advanced: the operator served it).
 * - A model with a zk circuit commits to its Poseidon input commitment: pass `inputHash` (computed with the `/zk`
 *   subpath; this core never loads zk code). Its output is decoded to the class; another model's output is decoded
 *   to scores and classes when `outputWidth` is given (`decoded` is left out when the output does not fit it).
 *
 * Calls on the same sub-channel (same state, operator and model) run one after another.
 */
export async function infer(
  ctx: OpgContext<"settlement" | "operators" | "models">,
  params: InferParams,
): Promise<InferResult> {
  const started = performance.now();
  const payer = requireAccount(ctx).address;
  if (!isAddress(params.operator, { strict: false })) {
    throw new OpgError("BadAddress", `operator is not an address: ${String(params.operator)}`);
  }
  const operator = getAddress(params.operator);
  const ttl = params.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new OpgError("BadInput", `ttlSeconds must be a positive whole number of seconds, not ${ttl}`);
  }
  const cacheTtlMs = params.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  if (!Number.isFinite(cacheTtlMs) || cacheTtlMs < 0) {
    throw new OpgError(
      "BadInput",
      `cacheTtlMs must be a non-negative number of milliseconds, not ${cacheTtlMs}`,
    );
  }
  const operatorUrl =
    params.operatorUrl ??
    (await memoized(ctx, `endpoint/${operator}`, cacheTtlMs, () => getOperatorEndpoint(ctx, { operator })));
  if (operatorUrl === undefined) {
    throw new OpgError(
      "BadInput",
      `operator ${operator} has published no quiet-mode endpoint in the operator registry: pass operatorUrl`,
    );
  }
  let endpoint: URL;
  try {
    endpoint = new URL("v1/infer", operatorUrl.endsWith("/") ? operatorUrl : `${operatorUrl}/`);
  } catch {
    throw new OpgError("BadInput", `operatorUrl is not a URL: ${operatorUrl}`);
  }

  const width = params.outputWidth;
  if (width !== undefined && (!Number.isSafeInteger(width) || width <= 0)) {
    throw new OpgError("BadInput", `outputWidth must be a positive whole number, not ${width}`);
  }

  let state: QuietVoucherState;
  let key: string;
  if (params.voucherState !== undefined) {
    state = params.voucherState;
    key = voucherKey(operator, params.modelId);
  } else {
    const owner = ctx.cache ?? ctx;
    let memory = memoryStates.get(owner);
    if (memory === undefined) memoryStates.set(owner, (memory = new Map<string, QuietVoucherPosition>()));
    state = memory;
    key = `${payer.toLowerCase()}/${voucherKey(operator, params.modelId)}`;
  }

  return serialized(state, key, async () => {
    const known = state.get(key);
    const [quiet, model, now, claimed] = await Promise.all([
      getQuietMode(ctx),
      memoized(ctx, `model/${params.modelId.toLowerCase()}`, cacheTtlMs, () =>
        getModel(ctx, { modelId: params.modelId }),
      ),
      chainClock(ctx, cacheTtlMs),
      known === undefined
        ? getSubChannel(ctx, { payer, operator, modelId: params.modelId }).then((s) => s.claimed)
        : Promise.resolve(0n),
    ]);
    if (BigInt(ttl) > quiet.maxTtl) {
      throw new OpgError("BadInput", `ttlSeconds ${ttl} is above the mode's maxTtl (${quiet.maxTtl} s)`);
    }
    if (model.status !== "Active") {
      throw new OpgError("BadInput", `model ${params.modelId} is ${model.status}, not Active`);
    }
    if ((model.modes & VerificationMode.Quiet) === 0) {
      throw new OpgError(
        "BadInput",
        `model ${params.modelId} does not allow quiet mode (mode flags ${model.modes})`,
      );
    }
    const fee = params.fee ?? model.fee;
    if (fee < model.fee) {
      throw new OpgError("BadInput", `the fee ${fee} is below the model's fee ${model.fee}`);
    }
    const { bytes, inputHash } = prepareInput(params, model);
    const position = known ?? { index: 0n, cumulative: claimed };

    // The operator measures the deadline from the later of its clock and the chain's head: so does `chainClock`.
    const voucher = {
      operator,
      modelId: params.modelId,
      inputHash,
      fee,
      cumulative: position.cumulative + fee,
      index: position.index,
      deadline: now + BigInt(ttl),
    };
    const { request, signature: requestSignature } = await signVoucher(ctx, quiet.domain, voucher);
    const body = inferBody(request, requestSignature, bytes);

    const doFetch: InferFetch = params.fetch ?? ((url, init) => fetch(url, init));
    const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let json: unknown;
    try {
      json = await postInfer(doFetch, endpoint.href, body, timeoutMs);
    } catch (first) {
      if (!(first instanceof NetworkFailure)) throw first;
      // It may have been served: the same signed request gets the same receipt.
      try {
        json = await postInfer(doFetch, endpoint.href, body, timeoutMs);
      } catch (second) {
        if (!(second instanceof NetworkFailure)) throw second;
        throw new OpgError(
          "Unreachable",
          `the operator at ${operatorUrl} did not answer (tried twice with the same request): ${describe(second.cause)}`,
        );
      }
    }
    const answer = parseAnswer(json);
    const receipt = await verifyQuietReceipt(ctx, {
      receipt: answer.receipt,
      request,
      signature: answer.signature,
      output: answer.output,
      maxAgeMs: cacheTtlMs,
    });

    state.set(key, { index: request.index + 1n, cumulative: request.cumulative });
    await params.onReceipt?.({
      chainId: Number(quiet.domain.chainId),
      quietMode: quiet.address,
      operatorUrl,
      request,
      requestSignature,
      receipt,
      signature: answer.signature,
      output: answer.output,
      outputHash: receipt.outputHash,
      input: toHex(bytes),
    });

    let decoded: DecodedOutput | undefined;
    try {
      if (model.zkVerifier !== zeroAddress) {
        decoded = decodeOutput(answer.output, { mode: VerificationMode.Zk });
      } else if (width !== undefined) {
        decoded = decodeOutput(answer.output, { mode: VerificationMode.Signature, outputWidth: width });
      }
    } catch {
      decoded = undefined; // verified, but not of the shape given: the caller still has the bytes
    }
    return {
      output: answer.output,
      outputHash: receipt.outputHash,
      receipt,
      signature: answer.signature,
      request,
      requestSignature,
      ...(decoded !== undefined && { decoded }),
      latencyMs: performance.now() - started,
    };
  });
}
