/**
 * The quiet-mode gateway's view of the chain (docs/quiet.md, "Throughput and the operator's cache"), so that a request
 * makes no RPC read in the steady state. Per (payer, model) it keeps the model's terms for that payer
 * (`requestTerms`: status, quiet mode allowed, access gate, fee), the payer's channel (`funds`, `refundAt`) and the
 * sub-channel's `claimed`; and the chain's clock as its lead over this machine's clock.
 *
 * - A (payer, model) seen for the first time is read at once (the request waits for it; a failed read is a 503).
 * - Every `refreshMs` the head block is read. Chain state only changes with a new block: when the head's hash
 *   changed (a new block, or a reorg), every entry in use is read again (all in one batched HTTP request) and the new
 *   values replace the old ones; when it did not, the entries are known current as of that read.
 * - An entry is used only while its data is at most `maxStaleMs` old (the time since the read that confirmed it was
 *   sent); past that (the RPC failing), the request reads it again itself, and fails with 503 if that fails too.
 *
 * So a change on chain (a model revoked or deprecated, an allowlist or balance gate, a refund request) is applied to
 * requests at most `maxStaleMs` after it is mined, normally within `refreshMs` plus one round trip. What that delay
 * lets a payer do is bounded by `deadlineMargin` (see there). Entries unused for `idleMs` are dropped.
 */
import type { Logger } from "pino";
import { zeroHash, type Address, type Hex, type PublicClient } from "viem";
import { modelRegistryAbi, quietModeAbi } from "../abi/index.js";
import { VerificationMode } from "../protocol/modes.js";
import { decodeProtocolError } from "../sdk/errors.js";
import { errorSummary } from "./backoff.js";

/** Default head poll interval (ms). */
export const DEFAULT_CHAIN_REFRESH_MS = 500;
/** Default oldest data a request is served on (ms). */
export const DEFAULT_MAX_STALE_MS = 5_000;
const DEFAULT_IDLE_MS = 10 * 60_000;
/** Most entries kept (one per (payer, model) in use); past it the least recently used are dropped. */
const MAX_ENTRIES = 100_000;

/** What the gateway needs to know about a (payer, model) to serve it. */
export interface PayerModelState {
  /** The model's fee for this payer, or the registry's reason for refusing it (`ModelNotActive`, a gate, …). */
  terms: { fee: bigint } | { refused: string };
  /** The payer's channel with this operator. */
  funds: bigint;
  refundAt: bigint;
  /** What the operator already redeemed on this sub-channel. */
  claimed: bigint;
}

export interface QuietChainStateOptions {
  client: PublicClient;
  /** The model registry. */
  models: Address;
  quietMode: Address;
  /** The operator (staking) account. */
  operator: Address;
  /** Head poll interval (ms, default 500). */
  refreshMs?: number;
  /** Oldest data a request is served on (ms, default 5,000; at least `refreshMs`). */
  maxStaleMs?: number;
  /** Drop an entry unused this long (ms, default 10 minutes). */
  idleMs?: number;
  log: Logger;
}

interface Entry {
  value?: PayerModelState;
  /** Wall time (ms) the read that confirmed `value` was sent. */
  confirmedAt: number;
  usedAt: number;
  loading?: Promise<PayerModelState>;
}

/** The gateway's chain cache (see the module comment). */
export class QuietChainState {
  private readonly entries = new Map<string, Entry>();
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private ticking?: Promise<void>;
  private headHash?: Hex;
  /** The head's timestamp minus this machine's clock at the read (ms), as last seen. */
  private leadMs = 0;
  /** The latest out-of-turn read of the head's time, and when it was sent (see `refreshClock`). */
  private clockRead?: Promise<void>;
  private clockReadAt = 0;
  private failing = false;
  private margin = 0n;
  /** Head reads and entry reads done, for tests and metrics. */
  readonly reads = { heads: 0, entries: 0 };

  constructor(private readonly options: QuietChainStateOptions) {}

  private get refreshMs(): number {
    return this.options.refreshMs ?? DEFAULT_CHAIN_REFRESH_MS;
  }

  /** The oldest data served on (ms). */
  get maxStaleMs(): number {
    return Math.max(this.options.maxStaleMs ?? DEFAULT_MAX_STALE_MS, this.refreshMs);
  }

  /**
   * Seconds taken off `maxTtl` for the deadlines the gateway accepts, so that a refund request it has not seen yet
   * cannot cost the operator a voucher: a request served at most `maxStaleMs` after the payer's `requestRefund` (at
   * chain time t0) has a challenge deadline of at most t0 + maxStale + (maxTtl − margin) + commitWindow +
   * challengeWindow, which the margin keeps before `refundAt` = t0 + noticePeriod, when the payer may withdraw. It is
   * `maxStale + 1 s − (noticePeriod − maxTtl − commitWindow − challengeWindow)`, at least 0 (the default deployment
   * has no slack: 6 s with the defaults).
   */
  get deadlineMargin(): bigint {
    return this.margin;
  }

  /** Read the head and the mode's windows, then poll (throws when the first read fails). */
  async start(): Promise<void> {
    const { client, quietMode } = this.options;
    const read = <name extends "maxTtl" | "commitWindow" | "challengeWindow" | "noticePeriod">(
      functionName: name,
    ) => client.readContract({ address: quietMode, abi: quietModeAbi, functionName });
    const [maxTtl, commitWindow, challengeWindow, noticePeriod] = await Promise.all([
      read("maxTtl"),
      read("commitWindow"),
      read("challengeWindow"),
      read("noticePeriod"),
    ]);
    const slack = noticePeriod - maxTtl - commitWindow - challengeWindow;
    const needed = BigInt(Math.ceil(this.maxStaleMs / 1000)) + 1n - slack;
    this.margin = needed > 0n ? needed : 0n;
    await this.tick();
    this.stopped = false;
    this.schedule();
  }

