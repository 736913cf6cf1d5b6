import { quietModeAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";
import { challengeResult, type ChallengeResult, type SignedQuietReceipt } from "../quiet.js";

export interface ChallengeEquivocationParams {
  /** A receipt signed by a key of the operator, with its request and signature. */
  a: SignedQuietReceipt;
  /** Another receipt by the same operator with the same `seq`, or for the same request. */
  b: SignedQuietReceipt;
}

/**
 * Prove that an operator signed two different receipts for one sequence number or one request, before the requests'
 * challenge deadline: slashes it (the challenger, the wallet, is rewarded). Returns the stake taken. Simulated first:
 * `NotEquivocation`, `ChallengeClosed`, `ReceiptEvidenceUsed`, `NothingToSlash` surface as named protocol errors.
 */
export async function challengeEquivocation(
  ctx: OpgContext<"settlement">,
  { a, b }: ChallengeEquivocationParams,
): Promise<ChallengeResult> {
  const { address } = await getQuietMode(ctx);
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "challengeEquivocation",
    args: [a.receipt, a.request, a.signature, b.receipt, b.request, b.signature],
  });
  return challengeResult(result);
}
