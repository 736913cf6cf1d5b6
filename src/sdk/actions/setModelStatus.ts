import type { Hex } from "viem";
import { modelRegistryAbi } from "../../abi/index.js";
import { ModelStatus } from "../../protocol/modes.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";

export interface SetModelStatusParams {
  modelId: Hex;
  /** `ModelStatus.Active`, `Deprecated` or `Revoked` (owner only; revoked is final). */
  status: number;
}

/** Change a model version's status (its owner only). */
export function setModelStatus(
  ctx: OpgContext<"models">,
  { modelId, status }: SetModelStatusParams,
): Promise<WriteResult> {
  return writeAndWait(ctx, {
    address: ctx.addresses.models,
    abi: modelRegistryAbi,
    functionName: "setStatus",
    args: [modelId, status],
  });
}

/** Revoke a model version for good (owner only): it can no longer be requested or settled. */
export function revokeModel(ctx: OpgContext<"models">, { modelId }: { modelId: Hex }): Promise<WriteResult> {
  return setModelStatus(ctx, { modelId, status: ModelStatus.Revoked });
}
