/**
 * secp256k1 on the quiet hot path (src/sdk/fast-ecdsa.ts): libsecp256k1 (WebAssembly) gives viem's bytes and
 * addresses, and refuses what the contracts refuse (malleable high-s signatures, bad v, wrong length).
 */
import { expect } from "chai";
import fc from "fast-check";
import { bytesToHex, hexToBytes, recoverAddress, type Hex } from "viem";
import { privateKeyToAccount, sign } from "viem/accounts";
import {
  ecdsaBackend,
  fastPrivateKeyToAccount,
  InvalidSignatureError,
  recoverDigestAddress,
  signDigest,
} from "../src/sdk/fast-ecdsa.js";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const hex32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b): Hex => bytesToHex(b))
  .filter((h) => BigInt(h) > 0n && BigInt(h) < N);

async function refused(digest: Hex, signature: Hex): Promise<string> {
  try {
    await recoverDigestAddress(digest, signature);
    return "accepted";
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidSignatureError);
    return (error as Error).message;
  }
}

describe("fast secp256k1 (libsecp256k1 as WebAssembly)", function () {
  it("signs exactly viem's bytes and recovers viem's address", async function () {
    expect(await ecdsaBackend()).to.equal("libsecp256k1");
    await fc.assert(
      fc.asyncProperty(hex32, hex32, async (key, digest) => {
        const ours = await signDigest(digest, key);
        expect(ours).to.equal(await sign({ hash: digest, privateKey: key, to: "hex" }));
        const address = privateKeyToAccount(key).address;
        expect(await recoverDigestAddress(digest, ours)).to.equal(address);
        expect(await recoverAddress({ hash: digest, signature: ours })).to.equal(address);
        expect(await fastPrivateKeyToAccount(key).sign({ hash: digest })).to.equal(ours);
      }),
      { seed: 20261130, numRuns: 100 },
    );
  });

  it("refuses the malleable twin of a valid signature (s' = n - s, v flipped), as the contracts do", async function () {
    const key: Hex = `0x${"11".repeat(32)}`;
    const digest: Hex = `0x${"22".repeat(32)}`;
    const signature = hexToBytes(await signDigest(digest, key));
    const s = BigInt(bytesToHex(signature.subarray(32, 64)));
    const twin = new Uint8Array(signature);
    twin.set(hexToBytes(`0x${(N - s).toString(16).padStart(64, "0")}`), 32);
    twin[64] = signature[64] === 27 ? 28 : 27;
    // viem accepts the twin (same signer): the contracts would not, so neither do we.
    expect(await recoverAddress({ hash: digest, signature: bytesToHex(twin) })).to.equal(
      privateKeyToAccount(key).address,
    );
    expect(await refused(digest, bytesToHex(twin))).to.match(/upper half/);
  });

  it("accepts v as 0/1 or 27/28 and refuses anything else, a wrong length, and a zero s", async function () {
    const key: Hex = `0x${"33".repeat(32)}`;
    const digest: Hex = `0x${"44".repeat(32)}`;
    const signature = await signDigest(digest, key);
    const address = privateKeyToAccount(key).address;
    const v = Number.parseInt(signature.slice(130), 16);
    expect(await recoverDigestAddress(digest, `${signature.slice(0, 130)}0${v - 27}` as Hex)).to.equal(
      address,
    );
    expect(await refused(digest, `${signature.slice(0, 130)}1d` as Hex)).to.match(/v must be 27 or 28/);
    expect(await refused(digest, signature.slice(0, 128) as Hex)).to.match(/65 bytes/);
    expect(await refused(digest, `${signature.slice(0, 66)}${"0".repeat(64)}1b` as Hex)).to.match(/zero/);
    // r = 0: no point to recover.
    expect(await refused(digest, `0x${"0".repeat(64)}${signature.slice(66)}` as Hex)).to.match(
      /no public key/,
    );
  });
});
