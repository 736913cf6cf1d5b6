import type { Command } from "commander";

/** `--rpc` / `--rpc-url` and `--chain-id` / `--chain`, as commander parses them. */
export interface RpcOptions {
  /** `--rpc` / `--rpc-url` (Foundry's name). */
  rpcUrl?: string;
  /** `--chain-id` / `--chain`. */
  chainId?: string;
}

/** Add the RPC group: where the chain is and which chain it must be. */
export function addRpcOptions(command: Command): Command {
  return command
    .option("--rpc, --rpc-url <url>", "JSON-RPC URL, http(s):// (env OPG_RPC_URL, then ETH_RPC_URL)")
    .option(
      "--chain, --chain-id <id>",
      "expected chain id: refuse to act on another chain (env OPG_CHAIN_ID)",
    );
}
