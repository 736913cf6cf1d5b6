import type { Command } from "commander";
import { zeroAddress } from "viem";
import { modeName } from "../../protocol/modes.js";
import { contextAction, type CliEnv } from "../action.js";
import { answerLines, decodeAnswer } from "../answer.js";
import { formatOpg, parseId } from "../parse.js";

/** `opg status <requestId>`: a request, its status and, once settled, its result and decoded answer. */
export function addStatusCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("status")
    .description("show a request, its status, and its result with the decoded answer")
    .argument("<requestId>")
    .action(
      contextAction(cli, false, async ({ client }, id: string) => {
        const info = await client.getRequest({ requestId: parseId(id, "requestId") });
        const r = info.request;
        const human = [
          `request #${info.requestId}: ${info.status}`,
          `  model ${r.modelId} (mode ${modeName(r.mode)})`,
          `  requester ${r.requester}, fee ${formatOpg(r.fee)}, deadline ${new Date(Number(r.deadline) * 1000).toISOString()}`,
          `  input hash ${r.inputHash}`,
          `  opened in block ${info.blockNumber}, tx ${info.transactionHash}`,
        ];
        const answer = info.result === undefined ? undefined : decodeAnswer(info.result.output, r.mode);
        if (info.result !== undefined) {
          const by =
            info.result.signer === zeroAddress ? "no signer: proven" : `signer ${info.result.signer}`;
          human.push(
            ...answerLines(answer),
            `  result by operator ${info.result.operator} (${by}), output hash ${info.result.outputHash}`,
            `  settled in block ${info.result.blockNumber}, tx ${info.result.transactionHash}`,
          );
        } else if (info.status === "Pending") {
          human.push(`  not settled yet: \`opg request\` --wait, or run \`opg status ${id}\` again later`);
        }
        return { human, json: { ...info, ...(answer === undefined ? {} : { answer }) } };
      }),
    );
}
