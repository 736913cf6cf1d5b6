import type { Command } from "commander";
import { contextAction, type CliEnv } from "../action.js";

/** `opg modes`: the verification modes open on this deployment, read from the settlement. */
export function addModesCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("modes")
    .description(
      "the verification modes open on this deployment and their contracts (read from the settlement)",
    )
    .action(
      contextAction(cli, false, async ({ client }) => {
        const modes = await client.getOpenModes();
        const human = modes.map((m) => `${m.name.padEnd(10)} mode ${m.mode}  ${m.contract}`);
        if (human.length === 0) human.push("no verification mode is open");
        return { human, json: modes };
      }),
    );
}
