import type { Command } from "commander";
import type { CliEnv } from "../../action.js";
import { addChannelFundCommand } from "./fund.js";
import { addChannelRefundCommand } from "./refund.js";
import { addChannelShowCommand } from "./show.js";
import { addChannelWithdrawCommand } from "./withdraw.js";

/** `opg channel …`: a payer's quiet-mode channels (the funds `opg infer` pays from). */
export function addChannelCommands(parent: Command, cli: CliEnv): Command {
  const channel = parent
    .command("channel")
    .description("quiet-mode payment channels: fund one per operator, see it, get what is left back");
  addChannelFundCommand(channel, cli);
  addChannelShowCommand(channel, cli);
  addChannelRefundCommand(channel, cli);
  addChannelWithdrawCommand(channel, cli);
  return channel;
}
