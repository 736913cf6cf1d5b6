import { existsSync, renameSync } from "node:fs";
import { createPublicClient, http, type Address, type PublicClient } from "viem";
import type { StateBinding } from "./store.js";

/** The chain and deployment an RPC endpoint serves: chain id, block 0's hash, and the given settlement core. */
export async function readBinding(client: PublicClient, settlement: Address): Promise<StateBinding> {
  const [chainId, genesis] = await Promise.all([client.getChainId(), client.getBlock({ blockNumber: 0n })]);
  return { chainId, genesisHash: genesis.hash, settlement };
}

/** `readBinding` from an RPC URL (for a CLI choosing the default state file before it starts a node). */
export function readBindingAt(rpcUrl: string, settlement: Address): Promise<StateBinding> {
  return readBinding(createPublicClient({ transport: http(rpcUrl) }), settlement);
}

/** The fields of `actual` that differ from `expected` (empty: the same chain and deployment). */
export function bindingDifferences(expected: StateBinding, actual: StateBinding): string[] {
  const differences: string[] = [];
  if (expected.chainId !== actual.chainId) differences.push("chain id");
  if (expected.genesisHash.toLowerCase() !== actual.genesisHash.toLowerCase())
    differences.push("genesis block");
  if (expected.settlement.toLowerCase() !== actual.settlement.toLowerCase()) differences.push("settlement");
  return differences;
}

const describe = (b: StateBinding) =>
  `chain ${b.chainId} (genesis ${b.genesisHash}), settlement ${b.settlement.toLowerCase()}`;

/**
 * The node's state file was made for another chain or deployment than the one the RPC serves: its cursor would skip
 * the new chain's requests and its nonces would make every broadcast fail. Nothing was changed.
 */
export class StateMismatchError extends Error {
  override readonly name = "StateMismatchError";

  constructor(
    readonly file: string,
    readonly stored: StateBinding,
    readonly actual: StateBinding,
    why?: string,
  ) {
    super(
      `state file ${file} was made for ${describe(stored)}, but the RPC serves ${describe(actual)} ` +
        `(${why ?? `different ${bindingDifferences(stored, actual).join(", ")}`}). Use another state file for this chain ` +
        `(the default path includes the chain id, genesis and settlement), or start with the fresh-state option, ` +
        `which moves this file aside to ${file}.<timestamp>.bak (nothing is lost) and starts an empty one.`,
    );
  }
}

/**
 * Move a SQLite state file (and its `-wal`/`-shm` companions, if any) aside to `<file>.<timestamp>.bak`; returns
 * the new name, or undefined when there was no file.
 */
export function moveAside(file: string, now: Date = new Date()): string | undefined {
  if (!existsSync(file)) return undefined;
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  let target = `${file}.${stamp}.bak`;
  for (let n = 1; existsSync(target); n++) target = `${file}.${stamp}-${n}.bak`;
  renameSync(file, target);
  for (const suffix of ["-wal", "-shm"]) {
    if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
  }
  return target;
}
