import type { Address } from "viem";
import { inferenceSettlementAbi } from "../../abi/index.js";
import { requireAccount, type OpgContext } from "../context.js";

export interface GetModeAllowanceParams {
  mode: number;
  /** Defaults to the wallet's account. */
  owner?: Address;
}

/** How much of `owner`'s ledger balance mode `mode`'s contract may still pull. */
export function getModeAllowance(
  ctx: OpgContext<"settlement">,
  params: GetModeAllowanceParams,
): Promise<bigint> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "modeAllowance",
    args: [params.owner ?? requireAccount(ctx).address, params.mode],
  });
}
