/** Parsing and formatting of command-line values; every error names the flag and the fix. */
import { access } from "node:fs/promises";
import { formatUnits, isHex, parseUnits, type Hex } from "viem";
import { MODE_NAMES, modeByName, type VerificationMode } from "../protocol/modes.js";
import { OpgError } from "../sdk/errors.js";

/** `1.5 OPG` from wei. */
export const formatOpg = (wei: bigint): string => `${formatUnits(wei, 18)} OPG`;

/** An OPG amount such as `2` or `0.5` in wei. */
export function parseOpg(value: string, what: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(value.trim())) {
    throw new OpgError("BadInput", `${what} must be an OPG amount such as 2 or 0.5, got "${value}"`);
  }
  return parseUnits(value.trim(), 18);
}

/** A whole number (ids, seconds, blocks). */
export function parseId(value: string, what: string): bigint {
  if (!/^\d+$/.test(value)) throw new OpgError("BadInput", `${what} must be a whole number, got "${value}"`);
  return BigInt(value);
}

/** A 0x-prefixed 32-byte id, lower-cased. */
export function parseBytes32(value: string, what: string): Hex {
  if (!isHex(value) || value.length !== 66) {
    throw new OpgError("BadInput", `${what} must be a 0x-prefixed 32-byte hex id, got "${value}"`);
  }
  return value.toLowerCase() as Hex;
}

/** A verification mode by name (`signature`, `zk`). */
export function parseMode(value: string): VerificationMode {
  const mode = modeByName(value);
  if (mode === undefined) {
    throw new OpgError(
      "BadInput",
      `--mode must be one of ${Object.values(MODE_NAMES).join(", ")}, got "${value}"`,
    );
  }
  return mode;
}

/** Whether `path` exists. */
export const fileExists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Check an endpoint URL's scheme up front (a URL without one would only fail later as "cannot reach"): `http`/`https`
 * for JSON-RPC, `ws`/`wss` for WebSocket. The error shows the fixed URL.
 */
export function checkUrl(url: string, source: string, kind: "http" | "ws"): string {
  const schemes = kind === "http" ? ["http:", "https:"] : ["ws:", "wss:"];
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new OpgError("BadInput", `${source} ${url} has no scheme: use ${kind}://${url}`);
  }
  if (!schemes.includes(`${scheme}:`)) {
    const other =
      kind === "http"
        ? " (a WebSocket URL goes to operator serve --ws)"
        : " (the HTTP JSON-RPC URL goes to --rpc)";
    throw new OpgError(
      "BadInput",
      `${source} ${url} is a ${scheme}:// URL: use ${schemes.map((s) => `${s}//`).join(" or ")}${other}`,
    );
  }
  try {
    new URL(url);
  } catch {
    throw new OpgError("BadInput", `${source} ${url} is not a valid URL`);
  }
  return url;
}
