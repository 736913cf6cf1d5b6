import { access, readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { formatUnits, isHex, parseUnits, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { sha256Hex } from "../model/hash.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../model/runtime.js";
import { PROTOCOL_DEFAULTS } from "../protocol/defaults.js";
import { MODE_NAMES, modeByName, modeName, VerificationMode } from "../protocol/modes.js";
import { ProtocolLimits } from "../protocol/limits.js";
import { fieldToBytes32 } from "../protocol/zk.js";
import { parseAddress } from "../sdk/addresses.js";
import { explain, OpgError } from "../sdk/errors.js";
import { checkModelName, checkRoyalty, checkTtl } from "../sdk/limits.js";
import { createContext, readKeyFromEnv, type CliContext, type GlobalOptions } from "./context.js";

/** Where a command writes; tests pass their own. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Environment read for OPG_* settings and the key (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

const opg = (wei: bigint) => `${formatUnits(wei, 18)} OPG`;

function parseOpg(value: string, what: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(value.trim())) {
    throw new OpgError("BadInput", `${what} must be an OPG amount such as 2 or 0.5, got "${value}"`);
  }
  return parseUnits(value.trim(), 18);
}

function parseId(value: string, what: string): bigint {
  if (!/^\d+$/.test(value)) throw new OpgError("BadInput", `${what} must be a whole number, got "${value}"`);
  return BigInt(value);
}

function parseBytes32(value: string, what: string): Hex {
  if (!isHex(value) || value.length !== 66) {
    throw new OpgError("BadInput", `${what} must be a 0x-prefixed 32-byte hex id, got "${value}"`);
  }
  return value.toLowerCase() as Hex;
}

function parseMode(value: string): VerificationMode {
  const mode = modeByName(value);
  if (mode === undefined) {
    throw new OpgError(
      "BadInput",
      `--mode must be one of ${Object.values(MODE_NAMES).join(", ")}, got "${value}"`,
    );
  }
  return mode;
}

const fileExists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Build the program; `io` receives every line written. */
export function buildProgram(io: CliIo = defaultIo, state: { exitCode: number } = { exitCode: 0 }): Command {
  const program = new Command("opg")
    .description("OPG verifiable inference: models, requests, results and audits from the command line")
    .option("--rpc <url>", "JSON-RPC URL (env OPG_RPC_URL)")
    .option("--chain-id <id>", "expected chain id: refuse to act on another chain (env OPG_CHAIN_ID)")
    .option(
      "--addresses <file>",
      "contract addresses JSON, or Ignition deployed_addresses.json (env OPG_ADDRESSES)",
    )
    .option("--deployment <dir>", "Ignition deployment directory holding deployed_addresses.json")
    .option(
      "--key-env <VAR>",
      "name of the environment variable holding the private key (default OPG_PRIVATE_KEY)",
    )
    .option("--config <file>", "JSON file with rpc, chainId, addresses|deployment, keyEnv (env OPG_CONFIG)")
    .option("--json", "machine-readable output (one JSON document)")
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

  /** Run an action with a context; print `human` or the JSON value. */
  const action =
    <A extends unknown[]>(needsKey: boolean, run: (ctx: CliContext, ...args: A) => Promise<Output>) =>
    async (...args: A) => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      const ctx = await createContext(globals, needsKey, io.env ?? process.env);
      const output = await run(ctx, ...args);
      if (ctx.json) io.out(toJson(output.json));
      else for (const line of output.human) io.out(line);
      if (output.exitCode !== undefined) state.exitCode = output.exitCode;
    };

  /** The signing key in environment variable `name`, checked against `--signer` when given. */
  const signerFromEnv = (name: string, purpose: string, expected: string | undefined) => {
    const key = privateKeyToAccount(readKeyFromEnv(io.env ?? process.env, name, purpose, "--signer-key-env"));
    if (expected !== undefined && parseAddress(expected, "--signer") !== key.address) {
      throw new OpgError(
        "BadInput",
        `the signing key in ${name} is ${key.address}, not --signer ${expected}: set ${name} to that key's private key`,
      );
    }
    return key;
  };

  program
    .command("modes")
    .description(
      "the verification modes open on this deployment and their contracts (read from the settlement)",
    )
    .action(
      action(false, async ({ client }) => {
        const modes = await client.openModes();
        const human = modes.map((m) => `${m.name.padEnd(10)} mode ${m.mode}  ${m.contract}`);
        if (human.length === 0) human.push("no verification mode is open");
        return { human, json: modes };
      }),
    );

  program
    .command("status")
    .description("show a request, its status and result")
    .argument("<requestId>")
    .action(
      action(false, async ({ client }, id: string) => {
        const info = await client.getRequest(parseId(id, "requestId"));
        const r = info.request;
        const human = [
          `request #${info.requestId}: ${info.status}`,
          `  model ${r.modelId} (mode ${modeName(r.mode)})`,
          `  requester ${r.requester}, fee ${opg(r.fee)}, deadline ${new Date(Number(r.deadline) * 1000).toISOString()}`,
          `  input hash ${r.inputHash}`,
          `  opened in block ${info.blockNumber}, tx ${info.transactionHash}`,
        ];
        if (info.result !== undefined) {
          const by =
            info.result.signer === "0x0000000000000000000000000000000000000000"
              ? "no signer: proven"
              : `signer ${info.result.signer}`;
          human.push(
            `  result by operator ${info.result.operator} (${by}), output hash ${info.result.outputHash}`,
            `  settled in block ${info.result.blockNumber}, tx ${info.result.transactionHash}`,
          );
        }
        return { human, json: info };
      }),
    );

  program
    .command("audit")
    .description(
      "verify a result from chain data alone, as its verification mode proves it (exit 0 verified, 2 otherwise)",
    )
    .argument("<requestId>")
    .option(
      "--model-file <path>",
      "the model file to check and re-run (default: the registered URI if it is a local file)",
    )
    .action(
      action(false, async ({ client }, id: string, opts: { modelFile?: string }) => {
        const requestId = parseId(id, "requestId");
        let modelFile = opts.modelFile;
        if (modelFile !== undefined && !(await fileExists(modelFile))) {
          throw new OpgError("BadInput", `model file not found: ${modelFile}`);
        }
        if (modelFile === undefined) {
          const info = await client.getRequest(requestId);
          const registered = (await client.listModels()).find((m) => m.modelId === info.request.modelId);
          if (registered !== undefined && (await fileExists(registered.uri))) modelFile = registered.uri;
        }
        const [{ auditWithModel }, { releaseZk }] = await Promise.all([
          import("../sdk/audit.js"),
          import("../zk/prover.js"),
        ]);
        let report;
        try {
          report = await auditWithModel({
            publicClient: client.publicClient,
            settlement: client.addresses.settlement,
            requestId,
            ...(modelFile === undefined ? {} : { modelFile }),
          });
        } finally {
          // A zk audit verifies the proof with snarkjs, whose worker threads would keep the process alive.
          await releaseZk();
        }
        const human = report.checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.name.padEnd(40)} ${c.detail}`);
        human.push(`verdict: ${report.verdict}`);
        const exitCode = report.verdict === "verified" ? 0 : 2;
        return { human, json: { ...report, modelFile: modelFile ?? null }, exitCode };
      }),
    );

  const model = program.command("model").description("model versions in the registry");
  model
    .command("show")
    .argument("<modelId>")
    .description("show a registered model version")
    .action(
      action(false, async ({ client }, id: string) => {
        const m = await client.getModel(parseBytes32(id, "model id"));
        const modes = [VerificationMode.Signature, VerificationMode.Zk]
          .filter((f) => (m.modes & f) !== 0)
          .map(modeName);
        const human = [
          `model ${m.modelId}: ${m.status}`,
          `  owner ${m.owner}, family ${m.familyId}`,
          `  file sha256 ${m.fileHash}, runtime ${m.runtimeHash}`,
          `  fee ${opg(m.fee)}, royalty ${m.royaltyBps} bps, modes ${modes.join(" | ")}`,
        ];
        if ((m.modes & VerificationMode.Zk) !== 0) {
          human.push(
            `  zk weight commitment ${m.zkCommitment}`,
            `  zk verifier ${m.zkVerifier}, pinned code hash ${m.zkVerifierCodeHash}`,
          );
        }
        return { human, json: m };
      }),
    );
  model
    .command("list")
    .description("list registered model versions (from ModelRegistered events)")
    .option("--from-block <n>", "first block to search", "0")
    .action(
      action(false, async ({ client }, opts: { fromBlock: string }) => {
        const models = await client.listModels({ fromBlock: parseId(opts.fromBlock, "--from-block") });
        const human = models.map(
          (m) => `${m.modelId}  ${m.name.padEnd(16)} fee ${opg(m.fee)}  owner ${m.owner}`,
        );
        if (human.length === 0) human.push("no models registered");
        return { human, json: models };
      }),
    );
  model
    .command("register")
    .description("register a model version: a commitment to the file, the runtime and optionally zk weights")
    .requiredOption("--file <onnx>", "model file")
    .requiredOption("--name <name>", "family name")
    .requiredOption("--fee <OPG>", "fee per inference in OPG")
    .requiredOption("--royalty <bps>", "model owner's royalty in basis points")
    .option("--uri <uri>", "where the file can be fetched (default: the --file path)")
    .option(
      "--zk-verifier <address>",
      "Groth16 verifier: also commit the quantized weights and the verifier's code hash (read from the chain), and allow zk mode",
    )
    .action(
      action(
        true,
        async (
          { client },
          opts: {
            file: string;
            name: string;
            fee: string;
            royalty: string;
            uri?: string;
            zkVerifier?: string;
          },
        ) => {
          let bytes: Uint8Array;
          try {
            bytes = new Uint8Array(await readFile(opts.file));
          } catch {
            throw new OpgError("BadInput", `model file not found: ${opts.file}`);
          }
          checkModelName(opts.name);
          const royaltyBps = Number(opts.royalty);
          if (opts.royalty.trim() === "" || !Number.isInteger(royaltyBps)) {
            throw new OpgError("BadInput", `--royalty must be whole basis points, got "${opts.royalty}"`);
          }
          checkRoyalty(royaltyBps, "--royalty");
          const zkVerifier =
            opts.zkVerifier === undefined ? undefined : parseAddress(opts.zkVerifier, "--zk-verifier");
          let zkCommitment: Hex | undefined;
          if (zkVerifier !== undefined) {
            const [{ weightCommitment }, { quantizedModel }] = await Promise.all([
              import("../zk/commitment.js"),
              import("../sdk/inputs.js"),
            ]);
            zkCommitment = fieldToBytes32(await weightCommitment(await quantizedModel(bytes)));
          }
          const result = await client.registerModel({
            name: opts.name,
            fileHash: sha256Hex(bytes),
            runtimeHash: runtimeHash(DEFAULT_RUNTIME),
            uri: opts.uri ?? opts.file,
            fee: parseOpg(opts.fee, "--fee"),
            royaltyBps,
            ...(zkVerifier === undefined ? {} : { zkVerifier, zkCommitment }),
          });
          const human = [`registered model ${result.modelId}`];
          if (zkVerifier !== undefined) {
            human.push(
              `  zk verifier ${zkVerifier}: code hash ${result.zkVerifierCodeHash} (keccak256 of its code, read from the chain), pinned in the model id`,
              `  zk weight commitment ${zkCommitment!}`,
            );
          }
          human.push(`  tx ${result.hash}, gas ${result.gasUsed}`);
          return {
            human,
            json: {
              modelId: result.modelId,
              ...(zkVerifier === undefined
                ? {}
                : { zkVerifier, zkVerifierCodeHash: result.zkVerifierCodeHash, zkCommitment }),
              hash: result.hash,
              gasUsed: result.gasUsed,
              blockNumber: result.blockNumber,
            },
          };
        },
      ),
    );
  model
    .command("revoke")
    .argument("<modelId>")
    .description("revoke a model version (owner only; final)")
    .action(
      action(true, async ({ client }, id: string) => {
        const result = await client.revokeModel(parseBytes32(id, "model id"));
        return {
          human: [`revoked model ${id}`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: { modelId: id, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );

  program
    .command("request")
    .description("open an inference request; the input travels on chain in a data: URI")
    .requiredOption("--model <id>", "model version id")
    .requiredOption("--input <values>", 'comma-separated features, e.g. "5.1,3.5,1.4,0.2"')
    .addOption(
      new Option("--pay <method>", "how the fee is paid")
        .choices(["prepaid", "transfer", "permit"])
        .default("prepaid"),
    )
    .option("--max-fee <OPG>", "highest fee accepted (default: the model's fee)")
    .option(
      "--ttl <seconds>",
      `seconds until the request can be refunded (at most ${ProtocolLimits.MAX_REQUEST_TTL})`,
      "3600",
    )
    .addOption(
      new Option("--mode <mode>", "verification mode")
        .choices(Object.values(MODE_NAMES))
        .default(MODE_NAMES[VerificationMode.Signature]),
    )
    .option("--model-file <path>", "zk mode: the model file, for the input commitment")
    .action(
      action(
        true,
        async (
          { client },
          opts: {
            model: string;
            input: string;
            pay: "prepaid" | "transfer" | "permit";
            maxFee?: string;
            ttl: string;
            mode: string;
            modelFile?: string;
          },
        ) => {
          const { parseFeatures, prepareInput, quantizedModel } = await import("../sdk/inputs.js");
          const modelId = parseBytes32(opts.model, "--model");
          const mode = parseMode(opts.mode);
          const features = parseFeatures(opts.input);
          const zkModel =
            mode === VerificationMode.Zk
              ? await quantizedModel(
                  opts.modelFile ?? (await client.listModels()).find((m) => m.modelId === modelId)?.uri ?? "",
                ).catch(() => {
                  throw new OpgError("BadInput", "zk mode needs the model file: pass --model-file <path>");
                })
              : undefined;
          const input = await prepareInput(features, mode, zkModel);
          const result = await client.openRequest(
            {
              modelId,
              inputHash: input.inputHash,
              inputUri: input.inputUri,
              ttl: checkTtl(parseId(opts.ttl, "--ttl"), "--ttl"),
              mode,
              ...(opts.maxFee === undefined ? {} : { maxFee: parseOpg(opts.maxFee, "--max-fee") }),
            },
            { pay: opts.pay },
          );
          return {
            human: [
              `opened request #${result.requestId} (${opts.pay}, mode ${opts.mode}), fee ${opg(result.request.fee)}`,
              `  input hash ${input.inputHash}`,
              `  tx ${result.hash}, gas ${result.gasUsed}`,
            ],
            json: {
              requestId: result.requestId,
              request: result.request,
              inputUri: input.inputUri,
              hash: result.hash,
              gasUsed: result.gasUsed,
            },
          };
        },
      ),
    );

  program
    .command("refund")
    .argument("<requestId>")
    .description("refund an expired request (anyone may; the fee returns to the requester's balance)")
    .action(
      action(true, async ({ client }, id: string) => {
        const result = await client.refund(parseId(id, "requestId"));
        return {
          human: [
            `refunded request #${id}: ${opg(result.amount)}`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ],
          json: { requestId: id, amount: result.amount, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );

  program
    .command("deposit")
    .argument("<amount>", "OPG")
    .description("deposit OPG into the prepaid balance (one transaction with an EIP-2612 permit)")
    .addOption(
      new Option("--method <m>", "permit or approve").choices(["permit", "approve"]).default("permit"),
    )
    .action(
      action(true, async ({ client }, amount: string, opts: { method: "permit" | "approve" }) => {
        const value = parseOpg(amount, "amount");
        const result = await client.deposit(value, { method: opts.method });
        const balance = await client.balance();
        return {
          human: [
            `deposited ${opg(value)}; balance ${opg(balance)}`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ],
          json: { amount: value, balance, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );

  program
    .command("withdraw")
    .description("withdraw from the prepaid/earned balance (default: all of it, to yourself)")
    .option("--amount <OPG>", "amount to withdraw")
    .option("--to <address>", "recipient")
    .action(
      action(true, async ({ client }, opts: { amount?: string; to?: string }) => {
        const to: Address | undefined = opts.to === undefined ? undefined : parseAddress(opts.to, "--to");
        const result = await client.withdraw({
          ...(opts.amount === undefined ? {} : { amount: parseOpg(opts.amount, "--amount") }),
          ...(to === undefined ? {} : { to }),
        });
        return {
          human: [`withdrew ${opg(result.amount)}`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: {
            amount: result.amount,
            to: to ?? client.account()?.address,
            hash: result.hash,
            gasUsed: result.gasUsed,
          },
        };
      }),
    );

  const operator = program.command("operator").description("operators: stake, signing key, serving requests");
  operator
    .command("register")
    .description(
      "register the key's account as an operator with a signing key (from OPG_SIGNER_KEY, which signs its proof of possession), a payout address and a stake",
    )
    .option("--signer-key-env <VAR>", "environment variable holding the signing key", "OPG_SIGNER_KEY")
    .option("--signer <address>", "the signing key's address, to check the key in the environment against")
    .requiredOption("--payout <address>", "where earnings are credited")
    .requiredOption("--stake <OPG>", "initial stake (at least the registry's minimum to serve)")
    .action(
      action(
        true,
        async (
          { client },
          opts: { signerKeyEnv: string; signer?: string; payout: string; stake: string },
        ) => {
          const key = signerFromEnv(
            opts.signerKeyEnv,
            "the signing key signs its proof of possession",
            opts.signer,
          );
          const payout = parseAddress(opts.payout, "--payout");
          const amount = parseOpg(opts.stake, "--stake");
          const result = await client.registerOperator(key, payout, amount);
          const info = await client.getOperator(client.account()!.address);
          const human = [
            `registered operator ${info.operator} with signing key ${key.address} (proof of possession signed by it), payout ${payout}, stake ${opg(amount)}`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ];
          if (!info.eligible) {
            human.push(
              "  not eligible to serve yet: the stake is below the registry's minimum (operator stake <OPG>)",
            );
          }
          return {
            human,
            json: {
              operator: info.operator,
              signer: key.address,
              payout,
              stake: amount,
              eligible: info.eligible,
              hash: result.hash,
              gasUsed: result.gasUsed,
            },
          };
        },
      ),
    );
  operator
    .command("rotate-signer")
    .description(
      "replace the operator's signing key by the one in OPG_SIGNER_KEY (it signs its proof of possession); the old key stops serving at once",
    )
    .option("--signer-key-env <VAR>", "environment variable holding the new signing key", "OPG_SIGNER_KEY")
    .option("--signer <address>", "the new key's address, to check the key in the environment against")
    .action(
      action(true, async ({ client }, opts: { signerKeyEnv: string; signer?: string }) => {
        const key = signerFromEnv(
          opts.signerKeyEnv,
          "the new signing key signs its proof of possession",
          opts.signer,
        );
        const before = await client.getOperator(client.account()!.address);
        const result = await client.rotateSigner(key);
        return {
          human: [
            `rotated the signing key of ${before.operator}: ${before.signer} → ${key.address}`,
            `  restart the operator node with the new key (--signer-key-env); the old key can no longer settle results`,
            `  tx ${result.hash}, gas ${result.gasUsed}`,
          ],
          json: {
            operator: before.operator,
            oldSigner: before.signer,
            signer: key.address,
            hash: result.hash,
            gasUsed: result.gasUsed,
          },
        };
      }),
    );
  operator
    .command("stake")
    .argument("<amount>", "OPG to add")
    .description("add stake")
    .action(
      action(true, async ({ client }, amount: string) => {
        const value = parseOpg(amount, "amount");
        const result = await client.stake(value);
        return {
          human: [`staked ${opg(value)}`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: { amount: value, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
  operator
    .command("unstake")
    .argument("<amount>", "OPG to unbond")
    .description("start unbonding stake (withdrawable after the unbonding delay; slashable until then)")
    .action(
      action(true, async ({ client }, amount: string) => {
        const value = parseOpg(amount, "amount");
        const result = await client.unbond(value);
        return {
          human: [`unbonding ${opg(value)}`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: { amount: value, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
  operator
    .command("withdraw")
    .description("withdraw stake whose unbonding delay has passed")
    .option("--to <address>", "recipient (default: the operator account)")
    .action(
      action(true, async ({ client }, opts: { to?: string }) => {
        const to = opts.to === undefined ? undefined : parseAddress(opts.to, "--to");
        const result = await client.withdrawUnbonded(to);
        return {
          human: [`withdrew unbonded stake`, `  tx ${result.hash}, gas ${result.gasUsed}`],
          json: { to, hash: result.hash, gasUsed: result.gasUsed },
        };
      }),
    );
  operator
    .command("show")
    .argument("[address]", "operator (default: the key's account)")
    .description("an operator's signing key, payout, stake, unbonding and eligibility")
    .action(
      action(false, async ({ client }, address: string | undefined) => {
        const who = address === undefined ? client.account()?.address : parseAddress(address, "address");
        if (who === undefined)
          throw new OpgError("BadInput", "pass an operator address or set the private key");
        const info = await client.getOperator(who);
        return {
          human: [
            `operator ${who}: ${info.eligible ? "eligible" : "not eligible"}`,
            `  signer ${info.signer}, payout ${info.payout}`,
            `  stake ${opg(info.stake)}, unbonding ${opg(info.unbonding)}`,
          ],
          json: info,
        };
      }),
    );
  operator
    .command("serve")
    .description("run the operator node: watch requests, run or prove the model, fulfil (Ctrl-C stops it)")
    .requiredOption("--model <id>", "model version to serve")
    .requiredOption("--model-file <path>", "local copy of its file (checked against the registered sha256)")
    .option("--signer-key-env <VAR>", "environment variable holding the signing key", "OPG_SIGNER_KEY")
    .option("--db <path>", "SQLite file for the node's state", "opg-operator.sqlite")
    .option("--health-port <port>", "serve /health and /metrics on 127.0.0.1:<port>")
    .option("--poll-ms <ms>", "polling interval", "500")
    .option("--from-block <n>", "first block to scan on a fresh database")
    .option("--ws <url>", "WebSocket RPC: new requests wake the node at once (or set OPG_WS_URL)")
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
    .action(
      action(
        true,
        async (
          ctx,
          opts: {
            model: string;
            modelFile: string;
            signerKeyEnv: string;
            db: string;
            healthPort?: string;
            pollMs: string;
            fromBlock?: string;
            ws?: string;
            withdrawEvery?: string;
            withdrawMin: string;
            payoutKeyEnv?: string;
            pool?: string;
            poolGraceMs: string;
          },
        ) => {
          const { OperatorNode } = await import("../operator/node.js");
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
          const env = io.env ?? process.env;
          const wsUrl = opts.ws ?? (env.OPG_WS_URL === "" ? undefined : env.OPG_WS_URL);
          if (wsUrl !== undefined && !/^wss?:\/\//.test(wsUrl)) {
            throw new OpgError("BadInput", `--ws must be a ws:// or wss:// URL`);
          }
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
          const signerKey = readKeyFromEnv(
            io.env ?? process.env,
            opts.signerKeyEnv,
            "the node signs results",
            "--signer-key-env",
          );
          const node = new OperatorNode({
            rpcUrl: ctx.rpc,
            settlement: ctx.addresses.settlement,
            operatorKey: ctx.key!,
            signerKey,
            models: [{ modelId: parseBytes32(opts.model, "--model"), file: opts.modelFile }],
            database: opts.db,
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
          });
          const { healthUrl } = await node.start();
          await new Promise<void>((resolve) => {
            const stop = () => {
              void node.stop().then(resolve);
            };
            process.once("SIGINT", stop);
            process.once("SIGTERM", stop);
          });
          // Proving started snarkjs's worker threads, which would keep the process alive.
          const { releaseZk } = await import("../zk/prover.js");
          await releaseZk();
          return {
            human: [`operator node stopped${healthUrl === undefined ? "" : ` (health was ${healthUrl})`}`],
            json: { stopped: true },
          };
        },
      ),
    );

  program
    .command("balance")
    .description("prepaid balance in settlement and OPG held (of --account, or of the key's account)")
    .option("--account <address>", "account to show")
    .action(
      action(false, async ({ client }, opts: { account?: string }) => {
        const who =
          opts.account === undefined ? client.account()?.address : parseAddress(opts.account, "--account");
        if (who === undefined)
          throw new OpgError("BadInput", "pass --account <address> or set the private key");
        const [ledger, held] = await Promise.all([client.balance(who), client.tokenBalance(who)]);
        return {
          human: [`${who}: balance ${opg(ledger)}, holds ${opg(held)}`],
          json: { account: who, balance: ledger, token: held },
        };
      }),
    );

  program
    .command("deploy")
    .description(
      "deploy the protocol from the key's account (governance) over JSON-RPC and write its addresses file",
    )
    .option("--token <address>", "use this existing OPG token (default: deploy a new OPG token)")
    .option(
      "--supply <OPG>",
      `supply of a new token, minted to the deployer (default ${formatUnits(PROTOCOL_DEFAULTS.opgSupply, 18)})`,
    )
    .option("--treasury <address>", "receives the protocol fees (default: the deployer)")
    .option(
      "--min-stake <OPG>",
      `minimum operator stake (default ${formatUnits(PROTOCOL_DEFAULTS.minStake, 18)})`,
    )
    .option(
      "--unbonding-delay <seconds>",
      `seconds before unbonded stake can be withdrawn (default ${PROTOCOL_DEFAULTS.unbondingDelay})`,
    )
    .option("--protocol-fee-bps <bps>", `protocol fee (default ${PROTOCOL_DEFAULTS.protocolFeeBps})`)
    .option(
      "--equivocation-penalty <OPG>",
      `stake slashed for an equivocation (default ${formatUnits(PROTOCOL_DEFAULTS.equivocationPenalty, 18)})`,
    )
    .option(
      "--reporter-reward-bps <bps>",
      `reporter's share of a slashed penalty (default ${PROTOCOL_DEFAULTS.reporterRewardBps})`,
    )
    .option(
      "--with-iris-verifier",
      "also deploy IrisMlpVerifier, the Groth16 verifier of the example Iris model",
    )
    .option(
      "--out <file>",
      "addresses file to write (default deploy/deployments/chain-<id>/deployed_addresses.json)",
    )
    .option("--force", "overwrite an existing --out file")
    .action(
      async (
        opts: {
          token?: string;
          supply?: string;
          treasury?: string;
          minStake?: string;
          unbondingDelay?: string;
          protocolFeeBps?: string;
          equivocationPenalty?: string;
          reporterRewardBps?: string;
          withIrisVerifier?: boolean;
          out?: string;
          force?: boolean;
        },
        command: Command,
      ) => {
        if (opts.token !== undefined && opts.supply !== undefined) {
          throw new OpgError("BadInput", "--supply is only for a new token: drop --supply or --token");
        }
        /** `undefined` for an absent option, else the parsed value. */
        const given = <T>(value: string | undefined, parse: (value: string) => T) =>
          value === undefined ? undefined : parse(value);
        const { runDeploy } = await import("./deploy.js");
        const globals = command.optsWithGlobals<GlobalOptions>();
        const output = await runDeploy(
          globals,
          {
            token: given(opts.token, (v) => parseAddress(v, "--token")),
            supply: given(opts.supply, (v) => parseOpg(v, "--supply")),
            treasury: given(opts.treasury, (v) => parseAddress(v, "--treasury")),
            minStake: given(opts.minStake, (v) => parseOpg(v, "--min-stake")),
            unbondingDelay: given(opts.unbondingDelay, (v) => parseId(v, "--unbonding-delay")),
            protocolFeeBps: given(opts.protocolFeeBps, (v) => Number(parseId(v, "--protocol-fee-bps"))),
            equivocationPenalty: given(opts.equivocationPenalty, (v) =>
              parseOpg(v, "--equivocation-penalty"),
            ),
            reporterRewardBps: given(opts.reporterRewardBps, (v) =>
              Number(parseId(v, "--reporter-reward-bps")),
            ),
            irisVerifier: opts.withIrisVerifier === true,
            out: opts.out,
            force: opts.force === true,
            progress: globals.json === true ? undefined : io.err,
          },
          io.env ?? process.env,
        );
        if (globals.json === true) io.out(toJson(output.json));
        else for (const line of output.human) io.out(line);
      },
    );

  return program;
}

interface Output {
  human: string[];
  json: unknown;
  exitCode?: number;
}

/** Run the CLI; resolves to the exit code. Errors become one line that says what to fix. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const state = { exitCode: 0 };
  const program = buildProgram(io, state);
  const json = argv.includes("--json");
  try {
    await program.parseAsync([...argv], { from: "user" });
    return state.exitCode;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      const exitCode = (error as { exitCode?: number }).exitCode ?? 1;
      // help and version are not errors
      return code === "commander.helpDisplayed" || code === "commander.version" ? 0 : exitCode;
    }
    const message = explain(error);
    if (json) io.out(toJson({ error: message }));
    io.err(`error: ${message}`);
    return 1;
  }
}
