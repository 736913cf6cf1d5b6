import type { Command } from "commander";
import { OpgError } from "../../sdk/errors.js";
import { contextAction, type CliEnv } from "../action.js";
import { answerLines, decodeAnswer } from "../answer.js";
import { exitCodeForVerdict } from "../exit-codes.js";
import { readCheckedModelFile, type CheckedModelFile } from "../model-file.js";
import { fileExists, parseId } from "../parse.js";

/** What to do next, by verdict. */
const NEXT: Readonly<Record<string, string>> = {
  pending: "not settled yet: audit it once `opg status <requestId>` says Fulfilled (exit 3)",
  refunded: "refunded: there is no result to audit (exit 4)",
  rejected: "the result does not check out (exit 2)",
  unknown: "no such request on this settlement (exit 1)",
};

/** `opg audit <requestId>`: verify a result from chain data alone, as its verification mode proves it. */
export function addAuditCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("audit")
    .description(
      "verify a result from chain data alone, as its verification mode proves it (exit 0 verified, 2 rejected, 3 pending, 4 refunded)",
    )
    .argument("<requestId>")
    .option(
      "--model-file <path>",
      "the model file to check (sha256 against the registry, first) and re-run (default: the registered URI if it is a local file)",
    )
    .action(
      contextAction(cli, false, async ({ client, progress }, id: string, opts: { modelFile?: string }) => {
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
