import { parseEventLogs, zeroAddress, zeroHash, type Hex } from "viem";
import { modelRegistryAbi } from "../../abi/index.js";
import { VerificationMode } from "../../protocol/modes.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { checkModelName, checkRoyalty, checkUint96 } from "../limits.js";
import type { ModelSpec } from "../types.js";
import { getVerifierCodeHash } from "./getVerifierCodeHash.js";

export type RegisterModelParams = ModelSpec;

/**
 * Register a model version. Name, royalty and fee are checked against the contracts' limits first; with a zk
 * verifier and no `zkVerifierCodeHash`, the code hash is read from the chain (and returned).
 */
export async function registerModel(
  ctx: OpgContext<"models">,
  spec: RegisterModelParams,
): Promise<WriteResult & { modelId: Hex; zkVerifierCodeHash: Hex }> {
  checkModelName(spec.name);
  checkRoyalty(spec.royaltyBps);
  checkUint96(spec.fee, "the fee");
  const zk = spec.zkVerifier !== undefined && spec.zkVerifier !== zeroAddress;
  const zkVerifierCodeHash = zk
    ? (spec.zkVerifierCodeHash ?? (await getVerifierCodeHash(ctx, { verifier: spec.zkVerifier! })))
    : (spec.zkVerifierCodeHash ?? zeroHash);
  const result = await writeAndWait(ctx, {
    address: ctx.addresses.models,
    abi: modelRegistryAbi,
    functionName: "registerModel",
    args: [
      {
        name: spec.name,
        fileHash: spec.fileHash,
        runtimeHash: spec.runtimeHash,
        zkCommitment: spec.zkCommitment ?? zeroHash,
        zkVerifier: spec.zkVerifier ?? zeroAddress,
        zkVerifierCodeHash,
        uri: spec.uri,
        fee: spec.fee,
        royaltyBps: spec.royaltyBps,
        modes:
          spec.modes ?? (zk ? VerificationMode.Signature | VerificationMode.Zk : VerificationMode.Signature),
      },
    ],
  });
  const [event] = parseEventLogs({
    abi: modelRegistryAbi,
    eventName: "ModelRegistered",
    logs: result.receipt.logs,
  });
  if (event === undefined) throw new Error(`no ModelRegistered event in ${result.hash}`);
  return { ...result, modelId: event.args.modelId, zkVerifierCodeHash };
}
