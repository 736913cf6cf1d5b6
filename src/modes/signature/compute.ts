import { keccak256, toHex, type Address, type Hex } from "viem";
import { inferBytes } from "../../model/infer.js";
import type { InferenceRequest } from "../../protocol/request.js";
import {
  resultMessage,
  resultTypedData,
  signatureModeDomain,
  type ResultFields,
} from "../../protocol/typed-data.js";
import type { ComputeContext, ComputeJob, ComputeOutcome, KeySigner } from "../types.js";

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

/**
 * Run the committed model on the committed input with onnxruntime-web and sign the output with the operator's key.
 * The input must hash (keccak256) to the request's input hash; the output travels inline, without a URI.
 */
export async function computeSigned(context: ComputeContext, job: ComputeJob): Promise<ComputeOutcome> {
  const { requestId, request, input, runtime } = job;
  if (keccak256(input) !== request.inputHash) {
    return { skip: "input does not match the request's input hash" };
  }
  const output = toHex(await inferBytes(runtime.model, input));
  const fields: ResultFields = {
    operator: context.operator,
    outputHash: keccak256(output),
    output,
    outputUri: "",
  };
  const signature = await signResult(
    context.signer,
    context.chainId,
    context.modeContract,
    requestId,
    request,
    fields,
  );
  return {
    result: {
      mode: "signature",
      output: fields.output,
      outputHash: fields.outputHash,
      outputUri: fields.outputUri,
      signature,
    },
  };
}
