import { inferenceSettlementAbi } from "../../abi/index.js";
import { RequestStatus } from "../../protocol/modes.js";
import type { OpgContext } from "../context.js";

export interface GetRequestStatusParams {
  requestId: bigint;
  /** Read at this block (default: latest). */
  blockNumber?: bigint;
}

/** A request's status as the core holds it: None, Pending, Fulfilled, FulfilledCallbackFailed or Refunded. */
export async function getRequestStatus(
  ctx: Pick<OpgContext<"settlement">, "publicClient" | "addresses">,
  { requestId, blockNumber }: GetRequestStatusParams,
): Promise<RequestStatus> {
  const status = await ctx.publicClient.readContract({
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "requestStatus",
    args: [requestId],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  });
  return RequestStatus[status] ?? "None";
}
