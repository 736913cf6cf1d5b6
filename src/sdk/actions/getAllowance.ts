import type { Address } from "viem";
import { opgTokenAbi } from "../../abi/index.js";
import { requireAccount, type OpgContext } from "../context.js";

export interface GetAllowanceParams {
  /** Defaults to the wallet's account. */
  owner?: Address;
  spender: Address;
}

/** The OPG allowance `owner` gives `spender`. */
export function getAllowance(ctx: OpgContext<"token">, params: GetAllowanceParams): Promise<bigint> {
  return ctx.publicClient.readContract({
    address: ctx.addresses.token,
    abi: opgTokenAbi,
    functionName: "allowance",
    args: [params.owner ?? requireAccount(ctx).address, params.spender],
  });
}
