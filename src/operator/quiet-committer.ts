/**
 * The quiet-mode gateway's committer: every `intervalMs` (or at once when `maxBatch` receipts wait) it commits the
 * waiting receipts, in seq order, as one batch (`QuietMode.commitBatch`) from the operator account. The transaction
 * is signed locally with a nonce reserved through the store (shared with fulfilments and withdrawals), and the raw
 * bytes are stored with the batch, its receipts assigned to it, in one SQLite transaction before the broadcast. So
 * after a crash the same bytes are re-sent or found mined, and no seq range is ever put in two live batches. One
 * batch is in flight at a time; a batch that can never be mined (reverted, nonce used elsewhere) is marked failed
 * and its receipts wait for the next one.
 */
import type { Logger } from "pino";
import {
  encodeFunctionData,
  keccak256,
  parseEventLogs,
  type Address,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
} from "viem";
import { quietModeAbi } from "../abi/index.js";
import { receiptBatch } from "../protocol/merkle.js";
import { decodeProtocolError } from "../sdk/errors.js";
import { errorSummary } from "./backoff.js";
import type { StoredQuietBatch } from "./quiet-store.js";
import type { OperatorStore } from "./store.js";

/** Default commit interval (ms). */
export const DEFAULT_BATCH_INTERVAL_MS = 2_000;
/** Default (and largest by default) batch size. */
export const DEFAULT_MAX_BATCH = 1_024;

/**
 * Gas cap of `commitBatch`: 21,000 intrinsic, one new slot, the head update, the event and the calldata (about
 * 56,000 measured). Fixed, so the stored transaction never depends on a later estimate.
 */
const COMMIT_GAS = 200_000n;
/** The committer checks for a full batch once every this many new receipts. */
const KICK_EVERY = 16;
/** How long an unmined batch waits before it is broadcast again (ms). */
const REBROADCAST_MS = 10_000;

/** What the committer needs from the node. */
export interface QuietCommitterOptions {
  client: PublicClient;
  store: OperatorStore;
  quietMode: Address;
  chainId: number;
  /** The operator account (commits from it). */
  account: PrivateKeyAccount;
  intervalMs?: number;
  maxBatch?: number;
  /** Where a batch's data is served (`<gateway>/v1/batches/<firstSeq>`). */
  dataUri: (firstSeq: bigint) => string;
  log: Logger;
}

/** Commits the gateway's receipts on a timer (see the module comment). */
export class QuietCommitter {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = true;
  private readonly broadcastAt = new Map<string, number>();
  private lastError?: string;
  private kicks = 0;

  constructor(private readonly options: QuietCommitterOptions) {}

