/**
 * The operator's quiet-mode gateway (docs/quiet.md, docs/operator.md "Quiet mode gateway"): an HTTP endpoint where a
 * payer sends a signed `QuietRequest` with its input and gets the output and a signed `Receipt` at once.
 *
 * - `POST /v1/infer`: checks the request in a fixed order (body, operator, model, payer signature, deadline, model
 *   terms and fee, sub-channel continuity, channel funds, input), each failure a 4xx JSON error with a snake_case
 *   code and nothing persisted; then runs the model (for a zk-circuit model the circuit's fixed-point arithmetic),
 *   assigns the next `seq`, signs the receipt and persists it with the sub-channel update in one SQLite transaction
 *   before answering. A request that already has a receipt gets the same receipt again.
 * - `GET /v1/batches/<firstSeq>`: a committed batch's receipts, requests and outputs (inputs are never served).
 * - `GET /v1/receipts/<seq>`: one receipt, with its batch and Merkle proof once committed.
 *
 * Requests run concurrently (docs/quiet.md, "Throughput and the operator's cache"): the stateless checks and the
 * payer's signature at once; from the replay lookup to the durable receipt one request at a time per (payer, model)
 * sub-channel (its voucher continuity); the seq, the signature and the SQLite write in the receipt writer's groups
 * (`quiet-writer.ts`: one transaction per event-loop turn, never an answer before it commits). Chain state (model
 * terms per payer, channel funds and refund, claimed, the chain's clock) comes from memory (`quiet-chain-state.ts`),
 * refreshed on every new block: no RPC read per request in the steady state.
 * Nothing a client sends stops the endpoint: every failure is an answer, a log line and a metric.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { keccak256, toHex, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import { decodeFeatures } from "../model/encoding.js";
import { inferBytes } from "../model/infer.js";
import { VerificationMode } from "../protocol/modes.js";
import { LogTree, receiptLeaf } from "../protocol/merkle.js";
import {
  batchDataToJson,
  inferAnswerToJson,
  quietRequestToJson,
  receiptInclusionToJson,
  type InferAnswer,
} from "../protocol/quiet-json.js";
import { hashReceipt, zkOutputHash } from "../protocol/quiet.js";
import type { ProtocolDomain } from "../protocol/typed-data.js";
import { fieldToBytes32, zkOutputBytes } from "../protocol/zk.js";
import {
  fastHashQuietRequest,
  fastSignReceipt,
  recoverDigestSigner,
  typedDigest,
  type ReceiptSigner,
} from "../sdk/quiet-digest.js";
import { inputCommitment } from "../zk/commitment.js";
import { quantizeInput } from "../zk/quantize.js";
import { fixedPointForward } from "../zk/reference.js";
import { errorSummary } from "./backoff.js";
import type { ModelRuntime } from "./models.js";
import { QuietChainState } from "./quiet-chain-state.js";
import { GatewayRejection, MAX_BODY_BYTES, parseInferBody, reject, type InferBody } from "./quiet-request.js";
import type { StoredQuietReceipt } from "./quiet-store.js";
import { QuietReceiptWriter } from "./quiet-writer.js";
import type { OperatorStore } from "./store.js";
import { inputShape, validateFeatures } from "./validate.js";

export { MAX_BODY_BYTES, GatewayRejection, parseInferBody } from "./quiet-request.js";
export type { InferBody } from "./quiet-request.js";

/** The `quiet` option of `OperatorNodeOptions`: serve quiet mode over HTTP and commit the receipts. */
export interface QuietGatewayOptions {
  /** Port of the gateway (0: any free port). */
  port: number;
  /** Interface to listen on (default 127.0.0.1; put a TLS proxy in front for the internet). */
  host?: string;
  /** Commit waiting receipts at least this often (ms, default 2,000). */
  batchIntervalMs?: number;
  /** Commit at once when this many receipts wait, and never more in one batch (default 1,024). */
  maxBatch?: number;
  /**
   * How often the chain's head is polled; on a new block every cached (payer, model) state is read again (ms,
   * default 500). See docs/quiet.md, "Throughput and the operator's cache".
   */
  chainRefreshMs?: number;
  /**
   * The oldest chain data a request is served on (ms, default 5,000): the bound on how late a revoked or deprecated
   * model, a gate or a refund request is applied when the RPC fails (deadlines are shortened to match).
   */
  maxStaleMs?: number;
  /**
   * FOR DEMOS AND WATCHER TESTS ONLY: cheat. Every `wrongOutputEvery`-th receipt of a zk-circuit model signs the
   * wrong class (the next one, mod 3), its output and output hash consistent, so only a re-execution or a proof tells
   * (and a wrong-output challenge slashes the operator). Logged loudly at start.
   */
  dishonest?: { wrongOutputEvery: number };
}

