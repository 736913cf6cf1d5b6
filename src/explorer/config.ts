import { getAddress, isAddress, type Address } from "viem";

/** Where the page reads from: a JSON-RPC endpoint and the settlement core (the rest is found through it). */
export interface ExplorerConfig {
  rpc: string;
  settlement: Address;
  /** First block to read events from; found from the chain (the core's deployment block) when absent. */
  fromBlock?: bigint;
}

/** The RPC a page opened without parameters proposes: a local devnet (`npm run devnet`). */
export const DEFAULT_RPC = "http://127.0.0.1:8545";

/** A configuration from the URL's query (`?rpc=…&settlement=…&from=…`), or why there is none yet. */
export function configFromQuery(
  search: string,
): { config: ExplorerConfig } | { missing: string; rpc: string } {
  const params = new URLSearchParams(search);
  const rpc = params.get("rpc")?.trim() || DEFAULT_RPC;
  const settlement = params.get("settlement")?.trim() ?? "";
  if (settlement === "") return { missing: "Enter the settlement contract's address.", rpc };
  const checked = checkConfig(rpc, settlement, params.get("from")?.trim() ?? "");
  return typeof checked === "string" ? { missing: checked, rpc } : { config: checked };
}

/** The configuration from the form's fields, or a sentence saying what is wrong. */
export function checkConfig(rpc: string, settlement: string, from: string): ExplorerConfig | string {
  let url: URL;
  try {
    url = new URL(rpc);
  } catch {
    return `The RPC URL is not a URL: ${rpc}`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return "The RPC URL must start with http:// or https://";
  if (!isAddress(settlement, { strict: false }))
    return `The settlement address is not an address: ${settlement}`;
  if (from !== "" && !/^\d+$/.test(from)) return `The first block must be a whole number: ${from}`;
  return { rpc, settlement: getAddress(settlement), ...(from === "" ? {} : { fromBlock: BigInt(from) }) };
}

/** The query string that carries `config`, so a view's URL can be shared and reloaded. */
export function queryOf(config: ExplorerConfig): string {
  const params = new URLSearchParams({ rpc: config.rpc, settlement: config.settlement });
  if (config.fromBlock !== undefined) params.set("from", config.fromBlock.toString());
  return `?${params.toString()}`;
}