  private get maxBatch(): number {
    return this.options.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  /** Start the timer (a first round runs at once: it resumes a batch left in flight by a restart). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stop the timer and wait for the round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * A receipt was stored: commit now if a full batch waits. The count is asked of SQLite once every `KICK_EVERY`
   * receipts (it is on the gateway's hot path), so a full batch waits at most that many receipts more.
   */
  kick(): void {
    if (++this.kicks % KICK_EVERY !== 0) return;
    if (this.options.store.quiet.unbatchedCount() >= this.maxBatch) this.schedule(0);
  }

  /** The last round's error, if it failed. */
  get error(): string | undefined {
    return this.lastError;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.run()
        .then(
          () => {
            this.lastError = undefined;
          },
          (error: unknown) => {
            this.lastError = errorSummary(error);
            this.options.log.warn({ err: this.lastError }, "quiet commit round failed; retrying");
          },
        )
        .finally(() => {
          this.running = undefined;
          const now = this.again;
          this.again = false;
          this.schedule(now ? 0 : (this.options.intervalMs ?? DEFAULT_BATCH_INTERVAL_MS));
        });
    }, delay);
  }

  /** One round: advance the batch in flight, else commit the waiting receipts. RPC failures throw. */
  async run(): Promise<void> {
    const { store } = this.options;
    for (const open of store.quiet.openBatches()) await this.advance(open);
    if (store.quiet.openBatches().length > 0) return;
    const waiting = store.quiet.unbatched(this.maxBatch);
    if (waiting.length === 0) return;
    await this.commit(waiting.map((r) => r.receipt));
    // Mined already on an instant-mining chain: record it in this round.
    for (const open of store.quiet.openBatches()) await this.advance(open);
  }

  private async commit(receipts: Parameters<typeof receiptBatch>[0]): Promise<void> {
    const { client, store, quietMode, account, log } = this.options;
    // Only consecutive receipts from the lowest waiting seq (a gap cannot happen: seqs are assigned in order).
    let count = 1;
    while (count < receipts.length && receipts[count]!.seq === receipts[0]!.seq + BigInt(count)) count++;
    const batch = receiptBatch(receipts.slice(0, count));
    const [nextSeq] = await client.readContract({
      address: quietMode,
      abi: quietModeAbi,
      functionName: "head",
      args: [account.address],
    });
    if (nextSeq !== batch.firstSeq) {
      log.error(
        { firstSeq: batch.firstSeq.toString(), chainNextSeq: nextSeq.toString() },
        "the log on chain does not continue at the first waiting receipt: not committing",
      );
      return;
    }
    const dataUri = this.options.dataUri(batch.firstSeq);
    const data = encodeFunctionData({
      abi: quietModeAbi,
      functionName: "commitBatch",
      args: [batch.firstSeq, batch.count, batch.root, dataUri],
    });
    try {
      await client.call({ account: account.address, to: quietMode, data, gas: COMMIT_GAS });
    } catch (error) {
      const reason = decodeProtocolError(error)?.name;
      if (reason === undefined) throw error;
      log.error({ firstSeq: batch.firstSeq.toString(), reason }, "commitBatch would revert: not sent");
      return;
    }
    const [pending, fees] = await Promise.all([
      client.getTransactionCount({ address: account.address, blockTag: "pending" }),
      client.estimateFeesPerGas(),
    ]);
    const nonce = store.peekNonce(pending);
    const rawTx = await account.signTransaction({
      type: "eip1559",
      chainId: this.options.chainId,
      to: quietMode,
      data,
      gas: COMMIT_GAS,
      nonce,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const txHash = keccak256(rawTx);
    store.atomically(() => {
      const reserved = store.reserveNonces(pending, 1);
      if (reserved !== nonce) throw new Error(`nonce ${nonce} was taken while signing; signing again`);
      store.quiet.addBatch({
        firstSeq: batch.firstSeq,
        count: batch.count,
        root: batch.root,
        dataUri,
        nonce,
        rawTx,
        txHash,
      });
    });
    log.info(
      { firstSeq: batch.firstSeq.toString(), count: batch.count, root: batch.root, txHash, nonce },
      "quiet batch sent",
    );
    await this.broadcast(txHash, rawTx);
  }

  /** Check a sent batch: mined (record it), never minable (fail it), or still pending (re-broadcast now and then). */
  private async advance(batch: StoredQuietBatch): Promise<void> {
    const { client, store, account, log } = this.options;
    const first = batch.firstSeq.toString();
    const receipt = await client.getTransactionReceipt({ hash: batch.txHash }).catch(() => undefined);
    if (receipt !== undefined) {
      this.broadcastAt.delete(batch.txHash);
      const [event] =
        receipt.status === "success"
          ? parseEventLogs({ abi: quietModeAbi, eventName: "BatchCommitted", logs: receipt.logs })
          : [];
      if (event === undefined) {
        store.atomically(() => {
          store.quiet.markBatchFailed(batch.firstSeq, `transaction ${batch.txHash} reverted`);
        });
        log.warn({ firstSeq: first, txHash: batch.txHash }, "quiet batch reverted; its receipts wait");
        return;
      }
      store.quiet.markBatchCommitted(batch.firstSeq, event.args.batchIndex, event.args.committedAt);
      log.info(
        {
          firstSeq: first,
          count: batch.count,
          batchIndex: event.args.batchIndex.toString(),
          gasUsed: receipt.gasUsed.toString(),
        },
        "quiet batch committed",
      );
      return;
    }
    const mined = await client.getTransactionCount({ address: account.address, blockTag: "latest" });
    if (mined > batch.nonce) {
      // Mined meanwhile (the receipt read raced the block) or replaced: look once more before giving up on it.
      const again = await client.getTransactionReceipt({ hash: batch.txHash }).catch(() => undefined);
      if (again !== undefined) return; // the next round records it
      store.atomically(() => {
        store.quiet.markBatchFailed(batch.firstSeq, `nonce ${batch.nonce} was used by another transaction`);
      });
      log.warn({ firstSeq: first, nonce: batch.nonce }, "quiet batch replaced; its receipts wait");
      return;
    }
    const last = this.broadcastAt.get(batch.txHash);
    if (last === undefined || Date.now() - last >= REBROADCAST_MS)
      await this.broadcast(batch.txHash, batch.rawTx);
  }

  private async broadcast(txHash: Hex, rawTx: Hex): Promise<void> {
    this.broadcastAt.set(txHash, Date.now());
    try {
      await this.options.client.sendRawTransaction({ serializedTransaction: rawTx });
    } catch (error) {
      this.options.log.warn({ txHash, err: errorSummary(error) }, "quiet batch broadcast failed; will retry");
    }
  }
}
