import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  encodeFunctionData,
  type Address,
  type Hex,
} from "viem";
import { inferenceSettlementAbi, protocolErrorsAbi } from "../abi/index.js";
import type { StoredRequest } from "./store.js";

/** The `fulfillSigned` / `fulfillZk` calldata for a computed request, with `operator` as the result's operator. */
export function fulfilmentCalldata(stored: StoredRequest, operator: Address): Hex {
  const { request, requestId, result } = stored;
  if (result?.mode === "signature") {
    return encodeFunctionData({
      abi: inferenceSettlementAbi,
      functionName: "fulfillSigned",
      args: [
        request,
        requestId,
        { operator, outputHash: result.outputHash, output: result.output, outputUri: "" },
        result.signature,
      ],
    });
  }
  if (result?.mode === "zk") {
    const big = (v: string) => BigInt(v);
    return encodeFunctionData({
      abi: inferenceSettlementAbi,
      functionName: "fulfillZk",
      args: [
        request,
        requestId,
        BigInt(result.output),
        {
          a: [big(result.proof.a[0]!), big(result.proof.a[1]!)],
          b: [
            [big(result.proof.b[0]![0]!), big(result.proof.b[0]![1]!)],
            [big(result.proof.b[1]![0]!), big(result.proof.b[1]![1]!)],
          ],
          c: [big(result.proof.c[0]!), big(result.proof.c[1]!)],
        },
      ],
    });
  }
  throw new Error(`request ${requestId} has no computed result`);
}

/**
 * A gas cap for a fulfilment: what the verification path needs at most (measured: signature ~75k, zk ~280k,
 * both with cold accounts and event data ~30k more), plus the callback's exact allowance and its EIP-150 share.
 */
export function gasLimit(stored: StoredRequest): bigint {
  const base = stored.result?.mode === "zk" ? 400_000n : 200_000n;
  const callback = BigInt(stored.request.callbackGasLimit);
  return base + callback + callback / 63n + (callback > 0n ? 20_000n : 0n);
}

/** The custom error name of a reverted call, if it is one. */
export function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName;
  const raw = error.walk((e) => typeof (e as { data?: unknown }).data === "string") as {
    data?: string;
  } | null;
  if (typeof raw?.data === "string" && raw.data.startsWith("0x") && raw.data.length >= 10) {
    try {
      return decodeErrorResult({ abi: protocolErrorsAbi, data: raw.data as Hex }).errorName;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
