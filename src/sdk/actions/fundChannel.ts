import { parseEventLogs, type Address } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { VerificationMode } from "../../protocol/modes.js";
import { requireAccount, writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { OpgError } from "../errors.js";
import { approveMode } from "./approveMode.js";
import { getModeAllowance } from "./getModeAllowance.js";
import { getQuietMode } from "./getQuietMode.js";

export interface FundChannelParams {
  /** The operator the channel pays. */
  operator: Address;
  /** How much of the wallet's ledger balance moves into the channel. */
  amount: bigint;
}

/** A funded channel: the `fund` transaction, the mode approval sent first (if one was needed), the channel's funds now. */
export type FundedChannel = WriteResult & { approval?: WriteResult; funds: bigint };

/**
 * Move `amount` of the wallet's ledger balance (deposit first) into its quiet-mode channel with `operator`. When the
 * quiet-mode allowance (`approveMode`) is below `amount`, it is first set to `amount`. Funding cancels a pending
 * refund request.
 */
export async function fundChannel(
  ctx: OpgContext<"settlement">,
  { operator, amount }: FundChannelParams,
): Promise<FundedChannel> {
  if (amount <= 0n) throw new OpgError("BadInput", `the amount to fund must be positive, not ${amount}`);
  const payer = requireAccount(ctx).address;
  const [quiet, allowance] = await Promise.all([
    getQuietMode(ctx),
    getModeAllowance(ctx, { mode: VerificationMode.Quiet, owner: payer }),
  ]);
  const approval =
    allowance < amount ? await approveMode(ctx, { mode: VerificationMode.Quiet, amount }) : undefined;
  const result = await writeAndWait(ctx, {
    address: quiet.address,
    abi: quietModeAbi,
    functionName: "fund",
    args: [operator, amount],
  });
  const [event] = parseEventLogs({
    abi: quietModeAbi,
    eventName: "ChannelFunded",
    logs: result.receipt.logs,
  });
  if (event === undefined) throw new Error(`no ChannelFunded event in ${result.hash}`);
  return { ...result, ...(approval !== undefined && { approval }), funds: event.args.funds };
}
