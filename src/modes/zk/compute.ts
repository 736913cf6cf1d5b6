import { decodeFeatures } from "../../model/encoding.js";
import { fieldToBytes32 } from "../../protocol/zk.js";
import { inputCommitment } from "../../zk/commitment.js";
import { IRIS_ZK_PARAMS } from "../../zk/params.js";
import { prove, toSolidityCalldata } from "../../zk/prover.js";
import { quantizeInput, quantizeOnnx } from "../../zk/quantize.js";
import { settlementProof } from "../../zk/settlement.js";
import { buildZkInference } from "../../zk/witness.js";
import type { ComputeContext, ComputeJob, ComputeOutcome, ModelRuntime } from "../types.js";

/** Quantize the served model file for the circuit (the Iris circuit's parameters). */
export function prepareZk(runtime: ModelRuntime, bytes: Uint8Array): void {
  runtime.quantized = quantizeOnnx(bytes, IRIS_ZK_PARAMS);
}

/**
 * Prove the committed model's fixed-point circuit on the committed input. The input's Poseidon commitment must be
 * the request's input hash; the proof is bound to this chain, the `ZkMode` contract, the request and the operator
 * account, which submits it.
 */
export async function computeZk(context: ComputeContext, job: ComputeJob): Promise<ComputeOutcome> {
  const { requestId, request, input, runtime } = job;
  const quantized = runtime.quantized;
  if (quantized === undefined) {
    return { skip: "the model has no quantized twin to prove", code: "mode_not_served" };
  }
  const features = decodeFeatures(input, runtime.model.inputWidth);
  const commitment = fieldToBytes32(
    await inputCommitment(quantizeInput(features, quantized), quantized.params),
  );
  if (commitment !== request.inputHash) {
    return { skip: "input does not match the request's input commitment", code: "input_mismatch" };
  }
  const built = await buildZkInference(quantized, features, {
    chainId: context.chainId,
    zkMode: context.modeContract,
    requestId,
    submitter: context.operator,
  });
  const proven = await prove(built.input);
  const { output, proof } = settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
  const str = (v: bigint) => v.toString();
  return {
    result: {
      mode: "zk",
      output: output.toString(),
      proof: { a: proof.a.map(str), b: proof.b.map((row) => row.map(str)), c: proof.c.map(str) },
    },
    log: { provingMs: Math.round(proven.provingMs) },
  };
}
