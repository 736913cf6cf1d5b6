import type { Address } from "viem";
import { operatorRegistryAbi } from "../../abi/index.js";
import { requireAccount, type OpgContext } from "../context.js";
import type { OperatorInfo } from "../types.js";

export interface GetOperatorParams {
  /** Defaults to the wallet's account. */
  operator?: Address;
}

/** An operator's record (signing key, payout, stake, unbonding) and whether it may serve now. */
export async function getOperator(
  ctx: OpgContext<"operators">,
  params: GetOperatorParams = {},
): Promise<OperatorInfo> {
  const operator = params.operator ?? requireAccount(ctx).address;
  const [record, eligible] = await Promise.all([
    ctx.publicClient.readContract({
      address: ctx.addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "getOperator",
      args: [operator],
    }),
    ctx.publicClient.readContract({
      address: ctx.addresses.operators,
      abi: operatorRegistryAbi,
      functionName: "isEligible",
      args: [operator],
    }),
  ]);
  return {
    operator,
    signer: record.signer,
    payout: record.payout,
    stake: record.stake,
    unbonding: record.unbonding,
    unbondingEnd: record.unbondingEnd,
    eligible,
  };
}
