import { operatorRegistryAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { ensureAllowance } from "./approve.js";

/** Add `amount` OPG to the operator's stake (approving the registry first if needed). */
export async function stake(
  ctx: OpgContext<"operators" | "token">,
  { amount }: { amount: bigint },
): Promise<WriteResult> {
  await ensureAllowance(ctx, { spender: ctx.addresses.operators, amount });
  return writeAndWait(ctx, {
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "stake",
    args: [amount],
  });
}
