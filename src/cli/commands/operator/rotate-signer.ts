import type { Command } from "commander";
import { contextAction, signerFromEnv, type CliEnv } from "../../action.js";
import { addSignerOptions, type SignerOptions } from "../../options/key.js";

/** `opg operator rotate-signer`: replace the operator's signing key. */
export function addOperatorRotateSignerCommand(parent: Command, cli: CliEnv): Command {
  const command = parent
    .command("rotate-signer")
    .description(
      "replace the operator's signing key by the one in OPG_SIGNER_KEY (it signs its proof of possession); the old key stops serving at once",
    );
  addSignerOptions(command);
  return command.action(
    contextAction(cli, true, async ({ client, env }, opts: SignerOptions) => {
      const key = signerFromEnv(
        env,
        opts.signerKeyEnv,
        "the new signing key signs its proof of possession",
        opts.signer,
      );
      const before = await client.getOperator({ operator: client.account()!.address });
      const result = await client.rotateSigner({ signer: key });
      return {
        human: [
          `rotated the signing key of ${before.operator}: ${before.signer} → ${key.address}`,
          `  restart the operator node with the new key (--signer-key-env); the old key can no longer settle results`,
          `  tx ${result.hash}, gas ${result.gasUsed}`,
        ],
        json: {
          operator: before.operator,
          oldSigner: before.signer,
          signer: key.address,
          hash: result.hash,
          gasUsed: result.gasUsed,
        },
      };
    }),
  );
}
