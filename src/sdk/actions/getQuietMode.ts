import type { Address } from "viem";
import { quietModeAbi } from "../../abi/index.js";
import { VerificationMode } from "../../protocol/modes.js";
import { quietModeDomain } from "../../protocol/quiet.js";
import type { ProtocolDomain } from "../../protocol/typed-data.js";
import { chainIdOf, type OpgContext } from "../context.js";
import { getModeContract } from "./getModeContract.js";

/** The deployment's `QuietMode` and its immutable terms (docs/quiet.md). */
export interface QuietModeInfo {
  /** The contract the core binds to mode bit 4. */
  address: Address;
  /** The EIP-712 domain requests and receipts are signed under (this chain, this contract). */
  domain: ProtocolDomain;
  /** Seconds after a request's deadline within which its receipt must be committed. */
  commitWindow: bigint;
  /** Seconds after the commit deadline during which its receipts can be challenged. */
  challengeWindow: bigint;
  /** The furthest a request's deadline may be from its receipt's time, in seconds. */
  maxTtl: bigint;
  /** Seconds between a payer's refund request and its withdrawal. */
  noticePeriod: bigint;
  /** Stake taken per proven cheat. */
  penalty: bigint;
  /** The challenger's share of it, in basis points. */
  challengerRewardBps: number;
}

async function readQuietMode(ctx: OpgContext<"settlement">): Promise<QuietModeInfo> {
  const [chainId, address] = await Promise.all([
    chainIdOf(ctx),
    getModeContract(ctx, { mode: VerificationMode.Quiet }),
  ]);
  const read = <name extends "commitWindow" | "challengeWindow" | "maxTtl" | "noticePeriod">(
    functionName: name,
  ) => ctx.publicClient.readContract({ address, abi: quietModeAbi, functionName });
  const [commitWindow, challengeWindow, maxTtl, noticePeriod, penalty, challengerRewardBps] =
    await Promise.all([
      read("commitWindow"),
      read("challengeWindow"),
      read("maxTtl"),
      read("noticePeriod"),
      ctx.publicClient.readContract({ address, abi: quietModeAbi, functionName: "penalty" }),
      ctx.publicClient.readContract({ address, abi: quietModeAbi, functionName: "challengerRewardBps" }),
    ]);
  return {
    address,
    domain: quietModeDomain(chainId, address),
    commitWindow,
    challengeWindow,
    maxTtl,
    noticePeriod,
    penalty,
    challengerRewardBps,
  };
}

/**
 * The deployment's quiet-mode contract (found through the core) and its immutable windows, penalty and signing
 * domain. Read once per client cache: none of it ever changes. Throws `ModeNotOpen` when no contract is bound to
 * quiet mode.
 */
export function getQuietMode(ctx: OpgContext<"settlement">): Promise<QuietModeInfo> {
  const cache = ctx.cache;
  if (cache === undefined) return readQuietMode(ctx);
  if (cache.quietMode !== undefined) return cache.quietMode;
  const found = readQuietMode(ctx);
  cache.quietMode = found;
  found.catch(() => {
    if (cache.quietMode === found) delete cache.quietMode;
  });
  return found;
}
