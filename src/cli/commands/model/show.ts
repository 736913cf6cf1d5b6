import type { Command } from "commander";
import { modeName, VerificationMode } from "../../../protocol/modes.js";
import { contextAction, type CliEnv } from "../../action.js";
import { formatOpg, parseBytes32 } from "../../parse.js";

/** `opg model show <modelId>`. */
export function addModelShowCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("show")
    .argument("<modelId>")
    .description("show a registered model version")
    .action(
      contextAction(cli, false, async ({ client }, id: string) => {
        const m = await client.getModel({ modelId: parseBytes32(id, "model id") });
        const modes = [VerificationMode.Signature, VerificationMode.Zk]
          .filter((f) => (m.modes & f) !== 0)
          .map(modeName);
        const human = [
          `model ${m.modelId}: ${m.status}`,
          `  owner ${m.owner}, family ${m.familyId}`,
          `  file sha256 ${m.fileHash}, runtime ${m.runtimeHash}`,
          `  fee ${formatOpg(m.fee)}, royalty ${m.royaltyBps} bps, modes ${modes.join(" | ")}`,
        ];
        if ((m.modes & VerificationMode.Zk) !== 0) {
          human.push(
            `  zk weight commitment ${m.zkCommitment}`,
            `  zk verifier ${m.zkVerifier}, pinned code hash ${m.zkVerifierCodeHash}`,
          );
        }
        return { human, json: m };
      }),
    );
}
