import type { Command } from "commander";
import { parseAddress } from "../../../sdk/addresses.js";
import { contextAction, type CliEnv } from "../../action.js";
import { formatOpg } from "../../parse.js";

/** `opg operator show [address]`: default the configured key's account. */
export function addOperatorShowCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("show")
    .argument("[address]", "operator (default: the account of the configured key)")
    .description("an operator's signing key, payout, stake, unbonding and eligibility")
    .action(
      contextAction(cli, false, async (ctx, address: string | undefined) => {
        const who =
          address === undefined ? ctx.keyAccount("an operator address") : parseAddress(address, "address");
        const info = await ctx.client.getOperator({ operator: who });
        const registered = /^0x0{40}$/.test(info.signer)
          ? " (not registered: `opg operator register --payout <address> --stake <OPG>`)"
          : "";
        return {
          human: [
            `operator ${who}: ${info.eligible ? "eligible" : "not eligible"}${registered}`,
            `  signer ${info.signer}, payout ${info.payout}`,
            `  stake ${formatOpg(info.stake)}, unbonding ${formatOpg(info.unbonding)}`,
          ],
          json: info,
        };
      }),
    );
}