/** What the gateway needs from the node. */
export interface GatewayContext {
  client: PublicClient;
  store: OperatorStore;
  /** The operator (staking) account: the receipts' `operator`. */
  operator: Address;
  /** The operator's registered signing key (signs receipts; a local account signs the digest directly). */
  signer: ReceiptSigner;
  /** The served models (keyed by lower-case id). */
  runtimes: ReadonlyMap<string, ModelRuntime>;
  /** Lower-case ids of the served models with a zk circuit (quantized twin and a verifier registered). */
  zkModels: ReadonlySet<string>;
  /** The model registry. */
  models: Address;
  /** The deployment's `QuietMode`. */
  quietMode: Address;
  /** Its EIP-712 domain. */
  domain: ProtocolDomain;
  /** Its `maxTtl` (seconds). */
  maxTtl: bigint;
  log: Logger;
  /** Called after each new receipt is stored (the committer commits early when enough wait). */
  onReceipt?: () => void;
  /** The gateway's options (`chainRefreshMs`, `maxStaleMs`, `dishonest`); the rest are the node's. */
  settings?: QuietGatewayOptions;
}

/** The code counted for a served request (`opg_operator_quiet_requests_total{code="ok"}`). */
export const QUIET_OK = "ok";
/** The code counted for a retry answered with its stored receipt. */
export const QUIET_REPLAYED = "replayed";

/** A running gateway. */
export interface GatewayServer {
  /** `http://host:port`, the base of `dataUri`s. */
  url: string;
  close(): Promise<void>;
}

/** The quiet-mode gateway's request handling and HTTP server (see the module comment). */
export class QuietGateway {
  /** Requests per outcome code (`ok`, `replayed`, or a rejection code), since start. */
  readonly counts = new Map<string, number>();
  /** The chain state requests are checked against (refreshed on every new block). */
  readonly chain: QuietChainState;
  /** Assigns seqs, signs and persists receipts, a group per event-loop turn. */
  readonly writer: QuietReceiptWriter;
  /** The tail of the requests in progress per (payer, model) sub-channel. */
  private readonly lanes = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private server?: Server;
  private readonly trees = new Map<bigint, LogTree>();
  /** zk-circuit receipts computed, for `dishonest`. */
  private zkServed = 0;
  private readonly wrongOutputEvery: number;

  constructor(private readonly ctx: GatewayContext) {
    const settings = ctx.settings ?? { port: 0 };
    this.chain = new QuietChainState({
      client: ctx.client,
      models: ctx.models,
      quietMode: ctx.quietMode,
      operator: ctx.operator,
      ...(settings.chainRefreshMs === undefined ? {} : { refreshMs: settings.chainRefreshMs }),
      ...(settings.maxStaleMs === undefined ? {} : { maxStaleMs: settings.maxStaleMs }),
      log: ctx.log,
    });
    this.writer = new QuietReceiptWriter(ctx.store.quiet, ctx.operator, (receipt) =>
      fastSignReceipt(ctx.signer, ctx.domain, receipt),
    );
    const every = settings.dishonest?.wrongOutputEvery;
    if (every !== undefined && (!Number.isSafeInteger(every) || every < 1)) {
      throw new Error(`dishonest.wrongOutputEvery must be a whole number ≥ 1, not ${every}`);
    }
    this.wrongOutputEvery = every ?? 0;
    if (this.wrongOutputEvery > 0) {
      const warning = `DISHONEST OPERATOR: one zk-circuit receipt in every ${this.wrongOutputEvery} signs a WRONG class (demo/watcher tests only; a wrong-output challenge slashes this operator)`;
      ctx.log.error({ dishonest: settings.dishonest }, warning);
      console.error(`\n  !!! ${warning} !!!\n`);
    }
  }

