import type { Command } from "commander";
import type { CliEnv } from "../../action.js";
import { addModelListCommand } from "./list.js";
import { addModelRegisterCommand } from "./register.js";
import { addModelRevokeCommand } from "./revoke.js";
import { addModelShowCommand } from "./show.js";

/** `opg model …`: model versions in the registry. */
export function addModelCommands(parent: Command, cli: CliEnv): Command {
  const model = parent.command("model").description("model versions in the registry");
  addModelShowCommand(model, cli);
  addModelListCommand(model, cli);
  addModelRegisterCommand(model, cli);
  addModelRevokeCommand(model, cli);
  return model;
}
