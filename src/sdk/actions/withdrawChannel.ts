import { parseEventLogs, type Address } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";

export interface WithdrawChannelParams {
  /** The operator of the wallet's channel. */
  operator: Address;
}

/**
 * After the notice period (`requestChannelRefund`), return what is left in the wallet's quiet-mode channel with
 * `operator` to its ledger balance (reverts `RefundNotDue` before). Returns the amount.
 */
export async function withdrawChannel(
  ctx: OpgContext<"settlement">,
  { operator }: WithdrawChannelParams,
): Promise<WriteResult & { amount: bigint }> {
  const { address } = await getQuietMode(ctx);
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "withdrawChannel",
    args: [operator],
  });
  const [event] = parseEventLogs({
    abi: quietModeAbi,
    eventName: "ChannelWithdrawn",
    logs: result.receipt.logs,
  });
  if (event === undefined) throw new Error(`no ChannelWithdrawn event in ${result.hash}`);
  return { ...result, amount: event.args.amount };
}
