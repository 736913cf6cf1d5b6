import { zeroAddress, type Address } from "viem";
import { inferenceSettlementAbi } from "../../abi/index.js";
import { modeName } from "../../protocol/modes.js";
import type { OpgContext } from "../context.js";
import { OpgError } from "../errors.js";

export interface GetModeContractParams {
  /** The mode bit (`VerificationMode`). */
  mode: number;
}

/**
 * The live contract the core has bound to a verification mode (read once per client cache: a mode is bound once and
 * never re-bound). Throws `ModeNotOpen` when the mode has none (never bound, or retired).
 */
export function getModeContract(
  ctx: OpgContext<"settlement">,
  { mode }: GetModeContractParams,
): Promise<Address> {
  const cached = ctx.cache?.modeContracts.get(mode);
  if (cached !== undefined) return cached;
  const found = ctx.publicClient
    .readContract({
      address: ctx.addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "modeContract",
      args: [mode],
    })
    .then((address) => {
      if (address === zeroAddress) {
        throw new OpgError(
          "ModeNotOpen",
          `no live contract is bound to verification mode ${modeName(mode)} at the settlement ${ctx.addresses.settlement} (never bound, or retired)`,
        );
      }
      return address;
    });
  if (ctx.cache !== undefined) {
    const cache = ctx.cache;
    cache.modeContracts.set(mode, found);
    found.catch(() => cache.modeContracts.delete(mode));
  }
  return found;
}
