import type { Command } from "commander";
import { parseAddress } from "../../sdk/addresses.js";
import { contextAction, type CliEnv } from "../action.js";
import { formatOpg } from "../parse.js";

/** `opg balance`: prepaid balance in the settlement and OPG held, of `--account` or of the key's account. */
export function addBalanceCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("balance")
    .description("prepaid balance in the settlement and OPG held (of --account, or of the key's account)")
    .option("--account <address>", "account to show (default: the account of the configured key)")
    .action(
      contextAction(cli, false, async (ctx, opts: { account?: string }) => {
        const who =
          opts.account === undefined
            ? ctx.keyAccount("--account <address>")
            : parseAddress(opts.account, "--account");
        const [ledger, held] = await Promise.all([
          ctx.client.getBalance({ owner: who }),
          ctx.client.getTokenBalance({ owner: who }),
        ]);
        return {
          human: [`${who}: balance ${formatOpg(ledger)}, holds ${formatOpg(held)}`],
          json: { account: who, balance: ledger, token: held },
        };
      }),
    );
}
