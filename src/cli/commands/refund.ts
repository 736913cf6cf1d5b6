import type { Command } from "commander";
import { contextAction, type CliEnv } from "../action.js";
import { formatOpg, parseId } from "../parse.js";

/** `opg refund <requestId>`: refund an expired request. */
export function addRefundCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("refund")
    .argument("<requestId>")
    .description("refund an expired request (anyone may; the fee returns to the requester's balance)")
    .action(
      contextAction(cli, true, async ({ client }, id: string) => {
        const result = await client.refund({ requestId: parseId(id, "requestId") });
        return {
          human: [
            `refunded request #${id}: ${formatOpg(result.amount)}`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ],
          json: { requestId: id, amount: result.amount, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
}
