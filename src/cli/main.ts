/**
 * `opg`: the command line. This file only assembles the program: each command lives in `commands/`, the option
 * groups every command shares in `options/`, and errors become one line (plus a hint naming the opg command that
 * fixes it) and an exit code from one table ({@link ExitCode}).
 */
import { Command } from "commander";
import { explain } from "../sdk/errors.js";
import type { CliEnv } from "./action.js";
import { addAuditCommand } from "./commands/audit.js";
import { addBalanceCommand } from "./commands/balance.js";
import { addChannelCommands } from "./commands/channel/index.js";
import { addDeployCommand } from "./commands/deploy.js";
import { addDepositCommand } from "./commands/deposit.js";
import { addInferCommand } from "./commands/infer.js";
import { addModelCommands } from "./commands/model/index.js";
import { addModesCommand } from "./commands/modes.js";
import { addOperatorCommands } from "./commands/operator/index.js";
import { addRefundCommand } from "./commands/refund.js";
import { addRequestCommand } from "./commands/request.js";
import { addStatusCommand } from "./commands/status.js";
import { addWatchCommand } from "./commands/watch.js";
import { addWithdrawCommand } from "./commands/withdraw.js";
import { EXIT_CODE_HELP, ExitCode, exitCodeForError } from "./exit-codes.js";
import { hintFor } from "./hints.js";
import { defaultIo, toJson, type CliIo } from "./io.js";
import { addAddressOptions } from "./options/addresses.js";
import { addKeyOptions } from "./options/key.js";
import { addOutputOptions, JSON_FLAGS } from "./options/output.js";
import { addRpcOptions } from "./options/rpc.js";

export { toJson, type CliIo } from "./io.js";
export { ExitCode } from "./exit-codes.js";

const SETTINGS_HELP = [
  "Settings (flags > environment > --config file):",
  "  RPC        --rpc/--rpc-url, OPG_RPC_URL, ETH_RPC_URL",
  "  chain      --chain-id/--chain, OPG_CHAIN_ID",
  "  addresses  --addresses/--deployment, OPG_ADDRESSES, else deploy/deployments/chain-<id>/",
  "  key        only from the environment: OPG_PRIVATE_KEY, or the variable named by --key-env",
].join("\n");

/** Build the program; `io` receives every line written, `state.exitCode` the command's exit code. */
export function buildProgram(io: CliIo = defaultIo, state: { exitCode: number } = { exitCode: 0 }): Command {
  const cli: CliEnv = { io, state };
  const program = new Command("opg").description(
    "OPG verifiable inference: models, requests, results and audits from the command line",
  );
  addRpcOptions(program);
  addAddressOptions(program);
  addKeyOptions(program);
  addOutputOptions(program);
  program
    .addHelpText("after", `\n${SETTINGS_HELP}\n\n${EXIT_CODE_HELP}`)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => {
        io.out(s.trimEnd());
      },
      writeErr: (s) => {
        io.err(s.trimEnd());
      },
    });

  addModesCommand(program, cli);
  addStatusCommand(program, cli);
  addAuditCommand(program, cli);
  addModelCommands(program, cli);
  addRequestCommand(program, cli);
  addRefundCommand(program, cli);
  addInferCommand(program, cli);
  addChannelCommands(program, cli);
  addDepositCommand(program, cli);
  addWithdrawCommand(program, cli);
  addOperatorCommands(program, cli);
  addBalanceCommand(program, cli);
  addDeployCommand(program, cli);
  addWatchCommand(program, cli);
  return program;
}

/**
 * Run the CLI; resolves to the exit code ({@link ExitCode}). An error becomes one line that says what to fix, and
 * under it a `hint:` line naming the opg command or flag to use, when there is one.
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const state = { exitCode: 0 };
  const program = buildProgram(io, state);
  const json = argv.some((arg) => JSON_FLAGS.includes(arg));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return state.exitCode;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      // help and version are not errors
      return code === "commander.helpDisplayed" || code === "commander.version"
        ? ExitCode.Ok
        : ExitCode.Usage;
    }
    const message = explain(error);
    const hint = hintFor(error);
    if (json) io.out(toJson({ error: message, ...(hint === undefined ? {} : { hint }) }));
    io.err(`error: ${message}`);
    if (hint !== undefined) io.err(`hint: ${hint}`);
    return exitCodeForError(error);
  }
}
