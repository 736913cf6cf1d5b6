import { DatabaseSync } from "node:sqlite";
import type { Hex } from "viem";
import { toInferenceRequest, type InferenceRequest } from "../protocol/request.js";

/**
 * Where a request stands for this operator. The order is the only way forward:
 *   seen → computed → submitted → settled | lost
 * and `skipped` from `seen` (expired, not servable, input unavailable). `computed` holds the signed (or proven)
 * result before any transaction exists; `submitted` holds the raw signed transaction before it is broadcast.
 * So a crash at any point resumes without signing a second, different result and without a second transaction.
 */
export type RequestState = "seen" | "computed" | "submitted" | "settled" | "lost" | "skipped";

export const REQUEST_STATES: readonly RequestState[] = [
  "seen",
  "computed",
  "submitted",
  "settled",
  "lost",
  "skipped",
];

/** The verified result a node computed, kept until it settles. */
export type ComputedResult =
  | { mode: "signature"; output: Hex; outputHash: Hex; signature: Hex }
  | { mode: "zk"; output: string; proof: { a: string[]; b: string[][]; c: string[] } };

export interface StoredRequest {
  requestId: bigint;
  request: InferenceRequest;
  inputUri: string;
  state: RequestState;
  result?: ComputedResult;
  rawTx?: Hex;
  txHash?: Hex;
  nonce?: number;
  error?: string;
  attempts: number;
}

interface Row {
  request_id: string;
  request_json: string;
  input_uri: string;
  state: RequestState;
  result_json: string | null;
  raw_tx: string | null;
  tx_hash: string | null;
  nonce: number | null;
  error: string | null;
  attempts: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS requests (
    request_id   TEXT PRIMARY KEY,
    request_json TEXT NOT NULL,
    input_uri    TEXT NOT NULL,
    state        TEXT NOT NULL,
    result_json  TEXT,
    raw_tx       TEXT,
    tx_hash      TEXT,
    nonce        INTEGER,
    error        TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const bigintJson = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

/**
 * The operator node's durable state in SQLite (`node:sqlite`, write-ahead log, synchronous writes): the block
 * cursor, the next nonce, and every request it has seen with its result and transaction.
 */
export class OperatorStore {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /** The first block not yet scanned, if any was. */
  cursor(): bigint | undefined {
    const value = this.meta("cursor");
    return value === undefined ? undefined : BigInt(value);
  }

  setCursor(block: bigint): void {
    this.setMeta("cursor", block.toString());
  }

  /**
   * Reserve the next nonce: the larger of what this store already handed out and the chain's pending count
   * (a fresh store, or transactions sent by other software with this key).
   */
  reserveNonce(chainPending: number): number {
    const stored = Number(this.meta("nextNonce") ?? "0");
    const nonce = Math.max(stored, chainPending);
    this.setMeta("nextNonce", String(nonce + 1));
    return nonce;
  }

  /** Record a request seen on chain; a request already known is left as it is. Returns whether it was new. */
  addSeen(requestId: bigint, request: InferenceRequest, inputUri: string): boolean {
    const result = this.db
      .prepare(
        "INSERT OR IGNORE INTO requests (request_id, request_json, input_uri, state, updated_at) VALUES (?, ?, ?, 'seen', ?)",
      )
      .run(requestId.toString(), bigintJson(request), inputUri, Date.now());
    return result.changes > 0;
  }

  get(requestId: bigint): StoredRequest | undefined {
    const row = this.db.prepare("SELECT * FROM requests WHERE request_id = ?").get(requestId.toString()) as
      Row | undefined;
    return row === undefined ? undefined : toStored(row);
  }

  /** Requests in `state`, oldest id first. */
  inState(state: RequestState, limit = 1_000): StoredRequest[] {
    const rows = this.db
      .prepare("SELECT * FROM requests WHERE state = ? ORDER BY CAST(request_id AS INTEGER) LIMIT ?")
      .all(state, limit) as unknown as Row[];
    return rows.map(toStored);
  }

  markComputed(requestId: bigint, result: ComputedResult): void {
    this.transition(requestId, "seen", "computed", { result_json: bigintJson(result) });
  }

  markSubmitted(requestId: bigint, rawTx: Hex, txHash: Hex, nonce: number): void {
    this.transition(requestId, "computed", "submitted", { raw_tx: rawTx, tx_hash: txHash, nonce });
  }

  /** End a request: settled by us, lost to another operator, or skipped. */
  finish(requestId: bigint, state: "settled" | "lost" | "skipped", error?: string): void {
    this.db
      .prepare("UPDATE requests SET state = ?, error = ?, updated_at = ? WHERE request_id = ?")
      .run(state, error ?? null, Date.now(), requestId.toString());
  }

  /** Count a failed attempt (RPC error) and remember why. */
  noteAttempt(requestId: bigint, error: string): number {
    this.db
      .prepare("UPDATE requests SET attempts = attempts + 1, error = ?, updated_at = ? WHERE request_id = ?")
      .run(error, Date.now(), requestId.toString());
    return this.get(requestId)?.attempts ?? 0;
  }

  /** Requests per state, for health and metrics. */
  counts(): Record<RequestState, number> {
    const counts = Object.fromEntries(REQUEST_STATES.map((s) => [s, 0])) as Record<RequestState, number>;
    const rows = this.db
      .prepare("SELECT state, COUNT(*) AS n FROM requests GROUP BY state")
      .all() as unknown as {
      state: RequestState;
      n: number;
    }[];
    for (const { state, n } of rows) counts[state] = n;
    return counts;
  }

  private transition(
    requestId: bigint,
    from: RequestState,
    to: RequestState,
    fields: Record<string, string | number>,
  ): void {
    const names = Object.keys(fields);
    const sets = names.map((n) => `${n} = ?`).join(", ");
    const result = this.db
      .prepare(`UPDATE requests SET state = ?, ${sets}, updated_at = ? WHERE request_id = ? AND state = ?`)
      .run(to, ...names.map((n) => fields[n]!), Date.now(), requestId.toString(), from);
    if (result.changes !== 1) throw new Error(`request ${requestId} is not ${from}: cannot move it to ${to}`);
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
}

function toStored(row: Row): StoredRequest {
  return {
    requestId: BigInt(row.request_id),
    request: toInferenceRequest(JSON.parse(row.request_json) as Record<keyof InferenceRequest, unknown>),
    inputUri: row.input_uri,
    state: row.state,
    ...(row.result_json === null ? {} : { result: JSON.parse(row.result_json) as ComputedResult }),
    ...(row.raw_tx === null ? {} : { rawTx: row.raw_tx as Hex }),
    ...(row.tx_hash === null ? {} : { txHash: row.tx_hash as Hex }),
    ...(row.nonce === null ? {} : { nonce: row.nonce }),
    ...(row.error === null ? {} : { error: row.error }),
    attempts: row.attempts,
  };
}
