import { quietModeAbi } from "../../abi/index.js";
import type { ZkProofArgs } from "../../protocol/zk.js";
import { writeAndWait, type OpgContext } from "../context.js";
import { challengeResult, type ChallengeResult, type SignedQuietReceipt } from "../quiet.js";
import { getQuietMode } from "./getQuietMode.js";

export interface ChallengeOutputParams extends SignedQuietReceipt {
  /** The class the committed circuit gives on the receipt's committed input (not the receipt's). */
  output: bigint;
  /**
   * A Groth16 proof of it whose binding signal is `quietBinding(operator, seq, challenger)`, the challenger being this
   * client's wallet (a proof made for another challenger is refused: nobody can take a copied proof from the mempool).
   */
  proof: ZkProofArgs;
}

/**
 * Prove that a receipt of a zk-circuit model carries a wrong output: the operator is slashed (the challenger, the
 * wallet, rewarded) and the receipt struck, so its payer is not charged for it. Returns the stake taken. Simulated
 * first: `OutputMatches`, `NoZkCircuit`, `ChallengeClosed`, `ReceiptEvidenceUsed`, `NothingToSlash`, a rejected
 * proof and the other protocol errors surface by name before anything is sent.
 */
export async function challengeOutput(
  ctx: OpgContext<"settlement">,
  params: ChallengeOutputParams,
): Promise<ChallengeResult> {
  const { receipt, request, signature, output, proof } = params;
  const { address } = await getQuietMode(ctx);
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "challengeOutput",
    args: [receipt, request, signature, output, proof],
  });
  return challengeResult(result);
}
