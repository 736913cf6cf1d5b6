/**
 * The watcher's durable state (docs/quiet.md, "Watching"), one SQLite file per chain and deployment: the binding
 * (chain, genesis, `QuietMode`), the next block to scan, every committed batch seen (its fields from the event, where
 * its data stands, and the leaves its data proved), the receipt files read, the findings, the challenges sent, and the
 * counters `/metrics` shows. A challenge row is written (`sending`) before its transaction is sent, so a restart never
 * sends one blindly twice: it checks the evidence on chain first.
 */
import { DatabaseSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import type { QuietReceiptRecord } from "../protocol/quiet-json.js";
import { receiptRecordFromJson, receiptRecordToJson } from "../protocol/quiet-json.js";

/** What a watcher state file is bound to. */
export interface WatchBinding {
  chainId: number;
  /** Hash of block 0 (a restarted devnet with the same id is another chain). */
  genesisHash: Hex;
  /** The `QuietMode` contract watched. */
  quietMode: Address;
}

/** Where a committed batch's data stands: `pending` (not fetched yet, or to retry), `checked` (its data proves the root). */
export type BatchState = "pending" | "checked";

/** A committed batch, as its `BatchCommitted` event gave it, and what the watcher knows of its data. */
export interface StoredBatch {
  operator: Address;
  batchIndex: bigint;
  firstSeq: bigint;
  count: number;
  root: Hex;
  committedAt: bigint;
  dataUri: string;
  block: bigint;
  state: BatchState;
  attempts: number;
  /** When to try fetching again (ms since the epoch). */
  nextAt: number;
  /** Why the last attempt failed (a reason code). */
  reason?: string;
}

/** A receipt file read from the receipts directory: its record, and whether the watcher is done with it. */
export interface StoredRecord {
  receiptHash: Hex;
  record: QuietReceiptRecord;
  /** `open`: checked again each pass; `done`: nothing more to do. */
  state: "open" | "done";
  reexecuted: boolean;
  note?: string;
}

/** A challenge the watcher decided on: `sending` until its transaction is mined, then `won` or `failed`. */
export interface StoredChallenge {
  /** The contract's evidence key for it (one challenge per key ever lands). */
  key: Hex;
  kind: ChallengeKind;
  operator: Address;
  seq: bigint;
  state: "sending" | "won" | "failed";
  txHash?: Hex;
  slashed?: bigint;
  detail?: string;
}

/** The challenges the contract knows. */
export type ChallengeKind = "wrong_output" | "equivocation" | "omission" | "late" | "uncommitted";

/** A finding: something wrong, logged and counted, whether or not the contract can slash it. */
export interface Finding {
  kind: string;
  operator: Address;
  seq?: bigint;
  detail: string;
  at: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS batches (
    operator     TEXT NOT NULL,
    batch_index  TEXT NOT NULL,
    first_seq    TEXT NOT NULL,
    count        INTEGER NOT NULL,
    root         TEXT NOT NULL,
    committed_at TEXT NOT NULL,
    data_uri     TEXT NOT NULL,
    block        TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL DEFAULT 0,
    reason       TEXT,
    PRIMARY KEY (operator, batch_index)
  );
  CREATE INDEX IF NOT EXISTS batches_state ON batches (state, next_at);
  CREATE TABLE IF NOT EXISTS entries (
    operator     TEXT NOT NULL,
    seq          TEXT NOT NULL,
    batch_index  TEXT NOT NULL,
    leaf         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    entry_json   TEXT NOT NULL,
    PRIMARY KEY (operator, seq)
  );
  CREATE INDEX IF NOT EXISTS entries_request ON entries (operator, request_hash);
  CREATE TABLE IF NOT EXISTS records (
    receipt_hash TEXT PRIMARY KEY,
    operator     TEXT NOT NULL,
    seq          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    record_json  TEXT NOT NULL,
    state        TEXT NOT NULL,
    reexecuted   INTEGER NOT NULL DEFAULT 0,
    note         TEXT
  );
  CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS findings (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL,
    operator TEXT NOT NULL,
    seq      TEXT,
    detail   TEXT NOT NULL,
    at       INTEGER NOT NULL,
    UNIQUE (kind, operator, seq, detail)
  );
  CREATE TABLE IF NOT EXISTS challenges (
    key      TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    operator TEXT NOT NULL,
    seq      TEXT NOT NULL,
    state    TEXT NOT NULL,
    tx_hash  TEXT,
    slashed  TEXT,
    detail   TEXT,
    at       INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** The schema version this code writes; older files are migrated forward on open. */
export const WATCH_SCHEMA_VERSION = 1;

interface BatchRow {
  operator: string;
  batch_index: string;
  first_seq: string;
  count: number;
  root: string;
  committed_at: string;
  data_uri: string;
  block: string;
  state: BatchState;
  attempts: number;
  next_at: number;
  reason: string | null;
}

interface RecordRow {
  receipt_hash: string;
  record_json: string;
  state: "open" | "done";
  reexecuted: number;
  note: string | null;
}

interface ChallengeRow {
  key: string;
  kind: ChallengeKind;
  operator: string;
  seq: string;
  state: StoredChallenge["state"];
  tx_hash: string | null;
  slashed: string | null;
  detail: string | null;
}

/** An entry of a checked batch: the leaf committed at `seq` and the entry's JSON (as the batch data served it). */
export interface StoredEntry {
  operator: Address;
  seq: bigint;
  batchIndex: bigint;
  leaf: Hex;
  requestHash: Hex;
  entryJson: string;
}

const lower = (value: string) => value.toLowerCase();

function batchFromRow(row: BatchRow): StoredBatch {
  return {
    operator: row.operator as Address,
    batchIndex: BigInt(row.batch_index),
    firstSeq: BigInt(row.first_seq),
    count: row.count,
    root: row.root as Hex,
    committedAt: BigInt(row.committed_at),
    dataUri: row.data_uri,
    block: BigInt(row.block),
    state: row.state,
    attempts: row.attempts,
    nextAt: row.next_at,
    ...(row.reason === null ? {} : { reason: row.reason }),
  };
}

/** The watcher's SQLite state file. */
export class WatchStore {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    this.db.exec(SCHEMA);
    this.migrate();
  }

  /** Forward migrations by `meta.schema` (a new file is created at the current version). */
  private migrate(): void {
    const version = Number(this.meta("schema") ?? "0");
    if (version > WATCH_SCHEMA_VERSION) {
      throw new Error(
        `the watcher state file has schema ${version}, newer than this version reads (${WATCH_SCHEMA_VERSION})`,
      );
    }
    // Version 1 is the first: every table is created by SCHEMA. Later versions add their ALTERs here.
    if (version < WATCH_SCHEMA_VERSION) this.setMeta("schema", String(WATCH_SCHEMA_VERSION));
  }

  close(): void {
    this.db.close();
  }

  private meta(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
      { value: string } | undefined;
    return row?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }

  /** Run `fn` in one SQLite transaction. */
  atomically<T>(fn: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  /** The chain and deployment the file is bound to, if it is. */
  binding(): WatchBinding | undefined {
    const chainId = this.meta("chainId");
    const genesisHash = this.meta("genesisHash");
    const quietMode = this.meta("quietMode");
    if (chainId === undefined || genesisHash === undefined || quietMode === undefined) return undefined;
    return { chainId: Number(chainId), genesisHash: genesisHash as Hex, quietMode: quietMode as Address };
  }

  /** Bind the file (on first start). */
  bind(binding: WatchBinding): void {
    this.atomically(() => {
      this.setMeta("chainId", String(binding.chainId));
      this.setMeta("genesisHash", lower(binding.genesisHash));
      this.setMeta("quietMode", lower(binding.quietMode));
    });
  }

  /** The next block to scan, if any block was scanned. */
  cursor(): bigint | undefined {
    const value = this.meta("cursor");
    return value === undefined ? undefined : BigInt(value);
  }

  /** Record the scan of blocks up to `next - 1` together with the batches found in them (one transaction). */
  advance(next: bigint, batches: readonly Omit<StoredBatch, "state" | "attempts" | "nextAt">[]): number {
    return this.atomically(() => {
      let added = 0;
      const insert = this.db.prepare(
        `INSERT OR IGNORE INTO batches (operator, batch_index, first_seq, count, root, committed_at, data_uri, block, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
      );
      for (const b of batches) {
        const result = insert.run(
          lower(b.operator),
          b.batchIndex.toString(),
          b.firstSeq.toString(),
          b.count,
          lower(b.root),
          b.committedAt.toString(),
          b.dataUri,
          b.block.toString(),
        );
        added += Number(result.changes);
      }
      this.setMeta("cursor", next.toString());
      return added;
    });
  }

  /** Pending batches due for a fetch at `now` (ms), oldest first. */
  dueBatches(now: number, limit = 100): StoredBatch[] {
    const rows = this.db
      .prepare(
        "SELECT * FROM batches WHERE state = 'pending' AND next_at <= ? ORDER BY CAST(block AS INTEGER), CAST(batch_index AS INTEGER) LIMIT ?",
      )
      .all(now, limit) as unknown as BatchRow[];
    return rows.map(batchFromRow);
  }

  /** How many batches wait for their data, and how many receipt files are still followed. */
  backlog(): { pendingBatches: number; openRecords: number } {
    const batches = this.db.prepare("SELECT COUNT(*) AS n FROM batches WHERE state = 'pending'").get() as {
      n: number;
    };
    const records = this.db.prepare("SELECT COUNT(*) AS n FROM records WHERE state = 'open'").get() as {
      n: number;
    };
    return { pendingBatches: batches.n, openRecords: records.n };
  }

  /** Every batch of `operator` (or all). */
  batches(operator?: Address): StoredBatch[] {
    const rows = (operator === undefined
      ? this.db.prepare("SELECT * FROM batches").all()
      : this.db
          .prepare("SELECT * FROM batches WHERE operator = ?")
          .all(lower(operator))) as unknown as BatchRow[];
    return rows.map(batchFromRow);
  }

  /** The committed batch of `operator` holding `seq`, if one was seen. */
  batchHolding(operator: Address, seq: bigint): StoredBatch | undefined {
    return this.batches(operator).find((b) => seq >= b.firstSeq && seq < b.firstSeq + BigInt(b.count));
  }

  /** A fetch failed: keep the batch pending, retry at `nextAt`. */
  batchFailed(operator: Address, batchIndex: bigint, reason: string, nextAt: number): void {
    this.db
      .prepare(
        "UPDATE batches SET attempts = attempts + 1, next_at = ?, reason = ? WHERE operator = ? AND batch_index = ?",
      )
      .run(nextAt, reason, lower(operator), batchIndex.toString());
  }

  /** A batch's data proved its root: store its entries and mark it checked (one transaction). */
  batchChecked(operator: Address, batchIndex: bigint, entries: readonly StoredEntry[]): void {
    this.atomically(() => {
      const insert = this.db.prepare(
        "INSERT OR REPLACE INTO entries (operator, seq, batch_index, leaf, request_hash, entry_json) VALUES (?, ?, ?, ?, ?, ?)",
      );
      for (const e of entries) {
        insert.run(
          lower(e.operator),
          e.seq.toString(),
          e.batchIndex.toString(),
          lower(e.leaf),
          lower(e.requestHash),
          e.entryJson,
        );
      }
      this.db
        .prepare("UPDATE batches SET state = 'checked', reason = NULL WHERE operator = ? AND batch_index = ?")
        .run(lower(operator), batchIndex.toString());
    });
  }

  /** The committed entries of a checked batch, in `seq` order. */
  entriesOf(operator: Address, batchIndex: bigint): StoredEntry[] {
    const rows = this.db
      .prepare("SELECT * FROM entries WHERE operator = ? AND batch_index = ? ORDER BY CAST(seq AS INTEGER)")
      .all(lower(operator), batchIndex.toString()) as unknown as {
      operator: string;
      seq: string;
      batch_index: string;
      leaf: string;
      request_hash: string;
      entry_json: string;
    }[];
    return rows.map((r) => ({
      operator: r.operator as Address,
      seq: BigInt(r.seq),
      batchIndex: BigInt(r.batch_index),
      leaf: r.leaf as Hex,
      requestHash: r.request_hash as Hex,
      entryJson: r.entry_json,
    }));
  }

  /** Committed entries of `operator` answering `requestHash`. */
  entriesForRequest(operator: Address, requestHash: Hex): StoredEntry[] {
    const rows = this.db
      .prepare("SELECT seq, batch_index FROM entries WHERE operator = ? AND request_hash = ?")
      .all(lower(operator), lower(requestHash)) as unknown as { seq: string; batch_index: string }[];
    return rows.flatMap((r) =>
      this.entriesOf(operator, BigInt(r.batch_index)).filter((e) => e.seq === BigInt(r.seq)),
    );
  }

  /** Whether the file at `path` with this size and mtime was read already. */
  fileSeen(path: string, size: number, mtimeMs: number): boolean {
    const row = this.db.prepare("SELECT size, mtime_ms FROM files WHERE path = ?").get(path) as
      { size: number; mtime_ms: number } | undefined;
    return row !== undefined && row.size === size && row.mtime_ms === Math.floor(mtimeMs);
  }

  /** Remember that the file at `path` was read (or skipped). */
  markFile(path: string, size: number, mtimeMs: number): void {
    this.db
      .prepare(
        "INSERT INTO files (path, size, mtime_ms) VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms",
      )
      .run(path, size, Math.floor(mtimeMs));
  }

  /** Add a receipt record (keyed by its receipt's struct hash); false when it was known. */
  addRecord(receiptHash: Hex, record: QuietReceiptRecord): boolean {
    const result = this.db
      .prepare(
        "INSERT OR IGNORE INTO records (receipt_hash, operator, seq, request_hash, record_json, state) VALUES (?, ?, ?, ?, ?, 'open')",
      )
      .run(
        lower(receiptHash),
        lower(record.receipt.operator),
        record.receipt.seq.toString(),
        lower(record.receipt.request),
        JSON.stringify(receiptRecordToJson(record)),
      );
    return Number(result.changes) > 0;
  }

  private recordFromRow(row: RecordRow): StoredRecord {
    return {
      receiptHash: row.receipt_hash as Hex,
      record: receiptRecordFromJson(JSON.parse(row.record_json)),
      state: row.state,
      reexecuted: row.reexecuted === 1,
      ...(row.note === null ? {} : { note: row.note }),
    };
  }

  /** Records still open, in `seq` order. */
  openRecords(): StoredRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM records WHERE state = 'open' ORDER BY operator, CAST(seq AS INTEGER)")
      .all() as unknown as RecordRow[];
    return rows.map((r) => this.recordFromRow(r));
  }

  /** Other records of `operator` with the same `seq` or the same request (for equivocation). */
  recordsLike(operator: Address, seq: bigint, requestHash: Hex, except: Hex): StoredRecord[] {
    const rows = this.db
      .prepare(
        "SELECT * FROM records WHERE operator = ? AND (seq = ? OR request_hash = ?) AND receipt_hash != ?",
      )
      .all(lower(operator), seq.toString(), lower(requestHash), lower(except)) as unknown as RecordRow[];
    return rows.map((r) => this.recordFromRow(r));
  }

  /** Update a record's state, re-execution flag and note. */
  updateRecord(
    receiptHash: Hex,
    update: { state?: "open" | "done"; reexecuted?: boolean; note?: string },
  ): void {
    const sets: string[] = [];
    const values: (string | number)[] = [];
    if (update.state !== undefined) {
      sets.push("state = ?");
      values.push(update.state);
    }
    if (update.reexecuted !== undefined) {
      sets.push("reexecuted = ?");
      values.push(update.reexecuted ? 1 : 0);
    }
    if (update.note !== undefined) {
      sets.push("note = ?");
      values.push(update.note);
    }
    if (sets.length === 0) return;
    this.db
      .prepare(`UPDATE records SET ${sets.join(", ")} WHERE receipt_hash = ?`)
      .run(...values, lower(receiptHash));
  }

  /** Record a finding; false when the same one was recorded already (so it is logged and counted once). */
  addFinding(finding: Omit<Finding, "at">, at = Date.now()): boolean {
    const result = this.db
      .prepare("INSERT OR IGNORE INTO findings (kind, operator, seq, detail, at) VALUES (?, ?, ?, ?, ?)")
      .run(finding.kind, lower(finding.operator), finding.seq?.toString() ?? "", finding.detail, at);
    return Number(result.changes) > 0;
  }

  /** Every finding, oldest first. */
  findings(): Finding[] {
    const rows = this.db.prepare("SELECT * FROM findings ORDER BY id").all() as unknown as {
      kind: string;
      operator: string;
      seq: string;
      detail: string;
      at: number;
    }[];
    return rows.map((r) => ({
      kind: r.kind,
      operator: r.operator as Address,
      ...(r.seq === "" ? {} : { seq: BigInt(r.seq) }),
      detail: r.detail,
      at: r.at,
    }));
  }

  /** The challenge under evidence key `key`, if one was decided. */
  challenge(key: Hex): StoredChallenge | undefined {
    const row = this.db.prepare("SELECT * FROM challenges WHERE key = ?").get(lower(key)) as
      ChallengeRow | undefined;
    return row === undefined ? undefined : challengeFromRow(row);
  }

  /** Every challenge decided. */
  challenges(): StoredChallenge[] {
    const rows = this.db.prepare("SELECT * FROM challenges ORDER BY at").all() as unknown as ChallengeRow[];
    return rows.map(challengeFromRow);
  }

  /** Write a challenge as `sending`, before its transaction exists. */
  challengeSending(challenge: Pick<StoredChallenge, "key" | "kind" | "operator" | "seq">): void {
    this.db
      .prepare(
        "INSERT INTO challenges (key, kind, operator, seq, state, at) VALUES (?, ?, ?, ?, 'sending', ?) ON CONFLICT(key) DO UPDATE SET state = 'sending'",
      )
      .run(
        lower(challenge.key),
        challenge.kind,
        lower(challenge.operator),
        challenge.seq.toString(),
        Date.now(),
      );
  }

  /** A challenge's outcome. */
  challengeDone(
    key: Hex,
    outcome: { state: "won" | "failed"; txHash?: Hex; slashed?: bigint; detail?: string },
  ): void {
    this.db
      .prepare("UPDATE challenges SET state = ?, tx_hash = ?, slashed = ?, detail = ? WHERE key = ?")
      .run(
        outcome.state,
        outcome.txHash ?? null,
        outcome.slashed?.toString() ?? null,
        outcome.detail ?? null,
        lower(key),
      );
  }

  /** Add `by` to counter `name` (kept across restarts). */
  count(name: string, by = 1): void {
    this.db
      .prepare(
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
      )
      .run(name, by);
  }

  /** Every counter. */
  counters(): Record<string, number> {
    const rows = this.db.prepare("SELECT name, value FROM counters ORDER BY name").all() as unknown as {
      name: string;
      value: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }
}

function challengeFromRow(row: ChallengeRow): StoredChallenge {
  return {
    key: row.key as Hex,
    kind: row.kind,
    operator: row.operator as Address,
    seq: BigInt(row.seq),
    state: row.state,
    ...(row.tx_hash === null ? {} : { txHash: row.tx_hash as Hex }),
    ...(row.slashed === null ? {} : { slashed: BigInt(row.slashed) }),
    ...(row.detail === null ? {} : { detail: row.detail }),
  };
}
