import { keccak256, toHex } from "viem";
import { inferBytes } from "../../model/infer.js";
import type { ResultFields } from "../../protocol/typed-data.js";
import type { ComputeContext, ComputeJob, ComputeOutcome } from "../types.js";
import { signResult } from "./sign.js";

export { signResult } from "./sign.js";

/**
 * Run the committed model on the committed input with onnxruntime-web and sign the output with the operator's key.
 * The input must hash (keccak256) to the request's input hash; the output travels inline, without a URI.
 */
export async function computeSigned(context: ComputeContext, job: ComputeJob): Promise<ComputeOutcome> {
  const { requestId, request, input, runtime } = job;
  if (keccak256(input) !== request.inputHash) {
    return { skip: "input does not match the request's input hash", code: "input_mismatch" };
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
