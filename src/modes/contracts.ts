/**
 * Where each verification mode settles: the contract the core binds to a mode bit, live or (for a retired bit) as
 * its `ModeBound` event named it. Chain reads only, so the auditor (in Node or a browser) can use them without the
 * operator's compute code.
 */
import type { Address, PublicClient } from "viem";
import { inferenceSettlementAbi } from "../abi/index.js";

const ZERO: Address = "0x0000000000000000000000000000000000000000";

/** The live contract the core has bound to `mode`; `undefined` when none (never bound, or retired). */
export async function liveModeContract(
  client: PublicClient,
  settlement: Address,
  mode: number,
): Promise<Address | undefined> {
  const address = await client.readContract({
    address: settlement,
    abi: inferenceSettlementAbi,
    functionName: "modeContract",
    args: [mode],
  });
  return address === ZERO ? undefined : address;
}

/**
 * The contract that is, or was, bound to `mode`: the live one, or for a retired mode the one its `ModeBound` event
 * named (a bit is bound once, so requests of that bit were only ever settled by it). `undefined` if never bound.
 */
export async function boundModeContract(
  client: PublicClient,
  settlement: Address,
  mode: number,
  fromBlock = 0n,
): Promise<Address | undefined> {
  const live = await liveModeContract(client, settlement, mode);
  if (live !== undefined) return live;
  const [bound] = await client.getContractEvents({
    address: settlement,
    abi: inferenceSettlementAbi,
    eventName: "ModeBound",
    args: { mode },
    fromBlock,
    strict: true,
  });
  return bound?.args.modeContract;
}
