import type { Address } from "viem";
import { operatorRegistryAbi } from "../../abi/index.js";
import { requireAccount, writeAndWait, type OpgContext, type WriteResult } from "../context.js";

/** Withdraw stake whose unbonding period is over (to the wallet's account by default). */
export function withdrawUnbonded(
  ctx: OpgContext<"operators">,
  params: { to?: Address } = {},
): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "withdrawUnbonded",
    args: [params.to ?? requireAccount(ctx).address],
  });
}
