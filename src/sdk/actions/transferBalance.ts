import type { Address } from "viem";
import { inferenceSettlementAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";

export interface TransferBalanceParams {
  to: Address;
  amount: bigint;
}

/** Move `amount` of the wallet's ledger balance to `to`'s (no token transfer: both stay in the ledger). */
export function transferBalance(
  ctx: OpgContext<"settlement">,
  { to, amount }: TransferBalanceParams,
): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "transferBalance",
    args: [to, amount],
  });
}
