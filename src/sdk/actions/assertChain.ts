import type { OpgContext } from "../context.js";
import { OpgError } from "../errors.js";

export interface AssertChainParams {
  chainId: bigint | number;
}

/** Throws `WrongChain` when the public client serves another chain than `chainId`. */
export async function assertChain(
  ctx: Pick<OpgContext<never>, "publicClient">,
  { chainId }: AssertChainParams,
): Promise<void> {
  const actual = await ctx.publicClient.getChainId();
  if (BigInt(actual) !== BigInt(chainId)) {
    throw new OpgError(
      "WrongChain",
      `wrong chain: the RPC serves chain ${actual}, the client expects chain ${chainId}; check the RPC URL`,
    );
  }
}
