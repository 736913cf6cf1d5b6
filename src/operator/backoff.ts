/** Exponential backoff after consecutive failures: 250 ms doubling up to 30 s, with jitter. */
export interface BackoffPolicy {
  /** Delay before the first retry (ms). */
  baseMs: number;
  /** Largest delay (ms), before jitter. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 30_000 };

/**
 * The delay before retry number `failures` (1 after the first failure): `min(cap, base · 2^(failures-1))`,
 * then "equal jitter": a uniformly random point in its upper half, so nodes that failed together (one RPC
 * provider going down) do not all come back in the same millisecond, and the delay never drops below half the
 * schedule. `random` is injectable for tests (`Math.random` by default).
 */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (failures <= 0) return 0;
  // 2^(failures-1) overflows to Infinity only far beyond the cap; clamp the exponent anyway.
  const exponential = policy.baseMs * 2 ** Math.min(failures - 1, 30);
  const capped = Math.min(policy.capMs, exponential);
  return Math.round(capped / 2 + (random() * capped) / 2);
}

/** The part of an error worth logging: viem's short message and details (not the request URL or body). */
export function errorSummary(error: unknown): string {
  if (error instanceof Error) {
    const { shortMessage, details } = error as Error & { shortMessage?: unknown; details?: unknown };
    if (typeof shortMessage === "string") {
      return typeof details === "string" && details !== "" ? `${shortMessage} (${details})` : shortMessage;
    }
    return error.message.split("\n")[0] ?? error.name;
  }
  return String(error).split("\n")[0] ?? "unknown error";
}

/** `scheme://host[:port]` of a URL: RPC URLs often carry an API key in their path or query, never log those. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return "(unparseable URL)";
  }
}
