import { inferenceSettlementAbi } from "../../abi/index.js";
import { toInferenceRequest } from "../../protocol/request.js";
import type { OpgContext } from "../context.js";
import { OpgError } from "../errors.js";
import type { RequestInfo } from "../types.js";
import { getRequestStatus } from "./getRequestStatus.js";

export interface GetRequestParams {
  requestId: bigint;
  /** First block to search for its events (default 0: pass the deployment block on a long chain). */
  fromBlock?: bigint;
}

/** A request as opened, its status and, once fulfilled, its result. Throws `UnknownRequest` for an id never opened. */
export async function getRequest(
  ctx: Pick<OpgContext<"settlement">, "publicClient" | "addresses">,
  { requestId, fromBlock = 0n }: GetRequestParams,
): Promise<RequestInfo> {
  const settlement = ctx.addresses.settlement;
  const [[opened], status] = await Promise.all([
    ctx.publicClient.getContractEvents({
      address: settlement,
      abi: inferenceSettlementAbi,
      eventName: "RequestOpened",
      args: { requestId },
      fromBlock,
      strict: true,
    }),
    getRequestStatus(ctx, { requestId }),
  ]);
  if (opened === undefined) {
    throw new OpgError(
      "UnknownRequest",
      `unknown request ${requestId}: no RequestOpened event at ${settlement}`,
    );
  }
  const info: RequestInfo = {
    requestId,
    request: toInferenceRequest(opened.args.request),
    inputUri: opened.args.inputUri,
    status,
    blockNumber: opened.blockNumber,
    transactionHash: opened.transactionHash,
  };
  if (status === "Fulfilled" || status === "FulfilledCallbackFailed") {
    const [fulfilled] = await ctx.publicClient.getContractEvents({
      address: settlement,
      abi: inferenceSettlementAbi,
      eventName: "RequestFulfilled",
      args: { requestId },
      fromBlock: opened.blockNumber,
      strict: true,
    });
    if (fulfilled !== undefined) {
      info.result = {
        ...fulfilled.args,
        blockNumber: fulfilled.blockNumber,
        transactionHash: fulfilled.transactionHash,
      };
    }
  }
  return info;
}
