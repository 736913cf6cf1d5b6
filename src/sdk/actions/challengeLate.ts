import { quietModeAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";
import { challengeResult, type ChallengeResult, type QuietBatch, type SignedQuietReceipt } from "../quiet.js";

export interface ChallengeLateParams extends SignedQuietReceipt {
  /** The index of the batch holding the receipt's `seq` in its operator's log. */
  batchIndex: bigint;
  /** That batch's fields, as committed. */
  batch: QuietBatch;
}

/**
 * Prove that a signed receipt's sequence number was committed after its request's commit deadline (`deadline +
 * commitWindow`): slashes the operator (the challenger, the wallet, is rewarded). Returns the stake taken. Simulated
 * first: `NotLate`, `UnknownBatch`, `SeqNotInBatch`, `ChallengeClosed`, `ReceiptEvidenceUsed`, `NothingToSlash`
 * surface as named protocol errors.
 */
export async function challengeLate(
  ctx: OpgContext<"settlement">,
  { receipt, request, signature, batchIndex, batch }: ChallengeLateParams,
): Promise<ChallengeResult> {
  const { address } = await getQuietMode(ctx);
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "challengeLate",
    args: [
      receipt,
      request,
      signature,
      batchIndex,
      { root: batch.root, firstSeq: batch.firstSeq, count: batch.count, committedAt: batch.committedAt },
    ],
  });
  return challengeResult(result);
}
