/**
 * Read-only queries over the quiet-mode gateway's receipts (`quiet_receipts`, src/operator/quiet-store.ts) for
 * redemption: the latest final voucher of each (payer, model) sub-channel. Kept apart from the store so it can run on
 * a read-only connection (`opg operator redeem` beside a running node).
 */
import { DatabaseSync } from "node:sqlite";
import type { Hex } from "viem";
import { quietRequestFromJson } from "../protocol/quiet-json.js";
import type { QuietRequest } from "../protocol/quiet.js";

/** A payer-signed request the gateway answered, as the operator redeems it. */
export interface StoredVoucher {
  request: QuietRequest;
  /** The payer's EIP-712 signature of `request`. */
  signature: Hex;
  /** The receipt's sequence number. */
  seq: bigint;
}

const field = (name: string) => `json_extract(request_json, '$.${name}')`;
const integer = (name: string) => `CAST(${field(name)} AS INTEGER)`;

/**
 * Open a node's state file read-only (no schema change, no lock held beyond a read). Throws when it does not exist or
 * has no quiet-mode receipts table (a node that never served quiet mode).
 */
export function openVouchersReadOnly(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly: true });
  const table = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'quiet_receipts'")
    .get();
  if (table === undefined) {
    db.close();
    throw new Error(`${path} holds no quiet-mode receipts (the node never served quiet mode)`);
  }
  return db;
}

/**
 * The latest voucher (highest index) of each (payer, model) sub-channel among the requests whose `deadline` is before
 * `deadlineBefore` (pass the chain's time minus the commit and challenge windows: those vouchers are final). The
 * gateway keeps each sub-channel's indexes consecutive and its running total growing with them, so the highest index
 * is the highest total. Ordered by payer, then model.
 */
export function latestFinalVouchers(db: DatabaseSync, deadlineBefore: bigint): StoredVoucher[] {
  const rows = db
    .prepare(
      `SELECT r.seq AS seq, r.request_json AS request_json, r.request_signature AS request_signature
         FROM quiet_receipts r
         JOIN (SELECT ${field("payer")} AS payer, ${field("modelId")} AS model, MAX(${integer("index")}) AS top
                 FROM quiet_receipts
                WHERE ${integer("deadline")} < ?
                GROUP BY payer, model) latest
           ON json_extract(r.request_json, '$.payer') = latest.payer
          AND json_extract(r.request_json, '$.modelId') = latest.model
          AND CAST(json_extract(r.request_json, '$.index') AS INTEGER) = latest.top
        ORDER BY latest.payer, latest.model`,
    )
    .all(Number(deadlineBefore)) as unknown as {
    seq: number;
    request_json: string;
    request_signature: string;
  }[];
  return rows.map((row) => ({
    request: quietRequestFromJson(JSON.parse(row.request_json)),
    signature: row.request_signature as Hex,
    seq: BigInt(row.seq),
  }));
}

/** How many (payer, model) sub-channels hold a voucher that is not final yet (`deadline` at or after `deadlineBefore`). */
export function subChannelsWaiting(db: DatabaseSync, deadlineBefore: bigint): number {
  const row = db
    .prepare(
      `SELECT COUNT(*) AS n FROM (SELECT DISTINCT ${field("payer")}, ${field("modelId")}
         FROM quiet_receipts WHERE ${integer("deadline")} >= ?)`,
    )
    .get(Number(deadlineBefore)) as { n: number };
  return row.n;
}
