import type { Address } from "viem";
import { inferenceSettlementAbi } from "../../abi/index.js";
import { requireAccount, type OpgContext } from "../context.js";

export interface GetBalanceParams {
  /** Defaults to the wallet's account. */
  owner?: Address;
}

/** Prepaid balance in the settlement ledger (what requests are paid from and fees are credited to). */
export function getBalance(ctx: OpgContext<"settlement">, params: GetBalanceParams = {}): Promise<bigint> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "balances",
    args: [params.owner ?? requireAccount(ctx).address],
  });
}
