import { Option, type Command } from "commander";
import type { Hex } from "viem";
import { MODE_NAMES, VerificationMode } from "../../protocol/modes.js";
import { ProtocolLimits } from "../../protocol/limits.js";
import type { OpgClient } from "../../sdk/client.js";
import { OpgError } from "../../sdk/errors.js";
import { checkTtl } from "../../sdk/limits.js";
import { contextAction, type CliEnv, type CommandContext } from "../action.js";
import { answerLines, decodeAnswer } from "../answer.js";
import { ExitCode } from "../exit-codes.js";
import { checkFeatures, checkFinite } from "../../sdk/features.js";
import type { Output } from "../io.js";
import { readCheckedModelFile, type CheckedModelFile } from "../model-file.js";
import { fileExists, formatOpg, parseBytes32, parseId, parseMode, parseOpg } from "../parse.js";

interface RequestOptions {
  model: string;
  input: string;
  pay: "prepaid" | "transfer" | "permit";
  maxFee?: string;
  ttl: string;
  mode: string;
  modelFile?: string;
  /** `--wait` alone is `true`; `--wait 60` is `"60"`. */
  wait?: boolean | string;
}

/** Seconds `--wait` waits when given no value. */
export const DEFAULT_WAIT_SECONDS = 300;

/**
 * The model file to check the input against: `--model-file` (its sha256 checked against the registry before it is
 * parsed), else the registered URI when it is a local file. `undefined` when there is none (signature mode; zk
 * mode needs one).
 */
async function modelFileFor(
  client: OpgClient,
  modelId: Hex,
  mode: number,
  path: string | undefined,
): Promise<CheckedModelFile | undefined> {
  const zk = mode === VerificationMode.Zk;
  if (path !== undefined) {
    if (zk && !(await fileExists(path))) {
      throw new OpgError(
        "BadInput",
        `zk mode needs the model file: pass --model-file <path> (${path} not found)`,
      );
    }
    return readCheckedModelFile(client, modelId, path);
  }
  // No --model-file: the registered URI, when it names a file here (a checkout, a mirror), is checked the same way.
  const uri = (await client.listModels()).find((m) => m.modelId === modelId)?.uri;
  if (uri === undefined || !(await fileExists(uri))) {
    if (!zk) return undefined;
    throw new OpgError("BadInput", "zk mode needs the model file: pass --model-file <path>");
  }
  return readCheckedModelFile(client, modelId, uri, "the registered URI");
}

/** Wait for request `requestId` to settle and describe the outcome (the answer, or the refund / timeout). */
async function waitAndReport(
  ctx: CommandContext,
  requestId: bigint,
  seconds: number,
  mode: number,
  outputWidth: number | undefined,
): Promise<Pick<Output, "human" | "exitCode"> & { json: Record<string, unknown> }> {
  const started = Date.now();
  let polls = 0;
  try {
    const info = await ctx.client.waitForResult({
      requestId,
      timeoutMs: seconds * 1000,
      onPoll: (status) => {
        if (polls++ % 8 === 0) {
          ctx.progress(
            `waiting for request #${requestId}: ${status} after ${Math.round((Date.now() - started) / 1000)} s`,
          );
        }
      },
    });
    if (info.status === "Refunded") {
      return {
        human: [
          `request #${requestId} was refunded: no result; the fee is back in the requester's balance (opg balance)`,
        ],
        json: { status: info.status },
        exitCode: ExitCode.Refunded,
      };
    }
    const answer =
      info.result === undefined ? undefined : decodeAnswer(info.result.output, mode, outputWidth);
    return {
      human: [
        `request #${requestId}: ${info.status}`,
        ...answerLines(answer),
        ...(info.result === undefined
          ? []
          : [`  by operator ${info.result.operator}, tx ${info.result.transactionHash}`]),
        `  check it from chain data with \`opg audit ${requestId}\``,
      ],
      json: { status: info.status, result: info.result, ...(answer === undefined ? {} : { answer }) },
      exitCode: ExitCode.Ok,
    };
  } catch (error) {
    if (!(error instanceof OpgError)) throw error;
    const code: string = error.code;
    if (code === "RequestExpired") {
      return {
        human: [
          `request #${requestId} expired unfulfilled: no result can settle it now`,
          `  get the fee back with \`opg refund ${requestId}\``,
        ],
        json: { status: "Expired", message: error.message },
        exitCode: ExitCode.Refunded,
      };
    }
    if (code === "ResultTimeout") {
      return {
        human: [
          `request #${requestId} is not settled after ${seconds} s`,
          `  check later with \`opg status ${requestId}\` (or \`opg request … --wait <seconds>\` longer); after its deadline \`opg refund ${requestId}\` returns the fee`,
        ],
        json: { status: "Pending", message: error.message },
        exitCode: ExitCode.Pending,
      };
    }
    throw error;
  }
}

