import type { Hex } from "viem";
import type { KeySigner } from "../../modes/types.js";
import { hashReceipt, signReceipt, type Receipt } from "../../protocol/quiet.js";
import type { OpgContext } from "../context.js";
import { OpgError } from "../errors.js";
import { getQuietMode } from "./getQuietMode.js";

export interface SignQuietReceiptParams {
  /** The operator's registered signing key. */
  signer: KeySigner;
  receipt: Receipt;
}

/**
 * The operator key's EIP-712 signature of a receipt under this deployment's `QuietMode` domain. Sign each `seq`
 * once, and only after persisting it: two different receipts for one `seq` (or one request) are slashable
 * equivocation. Throws `BadInput` on a field out of its Solidity range.
 */
export async function signQuietReceipt(
  ctx: OpgContext<"settlement">,
  { signer, receipt }: SignQuietReceiptParams,
): Promise<Hex> {
  try {
    hashReceipt(receipt);
  } catch (error) {
    throw new OpgError("BadInput", `the receipt is malformed: ${(error as Error).message}`);
  }
  const { domain } = await getQuietMode(ctx);
  return signReceipt(signer, domain, receipt);
}
