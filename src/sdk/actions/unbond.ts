import { operatorRegistryAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";

/** Start unbonding `amount` of the stake (withdrawable after the unbonding period). */
export function unbond(ctx: OpgContext<"operators">, { amount }: { amount: bigint }): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "unbond",
    args: [amount],
  });
}
