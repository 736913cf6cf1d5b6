import type { Command } from "commander";
import type { Address, Hex } from "viem";
import { quietModeAbi } from "../../../abi/index.js";
import { parseAddress } from "../../../sdk/addresses.js";
import { contextAction, type CliEnv, type CommandContext } from "../../action.js";
import { formatOpg, parseBytes32 } from "../../parse.js";

interface ShowOptions {
  payer?: string;
  model?: string;
}

/** The operators `payer` ever funded a channel with (from `ChannelFunded` logs, oldest first). */
async function fundedOperators(ctx: CommandContext, quietMode: Address, payer: Address): Promise<Address[]> {
  const events = await ctx.client.publicClient.getContractEvents({
    address: quietMode,
    abi: quietModeAbi,
    eventName: "ChannelFunded",
    args: { payer },
    fromBlock: 0n,
    strict: true,
  });
  return [...new Set(events.map((e) => e.args.operator))];
}

const when = (refundAt: bigint) =>
  refundAt === 0n
    ? "no refund requested"
    : `refund due at ${new Date(Number(refundAt) * 1000).toISOString()} (${refundAt})`;

/** `opg channel show [operator]`: a payer's channel(s), and per model what the operator has claimed. */
export function addChannelShowCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("show")
    .description(
      "show your quiet-mode channel with an operator (all your channels when none is given): funds, refund time, and with --model what the operator has redeemed per model",
    )
    .argument("[operator]", "the operator (staking) account (default: every operator you funded)")
    .option("--payer <address>", "whose channel (default: your account, from the key in the environment)")
    .option("--model <ids>", "comma-separated model version ids: show the claimed amount of each sub-channel")
    .action(
      contextAction(cli, false, async (ctx, operatorArg: string | undefined, opts: ShowOptions) => {
        const { client } = ctx;
        const payer =
          opts.payer === undefined ? ctx.keyAccount("--payer") : parseAddress(opts.payer, "--payer");
        const models: Hex[] =
          opts.model === undefined
            ? []
            : opts.model.split(",").map((id) => parseBytes32(id.trim(), "--model"));
        const quiet = await client.getQuietMode();
        const operators =
          operatorArg === undefined
            ? await fundedOperators(ctx, quiet.address, payer)
            : [parseAddress(operatorArg, "<operator>")];
        const channels = await Promise.all(
          operators.map(async (operator) => {
            const [channel, subChannels] = await Promise.all([
              client.getChannel({ payer, operator }),
              Promise.all(
                models.map(async (modelId) => ({
                  modelId,
                  ...(await client.getSubChannel({ payer, operator, modelId })),
                })),
              ),
            ]);
            return { operator, ...channel, models: subChannels };
          }),
        );
        const human =
          channels.length === 0
            ? [`${payer} has funded no quiet-mode channel: \`opg channel fund <operator> <OPG>\``]
            : channels.flatMap((c) => [
                `channel of ${payer} with ${c.operator}: ${formatOpg(c.funds)}, ${when(c.refundAt)}`,
                ...c.models.map(
                  (m) =>
                    `  model ${m.modelId}: ${formatOpg(m.claimed)} claimed${m.credit === 0n ? "" : `, ${formatOpg(m.credit)} of struck receipts not yet deducted`}`,
                ),
              ]);
        return { human, json: { payer, channels } };
      }),
    );
}
