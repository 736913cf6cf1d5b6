import type { Command } from "commander";

/** `--json` / `-j`, as commander parses it. */
export interface OutputOptions {
  json?: boolean;
}

/** The flags that ask for JSON output. */
export const JSON_FLAGS: readonly string[] = ["--json", "-j"];

/** Add the output group: machine-readable output. */
export function addOutputOptions(command: Command): Command {
  return command.option("-j, --json", "machine-readable output (one JSON document on stdout)");
}
