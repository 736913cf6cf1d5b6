import { decodeFunctionData, encodeFunctionData, type Address, type Hex } from "viem";
import { zkModeAbi } from "../../abi/index.js";
import { toInferenceRequest, type InferenceRequest } from "../../protocol/request.js";
import type { ZkProofArgs } from "../../protocol/zk.js";
import { fulfilmentGas } from "../gas.js";
import type { FulfilmentJob, FulfilmentTx, ZkComputedResult } from "../types.js";

/**
 * Gas for `fulfillZk` without a callback, at most: the verifier's code hash check, the Groth16 pairing check
 * (~230k) and the core's settlement with cold accounts (measured ~280k in all).
 */
export const ZK_FULFILMENT_GAS = 400_000n;

/** `ZkMode.fulfillZk(request, requestId, output, proof)`'s arguments. */
export function zkFulfilmentArgs(
  request: InferenceRequest,
  requestId: bigint,
  output: bigint,
  proof: ZkProofArgs,
) {
  return [request, requestId, output, proof] as const;
}

/** The calldata of `fulfillZk`. */
export function fulfillZkCalldata(
  request: InferenceRequest,
  requestId: bigint,
  output: bigint,
  proof: ZkProofArgs,
): Hex {
  return encodeFunctionData({
    abi: zkModeAbi,
    functionName: "fulfillZk",
    args: zkFulfilmentArgs(request, requestId, output, proof),
  });
}

/** A stored proof (decimal strings) as `fulfillZk` takes it. */
export function zkProofArgs(proof: ZkComputedResult["proof"]): ZkProofArgs {
  const big = (v: string | undefined) => {
    if (v === undefined) throw new Error("incomplete zk proof");
    return BigInt(v);
  };
  return {
    a: [big(proof.a[0]), big(proof.a[1])],
    b: [
      [big(proof.b[0]?.[0]), big(proof.b[0]?.[1])],
      [big(proof.b[1]?.[0]), big(proof.b[1]?.[1])],
    ],
    c: [big(proof.c[0]), big(proof.c[1])],
  };
}

/**
 * The transaction that settles a proven result: `fulfillZk` on `ZkMode`. The proof is bound to its submitter, so
 * it must be sent by the operator account it was made for.
 */
export function zkFulfilment(modeContract: Address, _operator: Address, job: FulfilmentJob): FulfilmentTx {
  const { request, requestId, result } = job;
  if (result.mode !== "zk") throw new Error(`request ${requestId} holds a ${result.mode} result`);
  return {
    to: modeContract,
    data: fulfillZkCalldata(request, requestId, BigInt(result.output), zkProofArgs(result.proof)),
    gas: fulfilmentGas(ZK_FULFILMENT_GAS, request.callbackGasLimit),
  };
}

/** A decoded `fulfillZk` call. */
export interface ZkFulfilment {
  request: InferenceRequest;
  requestId: bigint;
  output: bigint;
  proof: ZkProofArgs;
}

/** Decode `fulfillZk` calldata; `undefined` when `data` is another call. */
export function decodeFulfillZk(data: Hex): ZkFulfilment | undefined {
  try {
    const call = decodeFunctionData({ abi: zkModeAbi, data });
    if (call.functionName !== "fulfillZk") return undefined;
    const [request, requestId, output, proof] = call.args;
    return { request: toInferenceRequest(request), requestId, output, proof };
  } catch {
    return undefined;
  }
}
