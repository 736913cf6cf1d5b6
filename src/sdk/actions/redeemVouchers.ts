import { parseEventLogs, type Address, type Hex } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { OpgError } from "../errors.js";
import { getQuietMode } from "./getQuietMode.js";
import type { SignedQuietRequest } from "./signQuietVoucher.js";

const MAX_VOUCHERS = 256;

export interface RedeemVouchersParams {
  /** Payer-signed requests for the wallet operator, each past its challenge deadline (the latest per sub-channel suffices). */
  vouchers: readonly SignedQuietRequest[];
}

/** One voucher's redemption, from its `VoucherRedeemed` event. */
export interface RedeemedVoucher {
  payer: Address;
  modelId: Hex;
  cumulative: bigint;
  /** What left the channel (split like a request's fee). */
  paid: bigint;
  /** Fees of struck receipts deducted from it. */
  refundApplied: bigint;
}

/**
 * Redeem vouchers as their operator (the wallet), many channels in one transaction (at most 256). Simulated first, so
 * a bad voucher (`NotYourVoucher`, `NotFinal`, `InvalidPayerSignature`) surfaces as a named protocol error before
 * anything is sent. `total` is what the mined call returned (the sum of its `VoucherRedeemed` events' `paid`);
 * a voucher at or below what was already claimed pays nothing and has no entry in `redeemed`.
 */
export async function redeemVouchers(
  ctx: OpgContext<"settlement">,
  { vouchers }: RedeemVouchersParams,
): Promise<WriteResult & { total: bigint; redeemed: RedeemedVoucher[] }> {
  if (vouchers.length === 0) throw new OpgError("BadInput", "no vouchers to redeem");
  if (vouchers.length > MAX_VOUCHERS) {
    throw new OpgError(
      "BadInput",
      `${vouchers.length} vouchers in one call; at most ${MAX_VOUCHERS}: split them`,
    );
  }
  const { address } = await getQuietMode(ctx);
  const result = await writeAndWait(ctx, {
    address,
    abi: quietModeAbi,
    functionName: "redeem",
    args: [vouchers.map(({ request, signature }) => ({ request, signature }))],
  });
  const redeemed = parseEventLogs({
    abi: quietModeAbi,
    eventName: "VoucherRedeemed",
    logs: result.receipt.logs,
  }).map(({ args }) => ({
    payer: args.payer,
    modelId: args.modelId,
    cumulative: args.cumulative,
    paid: args.paid,
    refundApplied: args.refundApplied,
  }));
  const total = redeemed.reduce((sum, r) => sum + r.paid, 0n);
  return { ...result, total, redeemed };
}
