import type { Address } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { requireAccount, type OpgContext } from "../context.js";
import { getQuietMode } from "./getQuietMode.js";

export interface GetLogHeadParams {
  /** Defaults to the wallet's account. */
  operator?: Address;
}

/** An operator's quiet-mode log head: the next sequence number it must commit, and how many batches it committed. */
export interface LogHead {
  nextSeq: bigint;
  batchCount: bigint;
}

/** The head of `operator`'s (default: the wallet's) receipt log. */
export async function getLogHead(
  ctx: OpgContext<"settlement">,
  params: GetLogHeadParams = {},
): Promise<LogHead> {
  const operator = params.operator ?? requireAccount(ctx).address;
  const { address } = await getQuietMode(ctx);
  const [nextSeq, batchCount] = await ctx.publicClient.readContract({
    address,
    abi: quietModeAbi,
    functionName: "head",
    args: [operator],
  });
  return { nextSeq, batchCount };
}
