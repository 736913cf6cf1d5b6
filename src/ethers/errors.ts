import type { ErrorDescription } from "ethers";
import type { HasInterface } from "./events.js";

/** Find the revert data inside whatever ethers or a Hardhat provider threw. */
function revertData(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const data = (current as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x")) return data;
    current = (current as { error?: unknown; info?: unknown }).error ?? (current as { info?: unknown }).info;
  }
  return undefined;
}

/**
 * Decode a revert by name with the first contract interface that knows it (a settlement call can revert with a
 * registry's or the token's error). Returns `undefined` when the revert carries no known custom error.
 */
export function decodeRevert(
  error: unknown,
  contracts: readonly HasInterface[],
): ErrorDescription | undefined {
  const data = revertData(error);
  if (data === undefined) return undefined;
  for (const contract of contracts) {
    const parsed = contract.interface.parseError(data);
    if (parsed !== null) return parsed;
  }
  return undefined;
}

/** `Name(arg, …)` for a decoded revert, for logs and reports. */
export function formatRevert(decoded: ErrorDescription): string {
  return `${decoded.name}(${decoded.args.map((a: unknown) => String(a)).join(", ")})`;
}
