import type { Command } from "commander";
import type { CliEnv } from "../../action.js";
import { addOperatorRedeemCommand } from "./redeem.js";
import { addOperatorRegisterCommand } from "./register.js";
import { addOperatorRotateSignerCommand } from "./rotate-signer.js";
import { addOperatorServeCommand } from "./serve.js";
import { addOperatorShowCommand } from "./show.js";
import { addOperatorStakeCommand } from "./stake.js";
import { addOperatorUnstakeCommand } from "./unstake.js";
import { addOperatorWithdrawCommand } from "./withdraw.js";

/** `opg operator …`: stake, signing key, serving requests. */
export function addOperatorCommands(parent: Command, cli: CliEnv): Command {
  const operator = parent.command("operator").description("operators: stake, signing key, serving requests");
  addOperatorRegisterCommand(operator, cli);
  addOperatorRotateSignerCommand(operator, cli);
  addOperatorStakeCommand(operator, cli);
  addOperatorUnstakeCommand(operator, cli);
  addOperatorWithdrawCommand(operator, cli);
  addOperatorShowCommand(operator, cli);
  addOperatorServeCommand(operator, cli);
  addOperatorRedeemCommand(operator, cli);
  return operator;
}
