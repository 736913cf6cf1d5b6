import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import { getAddress, keccak256, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { registerDevnetOperator, setBlockTime, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { openedFrom } from "../src/ethers/index.js";
import { encodeFeatures, toDataUri } from "../src/model/encoding.js";
import { loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { rendezvousOrder, rendezvousRank, servableAt } from "../src/operator/rendezvous.js";
import { VerificationMode } from "../src/protocol/index.js";
import { accountKey } from "./helpers/sdk-fixture.js";

const OPG = 10n ** 18n;
const ZERO = "0x0000000000000000000000000000000000000000" as Address;
const pool3 = [1, 2, 3].map((i) => privateKeyToAccount(accountKey(i)).address);

describe("operator pool: rendezvous ranking", () => {
  it("gives every request exactly one first operator, the same order whatever the pool's spelling", () => {
    for (let id = 1n; id <= 50n; id++) {
      const order = rendezvousOrder(id, pool3);
      expect(new Set(order).size).to.equal(3);
      const shuffled = [pool3[2]!.toLowerCase() as Address, pool3[0]!, pool3[1]!, pool3[0]!];
      expect(rendezvousOrder(id, shuffled)).to.deep.equal(order);
      const ranks = pool3.map((a) => rendezvousRank(id, pool3, a)).sort();
      expect(ranks).to.deep.equal([0, 1, 2]);
    }
  });

  it("spreads the load evenly and moves only the leaving operator's share", () => {
    const firsts = new Map<Address, number>();
    const moved = { mine: 0, others: 0 };
    for (let id = 1n; id <= 3_000n; id++) {
      const first = rendezvousOrder(id, pool3)[0]!;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
      const without = rendezvousOrder(id, pool3.slice(0, 2))[0]!;
      if (without !== first) {
        if (first === pool3[2]) moved.mine += 1;
        else moved.others += 1;
      }
    }
    for (const operator of pool3) expect(firsts.get(operator)).to.be.within(850, 1_150);
    expect(moved.others).to.equal(0);
    expect(moved.mine).to.equal(firsts.get(pool3[2]!));
  });

  it("serves at once when assigned by name, first in rank, alone, or outside the pool; later by rank otherwise", () => {
    const pool = { operators: pool3, graceMs: 1_000 };
    const id = 7n;
    const [first, second, third] = rendezvousOrder(id, pool3);
    expect(servableAt(id, ZERO, 100, first!, pool)).to.equal(100);
    expect(servableAt(id, ZERO, 100, second!, pool)).to.equal(1_100);
    expect(servableAt(id, ZERO, 100, third!, pool)).to.equal(2_100);
    expect(servableAt(id, third!, 100, third!, pool)).to.equal(100);
    expect(servableAt(id, ZERO, 100, third!, undefined)).to.equal(100);
    const outsider = privateKeyToAccount(accountKey(9)).address;
    expect(servableAt(id, ZERO, 100, outsider, pool)).to.equal(100);
  });
});

describe("operator pool: two nodes on one chain (devnet, 250 ms blocks)", function () {
  this.timeout(120_000);
  let devnet: Devnet;
  let scratch: string;
  const iris = loadIris();
  const operatorIndexes = [2, 5];
  const operators = operatorIndexes.map((i) => privateKeyToAccount(accountKey(i)).address);
  const signerKeys: Hex[] = [`0x${"61".repeat(32)}`, `0x${"62".repeat(32)}`];

  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
    scratch = await mkdtemp(join(tmpdir(), "opg-pool-"));
    for (const [k, i] of operatorIndexes.entries()) {
      await registerDevnetOperator(devnet, i, signerKeys[k]!, 1_000n * OPG);
    }
  });
  after(async () => {
    await devnet.close();
  });

  /** Open `n` signature requests at once (under automine, before the nodes start: they all see them together). */
  async function openBurst(n: number): Promise<bigint[]> {
    const { ethers } = devnet.connection;
    const requester = (await ethers.getSigners())[3]!;
    const block = await ethers.provider.getBlock("latest");
    const ids: bigint[] = [];
    for (let i = 0; i < n; i++) {
      const input = encodeFeatures(iris.features[(i * 7) % 150]!);
      const tx = await devnet.system.settlement.connect(requester).openRequest({
        modelId: devnet.irisModelId,
        inputHash: keccak256(input),
        maxFee: 2n * OPG,
        deadline: BigInt(block!.timestamp) + 3_600n,
        mode: VerificationMode.Signature,
        operator: ZERO,
        callback: ZERO,
        callbackGasLimit: 0,
        inputUri: toDataUri(input),
      });
      ids.push(openedFrom(devnet.system.settlement, await tx.wait()).requestId);
    }
    return ids;
  }

  const node = (k: number, graceMs: number, fromBlock = 0n) =>
    new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: accountKey(operatorIndexes[k]!),
      signerKey: signerKeys[k]!,
      models: [{ modelId: devnet.irisModelId, file: IRIS_MODEL_PATH }],
      database: join(scratch, `node-${k}-${Date.now()}.sqlite`),
      pollIntervalMs: 50,
      logger: pino({ level: "silent" }),
      pool: { operators, graceMs },
      fromBlock,
    });

  async function settledBy(ids: bigint[], timeoutMs: number): Promise<Map<bigint, Address>> {
    const start = Date.now();
    for (;;) {
      const events = await devnet.system.settlement.queryFilter(
        devnet.system.settlement.filters.RequestFulfilled(),
      );
      const byId = new Map<bigint, Address>();
      let duplicates = 0;
      for (const e of events) {
        if (byId.has(e.args.requestId)) duplicates += 1;
        byId.set(e.args.requestId, getAddress(e.args.operator));
      }
      expect(duplicates).to.equal(0);
      if (ids.every((id) => byId.has(id))) return byId;
      if (Date.now() - start > timeoutMs) throw new Error("requests were not all settled in time");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const nonces = () =>
    Promise.all(operators.map((a) => devnet.connection.ethers.provider.getTransactionCount(a)));

  it("share a burst by rank: each request settled once, by its first-ranked operator, no transaction wasted", async () => {
    const ids = await openBurst(30);
    const before = await nonces();
    await setBlockTime(devnet.connection.provider, 250);
    const nodes = [node(0, 5_000), node(1, 5_000)];
    await Promise.all(nodes.map((n) => n.start()));
    try {
      const settled = await settledBy(ids, 60_000);
      for (const id of ids) expect(settled.get(id)).to.equal(rendezvousOrder(id, operators)[0]);
      const served = operators.map((a) => ids.filter((id) => settled.get(id) === a).length);
      expect(served[0]! > 0 && served[1]! > 0).to.equal(true);
      // Every transaction either operator sent is one of these fulfilments: none lost a race and reverted.
      await new Promise((r) => setTimeout(r, 600));
      const after = await nonces();
      expect(after.map((n, k) => n - before[k]!)).to.deep.equal(served);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      await devnet.connection.provider.request({ method: "evm_setIntervalMining", params: [0] });
      await devnet.connection.provider.request({ method: "evm_setAutomine", params: [true] });
    }
  });

  it("take over a missing peer's share after the grace period", async () => {
    const fromBlock = BigInt(await devnet.connection.ethers.provider.getBlockNumber()) + 1n;
    const ids = await openBurst(10);
    const alone = node(0, 1_000, fromBlock);
    const started = Date.now();
    await alone.start();
    try {
      const settled = await settledBy(ids, 60_000);
      expect(ids.every((id) => settled.get(id) === operators[0])).to.equal(true);
      const peersShare = ids.filter((id) => rendezvousOrder(id, operators)[0] === operators[1]);
      expect(peersShare.length).to.be.greaterThan(0);
      expect(Date.now() - started).to.be.at.least(1_000);
      for (let waited = 0; alone.store.counts().settled < 10 && waited < 10_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(alone.store.counts()).to.include({ lost: 0, settled: 10 });
    } finally {
      await alone.stop();
    }
  });
});
