import { Option, type Command } from "commander";
import { contextAction, type CliEnv } from "../action.js";
import { formatOpg, parseOpg } from "../parse.js";

/** `opg deposit <amount>`: OPG into the prepaid balance. */
export function addDepositCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("deposit")
    .argument("<amount>", "OPG")
    .description("deposit OPG into the prepaid balance (one transaction with an EIP-2612 permit)")
    .addOption(
      new Option("--method <m>", "permit or approve").choices(["permit", "approve"]).default("permit"),
    )
    .action(
      contextAction(cli, true, async ({ client }, amount: string, opts: { method: "permit" | "approve" }) => {
        const value = parseOpg(amount, "amount");
        const result = await client.deposit({ amount: value, method: opts.method });
        const balance = await client.getBalance();
        return {
          human: [
            `deposited ${formatOpg(value)}; balance ${formatOpg(balance)}`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ],
          json: { amount: value, balance, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
}
