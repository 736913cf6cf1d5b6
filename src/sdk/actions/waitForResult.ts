import { inferenceSettlementAbi } from "../../abi/index.js";
import type { RequestStatus } from "../../protocol/modes.js";
import { latestTimestamp, type OpgContext } from "../context.js";
import { OpgError } from "../errors.js";
import type { RequestInfo } from "../types.js";
import { getRequest } from "./getRequest.js";
import { getRequestStatus } from "./getRequestStatus.js";

export interface WaitForResultParams {
  requestId: bigint;
  /** Give up after this long (default 120 000 ms): `ResultTimeout`. */
  timeoutMs?: number;
  /** How often the status is read besides the event subscription (default: the public client's polling interval). */
  pollingIntervalMs?: number;
  /** First block to search for the request's events (see `getRequest`). */
  fromBlock?: bigint;
  /** Called with the status after each read (for progress displays). */
  onPoll?: (status: RequestStatus) => void;
}

const FINAL: readonly RequestStatus[] = ["Fulfilled", "FulfilledCallbackFailed", "Refunded"];

/**
 * Wait until a request settles (fulfilled, fulfilled with a failed callback, or refunded) and return it with its
 * result. Woken by the core's `RequestFulfilled` / `RequestRefunded` events for this id, and reads the status every
 * polling interval too, so a missed log only costs one interval. Throws `UnknownRequest` for an id never opened,
 * `RequestExpired` when the deadline passes with the request still pending (no result can settle any more: refund
 * it), and `ResultTimeout` after `timeoutMs`.
 */
export async function waitForResult(
  ctx: Pick<OpgContext<"settlement">, "publicClient" | "addresses">,
  params: WaitForResultParams,
): Promise<RequestInfo> {
  const { requestId } = params;
  const timeoutMs = params.timeoutMs ?? 120_000;
  const interval = params.pollingIntervalMs ?? ctx.publicClient.pollingInterval;
  const started = Date.now();
  const opened = await getRequest(ctx, {
    requestId,
    ...(params.fromBlock === undefined ? {} : { fromBlock: params.fromBlock }),
  });
  if (FINAL.includes(opened.status)) return opened;

  let wake: (() => void) | undefined;
  const onLogs = () => wake?.();
  const watch = {
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    args: { requestId },
    poll: true,
    pollingInterval: interval,
    onLogs,
    onError: () => undefined,
  } as const;
  const unwatch = [
    ctx.publicClient.watchContractEvent({ ...watch, eventName: "RequestFulfilled" }),
    ctx.publicClient.watchContractEvent({ ...watch, eventName: "RequestRefunded" }),
  ];
  try {
    for (;;) {
      const status = await getRequestStatus(ctx, { requestId });
      params.onPoll?.(status);
      if (FINAL.includes(status)) {
        return await getRequest(ctx, { requestId, fromBlock: opened.blockNumber });
      }
      if ((await latestTimestamp(ctx)) >= opened.request.deadline) {
        throw new OpgError(
          "RequestExpired",
          `request ${requestId} reached its deadline (${opened.request.deadline}) unfulfilled: no result can settle it now; refund it to get the fee back`,
        );
      }
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) {
        throw new OpgError(
          "ResultTimeout",
          `request ${requestId} is still ${status} after ${timeoutMs} ms: wait longer, or check that an operator serves its model`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(interval, left));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    for (const stop of unwatch) stop();
  }
}
