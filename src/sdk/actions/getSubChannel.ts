import type { Address, Hex } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { requireAccount, type OpgContext } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";

export interface GetSubChannelParams {
  /** Defaults to the wallet's account. */
  payer?: Address;
  operator: Address;
  modelId: Hex;
}

/** A (payer, operator, model) sub-channel: the highest running total redeemed, and struck fees not yet deducted. */
export interface QuietSubChannel {
  claimed: bigint;
  credit: bigint;
}

/** The quiet-mode sub-channel of `payer` (default: the wallet) with `operator` for one model version. */
export async function getSubChannel(
  ctx: OpgContext<"settlement">,
  params: GetSubChannelParams,
): Promise<QuietSubChannel> {
  const payer = params.payer ?? requireAccount(ctx).address;
  const { address } = await getQuietMode(ctx);
  const [claimed, credit] = await ctx.publicClient.readContract({
    address,
    abi: quietModeAbi,
    functionName: "subChannel",
    args: [payer, params.operator, params.modelId],
  });
  return { claimed, credit };
}
