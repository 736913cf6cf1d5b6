import type { Address } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { requireAccount, type OpgContext } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";

export interface GetChannelParams {
  /** Defaults to the wallet's account. */
  payer?: Address;
  operator: Address;
}

/** A quiet-mode channel: what it holds, and when its funds can be withdrawn (0: no refund requested). */
export interface QuietChannel {
  funds: bigint;
  refundAt: bigint;
}

/** The quiet-mode channel of `payer` (default: the wallet) with `operator`. */
export async function getChannel(
  ctx: OpgContext<"settlement">,
  params: GetChannelParams,
): Promise<QuietChannel> {
  const payer = params.payer ?? requireAccount(ctx).address;
  const { address } = await getQuietMode(ctx);
  const [funds, refundAt] = await ctx.publicClient.readContract({
    address,
    abi: quietModeAbi,
    functionName: "channel",
    args: [payer, params.operator],
  });
  return { funds, refundAt };
}
