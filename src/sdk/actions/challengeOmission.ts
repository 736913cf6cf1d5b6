import type { Hex } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";
import { challengeResult, type ChallengeResult, type QuietBatch, type SignedQuietReceipt } from "../quiet.js";

export interface ChallengeOmissionParams extends SignedQuietReceipt {
  /** The index of the batch holding the receipt's `seq` in its operator's log. */
  batchIndex: bigint;
  /** That batch's fields, as committed. */
  batch: QuietBatch;
  /** The leaf the operator committed at the receipt's position instead (from the batch's data). */
  committedLeaf: Hex;
  /** That leaf's Merkle proof in the batch. */
  proof: readonly Hex[];
}

/**
 * Prove that a signed receipt is not the leaf its operator committed at its position: slashes the operator (the
 * challenger, the wallet, is rewarded). Returns the stake taken. Simulated first: `NotOmitted`, `InvalidLogProof`,
 * `UnknownBatch`, `ChallengeClosed`, `ReceiptEvidenceUsed`, `NothingToSlash` surface as named protocol errors.
 */
export async function challengeOmission(
  ctx: OpgContext<"settlement">,
  params: ChallengeOmissionParams,
): Promise<ChallengeResult> {
  const { receipt, request, signature, batchIndex, batch, committedLeaf, proof } = params;
  const { address } = await getQuietMode(ctx);
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "challengeOmission",
    args: [
      receipt,
      request,
      signature,
      batchIndex,
      { root: batch.root, firstSeq: batch.firstSeq, count: batch.count, committedAt: batch.committedAt },
      committedLeaf,
      proof,
    ],
  });
  return challengeResult(result);
}
