/**
 * The quiet-mode gateway's durable state (docs/operator.md, "Quiet mode gateway"), in the node's SQLite file: every
 * receipt it signed (with the request, the payer's signature and the output), its own record of each (payer, model)
 * sub-channel, and the batches it commits. A receipt and its sub-channel update are written in one SQLite
 * transaction before the answer leaves the node, so a restart never reuses a `seq` and never signs a second receipt
 * for one request. A batch's raw transaction is written before it is broadcast (restart-safe, like fulfilments).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import type { QuietRequest, Receipt } from "../protocol/quiet.js";
import {
  quietRequestFromJson,
  quietRequestToJson,
  receiptFromJson,
  receiptToJson,
} from "../protocol/quiet-json.js";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS quiet_receipts (
    seq               INTEGER PRIMARY KEY,
    request_hash      TEXT NOT NULL UNIQUE,
    request_json      TEXT NOT NULL,
    request_signature TEXT NOT NULL,
    receipt_json      TEXT NOT NULL,
    signature         TEXT NOT NULL,
    output            TEXT NOT NULL,
    output_hash       TEXT NOT NULL,
    batch_first_seq   INTEGER,
    created_at        INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS quiet_receipts_batch ON quiet_receipts (batch_first_seq);
  CREATE TABLE IF NOT EXISTS quiet_subchannels (
    payer      TEXT NOT NULL,
    model_id   TEXT NOT NULL,
    next_index TEXT NOT NULL,
    cumulative TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (payer, model_id)
  );
  CREATE TABLE IF NOT EXISTS quiet_batches (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    first_seq    INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    root         TEXT NOT NULL,
    data_uri     TEXT NOT NULL,
    nonce        INTEGER NOT NULL,
    raw_tx       TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    state        TEXT NOT NULL,
    batch_index  TEXT,
    committed_at TEXT,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS quiet_batches_state ON quiet_batches (state);
  CREATE UNIQUE INDEX IF NOT EXISTS quiet_batches_live ON quiet_batches (first_seq) WHERE state != 'failed';
`;

/** One signed receipt as the gateway keeps it. */
export interface StoredQuietReceipt {
  receipt: Receipt;
  /** The operator key's EIP-712 signature of `receipt`. */
  signature: Hex;
  request: QuietRequest;
  /** The payer's EIP-712 signature of `request` (the voucher). */
  requestSignature: Hex;
  output: Hex;
  outputHash: Hex;
  /** The batch it was put in (its first seq), once one was signed; undefined while it waits. */
  batchFirstSeq?: bigint;
}

/** What the gateway knows of a (payer, model) sub-channel: the next voucher index and the running total so far. */
export interface QuietSubChannelRecord {
  nextIndex: bigint;
  cumulative: bigint;
}

/**
 * A batch commit: `submitted` (raw transaction kept, broadcast), then `committed` (mined, with its batch index and
 * time) or `failed` (reverted or its nonce used elsewhere: its receipts wait for the next batch).
 */
export type QuietBatchState = "submitted" | "committed" | "failed";

export interface StoredQuietBatch {
  firstSeq: bigint;
  count: number;
  root: Hex;
  dataUri: string;
  nonce: number;
  rawTx: Hex;
  txHash: Hex;
  state: QuietBatchState;
  batchIndex?: bigint;
  committedAt?: bigint;
  error?: string;
}

interface ReceiptRow {
  seq: number;
  request_json: string;
  request_signature: string;
  receipt_json: string;
  signature: string;
  output: string;
  output_hash: string;
  batch_first_seq: number | null;
}

interface BatchRow {
  first_seq: number;
  count: number;
  root: string;
  data_uri: string;
  nonce: number;
  raw_tx: string;
  tx_hash: string;
  state: QuietBatchState;
  batch_index: string | null;
  committed_at: string | null;
  error: string | null;
}

const toRequest = (text: string): QuietRequest => quietRequestFromJson(JSON.parse(text));
const toReceipt = (text: string): Receipt => receiptFromJson(JSON.parse(text));

function toStoredReceipt(row: ReceiptRow): StoredQuietReceipt {
  return {
    receipt: toReceipt(row.receipt_json),
    signature: row.signature as Hex,
    request: toRequest(row.request_json),
    requestSignature: row.request_signature as Hex,
    output: row.output as Hex,
    outputHash: row.output_hash as Hex,
    ...(row.batch_first_seq === null ? {} : { batchFirstSeq: BigInt(row.batch_first_seq) }),
  };
}

