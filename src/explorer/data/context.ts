import { BlockTimes } from "../chain/blocks.js";
import type { Deployment } from "../chain/deployment.js";
import { LogStore } from "../chain/logs.js";

/** What every view reads through: the deployment, its cached event logs and block times. */
export interface Explorer {
  deployment: Deployment;
  logs: LogStore;
  blocks: BlockTimes;
}

/** An explorer over `deployment`, its logs cached in `storage` (sessionStorage in the page) when given. */
export function createExplorer(deployment: Deployment, storage?: Storage): Explorer {
  return {
    deployment,
    logs: new LogStore(
      deployment.client,
      deployment.chainId,
      deployment.fromBlock,
      storage ? { storage } : {},
    ),
    blocks: new BlockTimes(deployment.client),
  };
}
