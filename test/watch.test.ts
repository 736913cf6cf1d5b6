/**
 * `opg watch` as a library (src/watch/, docs/quiet.md "Watching") on a real Hardhat JSON-RPC node: a cheating operator
 * built without the node (its key signs receipts with the SDK, its account commits batches, a node:http server in the
 * test serves the batch data with the one quiet JSON codec), a payer's receipt files in a directory, and a watcher with
 * its own SQLite state and challenger key. One Groth16 proof in all (the wrong class).
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { getAddress, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { protocolBytecode } from "../src/abi/bytecode.js";
import { irisMlpVerifierAbi, quietModeAbi } from "../src/abi/index.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { encodeFeatures } from "../src/model/encoding.js";
import { loadIris } from "../src/model/iris.js";
import { hashQuietRequest, zkOutputHash, type Receipt } from "../src/protocol/quiet.js";
import {
  batchDataToJson,
  receiptRecordToJson,
  type BatchEntry,
  type QuietReceiptRecord,
} from "../src/protocol/quiet-json.js";
import { fieldToBytes32, zkOutputBytes } from "../src/protocol/zk.js";
import { PROTOCOL_DEFAULTS, VerificationMode, type OpgClient } from "../src/sdk/index.js";
import {
  sampled,
  sendChallenge,
  Watcher,
  WatchStateMismatchError,
  WatchStore,
  wrongOutputCall,
  type WatcherOptions,
} from "../src/watch/index.js";
import { fixedPointForward, inputCommitment, quantizeInput, type QuantizedMlp } from "../src/zk/index.js";
import "./helpers/release-zk.js";
import { OPG_BIN } from "./helpers/cli.js";
import { OPERATOR_SIGNING_KEY, OPG, startTestChain, type TestChain } from "./helpers/sdk-fixture.js";

const FEE = OPG;
const PENALTY = PROTOCOL_DEFAULTS.quietPenalty;
const COMMIT_WINDOW = PROTOCOL_DEFAULTS.quietCommitWindow;

/** What the test's data server answers for a path. */
interface Served {
  status: number;
  body: string;
}

