/**
 * secp256k1 on quiet mode's hot path: every receipt costs the gateway one recovery (the payer's signature) and one
 * signature, and the payer one signature and one recovery. viem's pure-JavaScript curve takes about 1.7 ms per
 * recovery on the reference machine; libsecp256k1 compiled to WebAssembly (`tiny-secp256k1`, bitcoinjs) about
 * 0.26 ms, and signs in 0.12 ms instead of 0.6 ms (`npm run bench:quiet` shows the effect end to end).
 *
 * The WebAssembly build is loaded lazily where it loads (Node); anywhere else (a page bundled without WebAssembly
 * module support) the same functions fall back to viem's, with the same results: RFC 6979 signatures are
 * deterministic, so both backends produce identical bytes, and both refuse what the contracts refuse.
 *
 * Unlike viem's `recoverAddress`, {@link recoverDigestAddress} refuses a signature whose `s` is in the upper half of
 * the curve order, as OpenZeppelin's `ECDSA.recover` does on chain: such a signature is valid but malleable, and a
 * voucher or receipt carrying one could never be redeemed or used as evidence.
 */
import {
  bytesToHex,
  getAddress,
  hexToBytes,
  keccak256,
  recoverAddress,
  type Address,
  type Hex,
  type LocalAccount,
} from "viem";
import { privateKeyToAccount, sign as nobleSign } from "viem/accounts";

/** The part of `tiny-secp256k1` used here. */
interface WasmSecp256k1 {
  recover(
    hash: Uint8Array,
    signature: Uint8Array,
    recoveryId: 0 | 1 | 2 | 3,
    compressed?: boolean,
  ): Uint8Array | null;
  signRecoverable(
    hash: Uint8Array,
    privateKey: Uint8Array,
  ): { signature: Uint8Array; recoveryId: 0 | 1 | 2 | 3 };
}

/** Half the secp256k1 group order: the largest `s` the contracts accept. */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

let wasm: Promise<WasmSecp256k1 | undefined> | undefined;

/** `tiny-secp256k1` where it loads (Node), else undefined. The specifier is not static, so bundlers leave it alone. */
function loadWasm(): Promise<WasmSecp256k1 | undefined> {
  wasm ??= (async () => {
    if (typeof process === "undefined" || typeof process.versions.node !== "string") return undefined;
    try {
      const name = "tiny-secp256k1";
      return (await import(/* @vite-ignore */ name)) as WasmSecp256k1;
    } catch {
      return undefined;
    }
  })();
  return wasm;
}

/** Which backend this process uses: `libsecp256k1` (the WebAssembly build loaded) or `viem` (the fallback). */
export async function ecdsaBackend(): Promise<"libsecp256k1" | "viem"> {
  return (await loadWasm()) === undefined ? "viem" : "libsecp256k1";
}

/** Thrown for a signature the contracts would refuse: wrong length, `v` not 27/28 (or 0/1), `s` malleable, no point. */
export class InvalidSignatureError extends Error {
  override readonly name = "InvalidSignatureError";
}

/** The 64 bytes `r ‖ s` and the recovery id of a 65-byte signature, or `InvalidSignatureError`. */
function split(signature: Hex): { compact: Uint8Array; recoveryId: 0 | 1 } {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new InvalidSignatureError("a signature is 65 bytes of 0x-prefixed hex (r, s, v)");
  }
  const bytes = hexToBytes(signature);
  const v = bytes[64]!;
  const recoveryId = v === 27 || v === 0 ? 0 : v === 28 || v === 1 ? 1 : undefined;
  if (recoveryId === undefined) throw new InvalidSignatureError(`signature v must be 27 or 28, not ${v}`);
  const s = BigInt(bytesToHex(bytes.subarray(32, 64)));
  if (s === 0n || s > HALF_N) {
    throw new InvalidSignatureError(
      "signature s is zero or in the upper half of the curve order (malleable)",
    );
  }
  return { compact: bytes.subarray(0, 64), recoveryId };
}

/**
 * The address whose key signed the 32-byte `digest`, checksummed. Throws `InvalidSignatureError` for a malformed or
 * malleable (high-`s`) signature, or one that recovers no key.
 */
export async function recoverDigestAddress(digest: Hex, signature: Hex): Promise<Address> {
  const { compact, recoveryId } = split(signature);
  const curve = await loadWasm();
  if (curve === undefined) return recoverAddress({ hash: digest, signature });
  let point: Uint8Array | null;
  try {
    point = curve.recover(hexToBytes(digest), compact, recoveryId, false);
  } catch {
    point = null;
  }
  if (point === null) throw new InvalidSignatureError("the signature recovers no public key");
  return getAddress(`0x${keccak256(point.subarray(1)).slice(26)}`);
}

/** The 65-byte signature (`r ‖ s ‖ v`, v 27/28, low `s`) of the 32-byte `digest` by `privateKey`: viem's bytes. */
export async function signDigest(digest: Hex, privateKey: Hex): Promise<Hex> {
  const curve = await loadWasm();
  if (curve === undefined) return nobleSign({ hash: digest, privateKey, to: "hex" });
  const { signature, recoveryId } = curve.signRecoverable(hexToBytes(digest), hexToBytes(privateKey));
  return `${bytesToHex(signature)}${(27 + recoveryId).toString(16)}` as Hex;
}

/** viem's `privateKeyToAccount`, whose `sign({ hash })` (what the quiet hot path calls) uses {@link signDigest}. */
export function fastPrivateKeyToAccount(
  privateKey: Hex,
): LocalAccount & Required<Pick<LocalAccount, "sign">> {
  const account = privateKeyToAccount(privateKey);
  return { ...account, sign: ({ hash }) => signDigest(hash, privateKey) };
}
