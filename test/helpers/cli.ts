/** Shared by the CLI tests (no tests here): run `opg` in this process or through its real launcher. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { main } from "../../src/cli/main.js";

/** The real `bin` launcher of the package (in a checkout it runs the TypeScript source through tsx). */
export const OPG_BIN = join(import.meta.dirname, "../../bin/opg.mjs");

export interface CliRun {
  code: number;
  out: string;
  err: string;
  /** stdout parsed as JSON (with `--json`), or an empty object. */
  json: Record<string, unknown>;
}

/**
 * Run the CLI in this process (fast) with `env` plus `extraEnv` as its environment; `tty` makes it believe stdout
 * and stderr are terminals (progress lines on stderr).
 */
export async function runOpg(
  args: string[],
  env: NodeJS.ProcessEnv,
  extraEnv: NodeJS.ProcessEnv = {},
  options: { tty?: boolean } = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { ...env, ...extraEnv },
    outIsTty: options.tty === true,
    errIsTty: options.tty === true,
  });
  const text = out.join("\n");
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON output
  }
  return { code, out: text, err: err.join("\n"), json };
}

/** Run the real launcher as a child process with only `env` (and PATH), in `cwd` if given. */
export async function spawnOpg(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("node", [OPG_BIN, ...args], {
      env: { PATH: process.env.PATH, ...env },
      ...(cwd === undefined ? {} : { cwd }),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
