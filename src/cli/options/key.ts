import type { Command } from "commander";

/** `--key-env`, as commander parses it. Keys are never flags: only the name of the variable holding one is. */
export interface KeyOptions {
  keyEnv?: string;
}

/** Add the key group: which environment variable holds the account's private key. */
export function addKeyOptions(command: Command): Command {
  return command.option(
    "--key-env <VAR>",
    "environment variable holding the account's private key (default OPG_PRIVATE_KEY); keys are never flags",
  );
}

/** `--signer-key-env` and `--signer`, as commander parses them. */
export interface SignerOptions {
  signerKeyEnv: string;
  signer?: string;
}

/** Add the operator signing-key group (a command that uses the operator's signing key). */
export function addSignerOptions(command: Command, checkable = true): Command {
  command.option(
    "--signer-key-env <VAR>",
    "environment variable holding the operator's signing key",
    "OPG_SIGNER_KEY",
  );
  if (checkable) {
    command.option(
      "--signer <address>",
      "the signing key's address, to check the key in the environment against",
    );
  }
  return command;
}
