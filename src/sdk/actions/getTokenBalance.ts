import type { Address } from "viem";
import { opgTokenAbi } from "../../abi/index.js";
import { requireAccount, type OpgContext } from "../context.js";

export interface GetTokenBalanceParams {
  /** Defaults to the wallet's account. */
  owner?: Address;
}

/** OPG held by `owner` (not in the ledger: see `getBalance`). */
export function getTokenBalance(
  ctx: OpgContext<"token">,
  params: GetTokenBalanceParams = {},
): Promise<bigint> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.token,
    abi: opgTokenAbi,
    functionName: "balanceOf",
    args: [params.owner ?? requireAccount(ctx).address],
  });
}
