import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { OpgError } from "./errors.js";
import { DEPLOYED_ADDRESSES_FILE, parseAddresses, type ProtocolAddresses } from "./protocol-addresses.js";

export * from "./protocol-addresses.js";

/** `deploy/deployments/chain-<id>`: where Ignition keeps a deployment made without a deployment id. */
export function deploymentDir(chainId: bigint | number, root = "deploy/deployments"): string {
  return join(root, `chain-${chainId}`);
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
