/// <reference lib="dom" />
/**
 * The Iris circuit's Groth16 verification key, served from the page's own build (Vite copies
 * `circuits/build/verification_key.json` into it) and fetched the first time a zk proof is checked: the key is part
 * of the page, as the verifier contract is part of the chain; nothing is trusted from another server.
 */
import vkeyUrl from "../../../circuits/build/verification_key.json?url";
import { parseVerificationKey, type Groth16VerificationKey } from "../../browser/index.js";

let cached: Promise<Groth16VerificationKey> | undefined;

/** The verification key (fetched once per page load), checked to be a bn128 Groth16 key with four signals. */
export function circuitVerificationKey(): Promise<Groth16VerificationKey> {
  cached ??= fetch(vkeyUrl)
    .then(async (response) => {
      if (!response.ok) throw new Error(`verification key: HTTP ${response.status}`);
      return parseVerificationKey(await response.json());
    })
    .catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
  return cached;
}
