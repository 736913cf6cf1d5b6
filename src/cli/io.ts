/** Where the CLI writes, and the shape every command returns. */

/** Where a command writes; tests pass their own. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Environment read for OPG_* settings and the key (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** stdout is a terminal: `operator serve` logs for people instead of JSON (default false). */
  outIsTty?: boolean;
  /** stderr is a terminal: long work reports progress there (default false). */
  errIsTty?: boolean;
}

/** The process's stdout and stderr. */
export const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  outIsTty: process.stdout.isTTY,
  errIsTty: process.stderr.isTTY,
};

/** What a command prints: lines for people, one JSON document for `--json`, and its exit code. */
export interface Output {
  human: string[];
  json: unknown;
  /** Default {@link ExitCode.Ok}. */
  exitCode?: number;
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/**
 * A progress reporter for long work: writes `… line` to stderr when stderr is a terminal and the output is not
 * `--json`; otherwise does nothing (so pipes and scripts see only the result).
 */
export function progressReporter(io: CliIo, json: boolean): (line: string) => void {
  if (json || io.errIsTty !== true) return () => undefined;
  return (line) => {
    io.err(`… ${line}`);
  };
}
