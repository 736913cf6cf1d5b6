import type { Address } from "viem";
import { opgTokenAbi } from "../../abi/index.js";
import { requireAccount, writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { getAllowance } from "./getAllowance.js";

export interface ApproveParams {
  spender: Address;
  amount: bigint;
}

/** Approve `spender` to pull `amount` OPG from the wallet's account. */
export function approve(ctx: OpgContext<"token">, { spender, amount }: ApproveParams): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: ctx.addresses.token,
    abi: opgTokenAbi,
    functionName: "approve",
    args: [spender, amount],
  });
}

/** Approve `spender` for `amount` unless the wallet's allowance already covers it. */
export async function ensureAllowance(
  ctx: OpgContext<"token">,
  { spender, amount }: ApproveParams,
): Promise<WriteResult | undefined> {
  const owner = requireAccount(ctx).address;
  if ((await getAllowance(ctx, { owner, spender })) >= amount) return undefined;
  return approve(ctx, { spender, amount });
}
