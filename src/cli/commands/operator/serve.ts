import type { Command } from "commander";
import { privateKeyToAccount } from "viem/accounts";
import { defaultStatePath } from "../../../operator/state-path.js";
import { parseAddress } from "../../../sdk/addresses.js";
import { OpgError } from "../../../sdk/errors.js";
import { contextAction, type CliEnv } from "../../action.js";
import { readKeyFromEnv } from "../../context.js";
import { operatorLogger } from "../../logger.js";
import { readCheckedModelFile } from "../../model-file.js";
import { addSignerOptions } from "../../options/key.js";
import { checkUrl, parseBytes32, parseId, parseOpg } from "../../parse.js";

interface ServeOptions {
  model: string;
  modelFile: string;
  signerKeyEnv: string;
  db?: string;
  freshState?: boolean;
  healthPort?: string;
  pollMs: string;
  fromBlock?: string;
  ws?: string;
  withdrawEvery?: string;
  withdrawMin: string;
  payoutKeyEnv?: string;
  pool?: string;
  poolGraceMs: string;
  quietPort?: string;
  quietHost?: string;
  publicUrl?: string;
  batchIntervalMs?: string;
  redeemEvery?: string;
}

/** The node's `quiet` option from the quiet-mode flags; `undefined` without `--quiet-port`. */
function quietOptions(opts: ServeOptions) {
  const others = [
    ["--quiet-host", opts.quietHost],
    ["--public-url", opts.publicUrl],
    ["--batch-interval-ms", opts.batchIntervalMs],
    ["--redeem-every", opts.redeemEvery],
  ] as const;
  if (opts.quietPort === undefined) {
    const given = others.find(([, value]) => value !== undefined);
    if (given !== undefined) {
      throw new OpgError(
        "BadInput",
        `${given[0]} configures quiet mode: pass --quiet-port <port> to serve it`,
      );
    }
    return undefined;
  }
  const port = Number(parseId(opts.quietPort, "--quiet-port"));
  if (port > 65_535) throw new OpgError("BadInput", `--quiet-port must be 0 to 65535, got ${port}`);
  const batchIntervalMs =
    opts.batchIntervalMs === undefined
      ? undefined
      : Number(parseId(opts.batchIntervalMs, "--batch-interval-ms"));
  if (batchIntervalMs === 0) throw new OpgError("BadInput", "--batch-interval-ms must be at least 1");
  const redeemEverySeconds =
    opts.redeemEvery === undefined ? undefined : Number(parseId(opts.redeemEvery, "--redeem-every"));
  if (redeemEverySeconds === 0) throw new OpgError("BadInput", "--redeem-every must be at least 1 second");
  return {
    port,
    ...(opts.quietHost === undefined ? {} : { host: opts.quietHost }),
    ...(opts.publicUrl === undefined ? {} : { publicUrl: checkUrl(opts.publicUrl, "--public-url", "http") }),
    ...(batchIntervalMs === undefined ? {} : { batchIntervalMs }),
    ...(redeemEverySeconds === undefined ? {} : { redeemEverySeconds }),
  };
}

