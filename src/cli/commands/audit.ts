import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { zeroAddress } from "viem";
import type { ReceiptAuditReport } from "../../audit/receipt-types.js";
import { VerificationMode } from "../../protocol/modes.js";
import { QuietJsonError, receiptRecordFromJson, type QuietReceiptRecord } from "../../protocol/quiet-json.js";
import { OpgError } from "../../sdk/errors.js";
import { contextAction, type CliEnv, type CommandContext } from "../action.js";
import { answerLines, decodeAnswer } from "../answer.js";
import { exitCodeForVerdict } from "../exit-codes.js";
import type { Output } from "../io.js";
import { readCheckedModelFile, type CheckedModelFile } from "../model-file.js";
import { fileExists, parseId } from "../parse.js";

/** What to do next, by verdict. */
const NEXT: Readonly<Record<string, string>> = {
  pending: "not settled yet: audit it once `opg status <requestId>` says Fulfilled (exit 3)",
  refunded: "refunded: there is no result to audit (exit 4)",
  rejected: "the result does not check out (exit 2)",
  unknown: "no such request on this settlement (exit 1)",
};

/** What to do next after a receipt audit, by state. */
const RECEIPT_NEXT: Readonly<Record<string, string>> = {
  uncommitted: "not committed yet: audit it again after the operator's next batch (exit 3)",
  "in window": "committed, in its challenge window: it is final after the challenge deadline (exit 3)",
};

/** A receipt file (`QuietReceiptRecord` JSON), or a usage error naming the file and the bad field. */
async function readReceiptFile(path: string): Promise<QuietReceiptRecord> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new OpgError("BadInput", `receipt file not found: ${path}`);
  }
  try {
    return receiptRecordFromJson(JSON.parse(text));
  } catch (error) {
    const why = error instanceof QuietJsonError ? error.message : `not JSON (${(error as Error).message})`;
    throw new OpgError("BadInput", `${path} is not a quiet receipt file: ${why}`);
  }
}

interface ReceiptAuditFlags {
  receipt: string;
  modelFile?: string;
  prove?: boolean;
  operatorUrl?: string;
}

/** `opg audit --receipt <file>`: a quiet receipt end to end (signatures, key at its time, inclusion, window, re-run). */
async function auditReceiptCommand(
  { client, progress }: CommandContext,
  opts: ReceiptAuditFlags,
): Promise<Output> {
  const record = await readReceiptFile(opts.receipt);
  if (opts.modelFile !== undefined && !(await fileExists(opts.modelFile))) {
    throw new OpgError("BadInput", `model file not found: ${opts.modelFile}`);
  }
  const modelId = record.request.modelId;
  let file: CheckedModelFile | undefined;
  const registered = (await client.listModels()).find((m) => m.modelId === modelId);
  if (opts.modelFile !== undefined) {
    file = await readCheckedModelFile(client, modelId, opts.modelFile);
  } else if (registered !== undefined && (await fileExists(registered.uri))) {
    file = await readCheckedModelFile(client, modelId, registered.uri, "the registered URI");
  }
  const [{ auditReceiptWithModel }, { releaseZk }] = await Promise.all([
    import("../../audit/receipt-tools.js"),
    import("../../zk/prover.js"),
  ]);
  progress(
    `auditing receipt seq ${record.receipt.seq} of ${record.receipt.operator}${file === undefined ? "" : " (re-running the model)"}${opts.prove === true ? " (proving)" : ""}`,
  );
  let report: ReceiptAuditReport;
  try {
    report = await auditReceiptWithModel({
      client: client.publicClient,
      settlement: client.addresses.settlement,
      record,
      ...(file !== undefined && { modelFile: file.bytes }),
      ...(opts.prove === true && { prove: true }),
      ...(opts.operatorUrl !== undefined && { operatorUrl: opts.operatorUrl }),
    });
  } finally {
    await releaseZk();
  }
  const zk = registered !== undefined && registered.zkVerifier !== zeroAddress;
  const answer = decodeAnswer(
    record.output,
    zk ? VerificationMode.Zk : VerificationMode.Signature,
    file?.outputWidth,
  );
  const mark = (c: ReceiptAuditReport["checks"][number]) => (!c.ok ? "✗" : c.pending === true ? "…" : "✓");
  const human = [
    `receipt seq ${report.seq} of operator ${report.operator} (model ${modelId})`,
    ...report.checks.map((c) => `${mark(c)} ${c.name.padEnd(40)} ${c.detail}`),
    ...report.skipped.map((s) => `- skipped: ${s}`),
    ...answerLines(answer, ""),
  ];
  if (report.commitDeadline !== undefined) {
    human.push(
      `commit deadline ${report.commitDeadline}, challenge deadline ${report.challengeDeadline}, chain time ${report.chainTime}`,
    );
  }
  human.push(`state: ${report.state}`, `verdict: ${report.verdict}`);
  const next =
    report.verdict === "failed" ? "the receipt does not check out (exit 2)" : RECEIPT_NEXT[report.state];
  if (next !== undefined) human.push(`  ${next}`);
  return {
    human,
    json: {
      receipt: opts.receipt,
      ...report,
      modelFile: file?.path ?? null,
      ...(answer !== undefined && { answer }),
    },
    exitCode: exitCodeForVerdict(report.verdict),
  };
}

