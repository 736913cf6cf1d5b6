import type { Command } from "commander";

/** Where the contract addresses come from, as commander parses it. */
export interface AddressOptions {
  addresses?: string;
  deployment?: string;
  config?: string;
}

/** Add the addresses group: the deployment to act on, and the config file. */
export function addAddressOptions(command: Command): Command {
  return command
    .option(
      "--addresses <file>",
      "contract addresses JSON, or Ignition deployed_addresses.json (env OPG_ADDRESSES)",
    )
    .option("--deployment <dir>", "Ignition deployment directory holding deployed_addresses.json")
    .option("--config <file>", "JSON file with rpc, chainId, addresses|deployment, keyEnv (env OPG_CONFIG)");
}
