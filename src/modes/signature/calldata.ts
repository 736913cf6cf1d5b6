import { decodeFunctionData, encodeFunctionData, type Address, type Hex } from "viem";
import { signatureModeAbi } from "../../abi/index.js";
import { toInferenceRequest, type InferenceRequest } from "../../protocol/request.js";
import { compactSignature, type CompactSignature, type ResultFields } from "../../protocol/typed-data.js";
import { fulfilmentGas } from "../gas.js";
import type { FulfilmentJob, FulfilmentTx } from "../types.js";

/**
 * Gas for `fulfillSigned` without a callback, at most: signature recovery, the registry's key and stake check, the
 * core's settlement with cold accounts and the event's data (measured ~80k with a 12-byte output), with room for
 * larger outputs.
 */
export const SIGNED_FULFILMENT_GAS = 200_000n;

/** `SignatureMode.fulfillSigned(request, requestId, result, r, vs)`'s arguments; the signature is compacted. */
export function signedFulfilmentArgs(
  request: InferenceRequest,
  requestId: bigint,
  result: ResultFields,
  signature: Hex,
) {
  const { r, vs } = compactSignature(signature);
  return [request, requestId, result, r, vs] as const;
}

/** The calldata of `fulfillSigned`. */
export function fulfillSignedCalldata(
  request: InferenceRequest,
  requestId: bigint,
  result: ResultFields,
  signature: Hex,
): Hex {
  return encodeFunctionData({
    abi: signatureModeAbi,
    functionName: "fulfillSigned",
    args: signedFulfilmentArgs(request, requestId, result, signature),
  });
}

/** The transaction that settles a signed result: `fulfillSigned` on `SignatureMode`, sent by the operator. */
export function signedFulfilment(modeContract: Address, operator: Address, job: FulfilmentJob): FulfilmentTx {
  const { request, requestId, result } = job;
  if (result.mode !== "signature") throw new Error(`request ${requestId} holds a ${result.mode} result`);
  return {
    to: modeContract,
    data: fulfillSignedCalldata(
      request,
      requestId,
      {
        operator,
        outputHash: result.outputHash,
        output: result.output,
        outputUri: result.outputUri ?? "",
      },
      result.signature,
    ),
    gas: fulfilmentGas(SIGNED_FULFILMENT_GAS, request.callbackGasLimit),
  };
}

/** A decoded `fulfillSigned` call. */
export interface SignedFulfilment {
  request: InferenceRequest;
  requestId: bigint;
  result: ResultFields;
  signature: CompactSignature;
}

/** Decode `fulfillSigned` calldata; `undefined` when `data` is another call. */
export function decodeFulfillSigned(data: Hex): SignedFulfilment | undefined {
  try {
    const call = decodeFunctionData({ abi: signatureModeAbi, data });
    if (call.functionName !== "fulfillSigned") return undefined;
    const [request, requestId, result, r, vs] = call.args;
    return { request: toInferenceRequest(request), requestId, result: { ...result }, signature: { r, vs } };
  } catch {
    return undefined;
  }
}