  /** Stop polling (waits for the poll in progress). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
  }

  /** The chain's time now (unix seconds): this machine's clock, or the head's if it is ahead. */
  now(): bigint {
    return BigInt(Math.floor((Date.now() + Math.max(0, this.leadMs)) / 1000));
  }

  /**
   * Read the head's time again, at most once a second (concurrent callers share the read), and return `now()`. For
   * a deadline that looks too far ahead: the chain's clock may have jumped since the last poll (a devnet's time
   * travel, a node catching up). A failed read leaves the clock as it was.
   */
  async refreshClock(): Promise<bigint> {
    const sent = Date.now();
    if (this.clockRead === undefined || sent - this.clockReadAt >= 1_000) {
      this.clockReadAt = sent;
      this.clockRead = this.options.client.getBlock({ blockTag: "latest" }).then(
        (head) => {
          const lead = Number(head.timestamp) * 1000 - sent;
          if (lead > this.leadMs) this.leadMs = lead;
        },
        () => undefined,
      );
    }
    await this.clockRead;
    return this.now();
  }

  /** The state of (payer, model): from memory while fresh, else read now (throws on an RPC failure). */
  get(payer: Address, modelId: Hex): PayerModelState | Promise<PayerModelState> {
    const key = `${payer.toLowerCase()}/${modelId.toLowerCase()}`;
    const now = Date.now();
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= MAX_ENTRIES) this.evict();
      this.entries.set(key, (entry = { confirmedAt: 0, usedAt: now }));
    }
    entry.usedAt = now;
    if (entry.value !== undefined && now - entry.confirmedAt <= this.maxStaleMs) return entry.value;
    return this.load(key, entry, payer, modelId);
  }

  /** Forget every entry (the next request of each reads the chain). */
  clear(): void {
    this.entries.clear();
  }

  private load(key: string, entry: Entry, payer: Address, modelId: Hex): Promise<PayerModelState> {
    if (entry.loading !== undefined) return entry.loading;
    const sent = Date.now();
    const loading = this.read(payer, modelId).then(
      (value) => {
        if (sent >= entry.confirmedAt) {
          entry.value = value;
          entry.confirmedAt = sent;
        }
        entry.loading = undefined;
        return value;
      },
      (error: unknown) => {
        entry.loading = undefined;
        if (entry.value === undefined && this.entries.get(key) === entry) this.entries.delete(key);
        throw error;
      },
    );
    entry.loading = loading;
    return loading;
  }

  /** One (payer, model)'s reads (batched by the transport into one HTTP request). */
  private async read(payer: Address, modelId: Hex): Promise<PayerModelState> {
    const { client, models, quietMode, operator } = this.options;
    this.reads.entries++;
    const [terms, channel, sub] = await Promise.all([
      client
        .readContract({
          address: models,
          abi: modelRegistryAbi,
          functionName: "requestTerms",
          // The input hash only matters for zk mode's field check: not this one.
          args: [modelId, payer, VerificationMode.Quiet, zeroHash],
        })
        .then(
          ([, fee]): PayerModelState["terms"] => ({ fee }),
          (error: unknown): PayerModelState["terms"] => {
            const reason = decodeProtocolError(error)?.name;
            if (reason === undefined) throw error; // an RPC failure, not a refusal
            return { refused: reason };
          },
        ),
      client.readContract({
        address: quietMode,
        abi: quietModeAbi,
        functionName: "channel",
        args: [payer, operator],
      }),
      client.readContract({
        address: quietMode,
        abi: quietModeAbi,
        functionName: "subChannel",
        args: [payer, operator, modelId],
      }),
    ]);
    return { terms, funds: channel[0], refundAt: channel[1], claimed: sub[0] };
  }

  /** Drop the least recently used tenth of the entries. */
  private evict(): void {
    const byUse = [...this.entries].sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [key, entry] of byUse.slice(0, Math.ceil(byUse.length / 10))) {
      if (entry.loading === undefined) this.entries.delete(key);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error: unknown) => {
          if (!this.failing) {
            this.options.log.warn(
              { err: errorSummary(error) },
              "quiet gateway: chain refresh failed; serving on data at most maxStaleMs old, then reading per request",
            );
          }
          this.failing = true;
        })
        .finally(() => {
          this.ticking = undefined;
          this.schedule();
        });
    }, this.refreshMs);
  }

  /** Read the head; on a new head, read every entry in use again. */
  private async tick(): Promise<void> {
    const sent = Date.now();
    this.reads.heads++;
    const head = await this.options.client.getBlock({ blockTag: "latest" });
    this.leadMs = Number(head.timestamp) * 1000 - sent;
    const idleBefore = sent - (this.options.idleMs ?? DEFAULT_IDLE_MS);
    const live: [string, Entry][] = [];
    for (const [key, entry] of this.entries) {
      if (entry.usedAt < idleBefore && entry.loading === undefined) this.entries.delete(key);
      else live.push([key, entry]);
    }
    if (head.hash === this.headHash) {
      // No block since the entries were read: they are current as of this read.
      for (const [, entry] of live) {
        if (entry.value !== undefined && entry.loading === undefined && entry.confirmedAt < sent) {
          entry.confirmedAt = sent;
        }
      }
      this.failing = false;
      return;
    }
    await Promise.all(
      live.map(async ([key, entry]) => {
        const [payer, modelId] = key.split("/") as [Address, Hex];
        const value = await this.read(payer, modelId);
        if (sent >= entry.confirmedAt) {
          entry.value = value;
          entry.confirmedAt = sent;
        }
      }),
    );
    this.headHash = head.hash;
    this.failing = false;
  }
}
