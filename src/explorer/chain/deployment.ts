import { createPublicClient, http, type Address, type PublicClient } from "viem";
import { inferenceSettlementAbi, type OpgContext, type ProtocolAddresses } from "../../browser/index.js";
import type { ExplorerConfig } from "../config.js";

/** A deployment as the page reads it: a client for the RPC, the contracts found through the core, its first block. */
export interface Deployment {
  client: PublicClient;
  /**
   * The context the SDK's actions take (read-only: no wallet). The page calls the actions it needs one by one rather
   * than through `createOpgClient`, which binds every action and so loads them all.
   */
  sdk: OpgContext;
  chainId: number;
  addresses: ProtocolAddresses;
  /** Where event reads start: the core's deployment block, or the block the visitor gave. */
  fromBlock: bigint;
}

/** Connect to the RPC and find the deployment from the core's address alone. */
export async function connect(config: ExplorerConfig): Promise<Deployment> {
  const client = createPublicClient({ transport: http(config.rpc, { batch: true, retryCount: 1 }) });
  const settlement = config.settlement;
  const [chainId, code] = await Promise.all([client.getChainId(), client.getCode({ address: settlement })]);
  if (code === undefined || code === "0x") {
    throw new Error(
      `No contract at ${settlement} on chain ${chainId}: is this the settlement address for this RPC?`,
    );
  }
  const read = (functionName: "token" | "models" | "operators") =>
    client.readContract({ address: settlement, abi: inferenceSettlementAbi, functionName });
  const [token, models, operators] = await Promise.all([read("token"), read("models"), read("operators")]);
  const addresses: ProtocolAddresses = { token, models, operators, settlement };
  const fromBlock = config.fromBlock ?? (await deploymentBlock(client, settlement));
  return {
    client,
    sdk: { publicClient: client, addresses },
    chainId,
    addresses,
    fromBlock,
  };
}

/**
 * The first block at which `address` has code: a binary search over `eth_getCode` at past blocks (about 25 calls on
 * a chain of 30 million blocks). A node that keeps no history for old blocks fails a call: the search then starts
 * at block 0, and the visitor can give the block in the URL (`from`).
 */
export async function deploymentBlock(client: PublicClient, address: Address): Promise<bigint> {
  let low = 0n;
  let high = await client.getBlockNumber();
  try {
    while (low < high) {
      const middle = (low + high) / 2n;
      const code = await client.getCode({ address, blockNumber: middle });
      if (code === undefined || code === "0x") low = middle + 1n;
      else high = middle;
    }
    return low;
  } catch {
    return 0n;
  }
}
