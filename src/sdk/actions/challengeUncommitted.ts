import { quietModeAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";
import { challengeResult, type ChallengeResult, type SignedQuietReceipt } from "../quiet.js";

/** The signed receipt whose sequence number its operator has not committed. */
export type ChallengeUncommittedParams = SignedQuietReceipt;

/**
 * Prove that a signed receipt's sequence number is still not committed after its request's commit deadline
 * (`deadline + commitWindow`): slashes the operator (the challenger, the wallet, is rewarded). Returns the stake
 * taken. Simulated first: `NotUncommitted`, `ChallengeClosed`, `ReceiptEvidenceUsed`, `NothingToSlash` surface as
 * named protocol errors.
 */
export async function challengeUncommitted(
  ctx: OpgContext<"settlement">,
  { receipt, request, signature }: ChallengeUncommittedParams,
): Promise<ChallengeResult> {
  const { address } = await getQuietMode(ctx);
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "challengeUncommitted",
    args: [receipt, request, signature],
  });
  return challengeResult(result);
}
