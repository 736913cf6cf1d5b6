import { keccak256, type Address, type Hex } from "viem";
import { chainIdOf, type OpgContext } from "../context.js";
import { OpgError } from "../errors.js";

export interface GetVerifierCodeHashParams {
  verifier: Address;
}

/**
 * The code hash the registry pins for a zk verifier: `keccak256` of its code on this chain (what `extcodehash`
 * gives). Refuses an address without code.
 */
export async function getVerifierCodeHash(
  ctx: Pick<OpgContext<never>, "publicClient" | "cache">,
  { verifier }: GetVerifierCodeHashParams,
): Promise<Hex> {
  const code = await ctx.publicClient.getCode({ address: verifier });
  if (code === undefined || code === "0x") {
    throw new OpgError(
      "BadInput",
      `the zk verifier ${verifier} has no contract code on chain ${await chainIdOf(ctx)}: deploy it first, or check the address`,
    );
  }
  return keccak256(code);
}
