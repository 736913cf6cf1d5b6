import type { Command } from "commander";
import { contextAction, type CliEnv } from "../../action.js";
import { formatOpg, parseOpg } from "../../parse.js";

/** `opg operator stake <amount>`. */
export function addOperatorStakeCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("stake")
    .argument("<amount>", "OPG to add")
    .description("add stake")
    .action(
      contextAction(cli, true, async ({ client }, amount: string) => {
        const value = parseOpg(amount, "amount");
        const result = await client.stake({ amount: value });
        return {
          human: [`staked ${formatOpg(value)}`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: { amount: value, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
}
