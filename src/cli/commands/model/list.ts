import type { Command } from "commander";
import { contextAction, type CliEnv } from "../../action.js";
import { formatOpg, parseId } from "../../parse.js";

/** `opg model list`. */
export function addModelListCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("list")
    .description("list registered model versions (from ModelRegistered events)")
    .option("--from-block <n>", "first block to search", "0")
    .action(
      contextAction(cli, false, async ({ client }, opts: { fromBlock: string }) => {
        const models = await client.listModels({ fromBlock: parseId(opts.fromBlock, "--from-block") });
        const human = models.map(
          (m) => `${m.modelId}  ${m.name.padEnd(16)} fee ${formatOpg(m.fee)}  owner ${m.owner}`,
        );
        if (human.length === 0) human.push("no models registered");
        return { human, json: models };
      }),
    );
}
