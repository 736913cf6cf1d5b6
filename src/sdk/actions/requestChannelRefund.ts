import { parseEventLogs, type Address } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";

export interface RequestChannelRefundParams {
  /** The operator of the wallet's channel. */
  operator: Address;
}

/**
 * Start the notice period of the wallet's quiet-mode channel with `operator` (the operator sees it and stops
 * serving); `withdrawChannel` after `refundAt` returns what is left. Funding the channel again cancels it.
 */
export async function requestChannelRefund(
  ctx: OpgContext<"settlement">,
  { operator }: RequestChannelRefundParams,
): Promise<WriteResult & { refundAt: bigint }> {
  const { address } = await getQuietMode(ctx);
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "requestRefund",
    args: [operator],
  });
  const [event] = parseEventLogs({
    abi: quietModeAbi,
    eventName: "RefundRequested",
    logs: result.receipt.logs,
  });
  if (event === undefined) throw new Error(`no RefundRequested event in ${result.hash}`);
  return { ...result, refundAt: event.args.refundAt };
}
