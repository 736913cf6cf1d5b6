import type { Command } from "commander";
import { zeroAddress, type Address, type Hex } from "viem";
import { readBinding } from "../../operator/binding.js";
import { VerificationMode } from "../../protocol/modes.js";
import { receiptRecordToJson, type QuietReceiptRecord } from "../../protocol/quiet-json.js";
import { parseAddress } from "../../sdk/addresses.js";
import { OpgError } from "../../sdk/errors.js";
import { checkFeatures, checkFinite } from "../../sdk/features.js";
import { OperatorRefusedError } from "../../sdk/quiet-gateway-client.js";
import { contextAction, type CliEnv, type CommandContext } from "../action.js";
import { answerLines, decodeAnswer } from "../answer.js";
import { ExitCode } from "../exit-codes.js";
import { refusalHint } from "../hints.js";
import type { Output } from "../io.js";
import { readCheckedModelFile, type CheckedModelFile } from "../model-file.js";
import { checkUrl, fileExists, formatOpg, parseBytes32, parseId, parseOpg } from "../parse.js";
import { payerStatePaths, receiptFileName, VoucherStateFile, writeReceiptRecord } from "../payer-state.js";
import { join } from "node:path";

interface InferOptions {
  operator: string;
  model: string;
  input: string;
  gateway?: string;
  fee?: string;
  ttl: string;
  out?: string;
  modelFile?: string;
}

/** Seconds the operator has to answer when `--ttl` is not given. */
export const DEFAULT_INFER_TTL = 300;

/**
 * The checked model file: `--model-file`, else the registered URI when it is a file here; `undefined` when there is
 * none and none is `required` (a model without a zk circuit: the input is then not checked against it).
 */
async function modelFile(
  ctx: CommandContext,
  modelId: Hex,
  path: string | undefined,
  required: boolean,
): Promise<CheckedModelFile | undefined> {
  if (path !== undefined) return readCheckedModelFile(ctx.client, modelId, path);
  const uri = (await ctx.client.listModels()).find((m) => m.modelId === modelId)?.uri;
  if (uri !== undefined && (await fileExists(uri))) {
    return readCheckedModelFile(ctx.client, modelId, uri, "the registered URI");
  }
  if (!required) return undefined;
  throw new OpgError(
    "BadInput",
    `model ${modelId} has a zk circuit: its input commitment needs the model file: pass --model-file <path>`,
  );
}

/** The gateway to post to: `--gateway`, else the endpoint the operator published on chain. */
async function gatewayUrl(ctx: CommandContext, operator: Address, flag: string | undefined): Promise<string> {
  if (flag !== undefined) return checkUrl(flag, "--gateway", "http");
  // The endpoint the operator published in the registry (anything but an http(s) URL reads as none).
  const published = await ctx.client.getOperatorEndpoint({ operator });
  if (published === undefined) {
    throw new OpgError(
      "BadInput",
      `operator ${operator} has published no quiet-mode endpoint on chain: pass --gateway <url> (the URL its \`opg operator serve --quiet-port\` prints)`,
    );
  }
  return checkUrl(published, `the endpoint operator ${operator} published`, "http");
}

/** An error line, its hint, and the JSON for `--json`, written as `main` writes errors; `exitCode` recorded. */
function failure(
  ctx: CommandContext,
  message: string,
  hint: string | undefined,
  exitCode: number,
  extra = {},
): Output {
  ctx.io.err(`error: ${message}`);
  if (hint !== undefined) ctx.io.err(`hint: ${hint}`);
  return { human: [], json: { error: message, ...extra, ...(hint === undefined ? {} : { hint }) }, exitCode };
}

