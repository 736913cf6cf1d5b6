import type { Address, Hex } from "viem";
import type { InferenceRequest } from "../../protocol/request.js";
import {
  resultMessage,
  resultTypedData,
  signatureModeDomain,
  type ResultFields,
} from "../../protocol/typed-data.js";
import type { KeySigner } from "../types.js";

/**
 * The EIP-712 signature of `result` for request `requestId`, by `signer`, under the domain of the `SignatureMode`
 * contract at `signatureMode` on chain `chainId`. It binds the whole request (its hash), the output hash, the inline
 * output bytes, the output URI and the operator: nobody can change one of them without invalidating it.
 */
export function signResult(
  signer: KeySigner,
  chainId: bigint | number,
  signatureMode: Address,
  requestId: bigint,
  request: InferenceRequest,
  result: ResultFields,
): Promise<Hex> {
  return signer.signTypedData(
    resultTypedData(signatureModeDomain(chainId, signatureMode), resultMessage(requestId, request, result)),
  );
}
