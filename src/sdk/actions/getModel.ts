import type { Hex } from "viem";
import { modelRegistryAbi } from "../../abi/index.js";
import { ModelStatus } from "../../protocol/modes.js";
import type { OpgContext } from "../context.js";
import type { ModelInfo, ModelStatusName } from "../types.js";

export interface GetModelParams {
  modelId: Hex;
}

/** A model version as the registry holds it (reverts with `UnknownModel` for an id never registered). */
export async function getModel(ctx: OpgContext<"models">, { modelId }: GetModelParams): Promise<ModelInfo> {
  const m = await ctx.publicClient.readContract({
    address: ctx.addresses.models,
    abi: modelRegistryAbi,
    functionName: "getModel",
    args: [modelId],
  });
  const status = (Object.keys(ModelStatus) as ModelStatusName[]).find((k) => ModelStatus[k] === m.status);
  return {
    modelId,
    owner: m.owner,
    familyId: m.familyId,
    fileHash: m.fileHash,
    runtimeHash: m.runtimeHash,
    zkCommitment: m.zkCommitment,
    zkVerifier: m.zkVerifier,
    zkVerifierCodeHash: m.zkVerifierCodeHash,
    fee: m.fee,
    royaltyBps: m.royaltyBps,
    modes: m.modes,
    status: status ?? "None",
    gate: m.gate,
    gateMinBalance: m.gateMinBalance,
    registeredAt: BigInt(m.registeredAt),
  };
}