/** `opg request`: open an inference request, optionally wait for its answer. */
export function addRequestCommand(parent: Command, cli: CliEnv): Command {
  return parent
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
      // Quiet mode has no on-chain request: it is asked of an operator's endpoint (docs/quiet.md).
      new Option("--mode <mode>", "verification mode of the on-chain request")
        .choices([MODE_NAMES[VerificationMode.Signature], MODE_NAMES[VerificationMode.Zk]])
        .default(MODE_NAMES[VerificationMode.Signature]),
    )
    .option(
      "--model-file <path>",
      "the model file (sha256 checked against the registry): the input is checked against its width; zk mode needs it for the input commitment (default: the registered URI if local)",
    )
    .option(
      "--wait [seconds]",
      `after opening, wait for the result and show the answer (default ${DEFAULT_WAIT_SECONDS} s; exit 3 if still pending, 4 if refunded or expired)`,
    )
    .action(
      contextAction(cli, true, async (ctx, opts: RequestOptions) => {
        const { client, progress } = ctx;
        const { parseFeatures, prepareInput, quantizedModel } = await import("../../sdk/inputs.js");
        const modelId = parseBytes32(opts.model, "--model");
        const mode = parseMode(opts.mode);
        const ttl = checkTtl(parseId(opts.ttl, "--ttl"), "--ttl");
        const maxFee = opts.maxFee === undefined ? undefined : parseOpg(opts.maxFee, "--max-fee");
        const waitSeconds =
          opts.wait === undefined
            ? undefined
            : opts.wait === true
              ? DEFAULT_WAIT_SECONDS
              : Number(parseId(String(opts.wait), "--wait"));
        if (waitSeconds === 0) throw new OpgError("BadInput", "--wait must be at least 1 second");
        const features = parseFeatures(opts.input);
        checkFinite(features);
        const file = await modelFileFor(client, modelId, mode, opts.modelFile);
        const notes: string[] = [];
        if (file === undefined)
          notes.push("  input not checked against the model: pass --model-file to check it");
        else checkFeatures(features, file.inputWidth, mode);

        let input;
        if (mode === VerificationMode.Zk) {
          progress("computing the zk input commitment (Poseidon)");
          const { releaseZk } = await import("../../zk/prover.js");
          try {
            input = await prepareInput(features, mode, await quantizedModel(file!.bytes));
          } finally {
            await releaseZk();
          }
        } else {
          input = await prepareInput(features, mode);
        }
        progress(`opening the request (${opts.pay})`);
        const result = await client.openRequest({
          modelId,
          inputHash: input.inputHash,
          inputUri: input.inputUri,
          ttl,
          mode,
          ...(maxFee === undefined ? {} : { maxFee }),
          pay: opts.pay,
        });
        const human = [
          `opened request #${result.requestId} (${opts.pay}, mode ${opts.mode}), fee ${formatOpg(result.request.fee)}`,
          `  input hash ${input.inputHash}`,
          `  tx ${result.hash}, gas ${result.gasUsed}`,
          ...notes,
        ];
        const json: Record<string, unknown> = {
          requestId: result.requestId,
          request: result.request,
          inputUri: input.inputUri,
          inputChecked: file !== undefined,
          hash: result.hash,
          gasUsed: result.gasUsed,
        };
        if (waitSeconds === undefined) {
          human.push(
            `  follow it with \`opg status ${result.requestId}\` (or open with --wait to wait for the answer)`,
          );
          return { human, json };
        }
        const waited = await waitAndReport(ctx, result.requestId, waitSeconds, mode, file?.outputWidth);
        return {
          human: [...human, ...waited.human],
          json: { ...json, ...waited.json },
          ...(waited.exitCode === undefined ? {} : { exitCode: waited.exitCode }),
        };
      }),
    );
}
