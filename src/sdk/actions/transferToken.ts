import type { Address } from "viem";
import { opgTokenAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";

export interface TransferTokenParams {
  to: Address;
  amount: bigint;
}

/** Send OPG from the wallet's account. */
export function transferToken(
  ctx: OpgContext<"token">,
  { to, amount }: TransferTokenParams,
): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: ctx.addresses.token,
    abi: opgTokenAbi,
    functionName: "transfer",
    args: [to, amount],
  });
}
