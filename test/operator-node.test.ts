import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import { keccak256, type Address, type Hex } from "viem";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { openedFrom } from "../src/ethers/index.js";
import { encodeFeatures, toDataUri } from "../src/model/encoding.js";
import { loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { fieldToBytes32, VerificationMode } from "../src/protocol/index.js";
import { inputCommitment, IRIS_ZK_PARAMS, quantizeInput, quantizeOnnx } from "../src/zk/index.js";
import { readFile } from "node:fs/promises";
import "./helpers/release-zk.js";

/** Hardhat's well-known test key for account #2 (the devnet's "operator"). */
const OPERATOR_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const SIGNER_KEY: Hex = "0x4242424242424242424242424242424242424242424242424242424242424242";
const OPG = 10n ** 18n;
const ZERO = "0x0000000000000000000000000000000000000000";

describe("operator node (against a devnet over HTTP)", function () {
  this.timeout(120_000);
  let devnet: Devnet;
  let database: string;
  const iris = loadIris();

  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
    database = join(await mkdtemp(join(tmpdir(), "opg-operator-")), "state.sqlite");
    await registerDevnetOperator(devnet, 2, SIGNER_KEY, 1_000n * OPG);
  });
  after(async () => {
    await devnet.close();
  });

  async function open(sample: number, mode: number) {
    const { ethers } = devnet.connection;
    const [, , , requester] = await ethers.getSigners();
    const input = encodeFeatures(iris.features[sample]!);
    const quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);
    const inputHash =
      mode === VerificationMode.Zk
        ? fieldToBytes32(
            await inputCommitment(quantizeInput(iris.features[sample]!, quantized), quantized.params),
          )
        : keccak256(input);
    const block = await ethers.provider.getBlock("latest");
    const tx = await devnet.system.settlement.connect(requester).openRequest({
      modelId: devnet.irisModelId,
      inputHash,
      maxFee: 2n * OPG,
      deadline: BigInt(block!.timestamp) + 3_600n,
      mode,
      operator: "0x0000000000000000000000000000000000000000",
      callback: "0x0000000000000000000000000000000000000000",
      callbackGasLimit: 0,
      inputUri: toDataUri(input),
    });
    return openedFrom(devnet.system.settlement, await tx.wait());
  }

  function node() {
    return new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: OPERATOR_KEY,
      signerKey: SIGNER_KEY,
      models: [{ modelId: devnet.irisModelId, file: IRIS_MODEL_PATH }],
      database,
      pollIntervalMs: 100,
      healthPort: 0,
      logger: pino({ level: "silent" }),
    });
  }

  async function until(condition: () => Promise<boolean>, what: string, ms = 60_000) {
    const start = Date.now();
    while (!(await condition())) {
      if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("serves signature and zk requests, survives a restart, and never submits twice", async () => {
    const first = node();
    const { healthUrl } = await first.start();
    const opened = [
      await open(0, VerificationMode.Signature),
      await open(75, VerificationMode.Signature),
      await open(120, VerificationMode.Zk),
    ];
    const settled = async (ids: bigint[]) => {
      for (const id of ids) if ((await devnet.system.settlement.requestStatus(id)) !== 2n) return false;
      return true;
    };
    await until(() => settled(opened.map((o) => o.requestId)), "the first requests to settle");
    await until(
      () => Promise.resolve(first.store.counts().settled === 3),
      "the node to record the settlements",
    );
    const response = await fetch(`${healthUrl!}/health`);
    const health = (await response.json()) as {
      status: string;
      ok: boolean;
      requests: Record<string, number>;
    };
    expect(response.status).to.equal(200);
    expect(health).to.include({ status: "ok", ok: true });
    const metrics = await (await fetch(`${healthUrl!}/metrics`)).text();
    expect(metrics).to.match(/opg_operator_requests\{state="settled"\} 3/);
    await first.stop();

    // Requests opened while the node is down are served after it restarts from its database.
    const later = [await open(10, VerificationMode.Signature), await open(60, VerificationMode.Signature)];
    const second = node();
    await second.start();
    await until(() => settled(later.map((o) => o.requestId)), "requests opened while the node was down");
    await until(
      () => Promise.resolve(second.store.counts().settled === 5),
      "the node to record every settlement",
    );
    const counts = second.store.counts();
    await second.stop();
    expect(counts.settled).to.equal(5);
    expect(counts.lost + counts.skipped + counts.seen + counts.computed + counts.submitted).to.equal(0);

    // Exactly one fulfilment per request, and the operator account sent exactly as many transactions.
    const fulfilled = await devnet.system.settlement.queryFilter(
      devnet.system.settlement.filters.RequestFulfilled(),
    );
    const ids = fulfilled.map((e) => e.args.requestId);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(ids.length).to.equal(5);
    // Each fulfilment went to the contract of its request's mode (found through the core), which settled it.
    const zkId = opened[2]!.requestId;
    for (const event of fulfilled) {
      const tx = await devnet.connection.ethers.provider.getTransaction(event.transactionHash);
      const expected =
        event.args.requestId === zkId ? devnet.addresses.zkMode : devnet.addresses.signatureMode;
      expect(tx!.to, `request ${event.args.requestId}`).to.equal(expected);
    }
    const signers = fulfilled.map((e) => [e.args.requestId, e.args.signer] as const);
    for (const [id, signer] of signers) {
      expect(signer).to.equal(id === zkId ? ZERO : new devnet.connection.ethers.Wallet(SIGNER_KEY).address);
    }
    const operatorAddress = new devnet.connection.ethers.Wallet(OPERATOR_KEY).address as Address;
    // Registration (approve + register) used two nonces before the node started.
    expect(await devnet.connection.ethers.provider.getTransactionCount(operatorAddress)).to.equal(2 + 5);
  });
  it("skips a request whose mode governance retired: nothing is sent, the request is refundable at once", async () => {
    const pending = await open(30, VerificationMode.Zk);
    await (await devnet.system.settlement.retireMode(VerificationMode.Zk)).wait();
    const operatorAddress = new devnet.connection.ethers.Wallet(OPERATOR_KEY).address as Address;
    const nonce = await devnet.connection.ethers.provider.getTransactionCount(operatorAddress);
    const n = node();
    await n.start();
    try {
      await until(
        () => Promise.resolve(n.store.get(pending.requestId)?.state === "skipped"),
        "the node to skip the request",
      );
      expect(n.store.get(pending.requestId)?.error).to.match(/mode zk has no live contract \(retired\)/);
      expect(n.store.get(pending.requestId)?.skipCode).to.equal("mode_retired");
      expect(n.healthReport().skips.mode_retired).to.equal(1);
    } finally {
      await n.stop();
    }
    expect(await devnet.connection.ethers.provider.getTransactionCount(operatorAddress)).to.equal(nonce);
    await (await devnet.system.settlement.refund(pending.request, pending.requestId)).wait();
    expect(await devnet.system.settlement.requestStatus(pending.requestId)).to.equal(4n);
  });
});
