import type { Command } from "commander";
import { contextAction, type CliEnv } from "../../action.js";
import { parseBytes32 } from "../../parse.js";

/** `opg model revoke <modelId>`. */
export function addModelRevokeCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("revoke")
    .argument("<modelId>")
    .description("revoke a model version (owner only; final)")
    .action(
      contextAction(cli, true, async ({ client }, id: string) => {
        const result = await client.revokeModel({ modelId: parseBytes32(id, "model id") });
        return {
          human: [`revoked model ${id}`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: { modelId: id, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
}
