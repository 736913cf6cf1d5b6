import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { StateBinding } from "./store.js";

export type { StateBinding } from "./store.js";

/**
 * The default state file of an operator node serving `binding` — outside any repository, one file per chain and
 * deployment:
 *
 *   `$XDG_STATE_HOME/opg/operator-<chainId>-<genesis hash, first 8 hex>-<settlement, first 8 hex>.sqlite`
 *
 * falling back to `~/.local/state/opg/` when `XDG_STATE_HOME` is unset or not absolute (as the XDG spec says).
 * The genesis hash is part of the name, so a restarted devnet (same chain id and addresses, a new chain) gets a new
 * file instead of the old chain's cursor and nonces. The directory is created (mode 0700).
 */
export function defaultStatePath(
  binding: StateBinding,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const xdg = env.XDG_STATE_HOME;
  const base =
    xdg !== undefined && xdg.startsWith("/") ? xdg : join(env.HOME ?? homedir(), ".local", "state");
  const dir = join(base, "opg");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hex8 = (value: string) => value.toLowerCase().replace(/^0x/, "").slice(0, 8);
  return join(
    dir,
    `operator-${binding.chainId}-${hex8(binding.genesisHash)}-${hex8(binding.settlement)}.sqlite`,
  );
}
