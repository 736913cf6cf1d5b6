import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import { encodeFunctionData, keccak256, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { inferenceSettlementAbi } from "../src/abi/index.js";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { openedFrom } from "../src/ethers/index.js";
import { encodeFeatures, toDataUri } from "../src/model/encoding.js";
import { loadIris } from "../src/model/iris.js";
import { backoffDelay, DEFAULT_BACKOFF, errorSummary, redactUrl } from "../src/operator/backoff.js";
import { OperatorNode, type OperatorNodeOptions } from "../src/operator/node.js";
import { OperatorStore } from "../src/operator/store.js";
import { VerificationMode } from "../src/protocol/index.js";
import { TcpProxy } from "./helpers/tcp-proxy.js";

/** Hardhat's well-known test keys (public; never use them elsewhere): #2 the devnet's operator, #5, #6. */
const OPERATOR_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const OPERATOR_2_KEY: Hex = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const PAYOUT_2_KEY: Hex = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
const SIGNER_KEY: Hex = "0x4343434343434343434343434343434343434343434343434343434343434343";
const SIGNER_2_KEY: Hex = "0x4444444444444444444444444444444444444444444444444444444444444444";
const OPG = 10n ** 18n;
const ZERO: Address = "0x0000000000000000000000000000000000000000";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A pino logger that keeps its JSON lines for assertions. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "info" },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines };
}

describe("operator node: backoff schedule", () => {
  it("doubles from 250 ms up to a 30 s cap, jittered within the upper half", () => {
    const high = (n: number) => backoffDelay(n, DEFAULT_BACKOFF, () => 1);
    const low = (n: number) => backoffDelay(n, DEFAULT_BACKOFF, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map(high)).to.deep.equal([
      250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
    expect([1, 2, 8, 9].map(low)).to.deep.equal([125, 250, 15_000, 15_000]);
    expect(backoffDelay(0)).to.equal(0);
    expect(high(10_000)).to.equal(30_000);
    const samples = Array.from({ length: 200 }, () => backoffDelay(3));
    for (const delay of samples) expect(delay).to.be.within(500, 1_000);
    expect(new Set(samples).size).to.be.greaterThan(10);
  });

  it("keeps API keys in RPC URLs and request bodies out of log lines", () => {
    expect(redactUrl("wss://mainnet.example.io/v3/SECRETKEY?token=x")).to.equal("wss://mainnet.example.io");
    expect(redactUrl("http://user:pw@127.0.0.1:8545/")).to.equal("http://127.0.0.1:8545");
    const error = Object.assign(new Error("HTTP request failed.\nURL: http://x/SECRETKEY"), {
      shortMessage: "HTTP request failed.",
      details: "fetch failed",
    });
    expect(errorSummary(error)).to.equal("HTTP request failed. (fetch failed)");
  });
});

describe("operator node: withdrawal records", () => {
  it("reserve a nonce with the record, allow one open withdrawal per account, and survive a reopen", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "opg-withdrawals-")), "state.sqlite");
    const operator: Address = "0x00000000000000000000000000000000000000aa";
    const payout: Address = "0x00000000000000000000000000000000000000bb";
    let store = new OperatorStore(file);
    expect(store.reserveNonce(7)).to.equal(7); // a fulfilment
    const first = store.reserveWithdrawal(operator, payout, 5n * OPG, 7);
    expect(first).to.include({ state: "reserved", nonce: 8, amount: 5n * OPG });
    expect(store.reserveNonce(7)).to.equal(9); // the operator's sequence is shared
    expect(() => store.reserveWithdrawal(operator, payout, 1n, 7)).to.throw(/already open/);
    // The payout account has a sequence of its own.
    expect(store.reserveWithdrawal(payout, payout, 2n * OPG, 3, payout).nonce).to.equal(3);

    // A crash after the reservation: the reopened store still holds it with its nonce.
    store.close();
    store = new OperatorStore(file);
    expect(store.openWithdrawal(operator)).to.include({ id: first.id, nonce: 8, state: "reserved" });
    store.markWithdrawalSubmitted(first.id, "0x01", keccak256("0x01"));
    expect(() => {
      store.markWithdrawalSubmitted(first.id, "0x02", keccak256("0x02"));
    }).to.throw(/not reserved/);
    store.close();
    store = new OperatorStore(file);
    expect(store.openWithdrawal(operator)).to.include({ rawTx: "0x01", state: "submitted" });
    store.finishWithdrawal(first.id, "confirmed");
    expect(store.openWithdrawal(operator)).to.equal(undefined);
    expect(store.reserveWithdrawal(operator, payout, 1n, 0).nonce).to.equal(10);
    expect(store.withdrawalTotals()).to.deep.equal({
      reserved: 2,
      submitted: 0,
      confirmed: 1,
      failed: 0,
      withdrawn: 5n * OPG,
    });
    store.close();
  });
});

