/**
 * Shared by the SDK and CLI tests (no tests here): a Hardhat JSON-RPC server on 127.0.0.1 (random port), the
 * protocol deployed over HTTP through the Ignition module (the core and its two mode contracts), the Iris model
 * registered and an operator staked (its signing key proving possession), all with the SDK. Ignition's journal is written under a unique deployment id, its `deployed_addresses.json` copied
 * to a temporary directory, and the journal removed at once, so nothing is left in the repository.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { createPublicClient, createWalletClient, defineChain, http, toHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { testAccountKey } from "../../src/devnet/accounts.js";
import { deployLocalSystem } from "../../src/devnet/deploy.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../../src/devnet/iris.js";
import { fromDataUri } from "../../src/model/encoding.js";
import { inferBytes } from "../../src/model/infer.js";
import { loadModel } from "../../src/model/onnx-runtime.js";
import { readAddresses, type ProtocolAddresses } from "../../src/sdk/addresses.js";
import { createOpgClient, type OpgClient, type WriteResult } from "../../src/sdk/client.js";

export const OPG = 10n ** 18n;
export const MODEL_FEE = 2n * OPG;
/** Hardhat's well-known test keys (public: never use them elsewhere). */
export const accountKey = testAccountKey;
export const OPERATOR_SIGNING_KEY: Hex = `0x${"ab".repeat(32)}`;

export interface TestChain {
  url: string;
  chainId: number;
  deploymentDir: string;
  addresses: ProtocolAddresses;
  irisModelId: Hex;
  clientFor(index: number): OpgClient;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  timeTravel(seconds: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTestChain(): Promise<TestChain> {
  const server = await hre.network.createServer("default", "127.0.0.1", 0);
  const { port } = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  const deploymentId = `sdk-test-${process.pid}-${Date.now()}`;
  const journal = join(hre.config.paths.ignition, "deployments", deploymentId);
  const dir = await mkdtemp(join(tmpdir(), "opg-sdk-"));
  try {
    const connection = await hre.network.create({ network: "localhost", override: { url } });
    await deployLocalSystem(connection, deploymentId);
    await cp(join(journal, "deployed_addresses.json"), join(dir, "deployed_addresses.json"));
    await rm(journal, { recursive: true, force: true });
    await connection.close();

    const addresses = await readAddresses(dir);
    const transport = http(url, { retryCount: 0 });
    const probe = createPublicClient({ transport });
    const chainId = await probe.getChainId();
    const chain = defineChain({
      id: chainId,
      name: "hardhat",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [url] } },
    });
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
    const clientFor = (index: number) =>
      createOpgClient({
        publicClient,
        walletClient: createWalletClient({
          chain,
          transport,
          account: privateKeyToAccount(accountKey(index)),
        }),
        addresses,
      });
    const rpc = (method: string, params: unknown[] = []) =>
      publicClient.request<{ Method: string; Parameters: unknown[]; ReturnType: unknown }>({
        method,
        params,
      });

    // Accounts: 0 governance (holds the supply), 1 model owner, 2 operator, 3 payout, 4 requester, 5 requester 2.
    const governance = clientFor(0);
    for (const i of [1, 2, 4]) {
      await governance.transferToken({
        to: privateKeyToAccount(accountKey(i)).address,
        amount: 10_000n * OPG,
      });
    }
    const iris = await irisRegistration({ fee: MODEL_FEE, royaltyBps: 1_000 });
    const { modelId } = await clientFor(1).registerModel(iris.spec);
    await clientFor(2).registerOperator({
      signer: privateKeyToAccount(OPERATOR_SIGNING_KEY),
      payout: privateKeyToAccount(accountKey(3)).address,
      amount: 1_000n * OPG,
    });
    return {
      url,
      chainId,
      deploymentDir: dir,
      addresses,
      irisModelId: modelId,
      clientFor,
      rpc,
      async timeTravel(seconds) {
        await rpc("evm_increaseTime", [seconds]);
        await rpc("evm_mine");
      },
      async close() {
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server.close();
    await rm(journal, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * What an operator node does for a signature request, with the SDK: run the Iris model on the input from the request's
 * `data:` URI, sign with {@link OPERATOR_SIGNING_KEY}, fulfil as the staked operator (account 2).
 */
export async function serveSigned(chain: TestChain, requestId: bigint): Promise<WriteResult> {
  const operator = chain.clientFor(2);
  const info = await operator.getRequest({ requestId });
  const model = await loadModel(IRIS_MODEL_PATH);
  const output = toHex(await inferBytes(model, fromDataUri(info.inputUri)));
  await model.release();
  const result = { operator: operator.account()!.address, output };
  const signature = await operator.signResult({
    signer: privateKeyToAccount(OPERATOR_SIGNING_KEY),
    requestId,
    request: info.request,
    result,
  });
  return operator.fulfillSigned({ request: info.request, requestId, result, signature });
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}
