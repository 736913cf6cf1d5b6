import {
  type Abi,
  type Account,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type PublicClient,
  type SimulateContractParameters,
  type TransactionReceipt,
  type WalletClient,
  type WriteContractParameters,
} from "viem";
import type { QuietModeInfo } from "./actions/getQuietMode.js";
import type { AddressKey, ProtocolAddresses } from "./addresses.js";
import { OpgError } from "./errors.js";

/**
 * What every action takes first: a viem public client for reads, an optional wallet client for writes and signatures
 * (its account sends every transaction), and the deployment's addresses. `K` names the addresses the action needs, so
 * a program that only knows the settlement core (an operator node, an auditor) can call the actions that need no
 * more. `createOpgClient` returns one of these, with a `cache`.
 */
export interface OpgContext<K extends AddressKey = AddressKey> {
  publicClient: PublicClient;
  walletClient?: WalletClient | undefined;
  addresses: Pick<ProtocolAddresses, K>;
  /** Memo of what never changes for a deployment (chain id, mode contracts); absent: nothing is cached. */
  cache?: OpgCache;
}

/** Per-client memo of immutable chain facts. */
export interface OpgCache {
  chainId?: Promise<number>;
  modeContracts: Map<number, Promise<Address>>;
  /** The deployment's quiet-mode contract and its immutable terms (`getQuietMode`). */
  quietMode?: Promise<QuietModeInfo>;
}

/** An empty memo, for a client's lifetime. */
export function createCache(): OpgCache {
  return { modeContracts: new Map() };
}

/** What every write returns: the transaction, its gas, and its receipt. */
export interface WriteResult {
  hash: Hex;
  gasUsed: bigint;
  blockNumber: bigint;
  receipt: TransactionReceipt;
}

/** The wallet's account, or a `NoAccount` error: the action sends a transaction or signs. */
export function requireAccount(ctx: Pick<OpgContext<never>, "walletClient">): Account {
  const account = ctx.walletClient?.account;
  if (ctx.walletClient === undefined || account === undefined) {
    throw new OpgError(
      "NoAccount",
      "this action sends a transaction or signs: pass a walletClient with an account to the client",
    );
  }
  return account;
}

/** The chain id the public client serves (asked once per cache). */
export function chainIdOf(ctx: Pick<OpgContext<never>, "publicClient" | "cache">): Promise<number> {
  if (ctx.cache === undefined) return ctx.publicClient.getChainId();
  return (ctx.cache.chainId ??= ctx.publicClient.getChainId());
}

type WriteFunction<abi extends Abi> = ContractFunctionName<abi, "nonpayable" | "payable">;

/** A contract write: the same fields as viem's `writeContract`, without the account. */
export interface WriteCall<abi extends Abi, name extends WriteFunction<abi>> {
  address: Address;
  abi: abi;
  functionName: name;
  args: ContractFunctionArgs<abi, "nonpayable" | "payable", name>;
}

/**
 * Simulate, send and wait: a revert surfaces as a decodable protocol error before anything is sent (see
 * `decodeProtocolError`), and the result is returned only once the transaction is mined successfully.
 */
export async function writeAndWait<const abi extends Abi, name extends WriteFunction<abi>>(
  ctx: Pick<OpgContext<never>, "publicClient" | "walletClient">,
  call: WriteCall<abi, name>,
): Promise<WriteResult> {
  const account = requireAccount(ctx);
  const { request } = await ctx.publicClient.simulateContract({
    ...call,
    account,
  } as unknown as SimulateContractParameters);
  const hash = await ctx.walletClient!.writeContract(request as unknown as WriteContractParameters);
  const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") {
    throw new OpgError("Reverted", `transaction ${hash} was mined but reverted`);
  }
  return { hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, receipt };
}

/** The latest block's timestamp (unix seconds): deadlines are measured against chain time, not the local clock. */
export async function latestTimestamp(ctx: Pick<OpgContext<never>, "publicClient">): Promise<bigint> {
  return (await ctx.publicClient.getBlock({ blockTag: "latest" })).timestamp;
}
