/**
 * Run an operator node from the environment (keys never come from flags or files in the repository):
 *
 *   OPG_RPC_URL, OPG_SETTLEMENT, OPG_OPERATOR_KEY (staking account, sends transactions),
 *   OPG_SIGNER_KEY (registered signing key), OPG_MODEL_ID, OPG_MODEL_FILE, OPG_DB (SQLite file),
 *   optional OPG_HEALTH_PORT, OPG_POLL_MS, OPG_FROM_BLOCK.
 */
import type { Address, Hex } from "viem";
import { OperatorNode } from "../src/operator/node.js";

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    console.error(`set ${name} (see the header of scripts/operator-node.ts)`);
    process.exit(1);
  }
  return value;
}

const node = new OperatorNode({
  rpcUrl: env("OPG_RPC_URL"),
  settlement: env("OPG_SETTLEMENT") as Address,
  operatorKey: env("OPG_OPERATOR_KEY") as Hex,
  signerKey: env("OPG_SIGNER_KEY") as Hex,
  models: [{ modelId: env("OPG_MODEL_ID") as Hex, file: env("OPG_MODEL_FILE") }],
  database: env("OPG_DB"),
  pollIntervalMs: Number(process.env.OPG_POLL_MS ?? 500),
  ...(process.env.OPG_HEALTH_PORT === undefined ? {} : { healthPort: Number(process.env.OPG_HEALTH_PORT) }),
  ...(process.env.OPG_FROM_BLOCK === undefined ? {} : { fromBlock: BigInt(process.env.OPG_FROM_BLOCK) }),
});
await node.start();
const stop = async () => {
  await node.stop();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
