import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { OpgError } from "./errors.js";

/** The four contracts of a deployment. */
export interface ProtocolAddresses {
  token: Address;
  models: Address;
  operators: Address;
  settlement: Address;
}

export const ADDRESS_KEYS = ["token", "models", "operators", "settlement"] as const;
export type AddressKey = (typeof ADDRESS_KEYS)[number];

/** Ignition future ids (after `<Module>#`) of each contract, in `deployed_addresses.json`. */
const IGNITION_CONTRACTS: Record<AddressKey, string> = {
  token: "OPGToken",
  models: "ModelRegistry",
  operators: "OperatorRegistry",
  settlement: "InferenceSettlement",
};

/** The Ignition addresses file of a deployment directory. */
export const DEPLOYED_ADDRESSES_FILE = "deployed_addresses.json";

/** `deploy/deployments/chain-<id>`: where Ignition keeps a deployment made without a deployment id. */
export function deploymentDir(chainId: bigint | number, root = "deploy/deployments"): string {
  return join(root, `chain-${chainId}`);
}

/** A checksummed address, or an error that names the field and the bad value. */
export function parseAddress(value: unknown, what: string): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new OpgError("BadAddress", `${what} is not an address: ${JSON.stringify(value)}`);
  }
  return getAddress(value);
}

/**
 * Addresses from either shape: `{ token, models, operators, settlement }`, or an Ignition
 * `deployed_addresses.json` object (`LocalOPGProtocol#InferenceSettlement`, `OPGProtocol#OPGToken`, …).
 */
export function parseAddresses(value: unknown, source = "addresses"): ProtocolAddresses {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new OpgError("BadAddresses", `${source}: expected a JSON object of contract addresses`);
  }
  const entries = value as Record<string, unknown>;
  const pick = (key: AddressKey): Address => {
    if (key in entries) return parseAddress(entries[key], `${source}: ${key}`);
    const suffix = `#${IGNITION_CONTRACTS[key]}`;
    const found = Object.keys(entries).filter((k) => k.endsWith(suffix));
    if (found.length === 0) {
      throw new OpgError(
        "BadAddresses",
        `${source}: no "${key}" and no Ignition entry "…${suffix}" (keys: ${Object.keys(entries).join(", ") || "none"})`,
      );
    }
    if (found.length > 1) {
      throw new OpgError("BadAddresses", `${source}: several entries for ${key}: ${found.join(", ")}`);
    }
    return parseAddress(entries[found[0]!], `${source}: ${found[0]!}`);
  };
  return {
    token: pick("token"),
    models: pick("models"),
    operators: pick("operators"),
    settlement: pick("settlement"),
  };
}

/**
 * Read addresses from a JSON file, or from a deployment directory holding Ignition's
 * `deployed_addresses.json`.
 */
export async function readAddresses(path: string): Promise<ProtocolAddresses> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, DEPLOYED_ADDRESSES_FILE);
  } catch {
    throw new OpgError("BadAddresses", `addresses file or deployment directory not found: ${path}`);
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new OpgError("BadAddresses", `cannot read ${file}: is it a deployment directory?`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new OpgError("BadAddresses", `${file} is not valid JSON`);
  }
  return parseAddresses(json, file);
}
