/**
 * Operator endpoints on chain (issue #10, section 1: "operators publish their endpoint on chain"), over a real Hardhat
 * JSON-RPC devnet: the SDK's `setOperatorEndpoint` (refuses anything but an http(s) URL before sending) and
 * `getOperatorEndpoint` (never passes on a published value that is not an http(s) URL), and the operator node's
 * `quiet.publicUrl`: published once at start when the registry holds another value, not sent again when it holds the
 * same, and a node that cannot publish (an unregistered account, a bad URL) logs it and serves anyway. Batch data is
 * announced on chain under the public URL.
 */
import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseEventLogs,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { quietModeAbi } from "../src/abi/index.js";
import { testAccountKey } from "../src/devnet/accounts.js";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { VerificationMode } from "../src/protocol/index.js";
import { createOpgClient, type OpgClient } from "../src/sdk/client.js";
import { OpgError } from "../src/sdk/errors.js";
import "./helpers/release-zk.js";

const OPERATOR_INDEX = 2;
const STRANGER_INDEX = 5;
const SIGNER_KEY: Hex = "0x5151515151515151515151515151515151515151515151515151515151515151";
const OPG = 10n ** 18n;
const FEE = OPG / 1_000n;
const PUBLIC_URL = "https://operator.example:8443/opg";

