import type { Command } from "commander";
import { parseAddress } from "../../../sdk/addresses.js";
import { contextAction, signerFromEnv, type CliEnv } from "../../action.js";
import { addSignerOptions, type SignerOptions } from "../../options/key.js";
import { formatOpg, parseOpg } from "../../parse.js";

/**
 * `opg operator register`: the key's account becomes an operator. Every check is made before anything is sent (the
 * SDK's `registerOperator` simulates the registration and checks the OPG balance before approving the stake), so a
 * registration that fails leaves the allowance and the nonce as they were.
 */
export function addOperatorRegisterCommand(parent: Command, cli: CliEnv): Command {
  const command = parent
    .command("register")
    .description(
      "register the key's account as an operator with a signing key (from OPG_SIGNER_KEY, which signs its proof of possession), a payout address and a stake",
    );
  addSignerOptions(command);
  return command
    .requiredOption("--payout <address>", "where earnings are credited")
    .requiredOption("--stake <OPG>", "initial stake (at least the registry's minimum to serve)")
    .action(
      contextAction(
        cli,
        true,
        async ({ client, env }, opts: SignerOptions & { payout: string; stake: string }) => {
          const key = signerFromEnv(
            env,
            opts.signerKeyEnv,
            "the signing key signs its proof of possession",
            opts.signer,
          );
          const payout = parseAddress(opts.payout, "--payout");
          const amount = parseOpg(opts.stake, "--stake");
          const result = await client.registerOperator({ signer: key, payout, amount });
          const info = await client.getOperator({ operator: client.account()!.address });
          const human = [
            `registered operator ${info.operator} with signing key ${key.address} (proof of possession signed by it), payout ${payout}, stake ${formatOpg(amount)}`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ];
          if (!info.eligible) {
            human.push(
              "  not eligible to serve yet: the stake is below the registry's minimum (opg operator stake <OPG>)",
            );
          }
          return {
            human,
            json: {
              operator: info.operator,
              signer: key.address,
              payout,
              stake: amount,
              eligible: info.eligible,
              hash: result.hash,
              gasUsed: result.gasUsed,
            },
          };
        },
      ),
    );
}
