import { parseEventLogs, zeroAddress } from "viem";
import { inferenceSettlementAbi } from "../../abi/index.js";
import { VerificationMode } from "../../protocol/modes.js";
import { toInferenceRequest, type InferenceRequest } from "../../protocol/request.js";
import { latestTimestamp, writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { OpgError } from "../errors.js";
import { checkCallback, checkDeadline, checkField, checkTtl, checkUint96 } from "../limits.js";
import type { OpenRequestParams, PayMethod } from "../types.js";
import { getModel } from "./getModel.js";
import { signPermit } from "./signPermit.js";

export interface OpenRequestActionParams extends OpenRequestParams {
  /** How the fee is escrowed (default `prepaid`: from the ledger balance). */
  pay?: PayMethod;
}

/** An opened request: the transaction, the new id and the request as the core committed to it. */
export type OpenedRequest = WriteResult & { requestId: bigint; request: InferenceRequest };

/**
 * Open a request. The fee (default: the model's current fee) is escrowed from the prepaid balance, pulled with
 * `transferFrom` (needs an allowance), or pulled with an EIP-2612 permit signed here by the wallet. Fields are
 * checked against the contracts' limits before anything is sent.
 */
export async function openRequest(
  ctx: OpgContext<"settlement" | "models" | "token">,
  params: OpenRequestActionParams,
): Promise<OpenedRequest> {
  const mode: number = params.mode ?? VerificationMode.Signature;
  if (mode !== VerificationMode.Signature && mode !== VerificationMode.Zk) {
    throw new OpgError(
      "BadInput",
      `verification mode ${mode} has no on-chain request: use VerificationMode.Signature or .Zk (quiet mode is asked of an operator's endpoint)`,
    );
  }
  if (mode === VerificationMode.Zk) checkField(BigInt(params.inputHash), "the zk input commitment");
  checkCallback(params.callback, params.callbackGasLimit);
  if (params.maxFee !== undefined) checkUint96(params.maxFee, "the maximum fee");
  const maxFee = params.maxFee ?? (await getModel(ctx, { modelId: params.modelId })).fee;
  const now = await latestTimestamp(ctx);
  const deadline = checkDeadline(params.deadline ?? now + checkTtl(params.ttl ?? 3600n), now);
  const request = {
    modelId: params.modelId,
    inputHash: params.inputHash,
    maxFee,
    deadline,
    mode,
    operator: params.operator ?? zeroAddress,
    callback: params.callback ?? zeroAddress,
    callbackGasLimit: params.callbackGasLimit ?? 0,
    inputUri: params.inputUri ?? "",
  };
  const pay = params.pay ?? "prepaid";
  const settlement = ctx.addresses.settlement;
  let result: WriteResult;
  if (pay === "prepaid") {
    result = await writeAndWait(ctx, {
      address: settlement,
      abi: inferenceSettlementAbi,
      functionName: "openRequest",
      args: [request],
    });
  } else if (pay === "transfer") {
    result = await writeAndWait(ctx, {
      address: settlement,
      abi: inferenceSettlementAbi,
      functionName: "openRequestWithTransfer",
      args: [request],
    });
  } else {
    const permit = await signPermit(ctx, { spender: settlement, value: maxFee, deadline });
    result = await writeAndWait(ctx, {
      address: settlement,
      abi: inferenceSettlementAbi,
      functionName: "openRequestWithPermit",
      args: [request, permit],
    });
  }
  const [event] = parseEventLogs({
    abi: inferenceSettlementAbi,
    eventName: "RequestOpened",
    logs: result.receipt.logs,
  });
  if (event === undefined) throw new Error(`no RequestOpened event in ${result.hash}`);
  return { ...result, requestId: event.args.requestId, request: toInferenceRequest(event.args.request) };
}
