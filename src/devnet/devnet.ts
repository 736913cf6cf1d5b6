import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import { Wallet } from "ethers";
import type { Address, Hex } from "viem";
import { findEvent } from "../ethers/events.js";
import type { DeployedAddresses } from "../sdk/deploy.js";
import { signSignerBindingWithEthers } from "../ethers/sign.js";
import { VerificationMode } from "../protocol/modes.js";
import { operatorRegistryDomain } from "../protocol/typed-data.js";
import { deployLocalSystem, type LocalSystem } from "./deploy.js";
import { irisRegistration } from "./iris.js";

const OPG = 10n ** 18n;

/** Where Ignition keeps the devnet deployment (journal and `deployed_addresses.json`). */
export const DEVNET_DEPLOYMENT_ID = "devnet";
/** The folder of Ignition deployment `id`. */
function deploymentDirOf(id: string): string {
  return fileURLToPath(new URL(`../../deploy/deployments/${id}`, import.meta.url));
}

export const DEVNET_DEPLOYMENT_DIR = deploymentDirOf(DEVNET_DEPLOYMENT_ID);

export interface Devnet {
  url: string;
  chainId: bigint;
  /** The deployment: token, registries, the settlement core, the two mode contracts bound to it, the Iris verifier. */
  addresses: DeployedAddresses & { irisVerifier: Address };
  /** Where Ignition wrote this deployment's journal and `deployed_addresses.json` (what `OPG_ADDRESSES` points at). */
  deploymentDir: string;
  /** The block interval, when the devnet mines on a timer rather than per transaction. */
  blockTimeMs?: number;
  /** The example model, registered with both verification modes. */
  irisModelId: Hex;
  /** Funded accounts (Hardhat's well-known test accounts; their keys are public, never use them elsewhere). */
  accounts: { role: string; address: Address; opg: bigint; deposited: bigint }[];
  system: LocalSystem;
  /** An ethers connection to the devnet over HTTP (its signers are the funded accounts). */
  connection: NetworkConnection;
  close(): Promise<void>;
}

export interface DevnetOptions {
  /**
   * Mine a block every `blockTimeMs` milliseconds, holding transactions in the pool in between, like a real chain
   * (set once the system is deployed). Undefined: Hardhat's automine, one block per transaction.
   */
  blockTimeMs?: number;
  /**
   * Ignition's deployment id, the folder under `deploy/deployments/`. Default: `devnet` on a fixed port (the one
   * `npm run devnet` prints); on port 0 (an ephemeral devnet, as tests start several at once) a unique id per devnet,
   * whose folder is removed on close, so that concurrent devnets never share a journal.
   */
  deploymentId?: string;
}

let ephemeralDevnets = 0;

/**
 * A standalone Hardhat node serving JSON-RPC on `host:port`, with the protocol deployed through the Ignition
 * module (journal under `deploy/deployments/devnet`: the core, both mode contracts bound to it), the Iris model
 * registered (signature and zk, the verifier's code hash pinned), and OPG sent to the first accounts. Port 0 picks a
 * free port.
 */
