/**
 * The quiet-mode gateway's receipt writer (docs/quiet.md, "Throughput and the operator's cache"): the only place a
 * `seq` is assigned. Requests that passed every check are queued with their output; once per event-loop turn the
 * writer takes the whole queue (at most `MAX_GROUP`), assigns consecutive seqs in queue order, signs each receipt and
 * stores the group with its sub-channel updates in ONE SQLite transaction (one fsync for the group), and only then
 * resolves the requests, which answer. One group at a time: no seq is taken outside a group, the counter advances in
 * the same synchronous step as the write, and a group is written whole or not at all, so the log has no gap and no
 * answer leaves before its receipt is durable. If the write (or a signature) fails, the counter stays and every
 * request of the group fails (503: nothing was persisted, the payer may retry).
 */
import type { Address, Hex } from "viem";
import type { QuietRequest, Receipt } from "../protocol/quiet.js";
import type { QuietLog, StoredQuietReceipt } from "./quiet-store.js";

/** Most receipts signed and written in one transaction. */
export const MAX_GROUP = 256;

/** A checked request and its output, waiting for a seq and the operator's signature. */
export interface PreparedReceipt {
  request: QuietRequest;
  /** The payer's signature of `request`. */
  requestSignature: Hex;
  /** `hashQuietRequest(request)`. */
  requestHash: Hex;
  output: Hex;
  outputHash: Hex;
  /** The receipt's time (unix seconds). */
  time: bigint;
}

interface Waiting {
  prepared: PreparedReceipt;
  resolve: (stored: StoredQuietReceipt) => void;
  reject: (error: unknown) => void;
}

/** Assigns seqs, signs and persists receipts in groups (see the module comment). */
export class QuietReceiptWriter {
  private nextSeq: bigint;
  private queue: Waiting[] = [];
  private scheduled = false;
  private writing?: Promise<void>;
  /** Groups written and receipts in them, since start. */
  readonly stats = { groups: 0, receipts: 0 };

  constructor(
    private readonly log: QuietLog,
    private readonly operator: Address,
    private readonly sign: (receipt: Receipt) => Promise<Hex>,
  ) {
    this.nextSeq = log.nextSeq();
  }

  /** Queue a checked request; resolves once its receipt is signed and durable. */
  append(prepared: PreparedReceipt): Promise<StoredQuietReceipt> {
    return new Promise<StoredQuietReceipt>((resolve, reject) => {
      this.queue.push({ prepared, resolve, reject });
      this.schedule();
    });
  }

  /** Wait until every queued receipt is written (or failed). */
  async drain(): Promise<void> {
    while (this.writing !== undefined || this.queue.length > 0) {
      await (this.writing ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.writing !== undefined) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.writing = this.writeGroup().finally(() => {
        this.writing = undefined;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async writeGroup(): Promise<void> {
    const group = this.queue.splice(0, MAX_GROUP);
    if (group.length === 0) return;
    // Only this method moves the counter, one group at a time: the group's seqs are first … first+n-1, and the
    // counter advances in the same synchronous step as the SQLite write.
    const first = this.nextSeq;
    const stored: StoredQuietReceipt[] = [];
    try {
      for (const [i, { prepared }] of group.entries()) {
        const receipt: Receipt = {
          operator: this.operator,
          seq: first + BigInt(i),
          request: prepared.requestHash,
          outputHash: prepared.outputHash,
          time: prepared.time,
        };
        stored.push({
          receipt,
          signature: await this.sign(receipt),
          request: prepared.request,
          requestSignature: prepared.requestSignature,
          output: prepared.output,
          outputHash: prepared.outputHash,
        });
      }
      this.log.addReceipts(stored);
      this.nextSeq = first + BigInt(group.length);
    } catch (error) {
      for (const waiting of group) waiting.reject(error);
      return;
    }
    this.stats.groups++;
    this.stats.receipts += group.length;
    group.forEach((waiting, i) => {
      waiting.resolve(stored[i]!);
    });
  }
}
