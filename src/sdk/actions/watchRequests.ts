import type { Hex, WatchContractEventReturnType } from "viem";
import { inferenceSettlementAbi } from "../../abi/index.js";
import { toInferenceRequest } from "../../protocol/request.js";
import type { OpgContext } from "../context.js";
import type { OpenedRequestEvent } from "../types.js";

export interface WatchRequestsParams {
  onRequest: (request: OpenedRequestEvent) => void | Promise<void>;
  /** Only these models' requests. */
  modelIds?: readonly Hex[];
  pollingInterval?: number;
  onError?: (error: Error) => void;
}

/** Calls `onRequest` for each request opened (optionally only for some models), polling the RPC; returns `unwatch`. */
export function watchRequests(
  ctx: Pick<OpgContext<"settlement">, "publicClient" | "addresses">,
  params: WatchRequestsParams,
): WatchContractEventReturnType {
  const wanted = params.modelIds?.map((id) => id.toLowerCase());
  return ctx.publicClient.watchContractEvent({
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    eventName: "RequestOpened",
    strict: true,
    poll: true,
    ...(params.pollingInterval === undefined ? {} : { pollingInterval: params.pollingInterval }),
    ...(params.onError === undefined ? {} : { onError: params.onError }),
    onLogs: (logs) => {
      for (const log of logs) {
        if (wanted !== undefined && !wanted.includes(log.args.modelId.toLowerCase())) continue;
        void params.onRequest({
          requestId: log.args.requestId,
          request: toInferenceRequest(log.args.request),
          inputUri: log.args.inputUri,
          blockNumber: log.blockNumber,
          transactionHash: log.transactionHash,
        });
      }
    },
  });
}
