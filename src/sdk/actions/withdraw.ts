import type { Address } from "viem";
import { inferenceSettlementAbi } from "../../abi/index.js";
import { requireAccount, writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { getBalance } from "./getBalance.js";

export interface WithdrawParams {
  /** Defaults to the whole balance. */
  amount?: bigint;
  /** Defaults to the wallet's account. */
  to?: Address;
}

/** Withdraw OPG from the wallet's ledger balance. */
export async function withdraw(
  ctx: OpgContext<"settlement">,
  params: WithdrawParams = {},
): Promise<WriteResult & { amount: bigint }> {
  const account = requireAccount(ctx).address;
  const amount = params.amount ?? (await getBalance(ctx, { owner: account }));
  const result = await writeAndWait(ctx, {
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "withdraw",
    args: [params.to ?? account, amount],
  });
  return { ...result, amount };
}
