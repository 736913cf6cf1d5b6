import type { Command } from "commander";
import type { Address } from "viem";
import { parseAddress } from "../../sdk/addresses.js";
import { contextAction, type CliEnv } from "../action.js";
import { formatOpg, parseOpg } from "../parse.js";

/** `opg withdraw`: from the prepaid/earned balance. */
export function addWithdrawCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("withdraw")
    .description("withdraw from the prepaid/earned balance (default: all of it, to yourself)")
    .option("--amount <OPG>", "amount to withdraw")
    .option("--to <address>", "recipient")
    .action(
      contextAction(cli, true, async ({ client }, opts: { amount?: string; to?: string }) => {
        const to: Address | undefined = opts.to === undefined ? undefined : parseAddress(opts.to, "--to");
        const result = await client.withdraw({
          ...(opts.amount === undefined ? {} : { amount: parseOpg(opts.amount, "--amount") }),
          ...(to === undefined ? {} : { to }),
        });
        return {
          human: [`withdrew ${formatOpg(result.amount)}`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: {
            amount: result.amount,
            to: to ?? client.account()?.address,
            hash: result.hash,
            gasUsed: result.gasUsed,
          },
        };
      }),
    );
}
