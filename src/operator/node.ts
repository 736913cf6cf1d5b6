import { pino, type Logger } from "pino";
import {
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  http,
  keccak256,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { inferenceSettlementAbi, modelRegistryAbi, operatorRegistryAbi, quietModeAbi } from "../abi/index.js";
import { liveModeContract, liveModeContracts, modeModule, type ComputeOutcome } from "../modes/index.js";
import { ModelStatus, modeName, VerificationMode, type RequestStatus } from "../protocol/modes.js";
import { quietModeDomain } from "../protocol/quiet.js";
import { fastPrivateKeyToAccount } from "../sdk/fast-ecdsa.js";
import { toInferenceRequest } from "../protocol/request.js";
import { getRequestStatus } from "../sdk/actions/getRequestStatus.js";
import { decodeProtocolError } from "../sdk/errors.js";
import { releaseZk } from "../zk/prover.js";
import { backoffDelay, DEFAULT_BACKOFF, errorSummary, redactUrl, type BackoffPolicy } from "./backoff.js";
import { bindingDifferences, moveAside, readBinding, StateMismatchError } from "./binding.js";
import { fulfilmentTransaction } from "./fulfilment.js";
import { QuietGateway, type GatewayServer, type QuietGatewayOptions } from "./gateway.js";
import {
  HEALTH_RECENT_SKIPS,
  healthReport,
  metricsText,
  quietMetricsText,
  serveHealth,
  type HealthReport,
  type HealthServer,
  type RpcState,
} from "./health.js";
import { loadModels, type ModelRuntime, type ServedModel } from "./models.js";
import { QuietCommitter } from "./quiet-committer.js";
import { QuietRedeemTimer, storeNonceManager, type QuietRedeemOptions } from "./quiet-redeemer.js";
import { servableAt, type RendezvousPool } from "./rendezvous.js";
import { skip, type SkipCode, type SkipReason } from "./skip.js";
import { OperatorStore, type StateBinding, type StoredRequest } from "./store.js";
import { inputShape, validateInput } from "./validate.js";
import { Withdrawals } from "./withdrawals.js";
import { WakeSubscription, WS_DISABLED } from "./ws.js";

export { StateMismatchError } from "./binding.js";
export type { HealthReport, NodeStatus, RpcHealth, SkipHealth } from "./health.js";
export type { SkipCode, SkipReason } from "./skip.js";
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
  /**
   * SQLite file holding the node's state. It is bound to the chain (id and genesis hash) and settlement it was
   * first started with; `start()` refuses another (`StateMismatchError`). See `defaultStatePath`.
   */
  database: string;
  /**
   * Start with an empty state: an existing `database` file is first moved aside to `<file>.<timestamp>.bak`
   * (nothing is deleted). For a state file made for another chain or deployment.
   */
  freshState?: boolean;
  /** The mode bits this node serves (default: every mode this software knows). Others are skipped. */
  modes?: number;
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
  /**
   * Serve quiet mode (docs/quiet.md): the HTTP gateway (`POST /v1/infer`, `GET /v1/batches/<firstSeq>`,
   * `GET /v1/receipts/<seq>`) on `host:port` (default host 127.0.0.1), and commit its receipts every
   * `batchIntervalMs` (default 2,000) or when `maxBatch` (default 1,024) wait. See docs/operator.md.
   * `redeemEverySeconds`: redeem the final vouchers this often, and once at start (`QuietRedeemTimer`).
   * `publicUrl`: the gateway's base URL as clients reach it (`https://operator.example`, when `host:port` sits behind
   * a proxy or is not the public address). When set, the node publishes it in the operator registry at start if the
   * registry holds another value (one `setEndpoint` from the operator account; a failure is logged and the node
   * serves anyway), and batch data is announced under it. It must be an absolute http(s) URL.
   */
  quiet?: QuietGatewayOptions & { publicUrl?: string } & QuietRedeemOptions;
}

const CHUNK = 2_000n;

/** The chain's head going back by more than this many blocks is not a reorg: the chain changed under the node. */
const REWIND_TOLERANCE = 64n;

