import { inferenceSettlementAbi } from "../../abi/index.js";
import type { InferenceRequest } from "../../protocol/request.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { getRequest } from "./getRequest.js";

export interface RefundParams {
  requestId: bigint;
  /** The request as opened (read from its event when not given). */
  request?: InferenceRequest;
}

/** Refund an expired request (anyone may): the fee goes back to the requester's ledger balance. */
export async function refund(
  ctx: OpgContext<"settlement">,
  { requestId, request }: RefundParams,
): Promise<WriteResult & { amount: bigint }> {
  const posted = request ?? (await getRequest(ctx, { requestId })).request;
  const result = await writeAndWait(ctx, {
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "refund",
    args: [posted, requestId],
  });
  return { ...result, amount: posted.fee };
}
