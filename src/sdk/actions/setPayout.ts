import type { Address } from "viem";
import { operatorRegistryAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";

/** Change where the operator's earnings are credited. */
export function setPayout(
  ctx: OpgContext<"operators">,
  { payout }: { payout: Address },
): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "setPayout",
    args: [payout],
  });
}
