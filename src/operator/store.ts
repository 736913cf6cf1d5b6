import { DatabaseSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import type { ComputedResult } from "../modes/types.js";
import { toInferenceRequest, type InferenceRequest } from "../protocol/request.js";
import { QuietLog } from "./quiet-store.js";
import { isSkipCode, SKIP_CODES, type SkipCode } from "./skip.js";

export type { ComputedResult } from "../modes/types.js";

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
  /** Why it was skipped (`skipped` requests recorded by this version; older records have none). */
  skipCode?: SkipCode;
  attempts: number;
  /** When the request entered its current state (ms since the epoch); for `seen`, when it was first seen. */
  since: number;
}

/** What a store was created for: a state file serves one deployment on one chain. */
export interface StateBinding {
  chainId: number;
  /** Hash of block 0: tells a restarted devnet (same chain id) from the chain the file was made on. */
  genesisHash: Hex;
  /** The settlement core. */
  settlement: Address;
}

/** A skipped request, as `/health` lists the latest ones. */
export interface SkipRecord {
  requestId: bigint;
  code: SkipCode | "unclassified";
  detail: string;
  /** When it was skipped (ms since the epoch). */
  at: number;
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
  skip_code: string | null;
  attempts: number;
  updated_at: number;
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
  CREATE TABLE IF NOT EXISTS withdrawals (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    amount     TEXT NOT NULL,
    nonce      INTEGER NOT NULL,
    state      TEXT NOT NULL,
    raw_tx     TEXT,
    tx_hash    TEXT,
    error      TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS withdrawals_state ON withdrawals (state);
`;

/**
 * A ledger withdrawal the node sends (the core's `withdraw(recipient, amount)` from `account`):
 *   reserved → submitted → confirmed | failed
 * `reserved` holds the nonce (taken in the same SQLite transaction that creates the row) before anything is
 * signed; `submitted` holds the raw signed transaction before it is broadcast. At most one withdrawal per
 * account is open (reserved or submitted) at a time, so a crash never leads to a second withdrawal with another
 * nonce for the same balance: on restart a `submitted` one is re-broadcast byte for byte, and a `reserved` one
 * (never signed, so never sent) is signed again with its own nonce.
 */
export type WithdrawalState = "reserved" | "submitted" | "confirmed" | "failed";

export interface StoredWithdrawal {
  id: number;
  account: Address;
  recipient: Address;
  amount: bigint;
  nonce: number;
  state: WithdrawalState;
  rawTx?: Hex;
  txHash?: Hex;
  error?: string;
  createdAt: number;
}

interface WithdrawalRow {
  id: number;
  account: string;
  recipient: string;
  amount: string;
  nonce: number;
  state: WithdrawalState;
  raw_tx: string | null;
  tx_hash: string | null;
  error: string | null;
  created_at: number;
}

const bigintJson = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

/**
 * The operator node's durable state in SQLite (`node:sqlite`, write-ahead log, synchronous writes): the block
 * cursor, the next nonce, and every request it has seen with its result and transaction.
 */
export class OperatorStore {
  private readonly db: DatabaseSync;
  /** The quiet-mode gateway's receipts, sub-channels and batches (same file, same transactions). */
  readonly quiet: QuietLog;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    this.db.exec(SCHEMA);
    // Added after the first release: files made before it gain the column (their old skips stay unclassified).
    const columns = this.db.prepare("PRAGMA table_info(requests)").all() as unknown as { name: string }[];
    if (!columns.some((c) => c.name === "skip_code")) {
      this.db.exec("ALTER TABLE requests ADD COLUMN skip_code TEXT");
    }
    this.db.exec("CREATE INDEX IF NOT EXISTS requests_skip ON requests (state, updated_at)");
    this.quiet = new QuietLog(this.db);
  }

  /** The chain and deployment this file was bound to (`bind`), if it was. */
  binding(): StateBinding | undefined {
    const chainId = this.meta("chainId");
    const genesisHash = this.meta("genesisHash");
    const settlement = this.meta("settlement");
    if (chainId === undefined || genesisHash === undefined || settlement === undefined) return undefined;
    return { chainId: Number(chainId), genesisHash: genesisHash as Hex, settlement: settlement as Address };
  }

  /** Bind the file to a chain and deployment (the node does it on first start, and checks it on every start). */
  bind(binding: StateBinding): void {
    this.atomically(() => {
      this.setMeta("chainId", String(binding.chainId));
      this.setMeta("genesisHash", binding.genesisHash.toLowerCase());
      this.setMeta("settlement", binding.settlement.toLowerCase());
    });
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
   * (a fresh store, or transactions sent by other software with this key). `account` names another sending
   * account with its own sequence (the payout account's withdrawals); undefined is the operator account.
   */
  reserveNonce(chainPending: number, account?: Address): number {
    return this.reserveNonces(chainPending, 1, account);
  }

  /** The nonce `reserveNonce` would hand out next, without reserving it. */
  peekNonce(chainPending: number, account?: Address): number {
    return Math.max(Number(this.meta(nonceKey(account)) ?? "0"), chainPending);
  }

  /** Reserve `count` consecutive nonces (as `reserveNonce`); returns the first. */
  reserveNonces(chainPending: number, count: number, account?: Address): number {
    const nonce = this.peekNonce(chainPending, account);
    this.setMeta(nonceKey(account), String(nonce + count));
    return nonce;
  }

  /**
   * Run `writes` as one SQLite transaction: all of them are durable together or none is (one disk sync for a
   * whole batch instead of one per row). Nested calls join the outer transaction.
   */
  atomically<T>(writes: () => T): T {
    if (this.db.isTransaction) return writes();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = writes();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Open a withdrawal of `account`'s ledger balance: reserve its nonce (from `nonceAccount`'s sequence, as in
   * `reserveNonce`: undefined for the operator account, whose nonces fulfilments share) and record it in one
   * SQLite transaction, so a crash cannot leave a reserved nonce without a record of what it is for. Refuses
   * while another withdrawal of `account` is open.
   */
  reserveWithdrawal(
    account: Address,
    recipient: Address,
    amount: bigint,
    chainPending: number,
    nonceAccount?: Address,
  ): StoredWithdrawal {
    if (this.openWithdrawal(account) !== undefined) {
      throw new Error(`a withdrawal from ${account} is already open`);
    }
    const id = this.atomically(() => {
      const nonce = this.reserveNonce(chainPending, nonceAccount);
      const now = Date.now();
      const { lastInsertRowid } = this.db
        .prepare(
          "INSERT INTO withdrawals (account, recipient, amount, nonce, state, created_at, updated_at) VALUES (?, ?, ?, ?, 'reserved', ?, ?)",
        )
        .run(account, recipient, amount.toString(), nonce, now, now);
      return Number(lastInsertRowid);
    });
    return this.withdrawal(id)!;
  }

  /** Keep the signed withdrawal transaction (before it is broadcast). */
  markWithdrawalSubmitted(id: number, rawTx: Hex, txHash: Hex): void {
    const result = this.db
      .prepare(
        "UPDATE withdrawals SET state = 'submitted', raw_tx = ?, tx_hash = ?, updated_at = ? WHERE id = ? AND state = 'reserved'",
      )
      .run(rawTx, txHash, Date.now(), id);
    if (result.changes !== 1)
      throw new Error(`withdrawal ${id} is not reserved: cannot record its transaction`);
  }

  finishWithdrawal(id: number, state: "confirmed" | "failed", error?: string): void {
    this.db
      .prepare("UPDATE withdrawals SET state = ?, error = ?, updated_at = ? WHERE id = ?")
      .run(state, error ?? null, Date.now(), id);
  }

  withdrawal(id: number): StoredWithdrawal | undefined {
    const row = this.db.prepare("SELECT * FROM withdrawals WHERE id = ?").get(id) as
      WithdrawalRow | undefined;
    return row === undefined ? undefined : toWithdrawal(row);
  }

  /** The withdrawal of `account` still in flight (reserved or submitted), if any. */
  openWithdrawal(account: Address): StoredWithdrawal | undefined {
    const row = this.db
      .prepare(
        "SELECT * FROM withdrawals WHERE account = ? AND state IN ('reserved', 'submitted') ORDER BY id LIMIT 1",
      )
      .get(account) as WithdrawalRow | undefined;
    return row === undefined ? undefined : toWithdrawal(row);
  }

  /** Every withdrawal in flight (reserved or submitted), oldest first. */
  openWithdrawals(): StoredWithdrawal[] {
    const rows = this.db
      .prepare("SELECT * FROM withdrawals WHERE state IN ('reserved', 'submitted') ORDER BY id")
      .all() as unknown as WithdrawalRow[];
    return rows.map(toWithdrawal);
  }

  /** Withdrawals per state and the total confirmed (token base units), for health and metrics. */
  withdrawalTotals(): Record<WithdrawalState, number> & { withdrawn: bigint } {
    const totals = { reserved: 0, submitted: 0, confirmed: 0, failed: 0, withdrawn: 0n };
    const rows = this.db.prepare("SELECT state, amount FROM withdrawals").all() as unknown as {
      state: WithdrawalState;
      amount: string;
    }[];
    for (const { state, amount } of rows) {
      totals[state] += 1;
      if (state === "confirmed") totals.withdrawn += BigInt(amount);
    }
    return totals;
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

  /** End a request: settled by us or lost to another operator (`error`: why lost). */
  finish(requestId: bigint, state: "settled" | "lost", error?: string): void {
    this.db
      .prepare(
        "UPDATE requests SET state = ?, error = ?, skip_code = NULL, updated_at = ? WHERE request_id = ?",
      )
      .run(state, error ?? null, Date.now(), requestId.toString());
  }

  /** End a request as skipped, with its reason code and detail. */
  skip(requestId: bigint, code: SkipCode, detail: string): void {
    this.db
      .prepare(
        "UPDATE requests SET state = 'skipped', error = ?, skip_code = ?, updated_at = ? WHERE request_id = ?",
      )
      .run(detail, code, Date.now(), requestId.toString());
  }

  /** Skipped requests per reason code (every code, zeros included; `unclassified`: records older than codes). */
  skipCounts(): Record<SkipCode | "unclassified", number> {
    const counts = Object.fromEntries([...SKIP_CODES, "unclassified"].map((c) => [c, 0])) as Record<
      SkipCode | "unclassified",
      number
    >;
    const rows = this.db
      .prepare(
        "SELECT skip_code AS code, COUNT(*) AS n FROM requests WHERE state = 'skipped' GROUP BY skip_code",
      )
      .all() as unknown as { code: string | null; n: number }[];
    for (const { code, n } of rows) counts[isSkipCode(code) ? code : "unclassified"] += n;
    return counts;
  }

  /** The `limit` most recently skipped requests, newest first. */
  recentSkips(limit = 10): SkipRecord[] {
    const rows = this.db
      .prepare(
        "SELECT request_id, skip_code, error, updated_at FROM requests WHERE state = 'skipped' ORDER BY updated_at DESC, CAST(request_id AS INTEGER) DESC LIMIT ?",
      )
      .all(limit) as unknown as Pick<Row, "request_id" | "skip_code" | "error" | "updated_at">[];
    return rows.map((row) => ({
      requestId: BigInt(row.request_id),
      code: isSkipCode(row.skip_code) ? row.skip_code : "unclassified",
      detail: row.error ?? "",
      at: row.updated_at,
    }));
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

/** The meta key of an account's next nonce; the operator account keeps the original key. */
function nonceKey(account: Address | undefined): string {
  return account === undefined ? "nextNonce" : `nextNonce:${account.toLowerCase()}`;
}

function toWithdrawal(row: WithdrawalRow): StoredWithdrawal {
  return {
    id: row.id,
    account: row.account as Address,
    recipient: row.recipient as Address,
    amount: BigInt(row.amount),
    nonce: row.nonce,
    state: row.state,
    ...(row.raw_tx === null ? {} : { rawTx: row.raw_tx as Hex }),
    ...(row.tx_hash === null ? {} : { txHash: row.tx_hash as Hex }),
    ...(row.error === null ? {} : { error: row.error }),
    createdAt: row.created_at,
  };
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
    ...(isSkipCode(row.skip_code) ? { skipCode: row.skip_code } : {}),
    attempts: row.attempts,
    since: row.updated_at,
  };
}