/** `opg operator serve`: run the operator node until SIGINT/SIGTERM. */
export function addOperatorServeCommand(parent: Command, cli: CliEnv): Command {
  const command = parent
    .command("serve")
    .description(
      "run the operator node: watch requests, run or prove the model, fulfil (Ctrl-C stops it); logs for people on a terminal, JSON lines otherwise or with --json",
    )
    .requiredOption("--model <id>", "model version to serve")
    .requiredOption(
      "--model-file <path>",
      "local copy of its file (sha256 checked against the registry first)",
    );
  addSignerOptions(command, false);
  return command
    .option(
      "--db <path>",
      "SQLite file for the node's state (default: one per chain and deployment under $XDG_STATE_HOME/opg or ~/.local/state/opg)",
    )
    .option(
      "--fresh-state",
      "start with an empty state: an existing state file is moved aside to <file>.<timestamp>.bak first",
    )
    .option("--health-port <port>", "serve /health and /metrics on 127.0.0.1:<port>")
    .option("--poll-ms <ms>", "polling interval", "500")
    .option("--from-block <n>", "first block to scan on a fresh database")
    .option("--ws <url>", "WebSocket RPC, ws(s)://: new requests wake the node at once (or set OPG_WS_URL)")
    .option("--withdraw-every <seconds>", "withdraw ledger earnings to the payout this often")
    .option("--withdraw-min <OPG>", "withdraw only balances of at least this much", "0")
    .option(
      "--payout-key-env <VAR>",
      "environment variable holding the payout account's key, when it is not the operator account",
    )
    .option(
      "--pool <addresses>",
      "comma-separated operator accounts (this one included) sharing the requests by rendezvous ranking",
    )
    .option("--pool-grace-ms <ms>", "how long each pool member waits behind the one ranked before it", "4000")
    .option(
      "--quiet-port <port>",
      "serve quiet mode: the HTTP gateway (POST /v1/infer) on this port (0: any free port), committing receipts on chain",
    )
    .option(
      "--quiet-host <host>",
      "interface the gateway listens on (default 127.0.0.1; put a TLS proxy in front)",
    )
    .option(
      "--public-url <url>",
      "the gateway's URL as clients reach it (published in the operator registry; batch data is announced under it)",
    )
    .option("--batch-interval-ms <ms>", "commit waiting receipts at least this often (default 2000)")
    .option(
      "--redeem-every <seconds>",
      "redeem the final quiet-mode vouchers this often, and once at start (or run `opg operator redeem`)",
    )
    .action(
      contextAction(cli, true, async (ctx, opts: ServeOptions) => {
        const { env } = ctx;
        const modelId = parseBytes32(opts.model, "--model");
        const operator = privateKeyToAccount(ctx.key!).address;
        const pool =
          opts.pool === undefined
            ? undefined
            : {
                operators: opts.pool.split(",").map((a) => parseAddress(a.trim(), "--pool")),
                graceMs: Number(parseId(opts.poolGraceMs, "--pool-grace-ms")),
              };
        if (pool !== undefined && !pool.operators.some((a) => a === operator)) {
          throw new OpgError(
            "BadInput",
            `--pool must include this node's operator account ${operator} (the key in the environment)`,
          );
        }
        const wsRaw = opts.ws ?? (env.OPG_WS_URL === "" ? undefined : env.OPG_WS_URL);
        const wsUrl =
          wsRaw === undefined
            ? undefined
            : checkUrl(wsRaw, opts.ws === undefined ? "OPG_WS_URL" : "--ws", "ws");
        const withdrawIntervalMs =
          opts.withdrawEvery === undefined
            ? undefined
            : Number(parseId(opts.withdrawEvery, "--withdraw-every")) * 1000;
        if (withdrawIntervalMs === 0)
          throw new OpgError("BadInput", "--withdraw-every must be at least 1 second");
        const payoutKey =
          opts.payoutKeyEnv === undefined
            ? undefined
            : readKeyFromEnv(
                env,
                opts.payoutKeyEnv,
                "the node withdraws the payout's earnings",
                "--payout-key-env",
              );
        const quiet = quietOptions(opts);
        const signerKey = readKeyFromEnv(
          env,
          opts.signerKeyEnv,
          "the node signs results",
          "--signer-key-env",
        );
        // The file must be the registered one: checked by hash before anything parses it.
        await readCheckedModelFile(ctx.client, modelId, opts.modelFile);

        let database = opts.db;
        if (database === undefined) {
          const { readBinding } = await import("../../../operator/binding.js");
          database = defaultStatePath(
            await readBinding(ctx.client.publicClient, ctx.addresses.settlement),
            env,
          );
        }
        cli.io.err(
          `opg operator serve: state file ${database}${opts.freshState === true ? " (fresh state)" : ""}`,
        );

        const { OperatorNode } = await import("../../../operator/node.js");
        const node = new OperatorNode({
          rpcUrl: ctx.rpc,
          settlement: ctx.addresses.settlement,
          operatorKey: ctx.key!,
          signerKey,
          models: [{ modelId, file: opts.modelFile }],
          database,
          ...(opts.freshState === true ? { freshState: true } : {}),
          logger: operatorLogger({ pretty: cli.io.outIsTty === true && !ctx.json }),
          pollIntervalMs: Number(parseId(opts.pollMs, "--poll-ms")),
          ...(opts.healthPort === undefined
            ? {}
            : { healthPort: Number(parseId(opts.healthPort, "--health-port")) }),
          ...(pool === undefined ? {} : { pool }),
          ...(opts.fromBlock === undefined ? {} : { fromBlock: parseId(opts.fromBlock, "--from-block") }),
          ...(wsUrl === undefined ? {} : { wsUrl }),
          ...(withdrawIntervalMs === undefined
            ? {}
            : { withdrawIntervalMs, withdrawMinimum: parseOpg(opts.withdrawMin, "--withdraw-min") }),
          ...(payoutKey === undefined ? {} : { payoutKey }),
          ...(quiet === undefined ? {} : { quiet }),
        });
        // Listen for SIGINT/SIGTERM before starting: a signal while the node loads its models stops it cleanly too.
        let onSignal: () => void = () => undefined;
        const signalled = new Promise<void>((resolve) => (onSignal = resolve));
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        let healthUrl: string | undefined;
        try {
          let quietUrl: string | undefined;
          ({ healthUrl, quietUrl } = await node.start());
          if (quietUrl !== undefined) cli.io.err(`opg operator serve: quiet-mode gateway on ${quietUrl}`);
          await signalled;
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          await node.stop();
        }
        // Proving started snarkjs's worker threads, which would keep the process alive.
        const { releaseZk } = await import("../../../zk/prover.js");
        await releaseZk();
        return {
          human: [`operator node stopped${healthUrl === undefined ? "" : ` (health was ${healthUrl})`}`],
          json: { stopped: true, database },
        };
      }),
    );
}
