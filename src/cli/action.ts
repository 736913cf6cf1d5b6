/** The glue between commander and a command's code: context, output, exit code. */
import type { Command } from "commander";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { parseAddress } from "../sdk/addresses.js";
import { OpgError } from "../sdk/errors.js";
import {
  createContext,
  keyAccountFromEnv,
  readKeyFromEnv,
  type CliContext,
  type GlobalOptions,
} from "./context.js";
import { progressReporter, toJson, type CliIo, type Output } from "./io.js";
import type { Address } from "viem";

/** What every command file is given: where to write, and where to leave the exit code. */
export interface CliEnv {
  io: CliIo;
  state: { exitCode: number };
}

/** A command's view: the chain context plus the environment and a progress reporter. */
export interface CommandContext extends CliContext {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  /** Progress lines on stderr when it is a terminal (nothing with --json or in a pipe). */
  progress: (line: string) => void;
  /**
   * The account of the key in the environment (`--key-env`, default OPG_PRIVATE_KEY), for commands whose account
   * argument defaults to "yours"; throws a clear error naming `flag` when no key is set.
   */
  keyAccount: (flag: string) => Address;
}

/** The environment the CLI reads. */
export const envOf = (io: CliIo): NodeJS.ProcessEnv => io.env ?? process.env;

/** Print an output and record its exit code. */
export function emit(cli: CliEnv, json: boolean, output: Output): void {
  if (json) cli.io.out(toJson(output.json));
  else for (const line of output.human) cli.io.out(line);
  if (output.exitCode !== undefined) cli.state.exitCode = output.exitCode;
}

/**
 * A commander action that builds the context (with the account's key when `needsKey`), runs `run` with the
 * command's arguments and prints its output.
 */
export function contextAction<A extends unknown[]>(
  cli: CliEnv,
  needsKey: boolean,
  run: (ctx: CommandContext, ...args: A) => Promise<Output>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...args) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const env = envOf(cli.io);
    const base = await createContext(globals, needsKey, env);
    const ctx: CommandContext = {
      ...base,
      io: cli.io,
      env,
      progress: progressReporter(cli.io, base.json),
      keyAccount: (flag) => {
        const address = keyAccountFromEnv(env, base.keyEnv);
        if (address === undefined) {
          throw new OpgError(
            "BadInput",
            `no account given and no key configured: pass ${flag}, or set ${base.keyEnv} to use its account`,
          );
        }
        return address;
      },
    };
    emit(cli, base.json, await run(ctx, ...(args.slice(0, -1) as A)));
  };
}

/** The signing key in environment variable `name`, checked against `--signer` when given. */
export function signerFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  purpose: string,
  expected: string | undefined,
): PrivateKeyAccount {
  const key = privateKeyToAccount(readKeyFromEnv(env, name, purpose, "--signer-key-env"));
  if (expected !== undefined && parseAddress(expected, "--signer") !== key.address) {
    throw new OpgError(
      "BadInput",
      `the signing key in ${name} is ${key.address}, not --signer ${expected}: set ${name} to that key's private key`,
    );
  }
  return key;
}
