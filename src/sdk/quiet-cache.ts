/**
 * A short-lived memo of the chain reads `infer` and `verifyQuietReceipt` repeat on every call (the model version, the
 * operator's record, the chain's clock), per client (keyed by the client's `cache`, or by the context itself). Each
 * entry is kept `ttlMs` from the moment its read was sent; a failed read is not kept. With `ttlMs` 0 every call
 * reads the chain, as before. Staleness is the caller's choice and is documented where it is used (docs/quiet.md,
 * "Throughput"): a model deprecated or a key rotated is seen at most `ttlMs` late.
 */
import type { OpgContext } from "./context.js";

interface Entry {
  at: number;
  value: Promise<unknown>;
}

const memos = new WeakMap<object, Map<string, Entry>>();
/** Entries per client before the memo is cleared (a payer talks to a handful of models and operators). */
const MAX_ENTRIES = 1_024;

/** The owner object of a context's memo. */
const ownerOf = (ctx: Pick<OpgContext<never>, "cache">): object => ctx.cache ?? ctx;

/**
 * `read()`, or its result memoized under `key` for `ttlMs` (per client). Concurrent calls share one read. A rejected
 * read is dropped, so the next call reads again.
 */
export function memoized<T>(
  ctx: Pick<OpgContext<never>, "cache">,
  key: string,
  ttlMs: number,
  read: () => Promise<T>,
): Promise<T> {
  if (ttlMs <= 0) return read();
  const owner = ownerOf(ctx);
  let memo = memos.get(owner);
  if (memo === undefined) memos.set(owner, (memo = new Map<string, Entry>()));
  const now = Date.now();
  const known = memo.get(key);
  if (known !== undefined && now - known.at < ttlMs) return known.value as Promise<T>;
  if (memo.size >= MAX_ENTRIES) memo.clear();
  const value = read();
  const entry: Entry = { at: now, value };
  memo.set(key, entry);
  value.catch(() => {
    if (memo.get(key) === entry) memo.delete(key);
  });
  return value;
}

/**
 * The chain's time now, in unix seconds, as the gateway measures it: the later of this machine's clock and the chain's
 * head, the head's lead over the clock read at most every `ttlMs` and applied to the clock in between.
 */
export async function chainClock(
  ctx: Pick<OpgContext<never>, "cache" | "publicClient">,
  ttlMs: number,
): Promise<bigint> {
  const leadMs = await memoized(ctx, "clock", ttlMs, async () => {
    const sent = Date.now();
    const block = await ctx.publicClient.getBlock({ blockTag: "latest" });
    return Number(block.timestamp) * 1000 - sent;
  });
  return BigInt(Math.floor((Date.now() + Math.max(0, leadMs)) / 1000));
}
