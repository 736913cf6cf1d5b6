import type { Command } from "commander";
import { parseAddress } from "../../../sdk/addresses.js";
import { contextAction, type CliEnv } from "../../action.js";

/** `opg channel refund <operator>`: start the notice period before withdrawing a channel. */
export function addChannelRefundCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("refund")
    .description(
      "start the notice period of your channel with an operator (it sees it on chain and stops serving you); then `opg channel withdraw` after it",
    )
    .argument("<operator>", "the operator (staking) account of the channel")
    .action(
      contextAction(cli, true, async ({ client }, operatorArg: string) => {
        const operator = parseAddress(operatorArg, "<operator>");
        const result = await client.requestChannelRefund({ operator });
        const at = new Date(Number(result.refundAt) * 1000).toISOString();
        return {
          human: [
            `refund requested for the channel with ${operator}: withdraw after ${at} (${result.refundAt})`,
            `  then \`opg channel withdraw ${operator}\`; funding the channel again cancels the request`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ],
          json: { operator, refundAt: result.refundAt, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
}
