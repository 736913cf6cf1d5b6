import { sha256 } from "viem";

/** A 0x-prefixed lowercase hex string, as used for bytes32 values on chain. */
export type Hex = `0x${string}`;

/**
 * SHA-256 of `bytes` as 0x-prefixed lowercase hex (the form committed to on chain as a bytes32). Pure JavaScript
 * (viem's, from `@noble/hashes`), so the same function runs in Node and in a browser.
 */
export function sha256Hex(bytes: Uint8Array): Hex {
  return sha256(bytes);
}
