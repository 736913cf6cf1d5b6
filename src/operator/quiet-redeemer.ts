/**
 * Operator redemption of quiet-mode vouchers (docs/quiet.md, "Channels"): from the node's receipts, the latest voucher
 * of each (payer, model) sub-channel whose challenge deadline has passed, less what the chain already paid, redeemed
 * with the SDK's `redeemVouchers` in bounded chunks.
 *
 * Restart-safe without any local record of redemptions: the chain's `claimed` of each sub-channel is read again before
 * every run, so a redemption that was sent but not recorded (a crash, a lost answer) is seen as paid and never sent
 * again. A chunk the contract refuses is split, and a voucher refused on its own is skipped with the reason: one bad
 * voucher never stops the others.
 */
import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "pino";
import type { Address, Hex, NonceManager } from "viem";
import { getTransactionCount } from "viem/actions";
import type { QuietRequest } from "../protocol/quiet.js";
import { getChannel } from "../sdk/actions/getChannel.js";
import { getQuietMode } from "../sdk/actions/getQuietMode.js";
import { getSubChannel } from "../sdk/actions/getSubChannel.js";
import { redeemVouchers, type RedeemedVoucher } from "../sdk/actions/redeemVouchers.js";
import { latestTimestamp, type OpgContext } from "../sdk/context.js";
import { decodeProtocolError } from "../sdk/errors.js";
import { errorSummary } from "./backoff.js";
import { latestFinalVouchers, openVouchersReadOnly, subChannelsWaiting } from "./quiet-vouchers.js";

/** Vouchers per `redeem` transaction by default (the contract takes 256; a smaller chunk bounds gas per transaction). */
export const DEFAULT_REDEEM_CHUNK = 64;
/** Chain reads in flight at once while planning. */
const READ_CONCURRENCY = 32;

/** A voucher worth redeeming: its sub-channel, the signed total, and what the chain already paid of it. */
export interface DueVoucher {
  payer: Address;
  modelId: Hex;
  cumulative: bigint;
  claimed: bigint;
  request: QuietRequest;
  signature: Hex;
}

/** A voucher left out, and why (`unfunded`: the channel holds nothing; a protocol error's name when refused). */
export interface SkippedVoucher {
  payer: Address;
  modelId: Hex;
  reason: string;
}

/** What a run would redeem. */
export interface RedeemPlan {
  /** Vouchers above the chain's `claimed`, final, in channels holding funds. */
  due: DueVoucher[];
  /** Final vouchers left out. */
  skipped: SkippedVoucher[];
  /** Sub-channels with vouchers not final yet (redeemable later). */
  waiting: number;
  /** Final vouchers already redeemed up to their total. */
  settled: number;
}

/** One `redeem` transaction. */
export interface RedeemTransaction {
  hash: Hex;
  gasUsed: bigint;
  vouchers: number;
}

/** What a run did: the plan, and the transactions and redemptions it made. */
export interface RedeemOutcome extends RedeemPlan {
  transactions: RedeemTransaction[];
  redeemed: RedeemedVoucher[];
  /** The sum paid out of the channels (before the royalty and protocol split). */
  total: bigint;
}

/** Run `task` over `items` with at most `limit` in flight. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) {
    results.push(...(await Promise.all(items.slice(i, i + limit).map(task))));
  }
  return results;
}

/**
 * Plan a redemption for `operator` from the receipts in `db`: the latest final voucher per sub-channel (final: the
 * chain's time is past its `deadline + commitWindow + challengeWindow`), kept when its total is above the chain's
 * `claimed` and its channel holds funds (redeeming an empty channel would pay nothing and still advance `claimed`).
 */
export async function planRedemption(
  ctx: OpgContext<"settlement">,
  db: DatabaseSync,
  operator: Address,
): Promise<RedeemPlan> {
  const [quiet, now] = await Promise.all([getQuietMode(ctx), latestTimestamp(ctx)]);
  const deadlineBefore = now - quiet.commitWindow - quiet.challengeWindow;
  const vouchers = latestFinalVouchers(db, deadlineBefore).filter(
    (v) => v.request.operator.toLowerCase() === operator.toLowerCase(),
  );
  const waiting = subChannelsWaiting(db, deadlineBefore);
  const funds = new Map<string, Promise<bigint>>();
  const fundsOf = (payer: Address) => {
    const key = payer.toLowerCase();
    let found = funds.get(key);
    if (found === undefined) {
      found = getChannel(ctx, { payer, operator }).then((c) => c.funds);
      funds.set(key, found);
    }
    return found;
  };
  const read = await mapBounded(vouchers, READ_CONCURRENCY, async (v) => {
    const [sub, held] = await Promise.all([
      getSubChannel(ctx, { payer: v.request.payer, operator, modelId: v.request.modelId }),
      fundsOf(v.request.payer),
    ]);
    return { v, claimed: sub.claimed, held };
  });
  const plan: RedeemPlan = { due: [], skipped: [], waiting, settled: 0 };
  for (const { v, claimed, held } of read) {
    const { payer, modelId, cumulative } = v.request;
    if (cumulative <= claimed) plan.settled += 1;
    else if (held === 0n) plan.skipped.push({ payer, modelId, reason: "unfunded" });
    else plan.due.push({ payer, modelId, cumulative, claimed, request: v.request, signature: v.signature });
  }
  return plan;
}

/**
 * Redeem `plan.due` in chunks of `chunk` vouchers (at most 256) as the wallet's operator. A chunk the contract refuses
 * (a named protocol error from the simulation: nothing was sent) is retried one voucher at a time, and a voucher
 * refused alone is skipped with the error's name. Other errors (RPC) stop the run and are thrown: the next run reads
 * `claimed` again and carries on.
 */