/** The chain under a running node is not the one its state is bound to (a pass stops before sending anything). */
class ChainChangedError extends Error {
  override readonly name = "ChainChangedError";
}

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
  private currentStore: OperatorStore;
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
  /** The chain and deployment the state file is bound to (set by `start`). */
  private binding?: StateBinding;
  /** Why the node is not serving the chain under it, if it is not. */
  private chainProblem?: { reason: string; sticky: boolean };
  /** The model registry (read at start), for model status checks before work. */
  private modelsAddress?: Address;
  private closed = false;
  private lastReport?: HealthReport;
  private gateway?: QuietGateway;
  private gatewayServer?: GatewayServer;
  private committer?: QuietCommitter;
  private redeemTimer?: QuietRedeemTimer;

  constructor(private readonly options: OperatorNodeOptions) {
    this.currentStore = new OperatorStore(options.database);
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

  /** The node's durable state. */
  get store(): OperatorStore {
    return this.currentStore;
  }

  /**
   * Check the state file's binding (throws `StateMismatchError` when it was made for another chain or deployment;
   * with `freshState` the old file is first moved aside), load and check the served models, start the health
   * server and the polling loop.
   */
  async start(): Promise<{ healthUrl?: string; quietUrl?: string }> {
    if (this.options.freshState === true) {
      this.currentStore.close();
      const movedTo = moveAside(this.options.database);
      this.currentStore = new OperatorStore(this.options.database);
      if (movedTo !== undefined)
        this.log.warn({ movedTo }, "fresh state: the old state file was moved aside");
    }
    const [binding, latest] = await Promise.all([
      readBinding(this.client, this.options.settlement),
      this.client.getBlockNumber(),
    ]);
    this.checkBinding(binding, latest);
    this.binding = binding;
    const chainId = binding.chainId;
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
    this.modelsAddress = await this.client.readContract({
      address: this.options.settlement,
      abi: inferenceSettlementAbi,
      functionName: "models",
    });
    await loadModels(
      this.runtimes,
      this.client,
      this.options.settlement,
      this.options.models,
      this.log,
      this.servedModes,
    );
    for (const [mode, address] of await liveModeContracts(this.client, this.options.settlement)) {
      this.modeContracts.set(mode, address);
    }
    if (this.options.quiet !== undefined) await this.startQuiet(this.options.quiet);
    this.startRedeemer();
    if (this.options.healthPort !== undefined) {
      this.health = await serveHealth(
        this.options.healthPort,
        () => this.healthReport(),
        () => this.quietMetrics(),
      );
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
        quietUrl: this.gatewayServer?.url,
        ws: this.options.wsUrl === undefined ? undefined : redactUrl(this.options.wsUrl),
        withdrawEveryMs: this.options.withdrawIntervalMs,
        modeContracts: Object.fromEntries(
          [...this.modeContracts].map(([mode, address]) => [modeName(mode), address]),
        ),
      },
      "operator node started",
    );
    return {
      ...(healthUrl === undefined ? {} : { healthUrl }),
      ...(this.gatewayServer === undefined ? {} : { quietUrl: this.gatewayServer.url }),
    };
  }

  /** The quiet-mode gateway's base URL, once started with the `quiet` option. */
  get quietUrl(): string | undefined {
    return this.gatewayServer?.url;
  }

  /** Start the quiet-mode gateway and its committer (throws when the deployment has no live quiet mode). */
  private async startQuiet(options: NonNullable<OperatorNodeOptions["quiet"]>): Promise<void> {
    const quietMode = await liveModeContract(this.client, this.options.settlement, VerificationMode.Quiet);
    if (quietMode === undefined) {
      throw new Error("the quiet option is set, but the core has no live quiet-mode contract (mode 4)");
    }
    const maxTtl = await this.client.readContract({
      address: quietMode,
      abi: quietModeAbi,
      functionName: "maxTtl",
    });
    // Models with a zk circuit: a quantized twin here and a verifier registered (their input hash is the commitment).
    const zkModels = new Set<string>();
    for (const [key, runtime] of this.runtimes) {
      if (runtime.quantized === undefined) continue;
      const version = await this.client.readContract({
        address: this.modelsAddress!,
        abi: modelRegistryAbi,
        functionName: "getModel",
        args: [runtime.modelId],
      });
      if (version.zkVerifier !== "0x0000000000000000000000000000000000000000") zkModels.add(key);
    }
    this.gateway = new QuietGateway({
      client: this.client,
      store: this.store,
      operator: this.address,
      // Receipts signed with libsecp256k1 (WebAssembly) where it loads: the same bytes, a fifth of the time.
      signer: fastPrivateKeyToAccount(this.options.signerKey),
      runtimes: this.runtimes,
      zkModels,
      models: this.modelsAddress!,
      quietMode,
      domain: quietModeDomain(this.binding!.chainId, quietMode),
      maxTtl,
      log: this.log.child({ component: "quiet" }),
      onReceipt: () => {
        this.committer?.kick();
      },
      // chainRefreshMs, maxStaleMs and the demo's `dishonest` flag (docs/quiet.md).
      settings: options,
    });
    this.gatewayServer = await this.gateway.listen(options.port, options.host);
    // Published before the committer starts: nothing else sends from the operator account yet.
    const publicUrl =
      options.publicUrl === undefined ? undefined : await this.publishEndpoint(options.publicUrl);
    const base = publicUrl ?? this.gatewayServer.url;
    this.committer = new QuietCommitter({
      client: this.client,
      store: this.store,
      quietMode,
      chainId: this.binding!.chainId,
      account: this.account,
      ...(options.batchIntervalMs === undefined ? {} : { intervalMs: options.batchIntervalMs }),
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      dataUri: (firstSeq) => `${base}/v1/batches/${firstSeq}`,
      log: this.log.child({ component: "quiet-committer" }),
    });
    this.committer.start();
  }

  /**
   * Publish the gateway's public URL in the operator registry when the registry holds another value: one
   * `setEndpoint` from the operator account, its nonce from the store's sequence, reserved only once broadcast (a
   * transaction that never left leaves no gap). Returns the URL without trailing slashes, or undefined when it is not
   * an http(s) URL. Any failure is logged and the node serves anyway: clients can still be given the URL directly.
   */
  private async publishEndpoint(url: string): Promise<string | undefined> {
    const log = this.log.child({ component: "quiet-endpoint" });
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (
      parsed === undefined ||
      (parsed.protocol !== "http:" && parsed.protocol !== "https:") ||
      url.trim() !== url
    ) {
      log.error({ publicUrl: url }, "quiet.publicUrl is not an absolute http(s) URL: not published");
      return undefined;
    }
    const endpoint = url.replace(/\/+$/, "");
    try {
      const registry = await this.client.readContract({
        address: this.options.settlement,
        abi: inferenceSettlementAbi,
        functionName: "operators",
      });
      const current = await this.client.readContract({
        address: registry,
        abi: operatorRegistryAbi,
        functionName: "endpoint",
        args: [this.address],
      });
      if (current === endpoint) {
        log.info({ endpoint }, "endpoint already published in the operator registry");
        return endpoint;
      }
      const data = encodeFunctionData({
        abi: operatorRegistryAbi,
        functionName: "setEndpoint",
        args: [endpoint],
      });
      let gas: bigint;
      try {
        gas = await this.client.estimateGas({ account: this.address, to: registry, data });
      } catch (error) {
        const reason = decodeProtocolError(error)?.name ?? errorSummary(error);
        log.error({ endpoint, reason }, "setEndpoint would revert: endpoint not published");
        return endpoint;
      }
      const [pending, fees] = await Promise.all([
        this.client.getTransactionCount({ address: this.address, blockTag: "pending" }),
        this.client.estimateFeesPerGas(),
      ]);
      const nonce = this.store.peekNonce(pending);
      const rawTx = await this.account.signTransaction({
        type: "eip1559",
        chainId: this.binding!.chainId,
        to: registry,
        data,
        gas: gas + gas / 5n,
        nonce,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      const hash = await this.client.sendRawTransaction({ serializedTransaction: rawTx });
      this.store.reserveNonce(pending);
      log.info({ endpoint, previous: current, txHash: hash, nonce }, "publishing the endpoint");
      void this.client.waitForTransactionReceipt({ hash, timeout: 120_000 }).then(
        (receipt) => {
          if (receipt.status === "success") log.info({ endpoint, txHash: hash }, "endpoint published");
          else log.error({ endpoint, txHash: hash }, "setEndpoint reverted: endpoint not published");
        },
        (error: unknown) => {
          log.warn({ endpoint, txHash: hash, error: errorSummary(error) }, "setEndpoint not confirmed");
        },
      );
    } catch (error) {
      log.error({ endpoint, error: errorSummary(error) }, "could not publish the endpoint; serving anyway");
    }
    return endpoint;
  }

  /**
   * With `quiet.redeemEverySeconds`: redeem the final vouchers at start and on that schedule, from the operator
   * account, its nonces reserved through the store like every other transaction of the node.
   */
  private startRedeemer(): void {
    const seconds = this.options.quiet?.redeemEverySeconds;
    if (seconds === undefined) return;
    if (!Number.isFinite(seconds) || seconds <= 0)
      throw new Error("quiet.redeemEverySeconds must be positive");
    const account = privateKeyToAccount(this.options.operatorKey, {
      nonceManager: storeNonceManager({ reserveNonce: (pending) => this.store.reserveNonce(pending) }),
    });
    const walletClient = createWalletClient({
      chain: this.chain!,
      transport: http(this.options.rpcUrl),
      account,
    });
    this.redeemTimer = new QuietRedeemTimer({
      ctx: { publicClient: this.client, walletClient, addresses: { settlement: this.options.settlement } },
      database: this.options.database,
      operator: this.address,
      intervalMs: seconds * 1000,
      log: this.log.child({ component: "quiet-redeemer" }),
    });
    this.redeemTimer.start();
  }

  /** The quiet-mode lines of `/metrics` (empty without the gateway). */
  private quietMetrics(): string {
    if (this.gateway === undefined || this.closed) return "";
    const totals = this.store.quiet.totals();
    return quietMetricsText({ requests: this.gateway.counts, ...totals });
  }

  /**
   * Stop polling, wait for the step in progress, close the health server, release the model runtimes and the
   * prover's worker threads (so the process can exit), and close the database. Calling it again does nothing.
   */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.running = false;
    clearTimeout(this.timer);
    clearTimeout(this.deferTimer);
    await this.ws?.stop();
    await this.gatewayServer?.close();
    await this.gateway?.drain();
    await this.committer?.stop();
    await this.redeemTimer?.stop();
    await this.ticking;
    await this.health?.close();
    for (const runtime of this.runtimes.values()) await runtime.model.release();
    this.runtimes.clear();
    await releaseZk();
    this.lastReport = this.healthReport();
    this.closed = true;
    this.store.close();
  }

  /** The mode bits served. */
  private get servedModes(): number {
    return this.options.modes ?? ~0;
  }

  /** Bind a new state file to `actual`, or check that it is bound to it (and that its cursor is not ahead). */
  private checkBinding(actual: StateBinding, latest: bigint): void {
    const stored = this.store.binding();
    if (stored !== undefined && bindingDifferences(stored, actual).length > 0) {
      throw new StateMismatchError(this.options.database, stored, actual);
    }
    // The same chain (or a file from before bindings), but scanned past the head: the chain was reset under it.
    const cursor = this.store.cursor();
    if (cursor !== undefined && cursor > latest + 1n + REWIND_TOLERANCE) {
      throw new StateMismatchError(
        this.options.database,
        stored ?? actual,
        actual,
        `its scan cursor is at block ${cursor}, but the chain's head is block ${latest}: the chain was reset`,
      );
    }
    if (stored === undefined) {
      this.store.bind(actual);
      this.log.info({ ...actual, database: this.options.database }, "state file bound to this chain");
    }
  }

  /**
   * Whether the chain under the node is still the one its state is bound to, checked at the start of every pass
   * (before anything is sent): the chain id and genesis hash (read in the same batched HTTP request as the head),
   * and the head, which must not go back by more than `REWIND_TOLERANCE` blocks. Throws `ChainChangedError` if not.
   * A different genesis clears when the RPC serves the bound chain again; a rewind stands until a restart (the scan
   * cursor is past the new chain's blocks).
   */
  private checkChain(latest: bigint, actual: StateBinding): void {
    if (this.chainProblem?.sticky === true) throw new ChainChangedError(this.chainProblem.reason);
    const differences = bindingDifferences(this.binding!, actual);
    if (differences.length > 0) {
      this.chainChanged(
        `the RPC now serves chain ${actual.chainId} (genesis ${actual.genesisHash}), not the chain ` +
          `${this.binding!.chainId} (genesis ${this.binding!.genesisHash}) this node's state is bound to: not serving ` +
          "(if the chain was restarted for good, restart the node: its default state file follows the chain)",
        false,
      );
    }
    if (latest + REWIND_TOLERANCE < this.lastBlock) {
      this.chainChanged(
        `the chain's head went back from block ${this.lastBlock} to ${latest}: the chain was reset or replaced; ` +
          "restart the node with another state file or the fresh-state option",
        true,
      );
    }
    if (this.chainProblem !== undefined) {
      this.log.info("the chain under the node is the bound one again: serving");
      this.chainProblem = undefined;
    }
  }

  private chainChanged(reason: string, sticky: boolean): never {
    if (this.chainProblem?.reason !== reason) this.log.error({ reason }, "chain changed under the node");
    this.chainProblem = { reason, sticky };
    throw new ChainChangedError(reason);
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
    const [latest, binding] = await Promise.all([
      this.client.getBlockNumber(),
      readBinding(this.client, this.options.settlement),
    ]);
    this.checkChain(latest, binding);
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

  /**
   * Compute what is servable now; returns when the earliest request deferred to a pool peer becomes ours. Every
   * request is checked before any work (deadline, mode, live mode contract, model status, input URI, shape and
   * values) and anything that fails — there or in the runtime or prover — is skipped with a reason code, so one
   * request can never stop the others. RPC errors (reads of chain state) fail the pass, which backs off.
   */
  private async computeBatch(writes: (() => void)[], flush: () => void): Promise<number> {
    const now = BigInt(Math.floor(Date.now() / 1000));
    const block = await this.client.getBlock();
    const chainNow = block.timestamp > now ? block.timestamp : now;
    const finish = (requestId: bigint, reason: SkipReason) => {
      writes.push(() => {
        this.skipRequest(requestId, reason);
      });
    };
    /** Model statuses read in this pass (a version revoked since the last pass is seen at once). */
    const statuses = new Map<string, number>();
    let deferredUntil = Infinity;
    for (const stored of this.store.inState("seen")) {
      const { requestId, request } = stored;
      if (request.deadline <= chainNow) {
        finish(requestId, skip("expired", "the deadline passed before it was served"));
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
      if (mode === undefined || (request.mode & this.servedModes) === 0 || !mode.serves(runtime)) {
        finish(
          requestId,
          skip("mode_not_served", `mode ${modeName(request.mode)} is not served by this node`),
        );
        continue;
      }
      const modeContract = await this.modeContract(request.mode);
      if (modeContract === undefined) {
        finish(
          requestId,
          skip("mode_retired", `mode ${mode.name} has no live contract (retired): it cannot be settled`),
        );
        continue;
      }
      const key = request.modelId.toLowerCase();
      let status = statuses.get(key);
      if (status === undefined) {
        status = await this.modelStatus(request.modelId);
        statuses.set(key, status);
      }
      if (status === ModelStatus.Revoked) {
        finish(
          requestId,
          skip("model_revoked", `model ${request.modelId} was revoked: the request is refundable`),
        );
        continue;
      }
      const checked = validateInput(
        stored.inputUri,
        inputShape(request.mode, runtime.model.inputWidth, runtime.quantized?.params),
      );
      if ("skip" in checked) {
        finish(requestId, checked.skip);
        continue;
      }
      let outcome: ComputeOutcome;
      try {
        outcome = await mode.compute(
          { chainId: BigInt(this.chain!.id), modeContract, operator: this.address, signer: this.signer },
          { requestId, request, input: checked.bytes, runtime },
        );
      } catch (error) {
        const code: SkipCode = request.mode === VerificationMode.Zk ? "prover_error" : "runtime_error";
        finish(requestId, skip(code, errorSummary(error)));
        continue;
      }
      if ("skip" in outcome) {
        finish(requestId, skip(outcome.code ?? "input_mismatch", outcome.skip));
        continue;
      }
      const { result } = outcome;
      writes.push(() => {
        this.store.markComputed(requestId, result);
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

  /** Record a request as skipped (final for this node) and log why. */
  private skipRequest(requestId: bigint, reason: SkipReason): void {
    this.store.skip(requestId, reason.code, reason.detail);
    this.log.warn(
      { requestId: requestId.toString(), code: reason.code, detail: reason.detail },
      "request skipped",
    );
  }

  /** A model version's status in the registry (`ModelStatus`). */
  private async modelStatus(modelId: Hex): Promise<number> {
    return this.client.readContract({
      address: this.modelsAddress!,
      abi: modelRegistryAbi,
      functionName: "statusOf",
      args: [modelId],
    });
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
        this.skipRequest(
          stored.requestId,
          skip("mode_retired", `mode ${modeName(mode)} has no live contract (retired)`),
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
    const reason = decodeProtocolError(error)?.name;
    if (reason === "RequestNotPending") {
      this.store.finish(requestId, "lost", "already settled by someone else (detected before sending)");
    } else if (reason === "RequestExpired") {
      this.skipRequest(requestId, skip("expired", "the fulfilment would revert: RequestExpired"));
    } else if (reason === "ModelRevoked") {
      this.skipRequest(requestId, skip("model_revoked", "the fulfilment would revert: ModelRevoked"));
    } else if (reason !== undefined) {
      this.skipRequest(requestId, skip("would_revert", `the fulfilment would revert: ${reason}`));
    } else if (this.noteRpcFailure(requestId, error) >= (this.options.maxAttempts ?? 10)) {
      this.skipRequest(requestId, skip("rpc_gave_up", `gave up after RPC errors: ${errorSummary(error)}`));
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
        if (now === "Pending") {
          this.skipRequest(requestId, skip("would_revert", `transaction ${txHash} reverted; request ${now}`));
        } else {
          this.store.finish(requestId, "lost", `transaction reverted; request ${now}`);
        }
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

  /** A request's status: the SDK's one read (`getRequestStatus`). */
  private requestStatus(requestId: bigint): Promise<RequestStatus> {
    return getRequestStatus(
      { publicClient: this.client, addresses: { settlement: this.options.settlement } },
      { requestId },
    );
  }

  /** Count a fulfilment's RPC failure against the request and against the pass (which then backs off). */
  private noteRpcFailure(requestId: bigint, error: unknown): number {
    this.passRpcError = error;
    return this.store.noteAttempt(requestId, String(error));
  }

  // ---------------------------------------------------------------- health

  /** `/health`: `status`, `ok`, `reasons`, `operator`, `lastBlock`, `requests`, `rpc`, `ws`, `withdrawals`, skips. */
  healthReport(): HealthReport {
    if (this.closed) return { ...this.lastReport!, status: "stopped", ok: false, reasons: [] };
    return healthReport({
      running: this.running,
      operator: this.address,
      lastBlock: this.lastBlock,
      withdrawals: this.store.withdrawalTotals(),
      requests: this.store.counts(),
      rpc: this.rpc,
      ws: this.ws?.health() ?? { ...WS_DISABLED },
      withdrawalsEnabled: this.options.withdrawIntervalMs !== undefined,
      skips: this.store.skipCounts(),
      recentSkips: this.store.recentSkips(HEALTH_RECENT_SKIPS),
      ...(this.chainProblem === undefined ? {} : { chainProblem: this.chainProblem.reason }),
    });
  }

  /** `/metrics` in Prometheus text format. */
  metricsText(): string {
    return metricsText(this.healthReport()) + this.quietMetrics();
  }
}
