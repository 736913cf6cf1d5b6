import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { keccak256, type Hex } from "viem";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { encodeFeatures, toDataUri } from "../src/model/encoding.js";
import { loadIris } from "../src/model/iris.js";
import { VerificationMode } from "../src/protocol/index.js";

/** Hardhat's well-known test key for account #5 (the devnet's "operator 2"). */
const OPERATOR_KEY: Hex = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const SIGNER_KEY: Hex = "0x5151515151515151515151515151515151515151515151515151515151515151";
const OPG = 10n ** 18n;
const REQUESTS = 100;

describe("operator node killed (SIGKILL) and restarted mid-stream", function () {
  this.timeout(240_000);
  let devnet: Devnet;
  const children: ChildProcess[] = [];

  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
  });
  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await devnet.close();
  });

  it(`loses none of ${REQUESTS} requests and submits none twice`, async () => {
    const { ethers } = devnet.connection;
    const signers = await ethers.getSigners();
    const operator = signers[5]!;
    const requester = signers[3]!;
    const settlement = devnet.system.settlement;
    await registerDevnetOperator(devnet, 5, SIGNER_KEY, 1_000n * OPG);
    const startNonce = await ethers.provider.getTransactionCount(operator.address);
    await (
      await devnet.system.token.connect(requester).approve(devnet.addresses.settlement, 1_000n * OPG)
    ).wait();
    await (await settlement.connect(requester).deposit(2n * OPG * BigInt(REQUESTS))).wait();

    const iris = loadIris();
    const database = join(await mkdtemp(join(tmpdir(), "opg-kill-")), "state.sqlite");
    const launch = () => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/operator-node.ts"], {
        env: {
          ...process.env,
          OPG_RPC_URL: devnet.url,
          OPG_SETTLEMENT: devnet.addresses.settlement,
          OPG_OPERATOR_KEY: OPERATOR_KEY,
          OPG_SIGNER_KEY: SIGNER_KEY,
          OPG_MODEL_ID: devnet.irisModelId,
          OPG_MODEL_FILE: IRIS_MODEL_PATH,
          OPG_DB: database,
          OPG_POLL_MS: "50",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      return child;
    };
    const fulfilledCount = async () =>
      (await settlement.queryFilter(settlement.filters.RequestFulfilled())).length;
    const until = async (condition: () => Promise<boolean>, what: string) => {
      const start = Date.now();
      while (!(await condition())) {
        if (Date.now() - start > 180_000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    let node = launch();
    const block = await ethers.provider.getBlock("latest");
    for (let i = 0; i < REQUESTS; i++) {
      const input = encodeFeatures(iris.features[i % 150]!);
      await settlement.connect(requester).openRequest({
        modelId: devnet.irisModelId,
        inputHash: keccak256(input),
        maxFee: 2n * OPG,
        deadline: BigInt(block!.timestamp) + 3_600n,
        mode: VerificationMode.Signature,
        operator: "0x0000000000000000000000000000000000000000",
        callback: "0x0000000000000000000000000000000000000000",
        callbackGasLimit: 0,
        inputUri: toDataUri(input),
      });
      if (i === 40) {
        // Mid-stream: wait until the node has settled some, then kill it without warning.
        await until(async () => (await fulfilledCount()) >= 10, "the node to settle its first requests");
        node.kill("SIGKILL");
        await new Promise((r) => node.once("exit", r));
      }
      if (i === 70) node = launch();
    }
    await until(async () => (await fulfilledCount()) >= REQUESTS, `all ${REQUESTS} requests to settle`);
    node.kill("SIGTERM");

    const ids = (await settlement.queryFilter(settlement.filters.RequestFulfilled())).map(
      (e) => e.args.requestId,
    );
    expect(ids.length).to.equal(REQUESTS);
    expect(new Set(ids).size).to.equal(REQUESTS);
    // One transaction per request: no duplicate, no wasted submission.
    expect((await ethers.provider.getTransactionCount(operator.address)) - startNonce).to.equal(REQUESTS);
  });
});