/** `opg infer`: one quiet-mode inference through an operator's gateway, its receipt verified and saved. */
export function addInferCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("infer")
    .description(
      "quiet mode: ask an operator's gateway for an inference; the answer comes at once with a signed receipt, verified and saved (pays from your channel: opg channel fund)",
    )
    .requiredOption("--operator <address>", "the operator (staking) account to ask and pay")
    .requiredOption("--model <id>", "model version id (registered with quiet mode)")
    .requiredOption("--input <values>", 'comma-separated features, e.g. "5.1,3.5,1.4,0.2"')
    .option(
      "--gateway <url>",
      "the operator's gateway, http(s):// (default: the endpoint it published on chain)",
    )
    .option("--fee <OPG>", "this inference's fee (default: the model's fee)")
    .option("--ttl <seconds>", "seconds the operator has to answer", String(DEFAULT_INFER_TTL))
    .option("--out <file>", "also write the receipt record (JSON) to this file")
    .option(
      "--model-file <path>",
      "the model file (sha256 checked against the registry): checks the input's width; a zk-circuit model needs it for the input commitment (default: the registered URI if local)",
    )
    .action(
      contextAction(cli, true, async (ctx, opts: InferOptions) => {
        const { client, progress } = ctx;
        const { parseFeatures } = await import("../../sdk/inputs.js");
        const operator = parseAddress(opts.operator, "--operator");
        const modelId = parseBytes32(opts.model, "--model");
        const ttl = Number(parseId(opts.ttl, "--ttl"));
        if (ttl === 0) throw new OpgError("BadInput", "--ttl must be at least 1 second");
        const fee = opts.fee === undefined ? undefined : parseOpg(opts.fee, "--fee");
        const features = parseFeatures(opts.input);
        checkFinite(features);

        const [model, quiet, binding] = await Promise.all([
          client.getModel({ modelId }),
          client.getQuietMode(),
          readBinding(client.publicClient, ctx.addresses.settlement),
        ]);
        const zk = model.zkVerifier !== zeroAddress;
        const file = await modelFile(ctx, modelId, opts.modelFile, zk);
        if (file !== undefined) checkFeatures(features, file.inputWidth, VerificationMode.Signature);
        const gateway = await gatewayUrl(ctx, operator, opts.gateway);

        let inputHash: Hex | undefined;
        if (zk) {
          progress("computing the zk input commitment (Poseidon)");
          const { prepareInput, quantizedModel } = await import("../../sdk/inputs.js");
          const { releaseZk } = await import("../../zk/prover.js");
          try {
            inputHash = (await prepareInput(features, VerificationMode.Zk, await quantizedModel(file!.bytes)))
              .inputHash;
          } finally {
            await releaseZk();
          }
        }

        const payer = client.account()!.address;
        const paths = payerStatePaths(binding, quiet.address, payer, ctx.env);
        const voucherState = VoucherStateFile.open(paths.voucherFile);
        let record: QuietReceiptRecord | undefined;
        let saved: string | undefined;
        progress(`asking ${gateway}`);
        let result;
        try {
          result = await client.infer({
            operatorUrl: gateway,
            operator,
            modelId,
            input: features,
            ...(inputHash === undefined ? {} : { inputHash }),
            ...(fee === undefined ? {} : { fee }),
            ttlSeconds: ttl,
            voucherState,
            ...(file === undefined ? {} : { outputWidth: file.outputWidth }),
            onReceipt: (r) => {
              record = r;
              saved = writeReceiptRecord(join(paths.receiptsDir, receiptFileName(r)), r);
            },
          });
        } catch (error) {
          if (error instanceof OperatorRefusedError) {
            return failure(
              ctx,
              error.message,
              refusalHint(error.reason, { operator, modelId, voucherFile: paths.voucherFile }),
              ExitCode.Rejected,
              { code: error.reason, status: error.status },
            );
          }
          if (error instanceof OpgError && error.code === "ReceiptRejected") {
            return failure(
              ctx,
              error.message,
              "nothing was saved and the voucher state did not advance: report the operator; `opg operator show <operator>` shows its registration",
              ExitCode.Rejected,
              { code: error.code },
            );
          }
          if (error instanceof OpgError && error.code === "Unreachable") {
            return failure(
              ctx,
              error.message,
              `check --gateway ${gateway} (the operator's \`opg operator serve --quiet-port\`); if it served the request, the next voucher may be refused: the voucher state is ${paths.voucherFile}`,
              ExitCode.Unreachable,
              { code: error.code },
            );
          }
          throw error;
        }
        if (opts.out !== undefined) writeReceiptRecord(opts.out, record!);

        const answer = zk
          ? decodeAnswer(result.output, VerificationMode.Zk)
          : decodeAnswer(result.output, VerificationMode.Signature, file?.outputWidth);
        return {
          human: [
            `receipt #${result.receipt.seq} from operator ${operator} in ${Math.round(result.latencyMs)} ms (verified)`,
            // A zk-circuit model's class is the circuit's output, signed (not proven: a proof can challenge it).
            ...(zk && answer !== undefined
              ? answer.classes.map((c) => `  answer: class ${c} (the circuit's output)`)
              : answerLines(answer)),
            `  fee ${formatOpg(result.request.fee)}, voucher #${result.request.index}, ${formatOpg(result.request.cumulative)} signed to this operator and model so far`,
            `  receipt saved to ${saved}${opts.out === undefined ? "" : ` and ${opts.out}`}`,
          ],
          json: {
            ...receiptRecordToJson(record!),
            ...(answer === undefined ? {} : { answer }),
            latencyMs: result.latencyMs,
            receiptFile: saved,
            voucherFile: paths.voucherFile,
          },
        };
      }),
    );
}
