import { readFile } from "node:fs/promises";
import { access } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import {
  DEPLOYED_ADDRESSES_FILE,
  deploymentDir,
  parseAddresses,
  readAddresses,
  type ProtocolAddresses,
} from "../sdk/addresses.js";
import { createOpgClient, type OpgClient } from "../sdk/client.js";
import { OpgError } from "../sdk/errors.js";
import type { AddressOptions } from "./options/addresses.js";
import type { KeyOptions } from "./options/key.js";
import type { OutputOptions } from "./options/output.js";
import type { RpcOptions } from "./options/rpc.js";
import { checkUrl } from "./parse.js";

/** Global options, as commander parses them (the option groups of `src/cli/options/`). */
export type GlobalOptions = RpcOptions & KeyOptions & AddressOptions & OutputOptions;

/** The `--config` file: the same fields as the flags. */
export interface ConfigFile {
  rpc?: string;
  chainId?: number | string;
  addresses?: string | Record<string, unknown>;
  deployment?: string;
  keyEnv?: string;
}

export interface CliContext {
  client: OpgClient;
  chainId: number;
  rpc: string;
  json: boolean;
  addresses: ProtocolAddresses;
  /** The account's key, only for commands that send transactions. */
  key?: Hex;
  /** The environment variable the account's key is read from (`--key-env`, default `OPG_PRIVATE_KEY`). */
  keyEnv: string;
}

