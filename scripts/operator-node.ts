/**
 * Run an operator node from the environment (keys never come from flags or files in the repository):
 *
 *   OPG_RPC_URL, OPG_SETTLEMENT (the settlement core; the mode contracts fulfilments go to are read from it),
 *   OPG_OPERATOR_KEY (staking account, sends transactions),
 *   OPG_SIGNER_KEY (registered signing key), OPG_MODEL_ID, OPG_MODEL_FILE,
 *   optional OPG_DB (SQLite state file; default: `defaultStatePath` of the chain and settlement, under
 *   $XDG_STATE_HOME/opg or ~/.local/state/opg), OPG_FRESH_STATE=1 (move an existing state file aside and start
 *   empty), OPG_HEALTH_PORT, OPG_POLL_MS, OPG_FROM_BLOCK, OPG_WS_URL (WebSocket wake-ups),
 *   OPG_WITHDRAW_EVERY (seconds) and OPG_WITHDRAW_MIN (OPG) for scheduled withdrawals, OPG_PAYOUT_KEY (the
 *   payout account's key, when it is not the operator account).
 *
 * One SIGINT or SIGTERM stops the node (the step in progress finishes, the prover's workers are released) and the
 * process exits by itself.
 */
import { parseUnits, type Address, type Hex } from "viem";
import { readBindingAt } from "../src/operator/binding.js";
import { OperatorNode, StateMismatchError } from "../src/operator/node.js";
import { defaultStatePath } from "../src/operator/state-path.js";

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    console.error(`set ${name} (see the header of scripts/operator-node.ts)`);
    process.exit(1);
  }
  return value;
}

const rpcUrl = env("OPG_RPC_URL");
const settlement = env("OPG_SETTLEMENT") as Address;
const database =
  process.env.OPG_DB === undefined || process.env.OPG_DB === ""
    ? defaultStatePath(await readBindingAt(rpcUrl, settlement))
    : process.env.OPG_DB;

const node = new OperatorNode({
  rpcUrl,
  settlement,
  operatorKey: env("OPG_OPERATOR_KEY") as Hex,
  signerKey: env("OPG_SIGNER_KEY") as Hex,
  models: [{ modelId: env("OPG_MODEL_ID") as Hex, file: env("OPG_MODEL_FILE") }],
  database,
  freshState: process.env.OPG_FRESH_STATE === "1",
  pollIntervalMs: Number(process.env.OPG_POLL_MS ?? 500),
  ...(process.env.OPG_HEALTH_PORT === undefined ? {} : { healthPort: Number(process.env.OPG_HEALTH_PORT) }),
  ...(process.env.OPG_FROM_BLOCK === undefined ? {} : { fromBlock: BigInt(process.env.OPG_FROM_BLOCK) }),
  ...(process.env.OPG_WS_URL === undefined ? {} : { wsUrl: process.env.OPG_WS_URL }),
  ...(process.env.OPG_WITHDRAW_EVERY === undefined
    ? {}
    : {
        withdrawIntervalMs: Number(process.env.OPG_WITHDRAW_EVERY) * 1000,
        withdrawMinimum: parseUnits(process.env.OPG_WITHDRAW_MIN ?? "0", 18),
      }),
  ...(process.env.OPG_PAYOUT_KEY === undefined ? {} : { payoutKey: process.env.OPG_PAYOUT_KEY as Hex }),
});
try {
  const { healthUrl } = await node.start();
  console.error(
    `operator node started; state ${database}${healthUrl === undefined ? "" : `; health ${healthUrl}`}`,
  );
} catch (error) {
  await node.stop();
  console.error(error instanceof StateMismatchError ? error.message : error);
  process.exit(1);
}
const stop = async () => {
  await node.stop();
  console.error("operator node stopped");
  // No process.exit: with the node stopped nothing holds the event loop, so the process ends by itself.
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
