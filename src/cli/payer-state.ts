/**
 * A quiet-mode payer's local state, next to the operator node's default state (`$XDG_STATE_HOME/opg/`, else
 * `~/.local/state/opg/`): the voucher positions of each (operator, model) sub-channel, so `opg infer` continues a
 * sub-channel across runs, and every verified receipt record (the payer's evidence for challenges and audits).
 * Both are keyed by the chain (id and genesis hash: a restarted devnet is another chain), the `QuietMode` contract
 * and, for vouchers, the payer.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Address } from "viem";
import type { StateBinding } from "../operator/store.js";
import { defaultStatePath } from "../operator/state-path.js";
import {
  jsonObject,
  jsonUint,
  QuietJsonError,
  receiptRecordToJson,
  type QuietReceiptRecord,
} from "../protocol/quiet-json.js";
import type { QuietVoucherPosition, QuietVoucherState } from "../sdk/actions/infer.js";
import { OpgError } from "../sdk/errors.js";

const UINT96_MAX = 2n ** 96n - 1n;
const hex8 = (value: string) => value.toLowerCase().replace(/^0x/, "").slice(0, 8);

/** Where a payer's quiet-mode state lives on this machine. */
export interface PayerStatePaths {
  /** The voucher positions of `payer` on this deployment (JSON, bigints as decimal strings). */
  voucherFile: string;
  /** The directory every verified receipt record of this deployment is saved to, one file per receipt. */
  receiptsDir: string;
}

/** The paths of `payer`'s state for the `QuietMode` at `quietMode` on the chain of `binding`. */
export function payerStatePaths(
  binding: StateBinding,
  quietMode: Address,
  payer: Address,
  env: Readonly<Record<string, string | undefined>> = process.env,
): PayerStatePaths {
  const dir = dirname(defaultStatePath(binding, env));
  const deployment = `${binding.chainId}-${hex8(binding.genesisHash)}-${hex8(quietMode)}`;
  return {
    voucherFile: join(dir, `vouchers-${deployment}-${payer.toLowerCase()}.json`),
    receiptsDir: join(dir, "receipts", deployment),
  };
}

/** Write `text` to `path` atomically (a temporary file renamed over it), creating its directory. */
function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, path);
}

/**
 * A `QuietVoucherState` kept in a JSON file: read once when opened, written (atomically) on every `set`, which
 * `infer` calls only after a verified receipt. Positions are `{ "<operator>/<modelId>": { index, cumulative } }`
 * with decimal strings. One process at a time per payer: two `opg infer` runs of the same payer at once would sign
 * the same voucher index twice (the operator refuses the second).
 */
export class VoucherStateFile implements QuietVoucherState {
  private readonly positions = new Map<string, QuietVoucherPosition>();

  private constructor(readonly path: string) {}

  /** Open `path` (a missing file is an empty state); a malformed file is an error naming the file and the field. */
  static open(path: string): VoucherStateFile {
    const state = new VoucherStateFile(path);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      return state; // no state yet: the sub-channels start from the chain's `claimed`
    }
    try {
      const raw = jsonObject(JSON.parse(text) as unknown, "the voucher state");
      const positions = jsonObject(raw.positions, "positions");
      for (const [key, value] of Object.entries(positions)) {
        const position = jsonObject(value, `positions.${key}`);
        state.positions.set(key, {
          index: jsonUint(position.index, `positions.${key}.index`),
          cumulative: jsonUint(position.cumulative, `positions.${key}.cumulative`, UINT96_MAX),
        });
      }
    } catch (error) {
      const why = error instanceof QuietJsonError ? error.message : "it is not JSON";
      throw new OpgError(
        "BadInput",
        `the voucher state file ${path} is malformed (${why}): move it aside to start the sub-channels again from the chain`,
      );
    }
    return state;
  }

  get(key: string): QuietVoucherPosition | undefined {
    return this.positions.get(key);
  }

  set(key: string, position: QuietVoucherPosition): void {
    this.positions.set(key, position);
    const positions: Record<string, { index: string; cumulative: string }> = {};
    for (const [k, p] of this.positions) {
      positions[k] = { index: p.index.toString(), cumulative: p.cumulative.toString() };
    }
    writeAtomically(this.path, `${JSON.stringify({ version: 1, positions }, null, 2)}\n`);
  }
}

/** The file name of a receipt record in a receipts directory: `<operator>-<seq>.json`. */
export function receiptFileName(record: QuietReceiptRecord): string {
  return `${record.receipt.operator.toLowerCase()}-${record.receipt.seq}.json`;
}

/** Write a receipt record (its JSON form, `receiptRecordToJson`) to `path` atomically; returns `path`. */
export function writeReceiptRecord(path: string, record: QuietReceiptRecord): string {
  writeAtomically(path, `${JSON.stringify(receiptRecordToJson(record), null, 2)}\n`);
  return path;
}
