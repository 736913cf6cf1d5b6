import type { Command } from "commander";
import { privateKeyToAccount } from "viem/accounts";
import { defaultStatePath } from "../../../operator/state-path.js";
import { OpgError } from "../../../sdk/errors.js";
import { contextAction, type CliEnv } from "../../action.js";
import { fileExists, formatOpg, parseId } from "../../parse.js";

interface RedeemOptions {
  db?: string;
  dryRun?: boolean;
  chunk: string;
}

/** `opg operator redeem`: redeem the final quiet-mode vouchers the node's gateway collected. */
export function addOperatorRedeemCommand(parent: Command, cli: CliEnv): Command {
  return parent
    .command("redeem")
    .description(
      "quiet mode: redeem the latest voucher of each payer and model whose challenge window has passed, from the node's state file (opened read only), many per transaction; a running node redeems by itself with `operator serve --redeem-every`, sharing its nonces",
    )
    .option(
      "--db <path>",
      "the node's SQLite state file (default: the one `opg operator serve` uses for this chain and deployment)",
    )
    .option("--dry-run", "show what is due without sending anything")
    .option("--chunk <n>", "vouchers per transaction (1 to 256)", "64")
    .action(
      contextAction(cli, true, async (ctx, opts: RedeemOptions) => {
        const operator = privateKeyToAccount(ctx.key!).address;
        const chunk = Number(parseId(opts.chunk, "--chunk"));
        if (chunk < 1 || chunk > 256) throw new OpgError("BadInput", "--chunk must be 1 to 256 vouchers");
        let database = opts.db;
        if (database === undefined) {
          const { readBinding } = await import("../../../operator/binding.js");
          database = defaultStatePath(
            await readBinding(ctx.client.publicClient, ctx.addresses.settlement),
            ctx.env,
          );
        }
        if (!(await fileExists(database))) {
          throw new OpgError(
            "BadInput",
            `no node state file at ${database}: pass --db <file> (the path \`opg operator serve\` prints)`,
          );
        }
        const { openVouchersReadOnly } = await import("../../../operator/quiet-vouchers.js");
        const { redeemDueVouchers } = await import("../../../operator/quiet-redeemer.js");
        let db;
        try {
          db = openVouchersReadOnly(database);
        } catch (error) {
          throw new OpgError("BadInput", (error as Error).message);
        }
        ctx.progress(`reading ${database}`);
        let outcome;
        try {
          outcome = await redeemDueVouchers(ctx.client, db, operator, {
            ...(opts.dryRun === true ? { dryRun: true } : {}),
            chunk,
          });
        } finally {
          db.close();
        }
        const due = outcome.due.map(({ payer, modelId, cumulative, claimed }) => ({
          payer,
          modelId,
          cumulative,
          claimed,
        }));
        const owed = outcome.due.reduce((sum, d) => sum + d.cumulative - d.claimed, 0n);
        const human = [
          opts.dryRun === true
            ? `${due.length} voucher(s) due, ${formatOpg(owed)} signed above what was redeemed (dry run: nothing sent)`
            : `redeemed ${outcome.redeemed.filter((r) => r.paid > 0n).length} voucher(s): ${formatOpg(outcome.total)} out of the channels (split with the model's royalty and the protocol's share)`,
          ...due.map(
            (d) =>
              `  payer ${d.payer}, model ${d.modelId}: ${formatOpg(d.cumulative - d.claimed)} (total ${formatOpg(d.cumulative)})`,
          ),
          ...outcome.transactions.map((t) => `  tx ${t.hash}: ${t.vouchers} voucher(s), gas ${t.gasUsed}`),
          ...outcome.skipped.map((s) => `  skipped payer ${s.payer}, model ${s.modelId}: ${s.reason}`),
          `  ${outcome.settled} sub-channel(s) already redeemed in full; ${outcome.waiting} with vouchers still in their challenge window`,
        ];
        return {
          human,
          json: {
            operator,
            database,
            dryRun: opts.dryRun === true,
            due,
            skipped: outcome.skipped,
            waiting: outcome.waiting,
            settled: outcome.settled,
            redeemed: outcome.redeemed,
            total: outcome.total,
            transactions: outcome.transactions,
          },
        };
      }),
    );
}
