import type { Command } from "commander";
import { parseAddress } from "../../../sdk/addresses.js";
import { contextAction, type CliEnv } from "../../action.js";
import { formatOpg, parseOpg } from "../../parse.js";

/** `opg channel fund <operator> <OPG>`: move ledger balance into the quiet-mode channel with an operator. */
export function addChannelFundCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("fund")
    .description(
      "move OPG from your ledger balance (opg deposit) into your quiet-mode channel with an operator; approves quiet mode for the amount when needed, and cancels a pending refund request",
    )
    .argument("<operator>", "the operator (staking) account the channel pays")
    .argument("<OPG>", "amount, e.g. 20 or 0.5")
    .action(
      contextAction(cli, true, async ({ client }, operatorArg: string, amountArg: string) => {
        const operator = parseAddress(operatorArg, "<operator>");
        const amount = parseOpg(amountArg, "<OPG>");
        const result = await client.fundChannel({ operator, amount });
        return {
          human: [
            `funded the channel with ${operator}: ${formatOpg(amount)} in, ${formatOpg(result.funds)} held`,
            ...(result.approval === undefined
              ? []
              : [`  approved quiet mode for ${formatOpg(amount)} first (tx ${result.approval.hash})`]),
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ],
          json: {
            operator,
            amount,
            funds: result.funds,
            hash: result.hash,
            gasUsed: result.gasUsed,
            ...(result.approval === undefined ? {} : { approvalHash: result.approval.hash }),
          },
        };
      }),
    );
}
