import type { Address } from "viem";
import { inferenceSettlementAbi } from "../../abi/index.js";
import { modeName } from "../../protocol/modes.js";
import type { OpgContext } from "../context.js";
import { getModeContract } from "./getModeContract.js";

/** An open verification mode: its bit, its name and its contract. */
export interface OpenMode {
  mode: number;
  name: string;
  contract: Address;
}

/** The modes that accept new requests (bound and not retired), with their contracts. */
export async function getOpenModes(ctx: OpgContext<"settlement">): Promise<OpenMode[]> {
  const open = await ctx.publicClient.readContract({
    address: ctx.addresses.settlement,
    abi: inferenceSettlementAbi,
    functionName: "openModes",
  });
  const bits = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => 1 << i).filter((bit) => (open & bit) !== 0);
  return Promise.all(
    bits.map(async (mode) => ({
      mode,
      name: modeName(mode),
      contract: await getModeContract(ctx, { mode }),
    })),
  );
}
