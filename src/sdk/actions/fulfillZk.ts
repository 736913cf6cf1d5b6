import { zkModeAbi } from "../../abi/index.js";
import { zkFulfilmentArgs } from "../../modes/zk/calldata.js";
import { VerificationMode } from "../../protocol/modes.js";
import type { InferenceRequest } from "../../protocol/request.js";
import type { ZkProofArgs } from "../../protocol/zk.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { getModeContract } from "./getModeContract.js";

export interface FulfillZkParams {
  request: InferenceRequest;
  requestId: bigint;
  /** The proven public output. */
  output: bigint;
  proof: ZkProofArgs;
}

/**
 * Settle a zk request with a Groth16 proof: `fulfillZk` on `ZkMode`. The proof is bound to its submitter: send it
 * from the account it was made for (which is credited the operator's share).
 */
export async function fulfillZk(
  ctx: OpgContext<"settlement">,
  { request, requestId, output, proof }: FulfillZkParams,
): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: await getModeContract(ctx, { mode: VerificationMode.Zk }),
    abi: zkModeAbi,
    functionName: "fulfillZk",
    args: zkFulfilmentArgs(request, requestId, output, proof),
  });
}
