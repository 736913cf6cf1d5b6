/**
 * What quiet mode's actions share: the shapes of a committed batch and of a signed receipt, and the slash a
 * challenge's `OperatorChallenged` event reports.
 */
import { parseEventLogs, type Hex } from "viem";
import { quietModeAbi } from "../abi/index.js";
import type { QuietRequest, Receipt } from "../protocol/quiet.js";
import type { WriteResult } from "./context.js";

/** A committed batch of an operator's log, as `BatchCommitted` gave it (what `verifyReceipt` and challenges take). */
export interface QuietBatch {
  /** The Merkle root of its receipts' leaves. */
  root: Hex;
  /** The first sequence number it holds. */
  firstSeq: bigint;
  /** How many receipts (1 to 65,536). */
  count: number;
  /** When it was committed (unix seconds, the block's time). */
  committedAt: bigint;
}

/** A receipt with the request it answers and the operator key's signature of it: the evidence a challenge takes. */
export interface SignedQuietReceipt {
  receipt: Receipt;
  request: QuietRequest;
  signature: Hex;
}

/** A challenge that slashed: the transaction, and the stake taken (from `OperatorChallenged`). */
export type ChallengeResult = WriteResult & { slashed: bigint };

/** The stake a mined challenge took, from its `OperatorChallenged` event (`ReceiptStruck` for a wrong output). */
export function challengeResult(result: WriteResult): ChallengeResult {
  const logs = result.receipt.logs;
  const [challenged] = parseEventLogs({ abi: quietModeAbi, eventName: "OperatorChallenged", logs });
  if (challenged !== undefined) return { ...result, slashed: challenged.args.slashed };
  const [struck] = parseEventLogs({ abi: quietModeAbi, eventName: "ReceiptStruck", logs });
  if (struck !== undefined) return { ...result, slashed: struck.args.slashed };
  throw new Error(`no OperatorChallenged or ReceiptStruck event in ${result.hash}`);
}
