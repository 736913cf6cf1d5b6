import type { Command } from "commander";
import { dirname, join } from "node:path";
import { createWalletClient, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { defaultStatePath } from "../../operator/state-path.js";
import { parseAddress } from "../../sdk/addresses.js";
import { OpgError } from "../../sdk/errors.js";
import { contextAction, type CliEnv } from "../action.js";
import { readKeyFromEnv } from "../context.js";
import { operatorLogger } from "../logger.js";
import { parseBytes32, parseId } from "../parse.js";

interface WatchOptions {
  fromBlock?: string;
  operator: string[];
  modelFile: string[];
  receipts?: string;
  sample: string;
  db?: string;
  freshState?: boolean;
  healthPort?: string;
  challengerKeyEnv: string;
  pollMs: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `<id>=<path>` of `--model-file`. */
function parseModelFile(value: string): { modelId: Hex; path: string } {
  const at = value.indexOf("=");
  if (at <= 0 || at === value.length - 1) {
    throw new OpgError("BadInput", `--model-file ${value}: expected <modelId>=<path>`);
  }
  return { modelId: parseBytes32(value.slice(0, at), "--model-file"), path: value.slice(at + 1) };
}

function parseSample(value: string): number {
  const rate = Number(value);
  if (!/^(?:0|1|0?\.\d+|1\.0*)$/.test(value) || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new OpgError("BadInput", `--sample ${value}: expected a share from 0 to 1 (e.g. 0.1)`);
  }
  return rate;
}

/** `opg watch`: follow quiet-mode batches, re-execute receipts, challenge a cheat; until SIGINT/SIGTERM. */
export function addWatchCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("watch")
    .description(
      "watch quiet mode: follow committed batches, check their data and receipts, re-execute, and challenge a cheat (Ctrl-C stops it)",
    )
    .option("--from-block <n>", "first block to scan on a fresh state file", "0")
    .option("--operator <address>", "watch only this operator (repeatable; default: all)", collect, [])
    .option(
      "--model-file <id=path>",
      "a model version to re-execute and its local file (repeatable; sha256 checked against the registry)",
      collect,
      [],
    )
    .option(
      "--receipts <dir>",
      "a directory of receipt files (the payer's; they hold the inputs), read as they appear",
    )
    .option("--sample <rate>", "share of receipts re-executed, 0 to 1 (deterministic by seq)", "1")
    .option(
      "--db <path>",
      "SQLite file for the watcher's state (default: one per chain and deployment under $XDG_STATE_HOME/opg or ~/.local/state/opg)",
    )
    .option("--fresh-state", "move an existing state file aside to <file>.<timestamp>.bak and start empty")
    .option("--health-port <port>", "serve /health and /metrics on 127.0.0.1:<port>")
    .option(
      "--challenger-key-env <VAR>",
      "environment variable holding the challenger's private key (unset: report only, never challenge)",
      "OPG_WATCH_KEY",
    )
    .option("--poll-ms <ms>", "time between passes", "2000")
    .action(
      contextAction(cli, false, async (ctx, opts: WatchOptions) => {
        const { env, client } = ctx;
        const operators: Address[] = opts.operator.map((o) => parseAddress(o, "--operator"));
        const models = opts.modelFile.map(parseModelFile);
        const sample = parseSample(opts.sample);
        const challengerKey =
          env[opts.challengerKeyEnv] === undefined || env[opts.challengerKeyEnv] === ""
            ? undefined
            : readKeyFromEnv(env, opts.challengerKeyEnv, "the watcher challenges", "--challenger-key-env");
        const walletClient =
          challengerKey === undefined
            ? undefined
            : createWalletClient({
                chain: client.publicClient.chain,
                transport: http(ctx.rpc, { retryCount: 0, timeout: 30_000 }),
                account: privateKeyToAccount(challengerKey),
              });
        if (walletClient === undefined) {
          cli.io.err(
            `opg watch: no key in ${opts.challengerKeyEnv}: reporting only, no challenges will be sent`,
          );
        }
        let database = opts.db;
        if (database === undefined) {
          const [{ watchStateFileName }, quiet, genesis] = await Promise.all([
            import("../../watch/watcher.js"),
            client.getQuietMode(),
            client.publicClient.getBlock({ blockNumber: 0n }),
          ]);
          const binding = { chainId: ctx.chainId, genesisHash: genesis.hash, quietMode: quiet.address };
          const dir = dirname(defaultStatePath({ ...binding, settlement: quiet.address }, env));
          database = join(dir, watchStateFileName(binding));
        }
        cli.io.err(`opg watch: state file ${database}${opts.freshState === true ? " (fresh state)" : ""}`);

        const { Watcher } = await import("../../watch/watcher.js");
        const watcher = new Watcher({
          publicClient: client.publicClient,
          ...(walletClient === undefined ? {} : { walletClient }),
          addresses: ctx.addresses,
          database,
          ...(opts.freshState === true ? { freshState: true } : {}),
          fromBlock: parseId(opts.fromBlock ?? "0", "--from-block"),
          operators,
          models,
          ...(opts.receipts === undefined ? {} : { receiptsDir: opts.receipts }),
          sample,
          pollIntervalMs: Number(parseId(opts.pollMs, "--poll-ms")),
          ...(opts.healthPort === undefined
            ? {}
            : { healthPort: Number(parseId(opts.healthPort, "--health-port")) }),
          logger: operatorLogger({ pretty: cli.io.outIsTty === true && !ctx.json, name: "opg-watch" }),
        });
        // One SIGINT (or SIGTERM) stops it, also while it loads.
        let onSignal: () => void = () => undefined;
        const signalled = new Promise<void>((resolve) => (onSignal = resolve));
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        let healthUrl: string | undefined;
        let counters: Record<string, number> | undefined;
        try {
          ({ healthUrl } = await watcher.start());
          await signalled;
          counters = watcher.healthReport().counters;
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          await watcher.stop();
          // Proving started snarkjs's worker threads, which would keep the process alive.
          const { releaseZk } = await import("../../zk/prover.js");
          await releaseZk();
        }
        return {
          human: [
            `watcher stopped${healthUrl === undefined ? "" : ` (health was ${healthUrl})`}`,
            ...Object.entries(counters).map(([name, value]) => `  ${name.padEnd(40)} ${value}`),
          ],
          json: { stopped: true, database, counters },
        };
      }),
    );
}
