import { parseEventLogs } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { receiptBatch, type LogTree, type ReceiptBatch } from "../../protocol/merkle.js";
import type { Receipt } from "../../protocol/quiet.js";
import { requireAccount, writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { OpgError } from "../errors.js";
import { getLogHead } from "./getLogHead.js";
import { getQuietMode } from "./getQuietMode.js";
import type { QuietBatch } from "../quiet.js";

export interface CommitReceiptBatchParams {
  /** The wallet operator's receipts, `seq` consecutive from its log's next sequence number. */
  receipts: readonly Receipt[];
  /** Where the batch's receipts are served (in the event only). */
  dataUri: string;
}

/**
 * A committed batch: the transaction, the batch's index in the operator's log and its fields as committed (pass them
 * as `batch` to `verifyReceiptOnChain` and the challenges), and its tree (`tree.proof(seq - firstSeq)`).
 */
export type CommittedBatch = WriteResult &
  QuietBatch & {
    batchIndex: bigint;
    tree: LogTree;
  };

/**
 * Append receipts to the wallet operator's log (`commitBatch`): builds the batch's Merkle root, checks the receipts
 * are the wallet's and start at its log's next sequence number (`BadInput` otherwise, before anything is sent), and
 * reads `committedAt` from the `BatchCommitted` event.
 */
export async function commitReceiptBatch(
  ctx: OpgContext<"settlement">,
  { receipts, dataUri }: CommitReceiptBatchParams,
): Promise<CommittedBatch> {
  const account = requireAccount(ctx).address;
  let batch: ReceiptBatch;
  try {
    batch = receiptBatch(receipts);
  } catch (error) {
    throw new OpgError("BadInput", `the receipts are not a committable batch: ${(error as Error).message}`);
  }
  if (batch.operator.toLowerCase() !== account.toLowerCase()) {
    throw new OpgError(
      "BadInput",
      `the receipts are operator ${batch.operator}'s; only that account commits them, not ${account}`,
    );
  }
  const [{ address }, head] = await Promise.all([getQuietMode(ctx), getLogHead(ctx, { operator: account })]);
  if (batch.firstSeq !== head.nextSeq) {
    throw new OpgError(
      "BadInput",
      `the batch starts at seq ${batch.firstSeq}, but the log's next sequence number is ${head.nextSeq} (NotNextSeq): commit the receipts from ${head.nextSeq} on, in order`,
    );
  }
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "commitBatch",
    args: [batch.firstSeq, batch.count, batch.root, dataUri],
  });
  const [event] = parseEventLogs({
    abi: quietModeAbi,
    eventName: "BatchCommitted",
    logs: result.receipt.logs,
  });
  if (event === undefined) throw new Error(`no BatchCommitted event in ${result.hash}`);
  return {
    ...result,
    batchIndex: event.args.batchIndex,
    root: event.args.root,
    firstSeq: event.args.firstSeq,
    count: event.args.count,
    committedAt: event.args.committedAt,
    tree: batch.tree,
  };
}