  /** Read the chain state, then listen on `host:port`; resolves to the base URL. */
  async listen(port: number, host = "127.0.0.1"): Promise<GatewayServer> {
    await this.chain.start();
    const server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        this.ctx.log.error({ err: errorSummary(error) }, "quiet gateway: unexpected error");
        if (!res.headersSent) send(res, 500, { error: "internal error", code: "internal" });
        else res.destroy();
      });
    });
    server.on("clientError", (_error, socket) => {
      socket.destroy();
    });
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      await this.chain.stop(); // the port is taken: stop polling, so the process can exit
      throw error;
    }
    const address = server.address() as AddressInfo;
    const shown = host.includes(":") ? `[${host}]` : host;
    return {
      url: `http://${shown}:${address.port}`,
      close: async () => {
        await new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => {
            resolve();
          });
        });
        await this.chain.stop();
      },
    };
  }

  /** Wait for the requests being handled and their receipts' write (after `close`, before the store closes). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.writer.drain();
  }

  /** Run `task` after the requests queued before it on the same sub-channel. */
  private inLane<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.lanes.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.lanes.set(key, tail);
    void tail.then(() => {
      if (this.lanes.get(key) === tail) this.lanes.delete(key);
    });
    return run;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/v1/infer") {
      if (req.method !== "POST") {
        this.refuse(res, reject(405, "method_not_allowed", "POST only"));
        return;
      }
      return this.infer(req, res);
    }
    const batch = /^\/v1\/batches\/([0-9]{1,15})$/.exec(path);
    if (batch !== null && req.method === "GET") {
      this.getBatch(res, BigInt(batch[1]!));
      return;
    }
    const receipt = /^\/v1\/receipts\/([0-9]{1,15})$/.exec(path);
    if (receipt !== null && req.method === "GET") {
      this.getReceipt(res, BigInt(receipt[1]!));
      return;
    }
    send(res, 404, {
      error: "unknown path: POST /v1/infer, GET /v1/batches/<firstSeq>, GET /v1/receipts/<seq>",
      code: "not_found",
    });
  }

  private refuse(res: ServerResponse, rejection: GatewayRejection, fields: Record<string, unknown> = {}) {
    this.count(rejection.code);
    this.ctx.log.info(
      { code: rejection.code, status: rejection.status, detail: rejection.error, ...fields },
      "quiet request refused",
    );
    send(res, rejection.status, { error: rejection.error, code: rejection.code });
  }

  private count(code: string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }

  private async infer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const body = await readBody(req);
    if (body instanceof GatewayRejection) {
      res.setHeader("connection", "close");
      this.refuse(res, body);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      this.refuse(res, reject(400, "bad_request", "the body is not JSON"));
      return;
    }
    const checked = parseInferBody(parsed);
    if (checked instanceof GatewayRejection) {
      this.refuse(res, checked);
      return;
    }
    const run = this.handle(checked);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run)).catch(() => undefined);
    const outcome = await run.catch((error: unknown) => {
      this.ctx.log.error({ err: errorSummary(error) }, "quiet request failed");
      // Chain reads or the write failed (an RPC outage, a disk error): nothing was persisted, retry the same request.
      return reject(
        503,
        "unavailable",
        `the node could not serve this request now, retry: ${errorSummary(error)}`,
      );
    });
    const fields = {
      payer: checked.request.payer,
      modelId: checked.request.modelId,
      index: checked.request.index.toString(),
      ms: Math.round(performance.now() - started),
    };
    if (outcome instanceof GatewayRejection) {
      this.refuse(res, outcome, fields);
      return;
    }
    this.count(outcome.replayed ? QUIET_REPLAYED : QUIET_OK);
    this.ctx.log.info(
      {
        code: outcome.replayed ? QUIET_REPLAYED : QUIET_OK,
        seq: outcome.answer.receipt.seq.toString(),
        ...fields,
      },
      "quiet request served",
    );
    send(res, 200, inferAnswerToJson(outcome.answer));
  }

  /** Checks 2 to 4 (no state), then the rest in the request's sub-channel lane. */
  private async handle(
    body: InferBody,
  ): Promise<{ answer: InferAnswer; replayed: boolean } | GatewayRejection> {
    const { ctx } = this;
    const { request, signature } = body;
    if (request.operator.toLowerCase() !== ctx.operator.toLowerCase()) {
      return reject(400, "wrong_operator", `request.operator must be this node's operator ${ctx.operator}`);
    }
    const key = request.modelId.toLowerCase();
    const runtime = ctx.runtimes.get(key);
    if (runtime === undefined) {
      return reject(404, "unknown_model", `model ${request.modelId} is not served by this node`);
    }
    if ((runtime.modes & VerificationMode.Quiet) === 0) {
      return reject(
        400,
        "quiet_not_allowed",
        `model ${request.modelId} does not allow quiet mode (mode flags ${runtime.modes}): use a version registered with mode 4`,
      );
    }
    let requestHash: Hex;
    let payer: Address;
    try {
      requestHash = fastHashQuietRequest(request);
      payer = await recoverDigestSigner(typedDigest(ctx.domain, requestHash), signature);
    } catch {
      requestHash = "0x";
      payer = zeroAddress;
    }
    if (payer.toLowerCase() !== request.payer.toLowerCase()) {
      return reject(
        401,
        "bad_signature",
        `the signature does not recover to request.payer under the QuietMode domain (chain ${ctx.domain.chainId}, contract ${ctx.quietMode})`,
      );
    }
    return this.inLane(`${payer.toLowerCase()}/${key}`, () => this.serve(body, runtime, requestHash));
  }

  /** Checks 5 to 9 and the replay, then compute and queue for the writer (one at a time per sub-channel). */
  private async serve(
    body: InferBody,
    runtime: ModelRuntime,
    requestHash: Hex,
  ): Promise<{ answer: InferAnswer; replayed: boolean } | GatewayRejection> {
    const { ctx } = this;
    const { request, signature, input } = body;
    const stored = ctx.store.quiet.receiptFor(requestHash);
    if (stored !== undefined) return { answer: answerOf(stored), replayed: true };

    const known = this.chain.get(request.payer, request.modelId);
    const state = known instanceof Promise ? await known : known;
    let now = this.chain.now();
    const ttl = ctx.maxTtl - this.chain.deadlineMargin;
    // Too far ahead by this view's clock: the chain's clock may have jumped since the last poll; look again once.
    if (request.deadline > now + ttl) now = await this.chain.refreshClock();
    if (request.deadline <= now) {
      return reject(400, "bad_deadline", `the deadline ${request.deadline} has passed (now ${now})`);
    }
    if (request.deadline > now + ttl) {
      return reject(
        400,
        "bad_deadline",
        `the deadline ${request.deadline} is more than ${ttl} s from now (${now}): maxTtl (${ctx.maxTtl} s) less this node's ${this.chain.deadlineMargin} s margin for its chain view's delay`,
      );
    }
    if ("refused" in state.terms) {
      return reject(
        403,
        "not_allowed",
        `the model registry refuses this payer for this model: ${state.terms.refused}`,
      );
    }
    if (request.fee < state.terms.fee) {
      return reject(
        402,
        "fee_too_low",
        `request.fee ${request.fee} is below the model's fee ${state.terms.fee}`,
      );
    }
    const { funds, refundAt, claimed } = state;
    const record = ctx.store.quiet.subChannel(request.payer, request.modelId);
    const previous = record?.cumulative ?? claimed;
    const expectedIndex = record?.nextIndex ?? (claimed === 0n ? 0n : request.index);
    if (request.index !== expectedIndex || request.cumulative !== previous + request.fee) {
      return reject(
        409,
        "voucher_out_of_order",
        `this sub-channel expects index ${expectedIndex} with cumulative ${previous} + fee = ${previous + request.fee}`,
      );
    }
    if (refundAt !== 0n) {
      return reject(
        402,
        "insufficient_funds",
        `the payer asked for the channel's refund (due at ${refundAt}): this node no longer serves it`,
      );
    }
    if (funds < request.cumulative - claimed) {
      return reject(
        402,
        "insufficient_funds",
        `the channel holds ${funds}, less than the ${request.cumulative - claimed} owed with this request: fund it`,
      );
    }
    const key = request.modelId.toLowerCase();
    const zk = ctx.zkModels.has(key) && runtime.quantized !== undefined;
    const shape = zk
      ? inputShape(VerificationMode.Zk, runtime.model.inputWidth, runtime.quantized!.params)
      : inputShape(VerificationMode.Signature, runtime.model.inputWidth);
    const features = validateFeatures(input, shape);
    if ("skip" in features) return reject(422, features.skip.code, features.skip.detail);
    let output: Hex;
    let outputHash: Hex;
    if (zk) {
      const quantized = runtime.quantized!;
      const q = quantizeInput(decodeFeatures(input, runtime.model.inputWidth), quantized);
      const commitment = fieldToBytes32(await inputCommitment(q, quantized.params));
      if (commitment !== request.inputHash.toLowerCase()) {
        return reject(422, "input_mismatch", "the input's Poseidon commitment is not request.inputHash");
      }
      let label = BigInt(fixedPointForward(quantized, q).label);
      if (this.wrongOutputEvery > 0 && ++this.zkServed % this.wrongOutputEvery === 0) {
        label = (label + 1n) % 3n; // the cheat: a wrong class, consistently hashed
        ctx.log.warn(
          { payer: request.payer, index: request.index.toString() },
          "DISHONEST: signing a wrong class",
        );
      }
      output = zkOutputBytes(label);
      outputHash = zkOutputHash(label);
    } else {
      if (keccak256(input) !== request.inputHash.toLowerCase()) {
        return reject(422, "input_mismatch", "keccak256 of the input is not request.inputHash");
      }
      try {
        output = toHex(await inferBytes(runtime.model, input));
      } catch (error) {
        return reject(422, "runtime_error", `the model failed on this input: ${errorSummary(error)}`);
      }
      outputHash = keccak256(output);
    }
    const written = await this.writer.append({
      request,
      requestSignature: signature,
      requestHash,
      output,
      outputHash,
      time: now,
    });
    ctx.onReceipt?.();
    return { answer: answerOf(written), replayed: false };
  }

  /** The tree of a committed batch (kept for the latest few batches). */
  private tree(firstSeq: bigint, receipts: readonly StoredQuietReceipt[]): LogTree {
    const known = this.trees.get(firstSeq);
    if (known !== undefined) return known;
    const tree = LogTree.fromLeaves(receipts.map((r) => receiptLeaf(hashReceipt(r.receipt))));
    if (this.trees.size >= 16) this.trees.delete(this.trees.keys().next().value!);
    this.trees.set(firstSeq, tree);
    return tree;
  }

  private getBatch(res: ServerResponse, firstSeq: bigint): void {
    const batch = this.ctx.store.quiet.batch(firstSeq);
    if (batch?.state !== "committed") {
      send(res, 404, { error: `no committed batch starts at seq ${firstSeq}`, code: "not_found" });
      return;
    }
    const receipts = this.ctx.store.quiet.receiptRange(batch.firstSeq, batch.count);
    send(
      res,
      200,
      batchDataToJson({
        firstSeq: batch.firstSeq,
        count: batch.count,
        root: batch.root,
        batchIndex: batch.batchIndex!,
        committedAt: batch.committedAt!,
        // Inputs are never served: privacy by default (payers keep their own inputs).
        receipts: receipts.map((r) => ({
          receipt: r.receipt,
          signature: r.signature,
          request: r.request,
          requestSignature: r.requestSignature,
          output: r.output,
        })),
      }),
    );
  }

  private getReceipt(res: ServerResponse, seq: bigint): void {
    const stored = this.ctx.store.quiet.receipt(seq);
    if (stored === undefined) {
      send(res, 404, { error: `no receipt with seq ${seq}`, code: "not_found" });
      return;
    }
    const body: Record<string, unknown> = {
      ...inferAnswerToJson(answerOf(stored)),
      request: quietRequestToJson(stored.request),
      requestSignature: stored.requestSignature,
    };
    const batch =
      stored.batchFirstSeq === undefined ? undefined : this.ctx.store.quiet.batch(stored.batchFirstSeq);
    if (batch?.state === "committed") {
      const receipts = this.ctx.store.quiet.receiptRange(batch.firstSeq, batch.count);
      body.inclusion = receiptInclusionToJson({
        batchIndex: batch.batchIndex!,
        root: batch.root,
        firstSeq: batch.firstSeq,
        count: batch.count,
        committedAt: batch.committedAt!,
        proof: this.tree(batch.firstSeq, receipts).proof(Number(seq - batch.firstSeq)),
      });
    }
    send(res, 200, body);
  }
}

function answerOf(stored: StoredQuietReceipt): InferAnswer {
  return {
    receipt: stored.receipt,
    signature: stored.signature,
    output: stored.output,
    outputHash: stored.outputHash,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

/** The request's body, or a 413 rejection past `MAX_BODY_BYTES` (the rest is not read). */
async function readBody(req: IncomingMessage): Promise<Buffer | GatewayRejection> {
  const tooLarge = reject(413, "body_too_large", `the body must be at most ${MAX_BODY_BYTES} bytes`);
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) return tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) return tooLarge;
      chunks.push(buffer);
    }
  } catch {
    return reject(400, "bad_request", "the body could not be read");
  }
  return Buffer.concat(chunks);
}
