/**
 * A deployment's contract addresses, parsed and checked: the browser-safe half of `addresses.ts` (no file system).
 * `addresses.ts` re-exports all of it and adds reading an addresses file or a deployment directory.
 */
import { getAddress, isAddress, type Address } from "viem";
import { OpgError } from "./errors.js";

/**
 * The contracts of a deployment a client is configured with: the token, the two registries and the settlement core.
 * The verification mode contracts are found through the core (`modeContract(mode)`); a deployment file may name them
 * too (`signatureMode`, `zkMode`), for reference.
 */
export interface ProtocolAddresses {
  token: Address;
  models: Address;
  operators: Address;
  settlement: Address;
  /** `SignatureMode`, when the addresses file names it (clients read it from the core). */
  signatureMode?: Address;
  /** `ZkMode`, when the addresses file names it (clients read it from the core). */
  zkMode?: Address;
  /** `QuietMode`, when the addresses file names it (clients read it from the core). */
  quietMode?: Address;
}

export const ADDRESS_KEYS = ["token", "models", "operators", "settlement"] as const;
export type AddressKey = (typeof ADDRESS_KEYS)[number];

/** The mode contracts a deployment file may name besides {@link ADDRESS_KEYS}. */
export const MODE_ADDRESS_KEYS = ["signatureMode", "zkMode", "quietMode"] as const;
export type ModeAddressKey = (typeof MODE_ADDRESS_KEYS)[number];

/** Ignition future ids (after `<Module>#`) of each contract, in `deployed_addresses.json`. */
const IGNITION_CONTRACTS: Record<AddressKey | ModeAddressKey, string> = {
  token: "OPGToken",
  models: "ModelRegistry",
  operators: "OperatorRegistry",
  settlement: "InferenceSettlement",
  signatureMode: "SignatureMode",
  zkMode: "ZkMode",
  quietMode: "QuietMode",
};

/** The Ignition addresses file of a deployment directory. */
export const DEPLOYED_ADDRESSES_FILE = "deployed_addresses.json";

/** A checksummed address, or an error that names the field and the bad value. */
export function parseAddress(value: unknown, what: string): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new OpgError("BadAddress", `${what} is not an address: ${JSON.stringify(value)}`);
  }
  return getAddress(value);
}

/**
 * Addresses from either shape: `{ token, models, operators, settlement }` (plus, optionally, `signatureMode` and
 * `zkMode`), or an Ignition `deployed_addresses.json` object (`LocalOPGProtocol#InferenceSettlement`,
 * `OPGProtocol#OPGToken`, …).
 */
export function parseAddresses(value: unknown, source = "addresses"): ProtocolAddresses {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new OpgError("BadAddresses", `${source}: expected a JSON object of contract addresses`);
  }
  const entries = value as Record<string, unknown>;
  const find = (key: AddressKey | ModeAddressKey): Address | undefined => {
    if (key in entries) return parseAddress(entries[key], `${source}: ${key}`);
    const suffix = `#${IGNITION_CONTRACTS[key]}`;
    const found = Object.keys(entries).filter((k) => k.endsWith(suffix));
    if (found.length > 1) {
      throw new OpgError("BadAddresses", `${source}: several entries for ${key}: ${found.join(", ")}`);
    }
    return found.length === 0 ? undefined : parseAddress(entries[found[0]!], `${source}: ${found[0]!}`);
  };
  const pick = (key: AddressKey): Address => {
    const found = find(key);
    if (found === undefined) {
      throw new OpgError(
        "BadAddresses",
        `${source}: no "${key}" and no Ignition entry "…#${IGNITION_CONTRACTS[key]}" (keys: ${Object.keys(entries).join(", ") || "none"})`,
      );
    }
    return found;
  };
  const addresses: ProtocolAddresses = {
    token: pick("token"),
    models: pick("models"),
    operators: pick("operators"),
    settlement: pick("settlement"),
  };
  for (const key of MODE_ADDRESS_KEYS) {
    const found = find(key);
    if (found !== undefined) addresses[key] = found;
  }
  return addresses;
}
