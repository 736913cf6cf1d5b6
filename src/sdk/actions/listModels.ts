import type { Address } from "viem";
import { modelRegistryAbi } from "../../abi/index.js";
import type { OpgContext } from "../context.js";
import type { RegisteredModel } from "../types.js";

export interface ListModelsParams {
  /** First block to read events from (default 0: the deployment block is a good choice on a long chain). */
  fromBlock?: bigint;
  owner?: Address;
}

/** Every `ModelRegistered` event, optionally only one owner's. */
export async function listModels(
  ctx: OpgContext<"models">,
  params: ListModelsParams = {},
): Promise<RegisteredModel[]> {
  const events = await ctx.publicClient.getContractEvents({
    address: ctx.addresses.models,
    abi: modelRegistryAbi,
    eventName: "ModelRegistered",
    fromBlock: params.fromBlock ?? 0n,
    strict: true,
  });
  const owner = params.owner?.toLowerCase();
  return events
    .filter((e) => owner === undefined || e.args.owner.toLowerCase() === owner)
    .map((e) => ({
      modelId: e.args.modelId,
      familyId: e.args.familyId,
      owner: e.args.owner,
      ...e.args.spec,
      blockNumber: e.blockNumber,
      transactionHash: e.transactionHash,
    }));
}
