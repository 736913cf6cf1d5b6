import { inferenceSettlementAbi } from "../../abi/index.js";
import { latestTimestamp, writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { ensureAllowance } from "./approve.js";
import { signPermit } from "./signPermit.js";

export interface DepositParams {
  amount: bigint;
  /** `permit` (default): an EIP-2612 permit and the deposit in one transaction; `approve`: approve first if short. */
  method?: "permit" | "approve";
}

/** Deposit OPG from the wallet's account into its ledger balance. */
export async function deposit(
  ctx: OpgContext<"settlement" | "token">,
  { amount, method = "permit" }: DepositParams,
): Promise<WriteResult> {
  if (method === "approve") {
    await ensureAllowance(ctx, { spender: ctx.addresses.settlement, amount });
    return writeAndWait(ctx, {
      address: ctx.addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "deposit",
      args: [amount],
    });
  }
  const permit = await signPermit(ctx, {
    spender: ctx.addresses.settlement,
    value: amount,
    deadline: (await latestTimestamp(ctx)) + 3600n,
  });
  return writeAndWait(ctx, {
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "depositWithPermit",
    args: [amount, permit],
  });
}
