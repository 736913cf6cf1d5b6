import { hexToString, isAddressEqual, type Address, type Hex } from "viem";
import {
  getQuietMode,
  inferenceSettlementAbi,
  OpgError,
  quietModeAbi,
  type QuietModeInfo,
} from "../../browser/index.js";
import type { Explorer } from "./context.js";

/** A batch of an operator's receipt log, as its `BatchCommitted` event gave it. */
export interface BatchRow {
  operator: Address;
  batchIndex: bigint;
  firstSeq: bigint;
  count: number;
  root: Hex;
  /** Unix seconds, from the event. */
  committedAt: bigint;
  dataUri: string;
  blockNumber: bigint;
  transactionHash: Hex;
  /**
   * The latest any of its receipts can still be challenged: a receipt is committed at the latest `commitWindow` after
   * its request's deadline, which is at most `maxTtl` after the receipt's time (itself before the commit), so
   * `committedAt + maxTtl + commitWindow + challengeWindow`. Each receipt's own deadline is its request's deadline +
   * `commitWindow` + `challengeWindow`, usually earlier.
   */
  challengeableUntil: bigint;
}

/** A proven cheat: a wrong output struck (`ReceiptStruck`), or equivocation or omission (`OperatorChallenged`). */
export interface ChallengeRow {
  operator: Address;
  seq: bigint;
  challenger: Address;
  /** `wrong output` for a struck receipt; otherwise the evidence kind the contract logged. */
  kind: string;
  slashed: bigint;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** Quiet mode's log as the chain has it: its contract and windows, every committed batch and every challenge. */
export interface QuietActivity {
  mode: QuietModeInfo;
  batches: BatchRow[];
  challenges: ChallengeRow[];
}

/** The kinds `OperatorChallenged` logs (`bytes32` tags), in words. */
function kindName(kind: Hex): string {
  let text: string;
  try {
    text = hexToString(kind, { size: 32 });
  } catch {
    return kind;
  }
  return /^[\x20-\x7e]+$/.test(text) ? text : kind;
}

/** The deployment's quiet-mode log (`undefined` when no contract is bound to quiet mode); one operator's with `only`. */
export async function loadQuiet(explorer: Explorer, only?: Address): Promise<QuietActivity | undefined> {
  let mode: QuietModeInfo;
  try {
    mode = await getQuietMode(explorer.deployment.sdk);
  } catch (error) {
    if (error instanceof OpgError) return undefined;
    throw error;
  }
  const events = await explorer.logs.events(mode.address, quietModeAbi);
  const mine = (operator: Address) => only === undefined || isAddressEqual(operator, only);
  const batches: BatchRow[] = [];
  const challenges: ChallengeRow[] = [];
  for (const e of events) {
    if (e.eventName === "BatchCommitted" && mine(e.args.operator)) {
      batches.push({
        operator: e.args.operator,
        batchIndex: e.args.batchIndex,
        firstSeq: e.args.firstSeq,
        count: e.args.count,
        root: e.args.root,
        committedAt: e.args.committedAt,
        dataUri: e.args.dataUri,
        blockNumber: e.blockNumber,
        transactionHash: e.transactionHash,
        challengeableUntil: e.args.committedAt + mode.maxTtl + mode.commitWindow + mode.challengeWindow,
      });
    } else if (e.eventName === "OperatorChallenged" && mine(e.args.operator)) {
      challenges.push({
        operator: e.args.operator,
        seq: e.args.seq,
        challenger: e.args.challenger,
        kind: kindName(e.args.kind),
        slashed: e.args.slashed,
        blockNumber: e.blockNumber,
        transactionHash: e.transactionHash,
      });
    } else if (e.eventName === "ReceiptStruck" && mine(e.args.operator)) {
      challenges.push({
        operator: e.args.operator,
        seq: e.args.seq,
        challenger: e.args.challenger,
        kind: "wrong output (struck)",
        slashed: e.args.slashed,
        blockNumber: e.blockNumber,
        transactionHash: e.transactionHash,
      });
    }
  }
  return { mode, batches: batches.reverse(), challenges: challenges.reverse() };
}

/** Slashes through the core (`OperatorSlashed`), any mode: who was slashed, how much, who got the reward. */
export interface CoreSlashRow {
  mode: number;
  operator: Address;
  beneficiary: Address;
  slashed: bigint;
  reward: bigint;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** Every `OperatorSlashed` of the core, newest first; one operator's with `only`. */
export async function loadCoreSlashes(explorer: Explorer, only?: Address): Promise<CoreSlashRow[]> {
  const events = await explorer.logs.events(explorer.deployment.addresses.settlement, inferenceSettlementAbi);
  const rows: CoreSlashRow[] = [];
  for (const e of events) {
    if (e.eventName !== "OperatorSlashed") continue;
    if (only !== undefined && !isAddressEqual(e.args.operator, only)) continue;
    rows.push({
      mode: e.args.mode,
      operator: e.args.operator,
      beneficiary: e.args.beneficiary,
      slashed: e.args.slashed,
      reward: e.args.reward,
      blockNumber: e.blockNumber,
      transactionHash: e.transactionHash,
    });
  }
  return rows.reverse();
}
