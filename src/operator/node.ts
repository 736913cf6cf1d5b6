import { pino, type Logger } from "pino";
import {
  createPublicClient,
  http,
  keccak256,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { inferenceSettlementAbi } from "../abi/index.js";
import { liveModeContract, liveModeContracts, modeModule } from "../modes/index.js";
import { fromDataUri } from "../model/encoding.js";
import { modeName, RequestStatus } from "../protocol/modes.js";
import { toInferenceRequest } from "../protocol/request.js";
import { backoffDelay, DEFAULT_BACKOFF, errorSummary, redactUrl, type BackoffPolicy } from "./backoff.js";
import { fulfilmentTransaction, revertName } from "./fulfilment.js";
import {
  healthReport,
  metricsText,
  serveHealth,
  type HealthReport,
  type HealthServer,
  type RpcState,
} from "./health.js";
import { loadModels, type ModelRuntime, type ServedModel } from "./models.js";
import { servableAt, type RendezvousPool } from "./rendezvous.js";
import { OperatorStore, type StoredRequest } from "./store.js";
import { Withdrawals } from "./withdrawals.js";
import { WakeSubscription, WS_DISABLED } from "./ws.js";

export type { HealthReport, RpcHealth } from "./health.js";
export type { ServedModel } from "./models.js";
export type { WsHealth } from "./ws.js";

/** How an `OperatorNode` is set up. */
export interface OperatorNodeOptions {
  rpcUrl: string;
  /** The core (`InferenceSettlement`); the mode contracts fulfilments go to are read from it. */
  settlement: Address;
  /** Key of the operator (staking) account: sends the transactions and is the `operator` in results. */
  operatorKey: Hex;
  /** The operator's registered signing key (signature mode). */
  signerKey: Hex;
  models: ServedModel[];
  /** SQLite file holding the node's state. */
  database: string;
  pollIntervalMs?: number;
  /** First block to scan on a fresh database. */
  fromBlock?: bigint;
  /** Loopback port for `/health` and `/metrics` (0: any free port; undefined: no server). */
  healthPort?: number;
  logger?: Logger;
  /** Attempts per request before giving up on it (RPC errors). */
  maxAttempts?: number;
  /**
   * WebSocket RPC endpoint (`ws://` or `wss://`). The node subscribes to the settlement's `RequestOpened` and
   * `RequestFulfilled` logs and runs a pass as soon as one arrives instead of waiting for the poll interval. The
   * subscription only wakes the node: what to serve still comes from the persisted block-range scan over
   * `rpcUrl`, so a missed or duplicated notification changes nothing. Dropped sockets are reconnected with
   * backoff while polling goes on.
   */
  wsUrl?: string;
  /** Withdraw ledger earnings at most this often (ms); undefined: never withdraw. */
  withdrawIntervalMs?: number;
  /** Withdraw a ledger balance only from this amount (token base units, default: any positive balance). */
  withdrawMinimum?: bigint;
  /**
   * Key of the registered payout account, when it is not the operator account: signature-mode fees are credited
   * to the payout, so without it the node can only withdraw the operator account's own balance (zk-mode fees).
   */
  payoutKey?: Hex;
  /** Delays after failed passes (default 250 ms doubling to 30 s, with jitter). */
  backoff?: BackoffPolicy;
  /**
   * Operators (this one included) serving the same models side by side: each request is served first by the
   * operator that ranks first for it (rendezvous hashing of the request id), the next one only if it is still
   * pending a grace period later, so they do not race each other for the same request. Undefined: serve all.
   */
  pool?: RendezvousPool;
}

const CHUNK = 2_000n;

/** How long an unmined fulfilment waits before it is broadcast again. */
const REBROADCAST_MS = 10_000;

/**
 * An operator node: watches the core's `RequestOpened` for the models it serves, checks each committed model file's
 * hash before serving, and hands each request to its verification mode's module (`src/modes/`), which runs the
 * model and signs (signature mode) or proves it (zk mode), and builds the fulfilment to that mode's contract (found
 * through the core's `modeContract`).
 *
 * Every step is persisted first (see `OperatorStore`): the result is signed once and kept; the transaction is
 * signed with an explicit nonce and kept as raw bytes before it is broadcast; after a crash the same bytes are
 * re-broadcast (the same hash: at most one transaction per request) or found settled. Before a transaction is
 * signed it is simulated, so a request another operator already settled is dropped without spending gas.
 */
export class OperatorNode {
  readonly store: OperatorStore;
  private readonly log: Logger;
  private readonly client: PublicClient;
  private readonly account;
  private readonly signer;
  private runtimes = new Map<string, ModelRuntime>();
  /** The live contract of each mode bit, as the core reported it (read again when a mode has none). */
  private readonly modeContracts = new Map<number, Address>();
  private chain?: Chain;
  private timer?: NodeJS.Timeout;
  private health?: HealthServer;
  private running = false;
  private lastBlock = 0n;
  private ticking?: Promise<void>;
  /** A notification arrived during the pass in progress: run another one right after it. */
  private woken = false;
  /** An RPC error that a pass survived (a fulfilment's simulation): the pass still counts as failed. */
  private passRpcError?: unknown;
  private rpc: RpcState = { consecutiveFailures: 0 };
  private readonly ws?: WakeSubscription;
  private withdrawals?: Withdrawals;
  /** When each unmined transaction was last broadcast by this process (not persisted: a restart re-sends). */
  private readonly broadcastAt = new Map<bigint, number>();
  /** The block at which sent transactions were last checked. */
  private confirmedAt?: bigint;
  /** Wakes the node when a request deferred to a pool peer becomes ours to serve. */
  private deferTimer?: NodeJS.Timeout;

  constructor(private readonly options: OperatorNodeOptions) {
    this.store = new OperatorStore(options.database);
    this.log = options.logger ?? pino({ name: "opg-operator" });
    // cacheTime 0: viem otherwise caches the block number for seconds, and the node would see new requests late.
    this.client = createPublicClient({
      transport: http(options.rpcUrl, { retryCount: 3, batch: { batchSize: 100 } }),
      cacheTime: 0,
    });
    this.account = privateKeyToAccount(options.operatorKey);
    this.signer = privateKeyToAccount(options.signerKey);
    if (options.wsUrl !== undefined) {
      this.ws = new WakeSubscription({
        url: options.wsUrl,
        settlement: options.settlement,
        backoff: options.backoff ?? DEFAULT_BACKOFF,
        log: this.log,
        onWake: () => {
          this.wake();
        },
      });
    }
  }

  /** The operator (staking) account. */
  get address(): Address {
    return this.account.address;
  }

  /** Load and check the served models, start the health server and the polling loop. */
  async start(): Promise<{ healthUrl?: string }> {
    const chainId = await this.client.getChainId();
    this.chain = {
      id: chainId,
      name: `chain ${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [this.options.rpcUrl] } },
    };
    this.withdrawals = new Withdrawals({
      client: this.client,
      store: this.store,
      settlement: this.options.settlement,
      chainId,
      account: this.account,
      ...(this.options.payoutKey === undefined
        ? {}
        : { payoutAccount: privateKeyToAccount(this.options.payoutKey) }),
      intervalMs: this.options.withdrawIntervalMs,
      minimum: this.options.withdrawMinimum,
      log: this.log,
    });
    await loadModels(this.runtimes, this.client, this.options.settlement, this.options.models, this.log);
    for (const [mode, address] of await liveModeContracts(this.client, this.options.settlement)) {
      this.modeContracts.set(mode, address);
    }
    if (this.options.healthPort !== undefined) {
      this.health = await serveHealth(this.options.healthPort, () => this.healthReport());
    }
    const healthUrl = this.health?.url;
    this.running = true;
    this.schedule(0);
    this.ws?.start();
    this.log.info(
      {
        operator: this.address,
        signer: this.signer.address,
        healthUrl,
        ws: this.options.wsUrl === undefined ? undefined : redactUrl(this.options.wsUrl),
        withdrawEveryMs: this.options.withdrawIntervalMs,
        modeContracts: Object.fromEntries(
          [...this.modeContracts].map(([mode, address]) => [modeName(mode), address]),
        ),
      },
      "operator node started",
    );
    return healthUrl === undefined ? {} : { healthUrl };
  }

  /** Stop polling, wait for the step in progress, close the health server and the database. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    clearTimeout(this.deferTimer);
    await this.ws?.stop();
    await this.ticking;
    await this.health?.close();
    for (const runtime of this.runtimes.values()) await runtime.model.release();
    this.store.close();
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.pass();
    }, delay);
  }

  /**
   * Run one pass (`tick`, then withdrawals when due), then schedule the next: after the poll interval, at once
   * if a notification arrived during it, or after a backoff delay if an RPC call failed.
   */
  private pass(): void {
    this.woken = false;
    this.passRpcError = undefined;
    this.ticking = this.tick()
      .then(() => this.withdrawals!.run())
      .then(
        () => (this.passRpcError === undefined ? this.passSucceeded() : this.passFailed(this.passRpcError)),
        (error: unknown) => this.passFailed(error),
      )
      .then((delay) => {
        this.ticking = undefined;
        this.schedule(delay);
      });
  }

  private passSucceeded(): number {
    if (this.rpc.consecutiveFailures > 0) {
      this.log.info({ failures: this.rpc.consecutiveFailures }, "RPC recovered; back to the poll interval");
    }
    this.rpc = { consecutiveFailures: 0, lastSuccessAt: Date.now() };
    return this.woken ? 0 : (this.options.pollIntervalMs ?? 500);
  }

  private passFailed(error: unknown): number {
    const failures = this.rpc.consecutiveFailures + 1;
    const delay = backoffDelay(failures, this.options.backoff ?? DEFAULT_BACKOFF);
    const lastError = errorSummary(error);
    this.rpc = { ...this.rpc, consecutiveFailures: failures, retryAt: Date.now() + delay, lastError };
    this.log.warn({ failures, retryInMs: delay, err: lastError }, "pass failed; backing off before retrying");
    return delay;
  }

  /**
   * Run a pass now, or right after the one in progress. While backing off after RPC failures the scheduled
   * retry stands (a notification does not make a failing endpoint healthier).
   */
  wake(): void {
    if (!this.running) return;
    if (this.ticking !== undefined) {
      this.woken = true;
      return;
    }
    if (this.rpc.consecutiveFailures > 0) return;
    this.schedule(0);
  }

  /** One pass: confirm what was sent, scan new blocks, compute, submit. */
  async tick(): Promise<void> {
    const latest = await this.client.getBlockNumber();
    await this.confirm(latest);
    await this.scan(latest);
    await this.compute();
    await this.submit();
  }

  private async scan(latest: bigint): Promise<void> {
    let from = this.store.cursor() ?? this.options.fromBlock ?? 0n;
    while (from <= latest) {
      const to = from + CHUNK - 1n < latest ? from + CHUNK - 1n : latest;
      const events = await this.client.getContractEvents({
        address: this.options.settlement,
        abi: inferenceSettlementAbi,
        eventName: "RequestOpened",
        fromBlock: from,
        toBlock: to,
        strict: true,
      });
      // The chunk's requests and the cursor past it are stored together.
      const added = this.store.atomically(() => {
        const ids: bigint[] = [];
        for (const event of events) {
          const request = toInferenceRequest(event.args.request);
          const mine =
            request.operator === "0x0000000000000000000000000000000000000000" ||
            request.operator.toLowerCase() === this.address.toLowerCase();
          if (!this.runtimes.has(request.modelId.toLowerCase()) || !mine) continue;
          if (this.store.addSeen(event.args.requestId, request, event.args.inputUri)) {
            ids.push(event.args.requestId);
          }
        }
        this.store.setCursor(to + 1n);
        return ids;
      });
      if (added.length > 0) {
        this.log.info(
          { count: added.length, first: added[0]!.toString(), last: added[added.length - 1]!.toString() },
          "requests seen",
        );
      }
      from = to + 1n;
    }
    this.lastBlock = latest;
  }

  /**
   * Run (or prove) every `seen` request. Results are kept in memory and stored in one SQLite transaction at the
   * end of the batch (and after each proof, which is slow to redo): a crash before that only means computing them
   * again, and a signature over the same result is the same signature, so nothing is ever signed twice differently.
   */
  private async compute(): Promise<void> {
    const writes: (() => void)[] = [];
    const flush = () => {
      this.store.atomically(() => {
        for (const write of writes.splice(0)) write();
      });
    };
    try {
      await this.computeInto(writes, flush);
    } finally {
      flush();
    }
  }

  private async computeInto(writes: (() => void)[], flush: () => void): Promise<void> {
    const deferredUntil = await this.computeBatch(writes, flush);
    if (deferredUntil !== Infinity) {
      clearTimeout(this.deferTimer);
      this.deferTimer = setTimeout(
        () => {
          this.wake();
        },
        Math.max(0, deferredUntil - Date.now()),
      );
    }
  }

  /** Compute what is servable now; returns when the earliest request deferred to a pool peer becomes ours. */
  private async computeBatch(writes: (() => void)[], flush: () => void): Promise<number> {
    const now = BigInt(Math.floor(Date.now() / 1000));
    const block = await this.client.getBlock();
    const chainNow = block.timestamp > now ? block.timestamp : now;
    const finish = (requestId: bigint, reason: string) => {
      writes.push(() => {
        this.store.finish(requestId, "skipped", reason);
      });
    };
    let deferredUntil = Infinity;
    for (const stored of this.store.inState("seen")) {
      const { requestId, request } = stored;
      if (request.deadline <= chainNow) {
        finish(requestId, "expired before it was served");
        continue;
      }
      const servable = servableAt(requestId, request.operator, stored.since, this.address, this.options.pool);
      if (servable > Date.now()) {
        deferredUntil = Math.min(deferredUntil, servable); // a pool peer ranks before us: its turn first
        continue;
      }
      if (servable > stored.since && (await this.requestStatus(requestId)) !== "Pending") {
        writes.push(() => {
          this.store.finish(requestId, "lost", "served by a pool peer ranked before this node");
        });
        continue;
      }
      const runtime = this.runtimes.get(request.modelId.toLowerCase())!;
      const mode = modeModule(request.mode);
      if (mode === undefined || !mode.serves(runtime)) {
        finish(requestId, `mode ${modeName(request.mode)} is not served by this node`);
        continue;
      }
      const modeContract = await this.modeContract(request.mode);
      if (modeContract === undefined) {
        finish(requestId, `mode ${mode.name} has no live contract (retired): it cannot be settled`);
        continue;
      }
      let input: Uint8Array;
      try {
        input = fromDataUri(stored.inputUri);
      } catch (error) {
        finish(requestId, `input unavailable: ${String(error)}`);
        continue;
      }
      const outcome = await mode.compute(
        { chainId: BigInt(this.chain!.id), modeContract, operator: this.address, signer: this.signer },
        { requestId, request, input, runtime },
      );
      if ("skip" in outcome) {
        finish(requestId, outcome.skip);
        continue;
      }
      writes.push(() => {
        this.store.markComputed(requestId, outcome.result);
      });
      if (mode.slow) {
        flush();
        this.log.info({ requestId: requestId.toString(), mode: mode.name, ...outcome.log }, "computed");
        // One slow result (a proof) per pass: submit it now, and compute the next one in a pass that starts at once.
        this.woken = true;
        return deferredUntil;
      }
    }
    return deferredUntil;
  }

  /** The live contract of mode bit `mode`, from the core (cached once found). */
  private async modeContract(mode: number): Promise<Address | undefined> {
    const known = this.modeContracts.get(mode);
    if (known !== undefined) return known;
    const live = await liveModeContract(this.client, this.options.settlement, mode);
    if (live !== undefined) this.modeContracts.set(mode, live);
    return live;
  }

  private async submit(): Promise<void> {
    const batch = this.store.inState("computed");
    if (batch.length === 0) return;
    // Once per batch: the chain's pending nonce (the store hands out nonces from there) and the fee level.
    const [pending, fees] = await Promise.all([
      this.client.getTransactionCount({ address: this.address, blockTag: "pending" }),
      this.client.estimateFeesPerGas(),
    ]);
    // Each fulfilment goes to the contract of its request's mode: one that was retired can settle nothing.
    for (const mode of new Set(batch.map((stored) => stored.request.mode))) {
      if ((await this.modeContract(mode)) !== undefined) continue;
      for (const stored of batch.filter((s) => s.request.mode === mode)) {
        this.store.finish(
          stored.requestId,
          "skipped",
          `mode ${modeName(mode)} has no live contract (retired)`,
        );
      }
    }
    // Simulate every fulfilment (one execution each, concurrently): a request another operator already settled
    // is dropped here without spending gas.
    const simulated = await Promise.all(
      batch.map(async (stored) => {
        if (!this.modeContracts.has(stored.request.mode)) return undefined;
        try {
          const tx = fulfilmentTransaction(stored, this.modeContracts, this.address);
          await this.client.call({ account: this.account, ...tx });
          return { stored, tx };
        } catch (error) {
          this.dropUnsendable(stored.requestId, error);
          return undefined;
        }
      }),
    );
    const sendable = simulated.filter((s) => s !== undefined);
    if (sendable.length === 0) return;
    // Consecutive nonces in request order, signed locally (no RPC round trip per transaction); then the nonces are
    // reserved and every raw transaction stored in one SQLite transaction, before any is broadcast. A crash before
    // that commit leaves no reservation and nothing sent (no nonce gap); after it, the same bytes are re-sent.
    const first = this.store.peekNonce(pending);
    const signed: { requestId: bigint; rawTx: Hex; nonce: number }[] = [];
    for (const [i, { stored, tx }] of sendable.entries()) {
      const nonce = first + i;
      const rawTx = await this.account.signTransaction({
        type: "eip1559",
        chainId: this.chain!.id,
        ...tx,
        nonce,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      signed.push({ requestId: stored.requestId, rawTx, nonce });
    }
    this.store.atomically(() => {
      const reserved = this.store.reserveNonces(pending, signed.length);
      if (reserved !== first) throw new Error(`nonce ${first} was taken while signing; signing again`);
      for (const { requestId, rawTx, nonce } of signed) {
        this.store.markSubmitted(requestId, rawTx, keccak256(rawTx), nonce);
      }
    });
    await Promise.all(signed.map(({ requestId, rawTx }) => this.broadcast(requestId, rawTx)));
    this.log.info({ count: signed.length, firstNonce: first }, "fulfilments sent");
  }

  /** Record why a fulfilment that failed simulation will not be sent (or count an RPC failure). */
  private dropUnsendable(requestId: bigint, error: unknown): void {
    const reason = revertName(error);
    if (reason === "RequestNotPending") {
      this.store.finish(requestId, "lost", "already settled by someone else (detected before sending)");
    } else if (reason === "RequestExpired" || reason === "ModelRevoked") {
      this.store.finish(requestId, "skipped", reason);
    } else if (reason !== undefined) {
      this.store.finish(requestId, "skipped", `would revert: ${reason}`);
    } else if (this.noteRpcFailure(requestId, error) >= (this.options.maxAttempts ?? 10)) {
      this.store.finish(requestId, "skipped", `gave up after RPC errors: ${String(error)}`);
    }
  }

  private async broadcast(requestId: bigint, rawTx: Hex): Promise<void> {
    this.broadcastAt.set(requestId, Date.now());
    try {
      await this.client.sendRawTransaction({ serializedTransaction: rawTx });
    } catch (error) {
      // Already known / nonce used by this very transaction: the receipt check decides. Anything else is retried.
      this.log.warn(
        { requestId: requestId.toString(), err: String(error).split("\n")[0] },
        "broadcast failed; will check and retry",
      );
    }
  }

  /**
   * Check every sent fulfilment: settled, lost, or still pending (re-broadcast now and then). Receipts only change
   * with a new block, so between blocks only transactions this process has not broadcast yet (after a restart)
   * are looked at.
   */
  private async confirm(latest: bigint): Promise<void> {
    const newBlock = latest !== this.confirmedAt;
    this.confirmedAt = latest;
    const due = this.store
      .inState("submitted")
      .filter((stored) => newBlock || !this.broadcastAt.has(stored.requestId));
    await Promise.all(due.map((stored) => this.confirmOne(stored)));
  }

  private async confirmOne(stored: StoredRequest): Promise<void> {
    const { requestId, txHash, rawTx } = stored;
    // The status first, then the receipt: if our own transaction settles the request between the two reads, the
    // receipt is found; the other order would see "settled, no receipt" and call our own settlement lost.
    const status = await this.requestStatus(requestId);
    const receipt = await this.client.getTransactionReceipt({ hash: txHash! }).catch(() => undefined);
    if (receipt !== undefined || status !== "Pending") this.broadcastAt.delete(requestId);
    if (receipt !== undefined) {
      if (receipt.status === "success") {
        this.store.finish(requestId, "settled");
        this.log.info(
          { requestId: requestId.toString(), txHash, gasUsed: receipt.gasUsed.toString() },
          "settled",
        );
      } else {
        const now = await this.requestStatus(requestId);
        this.store.finish(
          requestId,
          now === "Pending" ? "skipped" : "lost",
          `transaction reverted; request ${now}`,
        );
      }
      return;
    }
    if (status !== "Pending") {
      // Settled while our transaction is unmined: it will revert or never mine; nothing more to do for it.
      this.store.finish(requestId, "lost", `request ${status} before our transaction was mined`);
      return;
    }
    // Still pending and unmined: broadcast again after a restart (the node may have crashed before sending it)
    // and then only every REBROADCAST_MS, in case the chain's node dropped it from its pool.
    const last = this.broadcastAt.get(requestId);
    if (last === undefined || Date.now() - last >= REBROADCAST_MS) await this.broadcast(requestId, rawTx!);
  }

  private async requestStatus(requestId: bigint): Promise<string> {
    const index = await this.client.readContract({
      address: this.options.settlement,
      abi: inferenceSettlementAbi,
      functionName: "requestStatus",
      args: [requestId],
    });
    return RequestStatus[index] ?? "None";
  }

  /** Count a fulfilment's RPC failure against the request and against the pass (which then backs off). */
  private noteRpcFailure(requestId: bigint, error: unknown): number {
    this.passRpcError = error;
    return this.store.noteAttempt(requestId, String(error));
  }

  // ---------------------------------------------------------------- health

  /** `/health`: the original `ok`, `operator`, `lastBlock`, `requests`; then `rpc`, `ws`, `withdrawals`. */
  healthReport(): HealthReport {
    return healthReport({
      running: this.running,
      operator: this.address,
      lastBlock: this.lastBlock,
      withdrawals: this.store.withdrawalTotals(),
      requests: this.store.counts(),
      rpc: this.rpc,
      ws: this.ws?.health() ?? { ...WS_DISABLED },
      withdrawalsEnabled: this.options.withdrawIntervalMs !== undefined,
    });
  }

  /** `/metrics` in Prometheus text format. */
  metricsText(): string {
    return metricsText(this.healthReport());
  }
}