async function until(condition: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("operator endpoints on chain (SDK and node, against a devnet)", function () {
  this.timeout(300_000);
  let devnet: Devnet;
  let publicClient: PublicClient;
  let clientFor: (index: number) => OpgClient;
  let operator: OpgClient;
  let operatorAddress: Address;
  let reader: OpgClient;
  const nodes: OperatorNode[] = [];

  async function startNode(
    index: number,
    quiet: { publicUrl?: string; batchIntervalMs?: number },
    models: Hex[] = [],
  ): Promise<{ node: OperatorNode; quietUrl: string }> {
    const node = new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: testAccountKey(index),
      signerKey: SIGNER_KEY,
      models: models.map((modelId) => ({ modelId, file: IRIS_MODEL_PATH })),
      database: join(await mkdtemp(join(tmpdir(), "opg-endpoint-")), "state.sqlite"),
      pollIntervalMs: 200,
      quiet: { port: 0, batchIntervalMs: quiet.batchIntervalMs ?? 60_000, ...quiet },
      logger: pino({ level: "silent" }),
    });
    nodes.push(node);
    const started = await node.start();
    return { node, quietUrl: started.quietUrl! };
  }

  const nonceOf = (address: Address) => publicClient.getTransactionCount({ address, blockTag: "pending" });

  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
    await registerDevnetOperator(devnet, OPERATOR_INDEX, SIGNER_KEY, 1_000n * OPG);
    const chain = defineChain({
      id: Number(devnet.chainId),
      name: "devnet",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [devnet.url] } },
    });
    const transport = http(devnet.url, { retryCount: 0 });
    publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
    clientFor = (index: number) =>
      createOpgClient({
        publicClient,
        walletClient: createWalletClient({
          chain,
          transport,
          account: privateKeyToAccount(testAccountKey(index)),
        }),
        addresses: devnet.addresses,
      });
    operator = clientFor(OPERATOR_INDEX);
    operatorAddress = operator.account()!.address;
    reader = createOpgClient({ publicClient, addresses: devnet.addresses });
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.stop();
  });
  after(async () => {
    await devnet.close();
  });

  describe("SDK: setOperatorEndpoint and getOperatorEndpoint", () => {
    it("publishes, reads back and clears an operator's URL", async () => {
      expect(await reader.getOperatorEndpoint({ operator: operatorAddress })).to.equal(undefined);
      const sent = await operator.setOperatorEndpoint({ url: "http://10.1.2.3:9000" });
      expect(sent.receipt.status).to.equal("success");
      expect(await reader.getOperatorEndpoint({ operator: operatorAddress })).to.equal(
        "http://10.1.2.3:9000",
      );
      await operator.setOperatorEndpoint({ url: "" });
      expect(await reader.getOperatorEndpoint({ operator: operatorAddress })).to.equal(undefined);
    });

    it("refuses anything but an absolute http(s) URL with BadInput before sending", async () => {
      const before = await nonceOf(operatorAddress);
      const bad = [
        "operator.example:8080",
        "/v1/infer",
        "ftp://operator.example",
        "javascript:alert(1)",
        "file:///etc/passwd",
        " https://operator.example",
        "https://operator.example/\n",
        "https://user:secret@operator.example",
        `https://operator.example/${"a".repeat(240)}`,
        "https://",
      ];
      for (const url of bad) {
        let error: unknown;
        try {
          await operator.setOperatorEndpoint({ url });
        } catch (e) {
          error = e;
        }
        expect(error, url).to.be.instanceOf(OpgError);
        expect((error as OpgError).code, url).to.equal("BadInput");
      }
      expect(await nonceOf(operatorAddress)).to.equal(before);
    });

    it("surfaces the registry's UnknownOperator for an account that is not an operator", async () => {
      let error: unknown;
      try {
        await clientFor(STRANGER_INDEX).setOperatorEndpoint({ url: "https://stranger.example" });
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.contain("UnknownOperator");
    });

    it("returns undefined, never the value, when the published string is not an http(s) URL", async () => {
      // The registry stores what the operator sends; a hostile operator bypasses the SDK's check.
      for (const hostile of [
        "javascript:alert(1)",
        "ftp://operator.example",
        "operator.example",
        "https://operator.example\u0000",
      ]) {
        await devnet.system.operators
          .connect((await devnet.connection.ethers.getSigners())[OPERATOR_INDEX])
          .setEndpoint(hostile)
          .then((tx) => tx.wait());
        expect(await reader.getOperatorEndpoint({ operator: operatorAddress }), hostile).to.equal(undefined);
      }
      let error: unknown;
      try {
        await reader.getOperatorEndpoint({ operator: "0x1234" });
      } catch (e) {
        error = e;
      }
      expect((error as OpgError).code).to.equal("BadAddress");
      await operator.setOperatorEndpoint({ url: "" });
    });
  });

  describe("node: quiet.publicUrl", () => {
    it("publishes its public URL at start, once; a restart with the same URL sends nothing", async () => {
      await operator.setOperatorEndpoint({ url: "https://old.example" });
      const { node } = await startNode(OPERATOR_INDEX, { publicUrl: `${PUBLIC_URL}/` });
      await until(
        async () => (await reader.getOperatorEndpoint({ operator: operatorAddress })) === PUBLIC_URL,
        "the endpoint to be published",
      );
      await node.stop();
      const before = await nonceOf(operatorAddress);
      await startNode(OPERATOR_INDEX, { publicUrl: PUBLIC_URL });
      // Nothing is sent at start when the registry already holds the URL (the committer has nothing to commit).
      await new Promise((r) => setTimeout(r, 500));
      expect(await nonceOf(operatorAddress)).to.equal(before);
      expect(await reader.getOperatorEndpoint({ operator: operatorAddress })).to.equal(PUBLIC_URL);
    });

    it("without publicUrl, leaves the registry alone", async () => {
      const before = await nonceOf(operatorAddress);
      const { quietUrl } = await startNode(OPERATOR_INDEX, {});
      expect(quietUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      await new Promise((r) => setTimeout(r, 500));
      expect(await nonceOf(operatorAddress)).to.equal(before);
      expect(await reader.getOperatorEndpoint({ operator: operatorAddress })).to.equal(PUBLIC_URL);
    });

    it("serves anyway when it cannot publish: an unregistered account, or a URL that is not http(s)", async () => {
      const stranger = clientFor(STRANGER_INDEX).account()!.address;
      const before = await nonceOf(stranger);
      const { quietUrl } = await startNode(STRANGER_INDEX, { publicUrl: "https://stranger.example" });
      expect((await fetch(`${quietUrl}/v1/batches/0`)).status).to.be.lessThan(500);
      expect(await nonceOf(stranger)).to.equal(before);
      expect(await reader.getOperatorEndpoint({ operator: stranger })).to.equal(undefined);

      const ownBefore = await nonceOf(operatorAddress);
      const second = await startNode(OPERATOR_INDEX, { publicUrl: "ftp://operator.example" });
      expect((await fetch(`${second.quietUrl}/v1/batches/0`)).status).to.be.lessThan(500);
      expect(await nonceOf(operatorAddress)).to.equal(ownBefore);
      expect(await reader.getOperatorEndpoint({ operator: operatorAddress })).to.equal(PUBLIC_URL);
    });

    it("announces batch data under the public URL", async () => {
      const owner = clientFor(1);
      const plain = await irisRegistration({ fee: FEE, royaltyBps: 0, name: "iris-endpoint" });
      const { modelId } = await owner.registerModel({
        ...plain.spec,
        modes: VerificationMode.Signature | VerificationMode.Quiet,
      });
      const payer = clientFor(3);
      await payer.deposit({ amount: OPG });
      await payer.fundChannel({ operator: operatorAddress, amount: OPG });
      const fromBlock = await publicClient.getBlockNumber();
      const { quietUrl } = await startNode(OPERATOR_INDEX, { publicUrl: PUBLIC_URL, batchIntervalMs: 200 }, [
        modelId,
      ]);
      const answer = await payer.infer({
        operatorUrl: quietUrl,
        operator: operatorAddress,
        modelId,
        input: loadIris().features[0]!,
      });
      let dataUri: string | undefined;
      await until(async () => {
        const logs = await publicClient.getLogs({ address: devnet.addresses.quietMode, fromBlock });
        const [event] = parseEventLogs({ abi: quietModeAbi, logs, eventName: "BatchCommitted" });
        dataUri = event?.args.dataUri;
        return event !== undefined;
      }, "the batch commit");
      expect(dataUri).to.equal(`${PUBLIC_URL}/v1/batches/${answer.receipt.seq}`);
    });

    it("lets infer() find the gateway from the registry, and says what to pass when nothing is published", async () => {
      const owner = clientFor(1);
      const plain = await irisRegistration({ fee: FEE, royaltyBps: 0, name: "iris-endpoint-found" });
      const { modelId } = await owner.registerModel({
        ...plain.spec,
        modes: VerificationMode.Signature | VerificationMode.Quiet,
      });
      const payer = clientFor(4);
      await clientFor(0).transferToken({ to: payer.account()!.address, amount: OPG });
      await payer.deposit({ amount: OPG });
      await payer.fundChannel({ operator: operatorAddress, amount: OPG });
      const { quietUrl } = await startNode(OPERATOR_INDEX, { publicUrl: "http://placeholder.invalid" }, [
        modelId,
      ]);
      // Publish where the gateway really listens (the node published its placeholder first).
      await operator.setOperatorEndpoint({ url: quietUrl });
      const answer = await payer.infer({
        operator: operatorAddress,
        modelId,
        input: loadIris().features[0]!,
      });
      expect(answer.receipt.operator).to.equal(operatorAddress);

      await operator.setOperatorEndpoint({ url: "" });
      const fresh = clientFor(4);
      const refused = await fresh
        .infer({ operator: operatorAddress, modelId, input: loadIris().features[0]! })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(refused).to.be.instanceOf(OpgError);
      expect((refused as OpgError).code).to.equal("BadInput");
      expect((refused as OpgError).message).to.match(/published no quiet-mode endpoint.*pass operatorUrl/);
    });
  });
});
