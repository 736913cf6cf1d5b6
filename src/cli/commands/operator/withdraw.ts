import type { Command } from "commander";
import { parseAddress } from "../../../sdk/addresses.js";
import { contextAction, type CliEnv } from "../../action.js";

/** `opg operator withdraw`: unbonded stake whose delay has passed. */
export function addOperatorWithdrawCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("withdraw")
    .description("withdraw stake whose unbonding delay has passed")
    .option("--to <address>", "recipient (default: the operator account)")
    .action(
      contextAction(cli, true, async ({ client }, opts: { to?: string }) => {
        const to = opts.to === undefined ? undefined : parseAddress(opts.to, "--to");
        const result = await client.withdrawUnbonded(to === undefined ? {} : { to });
        return {
          human: [`withdrew unbonded stake`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: { to, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
}
