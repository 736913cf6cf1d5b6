import type { Command } from "commander";
import { parseAddress } from "../../../sdk/addresses.js";
import { contextAction, type CliEnv } from "../../action.js";
import { formatOpg } from "../../parse.js";

/** `opg channel withdraw <operator>`: after the notice period, what is left goes back to the ledger balance. */
export function addChannelWithdrawCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("withdraw")
    .description(
      "after the notice period (opg channel refund), return what is left in your channel with an operator to your ledger balance",
    )
    .argument("<operator>", "the operator (staking) account of the channel")
    .action(
      contextAction(cli, true, async ({ client }, operatorArg: string) => {
        const operator = parseAddress(operatorArg, "<operator>");
        const result = await client.withdrawChannel({ operator });
        return {
          human: [
            `withdrew ${formatOpg(result.amount)} from the channel with ${operator} to your ledger balance (opg balance)`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ],
          json: { operator, amount: result.amount, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
}
