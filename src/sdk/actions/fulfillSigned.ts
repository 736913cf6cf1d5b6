import type { Hex } from "viem";
import { signatureModeAbi } from "../../abi/index.js";
import { signedFulfilmentArgs } from "../../modes/signature/calldata.js";
import { VerificationMode } from "../../protocol/modes.js";
import type { InferenceRequest } from "../../protocol/request.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { resultFields } from "../results.js";
import type { SignedResult } from "../types.js";
import { getModeContract } from "./getModeContract.js";

export interface FulfillSignedParams {
  request: InferenceRequest;
  requestId: bigint;
  result: SignedResult;
  /** The 65-byte signature (sent in its compact EIP-2098 form). */
  signature: Hex;
}

/**
 * Settle a request with a signed result: `fulfillSigned` on `SignatureMode`. Anyone may submit it; the result must
 * be exactly what was signed.
 */
export async function fulfillSigned(
  ctx: OpgContext<"settlement">,
  { request, requestId, result, signature }: FulfillSignedParams,
): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: await getModeContract(ctx, { mode: VerificationMode.Signature }),
    abi: signatureModeAbi,
    functionName: "fulfillSigned",
    args: signedFulfilmentArgs(request, requestId, resultFields(result), signature),
  });
}