interface AuditFlags {
  modelFile?: string;
  receipt?: string;
  prove?: boolean;
  operatorUrl?: string;
}

/** `opg audit <requestId>`: verify a result from chain data alone, as its verification mode proves it. */
export function addAuditCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("audit")
    .description(
      "verify a result from chain data alone, as its verification mode proves it, or with --receipt <file> a quiet receipt end to end (exit 0 verified, 2 rejected, 3 pending, 4 refunded)",
    )
    .argument("[requestId]", "the request to audit (omit with --receipt)")
    .option(
      "--receipt <file>",
      "audit a quiet receipt file (opg infer --out, the SDK's onReceipt record) instead",
    )
    .option(
      "--model-file <path>",
      "the model file to check (sha256 against the registry, first) and re-run (default: the registered URI if it is a local file)",
    )
    .option(
      "--prove",
      "with --receipt, for a zk-circuit model: generate a Groth16 proof of the request and verify it",
    )
    .option(
      "--operator-url <url>",
      "with --receipt: the operator's gateway for the inclusion proof (default: the file's)",
    )
    .action(
      contextAction(cli, false, async (ctx, id: string | undefined, opts: AuditFlags) => {
        const { client, progress } = ctx;
        if (opts.receipt !== undefined) {
          if (id !== undefined)
            throw new OpgError("BadInput", "give a requestId or --receipt <file>, not both");
          return auditReceiptCommand(ctx, { ...opts, receipt: opts.receipt });
        }
        if (id === undefined) throw new OpgError("BadInput", "give a requestId, or --receipt <file>");
        if (opts.prove === true) throw new OpgError("BadInput", "--prove applies to --receipt audits");
        const requestId = parseId(id, "requestId");
        if (opts.modelFile !== undefined && !(await fileExists(opts.modelFile))) {
          throw new OpgError("BadInput", `model file not found: ${opts.modelFile}`);
        }
        const info = await client.getRequest({ requestId });
        const modelId = info.request.modelId;
        let file: CheckedModelFile | undefined;
        if (opts.modelFile !== undefined) {
          file = await readCheckedModelFile(client, modelId, opts.modelFile);
        } else {
          const registered = (await client.listModels()).find((m) => m.modelId === modelId);
          if (registered !== undefined && (await fileExists(registered.uri))) {
            file = await readCheckedModelFile(client, modelId, registered.uri, "the registered URI");
          }
        }
        const [{ auditWithModel }, { releaseZk }] = await Promise.all([
          import("../../sdk/audit.js"),
          import("../../zk/prover.js"),
        ]);
        progress(`auditing request #${requestId}${file === undefined ? "" : " (re-running the model)"}`);
        let report;
        try {
          report = await auditWithModel({
            publicClient: client.publicClient,
            settlement: client.addresses.settlement,
            requestId,
            ...(file === undefined ? {} : { modelFile: file.bytes }),
          });
        } finally {
          // A zk audit verifies the proof with snarkjs, whose worker threads would keep the process alive.
          await releaseZk();
        }
        const answer =
          report.result === undefined || report.request === undefined
            ? undefined
            : decodeAnswer(report.result.output, report.request.mode, file?.outputWidth);
        const human = report.checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.name.padEnd(40)} ${c.detail}`);
        if (report.result !== undefined) human.push(...answerLines(answer, ""));
        human.push(`verdict: ${report.verdict}`);
        const next = NEXT[report.verdict];
        if (next !== undefined) human.push(`  ${next.replace("<requestId>", id)}`);
        return {
          human,
          json: { ...report, modelFile: file?.path ?? null, ...(answer === undefined ? {} : { answer }) },
          exitCode: exitCodeForVerdict(report.verdict),
        };
      }),
    );
}
