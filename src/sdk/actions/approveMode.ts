import { inferenceSettlementAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";

export interface ApproveModeParams {
  /** The mode bit (`VerificationMode`). */
  mode: number;
  /** How much of the wallet's ledger balance the mode's contract may pull (replaces the previous allowance). */
  amount: bigint;
}

/**
 * Let a verification mode's contract pull up to `amount` from the wallet's ledger balance (modes that charge
 * without a request per payment). Requests never need it.
 */
export function approveMode(
  ctx: OpgContext<"settlement">,
  { mode, amount }: ApproveModeParams,
): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "approveMode",
    args: [mode, amount],
  });
}
