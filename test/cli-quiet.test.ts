/**
 * Quiet mode from the command line (issue #10) on a real Hardhat JSON-RPC devnet with a real operator node serving
 * its gateway: `opg channel fund|show|refund|withdraw`, `opg infer` (voucher state continued across two processes,
 * every receipt saved and parseable, refusals with their exit code and hint) and `opg operator redeem` after the
 * challenge windows (paid exactly the signed total, once).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { pino } from "pino";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { inferenceSettlementAbi } from "../src/abi/index.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { OperatorNode, type OperatorNodeOptions } from "../src/operator/node.js";
import { splitFee } from "../src/protocol/fees.js";
import { VerificationMode } from "../src/protocol/modes.js";
import { receiptRecordFromJson } from "../src/protocol/quiet-json.js";
import { OPG_BIN, runOpg, spawnOpg } from "./helpers/cli.js";
import {
  accountKey,
  OPG,
  OPERATOR_SIGNING_KEY,
  startTestChain,
  type TestChain,
} from "./helpers/sdk-fixture.js";
import "./helpers/release-zk.js";

const FEE = OPG / 100n;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port free right now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => {
        resolve(port);
      });
    });
  });
}
const ROYALTY_BPS = 1_000;

describe("cli: quiet mode (opg infer, opg channel, opg operator redeem)", function () {
  this.timeout(600_000);
  let chain: TestChain;
  let env: NodeJS.ProcessEnv;
  let stateHome: string;
  let modelId: Hex;
  let zkModelId: Hex;
  let operator: Address;
  let node: OperatorNode;
  let gateway: string;
  let database: string;
  const payerKey = accountKey(4);
  const payer = privateKeyToAccount(payerKey).address;
  const asOperator = { OPG_PRIVATE_KEY: accountKey(2) };

  const opg = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runOpg(args, env, extraEnv);
  const nodeOptions = (): OperatorNodeOptions => ({
    rpcUrl: chain.url,
    settlement: chain.addresses.settlement,
    operatorKey: accountKey(2),
    signerKey: OPERATOR_SIGNING_KEY,
    models: [modelId, zkModelId].map((id) => ({ modelId: id, file: IRIS_MODEL_PATH })),
    database,
    pollIntervalMs: 200,
    quiet: { port: 0, batchIntervalMs: 300 },
    logger: pino({ level: "silent" }),
  });

  before(async () => {
    chain = await startTestChain();
    stateHome = await mkdtemp(join(tmpdir(), "opg-cli-quiet-"));
    database = join(stateHome, "node.sqlite");
    env = {
      OPG_RPC_URL: chain.url,
      OPG_ADDRESSES: chain.deploymentDir,
      OPG_PRIVATE_KEY: payerKey,
      XDG_STATE_HOME: stateHome,
    };
    const iris = await irisRegistration({ fee: FEE, royaltyBps: ROYALTY_BPS, name: "iris-quiet-cli" });
    modelId = (
      await chain
        .clientFor(1)
        .registerModel({ ...iris.spec, modes: VerificationMode.Signature | VerificationMode.Quiet })
    ).modelId;
    const connection = await hre.network.create({ network: "localhost", override: { url: chain.url } });
    const verifier = (await (
      await connection.ethers.deployContract("IrisMlpVerifier")
    ).getAddress()) as Address;
    await connection.close();
    const zk = await irisRegistration({
      fee: FEE,
      royaltyBps: ROYALTY_BPS,
      name: "iris-quiet-cli-zk",
      zkVerifier: verifier,
    });
    zkModelId = (
      await chain
        .clientFor(1)
        .registerModel({ ...zk.spec, modes: VerificationMode.Zk | VerificationMode.Quiet })
    ).modelId;
    operator = chain.clientFor(2).account()!.address;
    node = new OperatorNode(nodeOptions());
    gateway = (await node.start()).quietUrl!;
  });
  after(async () => {
    await node.stop();
    await chain.close();
  });

  it("funds a channel and shows it, with the claimed amount per model", async () => {
    expect((await opg(["--json", "deposit", "5"])).code).to.equal(0);
    const funded = await opg(["--json", "channel", "fund", operator, "1"]);
    expect(funded.code, funded.err).to.equal(0);
    expect(funded.json.funds).to.equal(OPG.toString());
    expect(funded.json.approvalHash).to.be.a("string");

    const shown = await opg(["--json", "channel", "show", operator, "--model", modelId]);
    expect(shown.code, shown.err).to.equal(0);
    expect(shown.json.channels).to.deep.equal([
      { operator, funds: OPG.toString(), refundAt: "0", models: [{ modelId, claimed: "0", credit: "0" }] },
    ]);
    // Without an operator: every channel the payer funded.
    const all = await opg(["channel", "show"]);
    expect(all.out).to.contain(`channel of ${payer} with ${operator}: 1 OPG, no refund requested`);
  });

  it("infers twice in two processes: the voucher state continues, every receipt is saved and parses", async () => {
    const out = join(stateHome, "first.json");
    const args = ["--json", "infer", "--operator", operator, "--model", modelId, "--gateway", gateway];
    const first = await spawnOpg([...args, "--input", "5.1,3.5,1.4,0.2", "--out", out], env);
    expect(first.code, first.stderr).to.equal(0);
    const second = await spawnOpg([...args, "--input", "6.3,3.3,6,2.5"], env);
    expect(second.code, second.stderr).to.equal(0);

    const one = JSON.parse(first.stdout) as Record<string, unknown>;
    const two = JSON.parse(second.stdout) as Record<string, unknown>;
    const records = [receiptRecordFromJson(one), receiptRecordFromJson(two)];
    expect(records.map((r) => r.request.index)).to.deep.equal([0n, 1n]);
    expect(records.map((r) => r.request.cumulative)).to.deep.equal([FEE, 2n * FEE]);
    expect(records[1]!.receipt.seq).to.equal(records[0]!.receipt.seq + 1n);
    expect(one.answer).to.deep.include({ classes: [0] });
    expect(two.answer).to.deep.include({ classes: [2] });

    // Saved in the receipts directory (and --out), each the same record.
    for (const [json, record] of [
      [one, records[0]!],
      [two, records[1]!],
    ] as const) {
      const file = json.receiptFile as string;
      expect(file.startsWith(join(stateHome, "opg", "receipts"))).to.equal(true);
      expect(receiptRecordFromJson(JSON.parse(await readFile(file, "utf8")))).to.deep.equal(record);
    }
    expect(receiptRecordFromJson(JSON.parse(await readFile(out, "utf8")))).to.deep.equal(records[0]);
    const voucherFile = two.voucherFile as string;
    const state = JSON.parse(await readFile(voucherFile, "utf8")) as { positions: Record<string, unknown> };
    expect(state.positions).to.deep.equal({
      [`${operator.toLowerCase()}/${modelId}`]: { index: "2", cumulative: (2n * FEE).toString() },
    });

    // For people: the class, the seq, the latency and where the receipt went.
    const human = await opg([
      "infer",
      "--operator",
      operator,
      "--model",
      modelId,
      "--gateway",
      gateway,
      "--input",
      "5.9,3,5.1,1.8",
    ]);
    expect(human.code, human.err).to.equal(0);
    expect(human.out).to.match(/^receipt #\d+ from operator 0x[0-9a-fA-F]{40} in \d+ ms \(verified\)/);
    expect(human.out).to.match(/answer: class 2 \(logits/);
    expect(human.out).to.contain("voucher #2");
    expect(human.out).to.contain(`receipt saved to ${join(stateHome, "opg", "receipts")}`);
    const saved = await readdir((two.receiptFile as string).replace(/\/[^/]+$/, ""));
    expect(saved).to.have.length(3);
  });

  it("maps a refusal to exit 2 with the operator's code and a hint, an unreachable gateway to exit 5", async () => {
    // Account 5 has no channel with the operator.
    const refused = await opg(
      [
        "--json",
        "infer",
        "--operator",
        operator,
        "--model",
        modelId,
        "--gateway",
        gateway,
        "--input",
        "5.1,3.5,1.4,0.2",
      ],
      { OPG_PRIVATE_KEY: accountKey(5) },
    );
    expect(refused.code, refused.err).to.equal(2);
    expect(refused.json.code).to.equal("insufficient_funds");
    expect(refused.err).to.contain("error: the operator refused the request (402 insufficient_funds)");
    expect(refused.err).to.contain(`hint: fund the channel: \`opg channel fund ${operator} <OPG>\``);

    const unreachable = await opg([
      "infer",
      "--operator",
      operator,
      "--model",
      modelId,
      "--gateway",
      "http://127.0.0.1:9",
      "--input",
      "5.1,3.5,1.4,0.2",
    ]);
    expect(unreachable.code, unreachable.err).to.equal(5);
    expect(unreachable.err).to.match(/hint: check --gateway/);

    const noGateway = await opg([
      "infer",
      "--operator",
      operator,
      "--model",
      modelId,
      "--input",
      "5.1,3.5,1.4,0.2",
    ]);
    expect(noGateway.code).to.equal(1);
    expect(noGateway.err).to.contain("pass --gateway <url>");
  });

  it("redeems the vouchers after the windows: the operator is paid exactly the signed total, once", async () => {
    const client = chain.clientFor(4);
    const quiet = await client.getQuietMode();
    const payout = privateKeyToAccount(accountKey(3)).address;
    const protocolFeeBps = await client.publicClient.readContract({
      address: chain.addresses.settlement,
      abi: inferenceSettlementAbi,
      functionName: "protocolFeeBps",
    });
    const signed = 3n * FEE; // three inferences above

    // Not final yet: nothing is due.
    const early = await opg(["--json", "operator", "redeem", "--db", database], asOperator);
    expect(early.code, early.err).to.equal(0);
    expect(early.json.redeemed).to.deep.equal([]);
    expect(early.json.waiting).to.equal(1);

    await chain.timeTravel(Number(quiet.maxTtl + quiet.commitWindow + quiet.challengeWindow) + 60);
    const dry = await opg(["--json", "operator", "redeem", "--db", database, "--dry-run"], asOperator);
    expect(dry.code, dry.err).to.equal(0);
    expect(dry.json.due).to.deep.equal([{ payer, modelId, cumulative: signed.toString(), claimed: "0" }]);

    const before = await client.getBalance({ owner: payout });
    const redeemed = await opg(["--json", "operator", "redeem", "--db", database], asOperator);
    expect(redeemed.code, redeemed.err).to.equal(0);
    expect(redeemed.json.total).to.equal(signed.toString());
    expect((await client.getSubChannel({ operator, modelId })).claimed).to.equal(signed);
    expect((await client.getChannel({ operator })).funds).to.equal(OPG - signed);
    expect((await client.getBalance({ owner: payout })) - before).to.equal(
      splitFee(signed, ROYALTY_BPS, protocolFeeBps).operator,
    );

    const again = await opg(["--json", "operator", "redeem", "--db", database], asOperator);
    expect(again.code, again.err).to.equal(0);
    expect(again.json.redeemed).to.deep.equal([]);
    expect(again.json.total).to.equal("0");

    const shown = await opg(["channel", "show", operator, "--model", modelId]);
    expect(shown.out).to.contain(`model ${modelId}: 0.03 OPG claimed`);
  });

  it("infers with a zk-circuit model: the input commitment is the circuit's, the answer its class", async () => {
    const zk = await opg([
      "--json",
      "infer",
      "--operator",
      operator,
      "--model",
      zkModelId,
      "--gateway",
      gateway,
      "--input",
      "6.3,3.3,6,2.5",
      "--model-file",
      IRIS_MODEL_PATH,
    ]);
    expect(zk.code, zk.err).to.equal(0);
    const record = receiptRecordFromJson(zk.json);
    expect(record.request).to.include({ modelId: zkModelId, index: 0n, cumulative: FEE });
    expect(zk.json.answer).to.deep.include({ classes: [2] });
    const human = await opg([
      "infer",
      "--operator",
      operator,
      "--model",
      zkModelId,
      "--gateway",
      gateway,
      "--input",
      "5.1,3.5,1.4,0.2",
    ]);
    expect(human.code, human.err).to.equal(0);
    expect(human.out).to.contain("answer: class 0 (the circuit's output)");
  });

  it("`operator serve --quiet-port --public-url --redeem-every`: publishes its gateway, serves infer, redeems on its own", async () => {
    await node.stop(); // the same operator and state file, now served by the CLI
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const child = spawn(
      "node",
      [
        OPG_BIN,
        "operator",
        "serve",
        "--model",
        modelId,
        "--model-file",
        IRIS_MODEL_PATH,
        "--db",
        database,
        "--poll-ms",
        "200",
        "--quiet-port",
        String(port),
        "--public-url",
        publicUrl,
        "--batch-interval-ms",
        "300",
        "--redeem-every",
        "1",
      ],
      {
        env: { PATH: process.env.PATH, ...env, ...asOperator, OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const started = Date.now();
      while (!stderr.includes("quiet-mode gateway on") && Date.now() - started < 120_000) {
        if (child.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
        await sleep(200);
      }
      expect(stderr).to.contain(`quiet-mode gateway on http://127.0.0.1:${port}`);
      const client = chain.clientFor(4);
      // The endpoint is published in the registry: `opg infer` finds it without --gateway.
      let published: string | undefined;
      while (published !== publicUrl && Date.now() - started < 120_000) {
        published = await client.getOperatorEndpoint({ operator });
        if (published !== publicUrl) await sleep(200);
      }
      const served = await opg([
        "--json",
        "infer",
        "--operator",
        operator,
        "--model",
        modelId,
        "--input",
        "5.1,3.5,1.4,0.2",
      ]);
      expect(served.code, served.err).to.equal(0);
      expect(served.json.operatorUrl).to.equal(publicUrl);
      const record = receiptRecordFromJson(served.json);
      expect(record.request).to.include({ index: 3n, cumulative: 4n * FEE });

      // Past the windows, the node's own timer redeems the new voucher.
      const quiet = await client.getQuietMode();
      await chain.timeTravel(Number(quiet.maxTtl + quiet.commitWindow + quiet.challengeWindow) + 60);
      let claimed = 0n;
      while (claimed !== 4n * FEE && Date.now() - started < 180_000) {
        await sleep(300);
        claimed = (await client.getSubChannel({ operator, modelId })).claimed;
      }
      expect(claimed).to.equal(4n * FEE);
      while ((await client.getSubChannel({ operator, modelId: zkModelId })).claimed !== 2n * FEE) {
        if (Date.now() - started > 180_000) throw new Error("the zk sub-channel was not redeemed");
        await sleep(300);
      }
      expect((await client.getChannel({ operator })).funds).to.equal(OPG - 6n * FEE);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited, stderr).to.equal(0);
    }
    // Back to the in-process node for the rest.
    node = new OperatorNode({ ...nodeOptions(), database });
    gateway = (await node.start()).quietUrl!;
  });

  it("refunds a channel after the notice period", async () => {
    const early = await opg(["--json", "channel", "withdraw", operator]);
    expect(early.code).to.equal(1);
    expect(early.err).to.contain("hint: start the notice period first");
    const refund = await opg(["--json", "channel", "refund", operator]);
    expect(refund.code, refund.err).to.equal(0);
    const quiet = await chain.clientFor(4).getQuietMode();
    const notDue = await opg(["channel", "withdraw", operator]);
    expect(notDue.code).to.equal(1);
    expect(notDue.err).to.match(/hint: the notice period ends at \d+/);
    // The operator no longer serves a channel being refunded.
    const refused = await opg([
      "--json",
      "infer",
      "--operator",
      operator,
      "--model",
      modelId,
      "--gateway",
      gateway,
      "--input",
      "5.1,3.5,1.4,0.2",
    ]);
    expect(refused.code).to.equal(2);
    expect(refused.json.code).to.equal("insufficient_funds");

    await chain.timeTravel(Number(quiet.noticePeriod) + 1);
    const withdrawn = await opg(["--json", "channel", "withdraw", operator]);
    expect(withdrawn.code, withdrawn.err).to.equal(0);
    expect(withdrawn.json.amount).to.equal((OPG - 6n * FEE).toString());
    expect(existsSync(database)).to.equal(true);
  });
});