async function readConfig(path: string | undefined): Promise<{ config: ConfigFile; dir: string }> {
  if (path === undefined) return { config: {}, dir: process.cwd() };
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new OpgError("MissingConfig", `cannot read the config file ${path}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error();
    return { config: parsed, dir: dirname(resolve(path)) };
  } catch {
    throw new OpgError("MissingConfig", `the config file ${path} is not a JSON object`);
  }
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function resolveAddresses(
  options: GlobalOptions,
  config: ConfigFile,
  configDir: string,
  chainId: number,
  fromEnv: string | undefined,
): Promise<ProtocolAddresses> {
  const env = fromEnv;
  const flag = options.addresses ?? options.deployment;
  if (flag !== undefined) return readAddresses(flag);
  if (env !== undefined && env !== "") return readAddresses(env);
  if (typeof config.addresses === "object") return parseAddresses(config.addresses, "config addresses");
  const fromConfig = config.addresses ?? config.deployment;
  if (fromConfig !== undefined) return readAddresses(resolve(configDir, fromConfig));
  const fallback = deploymentDir(chainId);
  if (await exists(join(fallback, DEPLOYED_ADDRESSES_FILE))) return readAddresses(fallback);
  throw new OpgError(
    "MissingConfig",
    `no contract addresses: pass --addresses <file> or --deployment <dir> (or set OPG_ADDRESSES); ${fallback}/${DEPLOYED_ADDRESSES_FILE} does not exist`,
  );
}

function parseChainId(value: string | number, what: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new OpgError("BadInput", `${what} is not a chain id: ${value}`);
  return id;
}

/** The RPC connection, chain and optional key, without contract addresses (what `deploy` needs). */
export interface ChainContext {
  publicClient: PublicClient<Transport, Chain>;
  /** The environment variable the account's key is read from. */
  keyEnv: string;
  /** Only when a key was asked for. */
  walletClient?: WalletClient<Transport, Chain, PrivateKeyAccount>;
  chainId: number;
  rpc: string;
  json: boolean;
  /** The account's key, only for commands that send transactions. */
  key?: Hex;
}

/**
 * The RPC, the chain it serves (checked against `--chain-id`) and the key, resolved with precedence flags >
 * environment > config file. The private key is only ever read from the environment variable named by
 * `--key-env` (default `OPG_PRIVATE_KEY`). Contract addresses are not needed (see {@link createContext}).
 */
export async function createChainContext(
  options: GlobalOptions,
  needsKey: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChainContext & { config: ConfigFile; configDir: string }> {
  const { config, dir } = await readConfig(options.config ?? env.OPG_CONFIG);
  const rpc = resolveRpc(options, env, config);
  const expectedRaw =
    options.chainId ?? (env.OPG_CHAIN_ID === "" ? undefined : env.OPG_CHAIN_ID) ?? config.chainId;
  const expected =
    expectedRaw === undefined || expectedRaw === "" ? undefined : parseChainId(expectedRaw, "--chain-id");

  const keyEnv = options.keyEnv ?? config.keyEnv ?? "OPG_PRIVATE_KEY";
  const key = needsKey
    ? readKeyFromEnv(env, keyEnv, "this command sends a transaction", "--key-env")
    : undefined;

  const transport = http(rpc, { retryCount: 0, timeout: 15_000 });
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport }).getChainId();
  } catch {
    throw new OpgError(
      "Unreachable",
      `cannot reach the RPC at ${rpc}: check --rpc (or OPG_RPC_URL / ETH_RPC_URL) and that the node is running`,
    );
  }
  if (expected !== undefined && expected !== chainId) {
    throw new OpgError(
      "WrongChain",
      `wrong chain: the RPC at ${rpc} serves chain ${chainId}, expected ${expected}; fix --rpc or --chain-id`,
    );
  }
  const chain: Chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpc] } },
  });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 250 });
  const walletClient =
    key === undefined
      ? undefined
      : createWalletClient({ chain, transport, account: privateKeyToAccount(key) });
  return {
    publicClient,
    ...(walletClient === undefined ? {} : { walletClient }),
    keyEnv,
    chainId,
    rpc,
    json: options.json === true,
    ...(key === undefined ? {} : { key }),
    config,
    configDir: dir,
  };
}

/**
 * Everything a command needs: {@link createChainContext} plus the contract addresses (flags > `OPG_ADDRESSES` >
 * config file > `deploy/deployments/chain-<id>/deployed_addresses.json`) and an SDK client on them.
 */
export async function createContext(
  options: GlobalOptions,
  needsKey: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliContext> {
  const { publicClient, walletClient, chainId, rpc, json, key, keyEnv, config, configDir } =
    await createChainContext(options, needsKey, env);
  const addresses = await resolveAddresses(options, config, configDir, chainId, env.OPG_ADDRESSES);
  const client = createOpgClient({
    publicClient,
    ...(walletClient === undefined ? {} : { walletClient }),
    addresses,
  });
  return {
    client,
    chainId,
    rpc,
    json,
    addresses,
    ...(key === undefined ? {} : { key }),
    keyEnv,
  };
}

/**
 * The RPC URL with precedence `--rpc`/`--rpc-url` > `OPG_RPC_URL` > `ETH_RPC_URL` (Foundry's) > config file, its
 * scheme checked up front (an empty variable counts as unset).
 */
function resolveRpc(options: GlobalOptions, env: NodeJS.ProcessEnv, config: ConfigFile): string {
  const candidates: [string | undefined, string][] = [
    [options.rpcUrl, "--rpc"],
    [env.OPG_RPC_URL, "OPG_RPC_URL"],
    [env.ETH_RPC_URL, "ETH_RPC_URL"],
    [config.rpc, "the config file's rpc"],
  ];
  const found = candidates.find(([value]) => value !== undefined && value !== "");
  if (found === undefined) {
    throw new OpgError("MissingConfig", "no RPC URL: pass --rpc <url> or set OPG_RPC_URL (or ETH_RPC_URL)");
  }
  return checkUrl(found[0]!, found[1], "http");
}

/**
 * The address of the key in the environment variable `keyEnv`, for commands that default to "your account" but
 * send nothing; `undefined` when the variable is unset or empty. A malformed key is an error.
 */
export function keyAccountFromEnv(env: NodeJS.ProcessEnv, keyEnv: string): Address | undefined {
  const value = env[keyEnv];
  if (value === undefined || value === "") return undefined;
  return privateKeyToAccount(readKeyFromEnv(env, keyEnv, "", "--key-env")).address;
}

/**
 * A private key from the environment variable `name` (never from a flag or a file), validated; the error says
 * which variable to set. The key is never printed.
 */
export function readKeyFromEnv(env: NodeJS.ProcessEnv, name: string, purpose: string, flag: string): Hex {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new OpgError(
      "MissingKey",
      `${purpose}: set the environment variable ${name} to the private key (or name another variable with ${flag})`,
    );
  }
  const normalized = value.startsWith("0x") ? value : `0x${value}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(normalized)) {
    throw new OpgError(
      "MissingKey",
      `the environment variable ${name} does not hold a 32-byte hex private key`,
    );
  }
  return normalized as Hex;
}