function toBatch(row: BatchRow): StoredQuietBatch {
  return {
    firstSeq: BigInt(row.first_seq),
    count: row.count,
    root: row.root as Hex,
    dataUri: row.data_uri,
    nonce: row.nonce,
    rawTx: row.raw_tx as Hex,
    txHash: row.tx_hash as Hex,
    state: row.state,
    ...(row.batch_index === null ? {} : { batchIndex: BigInt(row.batch_index) }),
    ...(row.committed_at === null ? {} : { committedAt: BigInt(row.committed_at) }),
    ...(row.error === null ? {} : { error: row.error }),
  };
}

/** The gateway's tables in the node's database (`OperatorStore.quiet`). Callers group writes with `atomically`. */
export class QuietLog {
  /** Prepared statements, by SQL text (the gateway's hot path runs the same few per request). */
  private readonly statements = new Map<string, StatementSync>();

  constructor(private readonly db: DatabaseSync) {
    db.exec(SCHEMA);
  }

  private prepare(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  /** The next `seq` to sign: one past the highest stored (persisted receipts are the counter). */
  nextSeq(): bigint {
    const row = this.prepare("SELECT MAX(seq) AS top FROM quiet_receipts").get() as {
      top: number | null;
    };
    return row.top === null ? 0n : BigInt(row.top) + 1n;
  }

  /** The receipt signed for the request with struct hash `requestHash`, if any. */
  receiptFor(requestHash: Hex): StoredQuietReceipt | undefined {
    const row = this.prepare("SELECT * FROM quiet_receipts WHERE request_hash = ?").get(
      requestHash.toLowerCase(),
    ) as ReceiptRow | undefined;
    return row === undefined ? undefined : toStoredReceipt(row);
  }

  /** The receipt with sequence number `seq`, if signed. */
  receipt(seq: bigint): StoredQuietReceipt | undefined {
    const row = this.prepare("SELECT * FROM quiet_receipts WHERE seq = ?").get(Number(seq)) as
      ReceiptRow | undefined;
    return row === undefined ? undefined : toStoredReceipt(row);
  }

  /** Receipts `firstSeq … firstSeq+count-1`, in seq order. */
  receiptRange(firstSeq: bigint, count: number): StoredQuietReceipt[] {
    const rows = this.prepare("SELECT * FROM quiet_receipts WHERE seq >= ? AND seq < ? ORDER BY seq").all(
      Number(firstSeq),
      Number(firstSeq) + count,
    ) as unknown as ReceiptRow[];
    return rows.map(toStoredReceipt);
  }

  /** Receipts not in any batch yet, lowest seq first (at most `limit`). */
  unbatched(limit: number): StoredQuietReceipt[] {
    const rows = this.prepare(
      "SELECT * FROM quiet_receipts WHERE batch_first_seq IS NULL ORDER BY seq LIMIT ?",
    ).all(limit) as unknown as ReceiptRow[];
    return rows.map(toStoredReceipt);
  }

  /** How many receipts wait for a batch. */
  unbatchedCount(): number {
    const row = this.prepare(
      "SELECT COUNT(*) AS n FROM quiet_receipts WHERE batch_first_seq IS NULL",
    ).get() as { n: number };
    return row.n;
  }

  /** The gateway's record of a (payer, model) sub-channel, if it served it before. */
  subChannel(payer: Address, modelId: Hex): QuietSubChannelRecord | undefined {
    const row = this.prepare(
      "SELECT next_index, cumulative FROM quiet_subchannels WHERE payer = ? AND model_id = ?",
    ).get(payer.toLowerCase(), modelId.toLowerCase()) as
      { next_index: string; cumulative: string } | undefined;
    return row === undefined
      ? undefined
      : { nextIndex: BigInt(row.next_index), cumulative: BigInt(row.cumulative) };
  }

  /**
   * Store a signed receipt and advance its sub-channel to the request's index and running total, in one SQLite
   * transaction (throws, writing nothing, if the seq or the request already has a receipt).
   */
  addReceipt(stored: Omit<StoredQuietReceipt, "batchFirstSeq">): void {
    const { receipt, request } = stored;
    const now = Date.now();
    const run = () => {
      this.prepare(
        "INSERT INTO quiet_receipts (seq, request_hash, request_json, request_signature, receipt_json, signature, output, output_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(
        Number(receipt.seq),
        receipt.request.toLowerCase(),
        JSON.stringify(quietRequestToJson(request)),
        stored.requestSignature,
        JSON.stringify(receiptToJson(receipt)),
        stored.signature,
        stored.output,
        stored.outputHash,
        now,
      );
      this.prepare(
        "INSERT INTO quiet_subchannels (payer, model_id, next_index, cumulative, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(payer, model_id) DO UPDATE SET next_index = excluded.next_index, cumulative = excluded.cumulative, updated_at = excluded.updated_at",
      ).run(
        request.payer.toLowerCase(),
        request.modelId.toLowerCase(),
        (request.index + 1n).toString(),
        request.cumulative.toString(),
        now,
      );
    };
    if (this.db.isTransaction) {
      run();
      return;
    }
    this.db.exec("BEGIN IMMEDIATE");
    try {
      run();
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Store signed receipts (consecutive seqs, in order) with their sub-channel updates in ONE SQLite transaction: the
   * gateway's group commit (one fsync for every receipt signed in a tick). All or nothing: throws, writing nothing,
   * if any seq or request already has a receipt.
   */
  addReceipts(receipts: readonly Omit<StoredQuietReceipt, "batchFirstSeq">[]): void {
    if (receipts.length === 0) return;
    if (this.db.isTransaction) {
      for (const stored of receipts) this.addReceipt(stored);
      return;
    }
    this.db.exec("BEGIN IMMEDIATE");
    try {
      for (const stored of receipts) this.addReceipt(stored);
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Record a signed `commitBatch` transaction (before it is broadcast) and assign its receipts to it. Call inside
   * the store's `atomically` together with the nonce reservation.
   */
  addBatch(batch: Omit<StoredQuietBatch, "state" | "batchIndex" | "committedAt" | "error">): void {
    const now = Date.now();
    this.prepare(
      "INSERT INTO quiet_batches (first_seq, count, root, data_uri, nonce, raw_tx, tx_hash, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?)",
    ).run(
      Number(batch.firstSeq),
      batch.count,
      batch.root,
      batch.dataUri,
      batch.nonce,
      batch.rawTx,
      batch.txHash,
      now,
      now,
    );
    const first = Number(batch.firstSeq);
    const result = this.prepare(
      "UPDATE quiet_receipts SET batch_first_seq = ? WHERE seq >= ? AND seq < ? AND batch_first_seq IS NULL",
    ).run(first, first, first + batch.count);
    if (result.changes !== batch.count) {
      throw new Error(`receipts ${first}…${first + batch.count - 1} are not all waiting for a batch`);
    }
  }

  /** A batch mined: record its index in the operator's log and its commit time. */
  markBatchCommitted(firstSeq: bigint, batchIndex: bigint, committedAt: bigint): void {
    this.prepare(
      "UPDATE quiet_batches SET state = 'committed', batch_index = ?, committed_at = ?, updated_at = ? WHERE first_seq = ? AND state = 'submitted'",
    ).run(batchIndex.toString(), committedAt.toString(), Date.now(), Number(firstSeq));
  }

  /**
   * A batch that can never be mined (reverted, or its nonce used by another transaction): its row is kept as
   * `failed` (with why) and its receipts wait for the next batch. Call inside `atomically`.
   */
  markBatchFailed(firstSeq: bigint, error: string): void {
    const first = Number(firstSeq);
    this.prepare(
      "UPDATE quiet_batches SET state = 'failed', error = ?, updated_at = ? WHERE first_seq = ? AND state = 'submitted'",
    ).run(error, Date.now(), first);
    this.prepare("UPDATE quiet_receipts SET batch_first_seq = NULL WHERE batch_first_seq = ?").run(first);
  }

  /** The batch starting at `firstSeq` (failed ones are not found). */
  batch(firstSeq: bigint): StoredQuietBatch | undefined {
    const row = this.prepare("SELECT * FROM quiet_batches WHERE first_seq = ? AND state != 'failed'").get(
      Number(firstSeq),
    ) as BatchRow | undefined;
    return row === undefined ? undefined : toBatch(row);
  }

  /** Batches sent but not yet seen mined, oldest first. */
  openBatches(): StoredQuietBatch[] {
    const rows = this.prepare(
      "SELECT * FROM quiet_batches WHERE state = 'submitted' ORDER BY first_seq",
    ).all() as unknown as BatchRow[];
    return rows.map(toBatch);
  }

  /** Receipts stored, and batches per state, for `/metrics`. */
  totals(): { receipts: number; unbatched: number; batches: Record<QuietBatchState, number> } {
    const receipts = (this.prepare("SELECT COUNT(*) AS n FROM quiet_receipts").get() as { n: number }).n;
    const batches: Record<QuietBatchState, number> = { submitted: 0, committed: 0, failed: 0 };
    const rows = this.prepare(
      "SELECT state, COUNT(*) AS n FROM quiet_batches GROUP BY state",
    ).all() as unknown as { state: QuietBatchState; n: number }[];
    for (const { state, n } of rows) batches[state] = n;
    return { receipts, unbatched: this.unbatchedCount(), batches };
  }
}