describe("opg watch: a watcher quiet until it must act", function () {
  this.timeout(600_000);
  const iris = loadIris();
  const key = privateKeyToAccount(OPERATOR_SIGNING_KEY);
  let chain: TestChain;
  let operator: OpgClient;
  let payer: OpgClient;
  let challenger: OpgClient;
  let operatorAddress: Address;
  let zkModel: Hex;
  let quantized: QuantizedMlp;
  let quietMode: Address;
  let dir: string;
  let receiptsDir: string;
  let database: string;
  let server: Server;
  let serverUrl: string;
  const served = new Map<string, Served>();
  let watcher: Watcher;
  let voucherIndex = 0n;

  const now = async () => (await operator.publicClient.getBlock()).timestamp;
  const stake = async () => (await operator.getOperator({ operator: operatorAddress })).stake;

  /** A payer-signed request for Iris sample `sample` and the operator key's receipt `seq` of class `classIndex`. */
  async function signed(seq: bigint, sample: number, classIndex?: bigint): Promise<QuietReceiptRecord> {
    const features = iris.features[sample]!;
    const q = quantizeInput(features, quantized);
    const inputHash = fieldToBytes32(await inputCommitment(q, quantized.params));
    const truth = BigInt(fixedPointForward(quantized, q).label);
    const output = classIndex ?? truth;
    const index = voucherIndex++;
    const { request, signature: requestSignature } = await payer.signQuietVoucher({
      operator: operatorAddress,
      modelId: zkModel,
      inputHash,
      fee: FEE,
      cumulative: FEE * (index + 1n),
      index,
      deadline: (await now()) + 600n,
    });
    const receipt: Receipt = {
      operator: operatorAddress,
      seq,
      request: hashQuietRequest(request),
      outputHash: zkOutputHash(output),
      time: await now(),
    };
    const signature = await operator.signQuietReceipt({ signer: key, receipt });
    return {
      chainId: chain.chainId,
      quietMode,
      request,
      requestSignature,
      receipt,
      signature,
      output: zkOutputBytes(output),
      outputHash: receipt.outputHash,
      input: toHex(encodeFeatures(features)),
    };
  }

  /** The payer keeps the record as a receipt file. */
  async function keep(
    record: QuietReceiptRecord,
    name = `receipt-${record.receipt.seq}.json`,
  ): Promise<void> {
    await writeFile(join(receiptsDir, name), JSON.stringify(receiptRecordToJson(record)));
  }

  const entryOf = (r: QuietReceiptRecord): BatchEntry => ({
    receipt: r.receipt,
    signature: r.signature,
    request: r.request,
    requestSignature: r.requestSignature,
    output: r.output,
  });

  /** The operator commits `records` as one batch at `dataUri`; the server serves its data at `path` (unless told). */
  async function commit(records: QuietReceiptRecord[], path: string, dataUri = `${serverUrl}${path}`) {
    const batch = await operator.commitReceiptBatch({ receipts: records.map((r) => r.receipt), dataUri });
    const data = {
      firstSeq: batch.firstSeq,
      count: batch.count,
      root: batch.root,
      batchIndex: batch.batchIndex,
      committedAt: batch.committedAt,
      receipts: records.map(entryOf),
    };
    served.set(path, { status: 200, body: JSON.stringify(batchDataToJson(data)) });
    return { batch, data };
  }

  function newWatcher(extra: Partial<WatcherOptions> = {}): Watcher {
    return new Watcher({
      publicClient: challenger.publicClient,
      walletClient: challenger.walletClient!,
      addresses: chain.addresses,
      database,
      models: [{ modelId: zkModel, path: IRIS_MODEL_PATH }],
      receiptsDir,
      backoff: { baseMs: 10, capMs: 20 },
      logger: pino({ level: "silent" }),
      ...extra,
    });
  }

  const counters = () => watcher.state.counters();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  before(async () => {
    chain = await startTestChain();
    operator = chain.clientFor(2);
    payer = chain.clientFor(4);
    challenger = chain.clientFor(5);
    operatorAddress = operator.account()!.address;
    const owner = chain.clientFor(1);
    const hash = await owner.walletClient!.deployContract({
      abi: irisMlpVerifierAbi,
      bytecode: protocolBytecode.irisMlpVerifier,
      account: owner.account()!,
      chain: owner.walletClient!.chain,
    });
    const { contractAddress } = await owner.publicClient.waitForTransactionReceipt({ hash });
    const registration = await irisRegistration({
      fee: FEE,
      royaltyBps: 500,
      zkVerifier: getAddress(contractAddress!),
      name: "iris-watch-zk",
    });
    quantized = registration.quantized;
    ({ modelId: zkModel } = await owner.registerModel({
      ...registration.spec,
      modes: VerificationMode.Signature | VerificationMode.Zk | VerificationMode.Quiet,
    }));
    // Enough stake for every proven cheat below (the penalty is 1,000 OPG).
    await operator.stake({ amount: 5_000n * OPG });
    quietMode = (await operator.getQuietMode()).address;

    dir = await mkdtemp(join(tmpdir(), "opg-watch-"));
    receiptsDir = join(dir, "receipts");
    await mkdir(receiptsDir);
    database = join(dir, "watch.sqlite");
    server = createServer((req, res) => {
      const answer = served.get(req.url ?? "");
      res.statusCode = answer?.status ?? 404;
      res.end(answer?.body ?? "not found");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    watcher = newWatcher();
  });

  after(async () => {
    await watcher.stop();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    await chain.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("counts an honest log and challenges nothing", async () => {
    const records = [await signed(0n, 0), await signed(1n, 60), await signed(2n, 120)];
    for (const r of records) await keep(r);
    await commit(records, "/batches/0");
    const before = await stake();
    const summary = await watcher.runOnce();
    expect(summary).to.deep.include({ newBatches: 1, batchesChecked: 1, newReceipts: 3, challengesSent: 0 });
    expect(counters()).to.deep.include({
      batches_checked: 1,
      receipts_checked: 3,
      receipt_files_read: 3,
      reexecuted: 3,
    });
    expect(counters().mismatches ?? 0).to.equal(0);
    expect(watcher.state.challenges()).to.deep.equal([]);
    expect(watcher.state.findings()).to.deep.equal([]);
    expect(watcher.state.openRecords()).to.deep.equal([]); // committed in time, re-executed: done
    expect(await stake()).to.equal(before);
    // Another pass finds nothing new and does nothing.
    expect(await watcher.runOnce()).to.deep.equal({
      newBatches: 0,
      batchesChecked: 0,
      newReceipts: 0,
      challengesSent: 0,
    });
  });

  it("skips unreachable, malformed and root-mismatching batch data with reasons, keeps running and retries", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/gone`;
    await new Promise<void>((resolve) => {
      closed.close(() => {
        resolve();
      });
    });

    const unreachable = await signed(3n, 1);
    const malformed = await signed(4n, 61);
    const mismatched = await signed(5n, 121);
    await keep(unreachable); // the payer holds it: the watcher follows it, though it cannot see the batch's data
    await commit([unreachable], "/unused", deadUrl);
    const good4 = await commit([malformed], "/batches/4");
    const good5 = await commit([mismatched], "/batches/5");
    served.set("/batches/4", { status: 200, body: "{ not json" });
    // Well-formed data of another receipt: its root is not the committed one.
    const other = await signed(5n, 122);
    served.set("/batches/5", {
      status: 200,
      body: JSON.stringify(batchDataToJson({ ...good5.data, receipts: [entryOf(other)] })),
    });

    const summary = await watcher.runOnce();
    expect(summary).to.deep.include({ newBatches: 3, batchesChecked: 0, challengesSent: 0 });
    expect(counters()).to.deep.include({
      "skips:unreachable": 1,
      "skips:malformed": 1,
      "skips:root_mismatch": 1,
      "findings:data_unavailable": 3,
    });
    expect(watcher.healthReport().pendingBatches).to.equal(3);

    // The operator serves the right data: the next pass (after the short backoff) proves both; the dead URI stays.
    served.set("/batches/4", { status: 200, body: JSON.stringify(batchDataToJson(good4.data)) });
    served.set("/batches/5", { status: 200, body: JSON.stringify(batchDataToJson(good5.data)) });
    await sleep(50);
    const retry = await watcher.runOnce();
    expect(retry.batchesChecked).to.equal(2);
    expect(counters()).to.deep.include({ batches_checked: 3, "skips:unreachable": 2 });
    expect(watcher.healthReport().pendingBatches).to.equal(1);
    expect(watcher.state.challenges()).to.deep.equal([]);
  });

  it("proves a wrong class for the zk model and challenges it: operator slashed, receipt struck", async () => {
    const truth = BigInt(fixedPointForward(quantized, quantizeInput(iris.features[70]!, quantized)).label);
    const cheat = await signed(6n, 70, (truth + 1n) % 3n);
    await keep(cheat);
    await commit([cheat], "/batches/6"); // the operator logs what it signed: the log is fine, the output is not
    const before = await stake();
    const summary = await watcher.runOnce();
    expect(summary.challengesSent).to.equal(1);
    expect(await stake()).to.equal(before - PENALTY);
    const struck = await challenger.publicClient.readContract({
      address: quietMode,
      abi: quietModeAbi,
      functionName: "isStruck",
      args: [operatorAddress, 6n],
    });
    expect(struck).to.equal(true);
    expect(counters()).to.deep.include({ mismatches: 1, challenges_sent: 1, challenges_won: 1 });
    expect(watcher.state.challenges().map((c) => [c.kind, c.seq, c.state])).to.deep.equal([
      ["wrong_output", 6n, "won"],
    ]);
  });

  it("challenges omission when the payer's receipt is not the leaf committed at its seq", async () => {
    const given = await signed(7n, 2); // what the payer got
    const logged = await signed(7n, 3); // what the operator committed at seq 7 instead
    await keep(given);
    await commit([logged], "/batches/7");
    const before = await stake();
    const summary = await watcher.runOnce();
    expect(summary.challengesSent).to.equal(1);
    expect(await stake()).to.equal(before - PENALTY);
    expect(watcher.state.challenges().map((c) => [c.kind, c.seq, c.state])).to.deep.equal([
      ["wrong_output", 6n, "won"],
      ["omission", 7n, "won"],
    ]);
  });

  it("restarts in the middle: nothing re-sent, nothing missed, a challenge in flight is checked on chain first", async () => {
    await watcher.stop();
    // While it is down: a new honest batch and its receipt file.
    const honest = await signed(8n, 130);
    await keep(honest);
    await commit([honest], "/batches/8");

    watcher = newWatcher({ healthPort: 0, pollIntervalMs: 60_000 });
    const { healthUrl } = await watcher.start();
    await watcher.runOnce(); // after the pass `start` began, if it is still running
    expect(counters()).to.deep.include({ batches_checked: 6, challenges_sent: 2, challenges_won: 2 });
    expect(watcher.state.challenges()).to.have.length(2);
    const metrics = await (await fetch(`${healthUrl!}/metrics`)).text();
    expect(metrics).to.include("opg_watch_batches_checked_total 6");
    expect(metrics).to.include("opg_watch_challenges_sent_total 2");
    expect(metrics).to.include('opg_watch_skips_total{reason="unreachable"}');
    const health = (await (await fetch(`${healthUrl!}/health`)).json()) as { status: string };
    expect(health.status).to.equal("ok");

    // A crash after writing a challenge as `sending`: on restart the chain says it landed, so it is not sent again.
    const zero: [bigint, bigint] = [0n, 0n];
    // Records still open: seq 3's (its batch's data is gone).
    expect(watcher.state.openRecords().map((r) => r.record.receipt.seq)).to.deep.equal([3n]);
    const call = wrongOutputCall(
      {
        receipt: {
          operator: operatorAddress,
          seq: 6n,
          request: `0x${"00".repeat(32)}`,
          outputHash: `0x${"00".repeat(32)}`,
          time: 0n,
        },
        request: {
          payer: operatorAddress,
          operator: operatorAddress,
          modelId: zkModel,
          inputHash: `0x${"00".repeat(32)}`,
          fee: 0n,
          cumulative: 0n,
          index: 0n,
          deadline: 0n,
        },
        signature: `0x${"00".repeat(65)}`,
      },
      0n,
      { a: zero, b: [zero, zero], c: zero },
    );
    watcher.state.challengeSending(call);
    const outcome = await sendChallenge(challenger, quietMode, watcher.state, call);
    expect(outcome).to.deep.equal({ outcome: "landed" });
    expect(watcher.state.challenge(call.key)?.state).to.equal("won");
    // The tests below drive passes themselves: a watcher not started (no timer, no directory watch).
    await watcher.stop();
    watcher = newWatcher();
  });

  it("never challenges on fabricated, foreign or garbled receipt files", async () => {
    const stranger = privateKeyToAccount(`0x${"cd".repeat(32)}`);
    const fabricated = await signed(100n, 5);
    fabricated.signature = await operator.signQuietReceipt({ signer: stranger, receipt: fabricated.receipt });
    await keep(fabricated, "fabricated.json");
    await keep({ ...(await signed(101n, 6)), chainId: chain.chainId + 1 }, "foreign.json");
    await writeFile(join(receiptsDir, "garbled.json"), '{"chainId": 1, "receipt": 7}');
    const before = await stake();
    const summary = await watcher.runOnce();
    expect(summary.challengesSent).to.equal(0);
    expect(counters(), JSON.stringify(counters())).to.deep.include({
      "skips:not_evidence": 1,
      "skips:foreign_receipt": 1,
      "skips:bad_receipt_file": 1,
    });
    expect(await stake()).to.equal(before);
  });

  it("challenges equivocation: two committed receipts for one request", async () => {
    const first = await signed(9n, 7);
    const receipt: Receipt = { ...first.receipt, seq: 10n };
    const second = {
      ...first,
      receipt,
      signature: await operator.signQuietReceipt({ signer: key, receipt }),
    };
    await commit([first, second], "/batches/9");
    const before = await stake();
    const summary = await watcher.runOnce();
    expect(summary).to.deep.include({ batchesChecked: 1, challengesSent: 1 });
    expect(await stake()).to.equal(before - PENALTY);
    expect(watcher.state.challenges().map((c) => [c.kind, c.seq])).to.deep.equal([
      ["wrong_output", 6n],
      ["omission", 7n],
      ["equivocation", 9n],
    ]);
  });

  it("challenges a receipt never committed once its commit deadline passed, and only then", async () => {
    const record = await signed(11n, 140);
    await keep(record);
    const early = await watcher.runOnce();
    expect(early.challengesSent).to.equal(0); // not due yet: the operator still has time
    const before = await stake();
    const wait = record.request.deadline + COMMIT_WINDOW + 1n - (await now());
    await chain.timeTravel(Number(wait));
    const late = await watcher.runOnce();
    expect(late.challengesSent).to.equal(1);
    expect(await stake()).to.equal(before - PENALTY);
    // Every challenge is against a cheat; the honest receipts (seq 0-5, 8) were never challenged.
    expect(watcher.state.challenges().map((c) => [c.kind, c.seq])).to.deep.equal([
      ["wrong_output", 6n],
      ["omission", 7n],
      ["equivocation", 9n],
      ["uncommitted", 11n],
    ]);
    // A pass later: nothing is sent again.
    expect((await watcher.runOnce()).challengesSent).to.equal(0);
  });

  it("samples by (operator, seq): the same receipts on every run, about the asked share", () => {
    const picks = (rate: number) =>
      Array.from({ length: 2_000 }, (_, i) => sampled(operatorAddress, BigInt(i), rate));
    const tenth = picks(0.1);
    expect(picks(0.1)).to.deep.equal(tenth);
    const share = tenth.filter(Boolean).length / tenth.length;
    expect(share).to.be.within(0.07, 0.13);
    expect(picks(1).every(Boolean)).to.equal(true);
    expect(picks(0).some(Boolean)).to.equal(false);
  });

  it("refuses a state file made for another chain; fresh state moves it aside", async () => {
    const file = join(dir, "other.sqlite");
    const other = new WatchStore(file);
    other.bind({ chainId: 1, genesisHash: `0x${"11".repeat(32)}`, quietMode });
    other.close();
    const refused = newWatcher({ database: file });
    const error = await refused.runOnce().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(WatchStateMismatchError);
    const fresh = newWatcher({
      database: file,
      freshState: true,
      fromBlock: await chain.clientFor(0).publicClient.getBlockNumber(),
    });
    await fresh.runOnce();
    expect(fresh.state.binding()?.chainId).to.equal(chain.chainId);
    await fresh.stop();
    expect((await readdir(dir)).some((f) => /^other\.sqlite\..*\.bak$/.test(f))).to.equal(true);
  });

  it("runs as `opg watch` until one SIGINT (report-only without a challenger key)", async () => {
    const child = spawn(
      "node",
      [
        OPG_BIN,
        "watch",
        "--db",
        join(dir, "cli.sqlite"),
        "--operator",
        operatorAddress,
        "--model-file",
        `${zkModel}=${IRIS_MODEL_PATH}`,
        "--receipts",
        receiptsDir,
        "--sample",
        "0",
        "--poll-ms",
        "200",
        "--health-port",
        "0",
        "--json",
      ],
      {
        env: { PATH: process.env.PATH, OPG_RPC_URL: chain.url, OPG_ADDRESSES: chain.deploymentDir },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const start = Date.now();
    while (!stdout.includes("batch checked") && Date.now() - start < 60_000) await sleep(100);
    child.kill("SIGINT");
    expect(await exited, stderr).to.equal(0);
    expect(stderr).to.include("reporting only");
    expect(stdout).to.include(`"stopped":true`);
    expect(stdout).to.match(/"batches_checked":[1-9]/);
  });
});