describe("operator node: WebSocket wake-ups, RPC outages, scheduled withdrawals (devnet)", function () {
  this.timeout(90_000);
  let devnet: Devnet;
  const iris = loadIris();
  const operator = privateKeyToAccount(OPERATOR_KEY).address;
  const nodes: OperatorNode[] = [];
  const proxies: TcpProxy[] = [];

  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
    const { ethers } = devnet.connection;
    const signers = await ethers.getSigners();
    await registerDevnetOperator(devnet, 2, SIGNER_KEY, 1_000n * OPG, operator);
    expect(signers[6]!.address).to.equal(privateKeyToAccount(PAYOUT_2_KEY).address);
    await registerDevnetOperator(devnet, 5, SIGNER_2_KEY, 1_000n * OPG, signers[6]!.address as Address);
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.stop();
    for (const proxy of proxies.splice(0)) await proxy.stop();
  });
  after(async () => {
    await devnet.close();
  });

  async function open(sample: number) {
    const { ethers } = devnet.connection;
    const [, , , requester] = await ethers.getSigners();
    const input = encodeFeatures(iris.features[sample]!);
    const block = await ethers.provider.getBlock("latest");
    const tx = await devnet.system.settlement.connect(requester).openRequest({
      modelId: devnet.irisModelId,
      inputHash: keccak256(input),
      maxFee: 2n * OPG,
      deadline: BigInt(block!.timestamp) + 3_600n,
      mode: VerificationMode.Signature,
      operator, // assigned: only the devnet operator's node serves these
      callback: ZERO,
      callbackGasLimit: 0,
      inputUri: toDataUri(input),
    });
    return openedFrom(devnet.system.settlement, await tx.wait()).requestId;
  }

  async function node(options: Partial<OperatorNodeOptions> = {}) {
    const created = new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: OPERATOR_KEY,
      signerKey: SIGNER_KEY,
      models: [{ modelId: devnet.irisModelId, file: IRIS_MODEL_PATH }],
      database: join(await mkdtemp(join(tmpdir(), "opg-resilience-")), "state.sqlite"),
      pollIntervalMs: 100,
      healthPort: 0,
      logger: pino({ level: "silent" }),
      ...options,
    });
    nodes.push(created);
    return created;
  }

  async function proxy() {
    const created = TcpProxy.forUrl(devnet.url);
    await created.start();
    proxies.push(created);
    return created;
  }

  const settledBy = (n: OperatorNode, id: bigint) => () => n.store.get(id)?.state === "settled";

  it("with a 60 s poll interval, a WebSocket notification gets a new request settled within seconds, across drops", async () => {
    const ws = await proxy();
    const { logger, lines } = capturingLogger();
    const n = await node({ pollIntervalMs: 60_000, wsUrl: ws.wsUrl, logger });
    const { healthUrl } = await n.start();
    await until(() => n.healthReport().ws.connected, "the subscription");

    const settleTimed = async (sample: number) => {
      const started = Date.now();
      const id = await open(sample);
      await until(settledBy(n, id), `request ${id} to settle`, 10_000);
      return Date.now() - started;
    };
    expect(await settleTimed(0)).to.be.below(5_000);

    // The server side hangs up: the node logs it, reconnects, and is woken again.
    ws.dropConnections();
    await until(() => n.healthReport().ws.drops >= 1, "the drop to be noticed");
    await until(() => n.healthReport().ws.connected, "the reconnection");
    expect(await settleTimed(1)).to.be.below(5_000);

    // The endpoint is gone for a while: reconnection attempts fail and back off, then succeed.
    await ws.stop();
    await sleep(1_200);
    expect(n.healthReport().ws.connected).to.equal(false);
    expect(n.healthReport().ws.drops).to.be.at.least(3);
    await ws.start();
    await until(() => n.healthReport().ws.connected, "the reconnection after the outage", 20_000);
    expect(await settleTimed(2)).to.be.below(5_000);

    const health = (await (await fetch(`${healthUrl!}/health`)).json()) as {
      ok: boolean;
      ws: { enabled: boolean; connected: boolean; wakeups: number; drops: number };
    };
    expect(health.ok).to.equal(true);
    expect(health.ws.enabled).to.equal(true);
    expect(health.ws.wakeups).to.be.at.least(3);
    const down = lines.filter((l) => l.msg === "websocket down; polling continues, reconnecting");
    expect(down.length).to.equal(health.ws.drops);
    expect(down.every((l) => typeof l.reconnectInMs === "number" && l.ws === ws.wsUrl)).to.equal(true);
  });

  it("backs off while the RPC endpoint is down and recovers when it returns", async () => {
    const rpc = await proxy();
    const { logger, lines } = capturingLogger();
    const n = await node({ rpcUrl: rpc.httpUrl, logger });
    const { healthUrl } = await n.start();
    const before = await open(3);
    await until(settledBy(n, before), "a request to settle through the proxy");

    await rpc.stop();
    const during = await open(4);
    await until(() => n.healthReport().rpc.consecutiveFailures >= 3, "three failed passes");
    const failed = lines.filter((l) => l.msg === "pass failed; backing off before retrying");
    const delays = failed.slice(0, 3).map((l) => l.retryInMs as number);
    expect(delays[0]).to.be.within(125, 250);
    expect(delays[1]).to.be.within(250, 500);
    expect(delays[2]).to.be.within(500, 1_000);
    const response = await fetch(`${healthUrl!}/health`);
    const health = (await response.json()) as {
      status: string;
      ok: boolean;
      reasons: string[];
      rpc: { consecutiveFailures: number; lastError?: string; retryInMs?: number };
      requests: Record<string, number>;
    };
    // Degraded while passes fail: HTTP 503, `ok` false, and why.
    expect(response.status).to.equal(503);
    expect(health).to.include({ status: "degraded", ok: false });
    expect(health.reasons[0]).to.match(/consecutive failed passes/);
    expect(health.rpc.consecutiveFailures).to.be.at.least(3);
    expect(health.rpc.lastError).to.be.a("string");
    expect(health.requests.settled).to.equal(1);
    expect(n.store.get(during)).to.equal(undefined);

    await rpc.start();
    await until(settledBy(n, during), "the request opened during the outage to settle", 20_000);
    expect(n.healthReport().rpc.consecutiveFailures).to.equal(0);
    expect(n.healthReport().status).to.equal("ok");
    expect((await fetch(`${healthUrl!}/health`)).status).to.equal(200);
    expect(lines.some((l) => l.msg === "RPC recovered; back to the poll interval")).to.equal(true);
    expect(await (await fetch(`${healthUrl!}/metrics`)).text()).to.match(
      /^opg_operator_rpc_consecutive_failures 0$/m,
    );
  });

  it("withdraws the ledger balance on schedule once it reaches the minimum, with nonces from the store", async () => {
    const settlement = devnet.system.settlement;
    const n = await node({ withdrawIntervalMs: 200, withdrawMinimum: 3n * OPG });
    const withdrawnEvents = async () =>
      (await settlement.queryFilter(settlement.filters.Withdrawn(operator))).map((e) => ({
        to: e.args.to,
        amount: e.args.amount,
        hash: e.transactionHash,
      }));
    const [, , , requester] = await devnet.connection.ethers.getSigners();
    await (
      await devnet.system.token.connect(requester).approve(devnet.addresses.settlement, 4n * OPG)
    ).wait();
    await (await settlement.connect(requester).depositFor(operator, 4n * OPG)).wait();
    const earlier = await settlement.balances(operator); // with the fees of the tests above
    const { healthUrl } = await n.start();
    await until(async () => (await withdrawnEvents()).length === 1, "the first withdrawal");
    expect((await withdrawnEvents())[0]).to.deep.include({ to: operator, amount: earlier });
    expect(await settlement.balances(operator)).to.equal(0n);
    // The node's fixed gas limit for a withdrawal (100k) leaves room.
    const receipt = await devnet.connection.ethers.provider.getTransactionReceipt(
      (await withdrawnEvents())[0]!.hash,
    );
    expect(receipt!.gasUsed).to.be.below(70_000n);

    // One request's share (below the 3 OPG minimum) is not withdrawn; a second one brings it over.
    await until(settledBy(n, await open(5)), "a request to settle");
    await sleep(800);
    expect(await withdrawnEvents()).to.have.length(1);
    const share = await settlement.balances(operator);
    await until(settledBy(n, await open(6)), "another request to settle");
    await until(async () => (await withdrawnEvents()).length === 2, "the second withdrawal");
    expect((await withdrawnEvents())[1]!.amount).to.equal(2n * share);
    await until(() => n.healthReport().withdrawals.confirmed === 2, "the node to confirm both");

    const health = (await (await fetch(`${healthUrl!}/health`)).json()) as {
      withdrawals: { enabled: boolean; confirmed: number; open: number; withdrawn: string };
    };
    expect(health.withdrawals).to.deep.equal({
      enabled: true,
      open: 0,
      confirmed: 2,
      failed: 0,
      withdrawn: (earlier + 2n * share).toString(),
    });
    expect(await (await fetch(`${healthUrl!}/metrics`)).text()).to.match(
      /^opg_operator_withdrawals\{state="confirmed"\} 2$/m,
    );
    // Fulfilments and withdrawals share one nonce sequence: nothing stuck, nothing reused.
    const provider = devnet.connection.ethers.provider;
    expect(await provider.getTransactionCount(operator, "pending")).to.equal(
      await provider.getTransactionCount(operator, "latest"),
    );
  });

  it("finishes a withdrawal interrupted by a crash with its own nonce and bytes, never a second one", async () => {
    const { ethers } = devnet.connection;
    const [, , , requester] = await ethers.getSigners();
    const settlement = devnet.system.settlement;
    const provider = ethers.provider;
    await (
      await devnet.system.token.connect(requester).approve(devnet.addresses.settlement, 9n * OPG)
    ).wait();
    const credit = async (amount: bigint) => {
      await (await settlement.connect(requester).depositFor(operator, amount)).wait();
    };
    const events = async () => settlement.queryFilter(settlement.filters.Withdrawn(operator));
    const before = (await events()).length;
    const database = join(await mkdtemp(join(tmpdir(), "opg-crash-")), "state.sqlite");

    // Crash 1: the nonce was reserved and recorded, nothing was signed.
    await credit(5n * OPG);
    let store = new OperatorStore(database);
    const reserved = store.reserveWithdrawal(
      operator,
      operator,
      5n * OPG,
      await provider.getTransactionCount(operator, "pending"),
    );
    store.close();
    let n = await node({ database, withdrawIntervalMs: 60_000 });
    await n.start();
    await until(() => n.store.withdrawal(reserved.id)?.state === "confirmed", "the reserved withdrawal");
    const first = (await events()).at(-1)!;
    expect((await provider.getTransaction(first.transactionHash))!.nonce).to.equal(reserved.nonce);
    await n.stop();
    nodes.splice(0);

    // Crash 2: the transaction was signed and stored, never broadcast.
    await credit(4n * OPG);
    store = new OperatorStore(database);
    const pending = store.reserveWithdrawal(
      operator,
      operator,
      4n * OPG,
      await provider.getTransactionCount(operator, "pending"),
    );
    const fees = await provider.getFeeData();
    const rawTx = await privateKeyToAccount(OPERATOR_KEY).signTransaction({
      chainId: Number(devnet.chainId),
      type: "eip1559",
      to: devnet.addresses.settlement,
      data: encodeFunctionData({
        abi: inferenceSettlementAbi,
        functionName: "withdraw",
        args: [operator, 4n * OPG],
      }),
      nonce: pending.nonce,
      gas: 100_000n,
      maxFeePerGas: fees.maxFeePerGas!,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas!,
    });
    store.markWithdrawalSubmitted(pending.id, rawTx, keccak256(rawTx));
    store.close();
    n = await node({ database, withdrawIntervalMs: 200 });
    await n.start();
    await until(() => n.store.withdrawal(pending.id)?.state === "confirmed", "the stored withdrawal");
    await sleep(600); // several withdrawal rounds: the balance is gone, nothing more is sent
    const after = await events();
    expect(after.length).to.equal(before + 2);
    expect(after.at(-1)!.transactionHash).to.equal(keccak256(rawTx));
    expect(await settlement.balances(operator)).to.equal(0n);
  });

  it("withdraws a separate payout account's balance only with its key, and says why otherwise", async () => {
    const { ethers } = devnet.connection;
    const [, , , requester] = await ethers.getSigners();
    const settlement = devnet.system.settlement;
    const operator2 = privateKeyToAccount(OPERATOR_2_KEY).address;
    const payout2 = privateKeyToAccount(PAYOUT_2_KEY).address;
    await (
      await devnet.system.token.connect(requester).approve(devnet.addresses.settlement, 5n * OPG)
    ).wait();
    await (await settlement.connect(requester).depositFor(operator2, 2n * OPG)).wait(); // as zk fees would be
    await (await settlement.connect(requester).depositFor(payout2, 3n * OPG)).wait(); // as signature fees would be
    const withdrawn = async (from: Address) =>
      (await settlement.queryFilter(settlement.filters.Withdrawn(from))).map((e) => [
        e.args.to,
        e.args.amount,
      ]);
    const options = { operatorKey: OPERATOR_2_KEY, signerKey: SIGNER_2_KEY, withdrawIntervalMs: 200 };

    const { logger, lines } = capturingLogger();
    const keyless = await node({ ...options, logger });
    await keyless.start();
    await until(async () => (await withdrawn(operator2)).length === 1, "the operator account's withdrawal");
    expect(await withdrawn(operator2)).to.deep.equal([[payout2, 2n * OPG]]);
    await sleep(500);
    expect(await withdrawn(payout2)).to.deep.equal([]);
    const why = lines.filter((l) => typeof l.msg === "string" && l.msg.includes("no key for it"));
    expect(why).to.have.length(1); // once, not every round
    expect(why[0]!.payout).to.equal(payout2);
    await keyless.stop();
    nodes.splice(0);

    const keyed = await node({ ...options, payoutKey: PAYOUT_2_KEY });
    await keyed.start();
    await until(async () => (await withdrawn(payout2)).length === 1, "the payout account's withdrawal");
    expect(await withdrawn(payout2)).to.deep.equal([[payout2, 3n * OPG]]);
    expect(await settlement.balances(payout2)).to.equal(0n);
  });
});