export async function startDevnet(
  hre: HardhatRuntimeEnvironment,
  host = "127.0.0.1",
  port = 8545,
  options: DevnetOptions = {},
): Promise<Devnet> {
  const ephemeral = options.deploymentId === undefined && port === 0;
  const deploymentId =
    options.deploymentId ??
    (ephemeral ? `devnet-${process.pid}-${++ephemeralDevnets}` : DEVNET_DEPLOYMENT_ID);
  const deploymentDir = deploymentDirOf(deploymentId);
  const server = await hre.network.createServer("default", host, port);
  const listening = await server.listen();
  const url = `http://${host}:${listening.port}`;
  try {
    // A fresh chain: an old journal would point Ignition at contracts that do not exist on it.
    await rm(deploymentDir, { recursive: true, force: true });
    const connection = await hre.network.create({ network: "localhost", override: { url } });
    const system = await deployLocalSystem(connection, deploymentId);
    const signers = await connection.ethers.getSigners();
    const [deployer, modelOwner, operator, requester] = signers;
    if (
      deployer === undefined ||
      modelOwner === undefined ||
      operator === undefined ||
      requester === undefined
    ) {
      throw new Error("the devnet has too few accounts");
    }

    const verifier = await connection.ethers.deployContract("IrisMlpVerifier", [], modelOwner);
    const irisVerifier = (await verifier.getAddress()) as Address;
    const iris = await irisRegistration({ fee: 2n * OPG, royaltyBps: 1_000, zkVerifier: irisVerifier });
    // Every mode: the request path's two, and quiet mode (receipts checked against the same zk circuit).
    const spec = { ...iris.spec, modes: iris.spec.modes | VerificationMode.Quiet };
    const registered = await (await system.models.connect(modelOwner).registerModel(spec)).wait();
    const irisModelId = findEvent(system.models, registered, "ModelRegistered").args.getValue(
      "modelId",
    ) as Hex;

    const accounts: Devnet["accounts"] = [];
    const roles = ["governance", "model owner", "operator", "requester", "requester 2", "operator 2"];
    for (const [i, role] of roles.entries()) {
      const signer = signers[i]!;
      if (i > 0) await (await system.token.connect(deployer).transfer(signer.address, 100_000n * OPG)).wait();
      accounts.push({ role, address: signer.address as Address, opg: 0n, deposited: 0n });
    }
    // The requester starts with a prepaid balance, so `request --pay prepaid` works at once.
    const settlementAddress = (await system.settlement.getAddress()) as Address;
    await (await system.token.connect(requester).approve(settlementAddress, 100n * OPG)).wait();
    await (await system.settlement.connect(requester).deposit(100n * OPG)).wait();
    accounts[3]!.deposited = 100n * OPG;
    for (const account of accounts) account.opg = await system.token.balanceOf(account.address);
    if (options.blockTimeMs !== undefined) await setBlockTime(connection.provider, options.blockTimeMs);

    return {
      url,
      chainId: system.chainId,
      addresses: {
        token: (await system.token.getAddress()) as Address,
        models: (await system.models.getAddress()) as Address,
        operators: (await system.operators.getAddress()) as Address,
        settlement: settlementAddress,
        signatureMode: (await system.signatureMode.getAddress()) as Address,
        zkMode: (await system.zkMode.getAddress()) as Address,
        quietMode: (await system.quietMode.getAddress()) as Address,
        irisVerifier,
      },
      irisModelId,
      deploymentDir,
      ...(options.blockTimeMs === undefined ? {} : { blockTimeMs: options.blockTimeMs }),
      accounts,
      system,
      connection,
      close: async () => {
        await server.close();
        if (ephemeral) await rm(deploymentDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server.close();
    if (ephemeral) await rm(deploymentDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Switch a Hardhat (or Anvil) node from automine to a block every `blockTimeMs` ms: transactions wait in the pool
 * and many share a block, as on a real chain.
 */
export async function setBlockTime(
  provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> },
  blockTimeMs: number,
): Promise<void> {
  if (!Number.isInteger(blockTimeMs) || blockTimeMs <= 0) {
    throw new Error(`the block time must be a positive whole number of ms, got ${blockTimeMs}`);
  }
  await provider.request({ method: "evm_setAutomine", params: [false] });
  await provider.request({ method: "evm_setIntervalMining", params: [blockTimeMs] });
}

/**
 * Register devnet account `accountIndex` as an operator: approve the registry for `stake`, then register signing key
 * `signerKey` (which signs its proof of possession) with payout `payout` (default: the account itself).
 */
export async function registerDevnetOperator(
  devnet: Pick<Devnet, "connection" | "system" | "addresses" | "chainId">,
  accountIndex: number,
  signerKey: Hex,
  stake: bigint,
  payout?: Address,
): Promise<{ operator: Address; signer: Address }> {
  const account = (await devnet.connection.ethers.getSigners())[accountIndex];
  if (account === undefined) throw new Error(`the devnet has no account ${accountIndex}`);
  const operator = account.address as Address;
  const key = new Wallet(signerKey);
  const proof = await signSignerBindingWithEthers(
    key,
    operatorRegistryDomain(devnet.chainId, devnet.addresses.operators),
    { operator, signer: key.address as Address },
  );
  await (await devnet.system.token.connect(account).approve(devnet.addresses.operators, stake)).wait();
  await (
    await devnet.system.operators.connect(account).register(key.address, payout ?? operator, stake, proof)
  ).wait();
  return { operator, signer: key.address as Address };
}
