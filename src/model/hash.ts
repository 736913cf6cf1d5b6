import { createHash } from "node:crypto";

/** A 0x-prefixed lowercase hex string, as used for bytes32 values on chain. */
export type Hex = `0x${string}`;

/** SHA-256 of `bytes` as 0x-prefixed lowercase hex (the form committed to on chain as a bytes32). */
export function sha256Hex(bytes: Uint8Array): Hex {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}
