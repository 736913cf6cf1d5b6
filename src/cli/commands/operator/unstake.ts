import type { Command } from "commander";
import { contextAction, type CliEnv } from "../../action.js";
import { formatOpg, parseOpg } from "../../parse.js";

/** `opg operator unstake <amount>`: start unbonding. */
export function addOperatorUnstakeCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("unstake")
    .argument("<amount>", "OPG to unbond")
    .description("start unbonding stake (withdrawable after the unbonding delay; slashable until then)")
    .action(
      contextAction(cli, true, async ({ client }, amount: string) => {
        const value = parseOpg(amount, "amount");
        const result = await client.unbond({ amount: value });
        return {
          human: [`unbonding ${formatOpg(value)}`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: { amount: value, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
}
