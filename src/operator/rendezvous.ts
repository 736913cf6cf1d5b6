import { encodePacked, getAddress, keccak256, type Address } from "viem";

/**
 * Rendezvous (highest-random-weight) ranking of a request over a pool of operators that serve the same models.
 * Every operator computes the same order from the request id alone, with no messages between them: the first
 * serves at once, the second only if the request is still pending after one grace period, and so on. Each
 * request has exactly one first operator, the load spreads evenly, and when an operator joins or leaves only
 * its own share of requests changes hands.
 */
export function rendezvousOrder(requestId: bigint, pool: readonly Address[]): Address[] {
  const scored = [...new Set(pool.map((a) => getAddress(a)))].map((operator) => ({
    operator,
    score: BigInt(keccak256(encodePacked(["uint256", "address"], [requestId, operator]))),
  }));
  scored.sort((a, b) => (a.score === b.score ? 0 : a.score > b.score ? -1 : 1));
  return scored.map((s) => s.operator);
}

/** `self`'s place in the request's order (0: serves first); 0 when `self` is not in the pool or it is empty. */
export function rendezvousRank(requestId: bigint, pool: readonly Address[], self: Address): number {
  const rank = rendezvousOrder(requestId, pool).indexOf(getAddress(self));
  return rank < 0 ? 0 : rank;
}

/** The pool settings of an operator node. */
export interface RendezvousPool {
  /** Operator accounts (the node's own included) that serve the same models and share the requests. */
  operators: Address[];
  /** How long each operator waits behind the one ranked before it (ms). */
  graceMs: number;
}

/**
 * When `self` may start on a request first seen at `seenAt` (ms): at once for a request assigned to it by name or
 * when it ranks first, otherwise after `rank × graceMs`.
 */
export function servableAt(
  requestId: bigint,
  assigned: Address,
  seenAt: number,
  self: Address,
  pool: RendezvousPool | undefined,
): number {
  if (pool === undefined || BigInt(assigned) !== 0n) return seenAt;
  return seenAt + rendezvousRank(requestId, pool.operators, self) * pool.graceMs;
}