export async function redeemPlan(
  ctx: OpgContext<"settlement">,
  plan: RedeemPlan,
  chunk = DEFAULT_REDEEM_CHUNK,
): Promise<RedeemOutcome> {
  if (!Number.isSafeInteger(chunk) || chunk < 1 || chunk > 256) {
    throw new Error(`the chunk size must be 1 to 256 vouchers, not ${chunk}`);
  }
  const outcome: RedeemOutcome = {
    ...plan,
    skipped: [...plan.skipped],
    transactions: [],
    redeemed: [],
    total: 0n,
  };
  const send = async (vouchers: readonly DueVoucher[]): Promise<void> => {
    try {
      const result = await redeemVouchers(ctx, {
        vouchers: vouchers.map(({ request, signature }) => ({ request, signature })),
      });
      outcome.transactions.push({ hash: result.hash, gasUsed: result.gasUsed, vouchers: vouchers.length });
      outcome.redeemed.push(...result.redeemed);
      outcome.total += result.total;
    } catch (error) {
      const reason = decodeProtocolError(error)?.name;
      if (reason === undefined) throw error;
      if (vouchers.length === 1) {
        outcome.skipped.push({ payer: vouchers[0]!.payer, modelId: vouchers[0]!.modelId, reason });
        return;
      }
      for (const voucher of vouchers) await send([voucher]);
    }
  };
  for (let i = 0; i < plan.due.length; i += chunk) await send(plan.due.slice(i, i + chunk));
  return outcome;
}

/** Plan and, unless `dryRun`, redeem: one run of `opg operator redeem` or of the node's timer. */
export async function redeemDueVouchers(
  ctx: OpgContext<"settlement">,
  db: DatabaseSync,
  operator: Address,
  options: { dryRun?: boolean; chunk?: number } = {},
): Promise<RedeemOutcome> {
  const plan = await planRedemption(ctx, db, operator);
  if (options.dryRun === true || plan.due.length === 0) {
    return { ...plan, transactions: [], redeemed: [], total: 0n };
  }
  return redeemPlan(ctx, plan, options.chunk);
}

/** The node's redemption schedule (the `quiet` option of `OperatorNodeOptions`). */
export interface QuietRedeemOptions {
  /**
   * Redeem the final vouchers this often (seconds), and once at start; undefined: never (run `opg operator redeem`).
   * Each run reads the chain's `claimed` first, so runs after a crash or beside the CLI never pay twice.
   */
  redeemEverySeconds?: number;
}

/** The store's nonce reservations, as the node's transactions take them (fulfilments, batches, withdrawals). */
export interface NonceReserver {
  reserveNonce(chainPending: number): number;
}

/**
 * A viem nonce manager drawing the operator account's nonces from the node's store, so a redemption never takes a
 * nonce the node reserved for a transaction it has signed but not yet broadcast. A nonce consumed by a send that then
 * failed (`reset`) is handed out again to the next send while the chain has not used it, so no gap stays behind it.
 */
export function storeNonceManager(store: NonceReserver): NonceManager {
  let unused: number | undefined;
  let last: number | undefined;
  return {
    async consume({ address, client }) {
      const pending = await getTransactionCount(client, { address, blockTag: "pending" });
      if (unused !== undefined && pending <= unused) {
        last = unused;
        return unused;
      }
      unused = undefined;
      last = store.reserveNonce(pending);
      return last;
    },
    increment() {
      // every consume reserves in the store
    },
    async get({ address, client }) {
      return getTransactionCount(client, { address, blockTag: "pending" });
    },
    reset() {
      unused = last; // the send failed: its nonce is free for the next one
    },
  };
}

/** What the node's redemption timer needs. */
export interface QuietRedeemTimerOptions {
  /** A context whose wallet is the operator account (with `storeNonceManager`). */
  ctx: OpgContext<"settlement">;
  /** The node's state file (opened read-only for each run). */
  database: string;
  operator: Address;
  intervalMs: number;
  log: Logger;
  chunk?: number;
}

/** Delay before retrying after a failed run (RPC), at most the interval. */
const RETRY_MS = 10_000;

/** The node's timer: `redeemDueVouchers` at start and every `intervalMs`, one run at a time, failures logged. */
export class QuietRedeemTimer {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: QuietRedeemTimerOptions) {}

  /** Schedule the first run now. */
  start(): void {
    this.schedule(0);
  }

  /** Cancel the next run and wait for the one in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run().then((next) => {
        this.running = undefined;
        this.schedule(next);
      });
    }, delay);
  }

  /** One run; resolves to the delay before the next. */
  private async run(): Promise<number> {
    const { ctx, database, operator, intervalMs, log, chunk } = this.options;
    let db: DatabaseSync | undefined;
    try {
      db = openVouchersReadOnly(database);
      const outcome = await redeemDueVouchers(ctx, db, operator, chunk === undefined ? {} : { chunk });
      for (const s of outcome.skipped) log.warn(s, "quiet voucher not redeemed");
      if (outcome.transactions.length > 0) {
        log.info(
          {
            vouchers: outcome.redeemed.length,
            total: outcome.total.toString(),
            transactions: outcome.transactions.map((t) => t.hash),
            waiting: outcome.waiting,
          },
          "quiet vouchers redeemed",
        );
      }
      return intervalMs;
    } catch (error) {
      log.warn({ err: errorSummary(error) }, "quiet redemption failed; retrying");
      return Math.min(intervalMs, RETRY_MS);
    } finally {
      db?.close();
    }
  }
}
