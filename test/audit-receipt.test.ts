/**
 * `auditReceipt` and `opg audit --receipt` (issue #10 §6) on a Hardhat JSON-RPC devnet with a real operator node
 * serving quiet mode: honest receipts before commit (pending), in their challenge window and final (verified, and
 * the contract's `verifyReceipt` agrees); tampered records and replays failing the check that names them; a lying
 * gateway that cannot make a bad proof pass; a zk-model receipt re-executed and proven; a wrong output signed with
 * the operator's key failing re-execution with the proof as evidence; a rotated key; the CLI's exit codes and JSON.
 */
import { expect } from "chai";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { auditReceipt, RECEIPT_CHECKS as C, type ReceiptAuditReport } from "../src/audit/receipt.js";
import { auditReceiptWithModel } from "../src/audit/receipt-tools.js";
import { testAccountKey } from "../src/devnet/accounts.js";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { fieldToBytes32, VerificationMode, zkOutputBytes } from "../src/protocol/index.js";
import { verifyLogProof, receiptLeaf } from "../src/protocol/merkle.js";
import { receiptRecordToJson, type QuietReceiptRecord } from "../src/protocol/quiet-json.js";
import {
  hashReceipt,
  quietModeDomain,
  signQuietRequest,
  signReceipt,
  zkOutputHash,
} from "../src/protocol/quiet.js";
import { createOpgClient, type OpgClient } from "../src/sdk/client.js";
import { inputCommitment, IRIS_ZK_PARAMS, quantizeInput, quantizeOnnx } from "../src/zk/index.js";
import { fixedPointForward } from "../src/zk/reference.js";
import { runOpg } from "./helpers/cli.js";
import "./helpers/release-zk.js";

const OPERATOR_KEY = testAccountKey(2);
const SIGNER_KEY: Hex = "0x4343434343434343434343434343434343434343434343434343434343434343";
const OPG = 10n ** 18n;
const FEE = OPG / 1_000n;

const failed = (report: ReceiptAuditReport) => report.checks.filter((c) => !c.ok).map((c) => c.name);
const named = (report: ReceiptAuditReport, name: string) => {
  const found = report.checks.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no check "${name}" in ${JSON.stringify(report.checks)}`);
  return found;
};

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A devnet with the operator registered. Other test files start devnets at the same time and share Ignition's devnet
 * journal directory, which can make a deployment point at another chain's contracts: retry a failed start.
 */
async function startDevnetWithOperator(): Promise<Devnet> {
  for (let attempt = 1; ; attempt++) {
    const devnet = await startDevnet(hre, "127.0.0.1", 0);
    try {
      await registerDevnetOperator(devnet, 2, SIGNER_KEY, 1_000n * OPG);
      return devnet;
    } catch (error) {
      await devnet.close();
      if (attempt === 3) throw error;
    }
  }
}

describe("audit: a quiet receipt end to end (auditReceipt, opg audit --receipt)", function () {
  this.timeout(600_000);
  let devnet: Devnet;
  let publicClient: PublicClient;
  let clientFor: (index: number) => OpgClient;
  let operator: OpgClient;
  let operatorAddress: Address;
  let quietMode: Address;
  let quietModel: Hex;
  let zkModel: Hex;
  let node: OperatorNode;
  let url: string;
  let modelFile: Uint8Array;
  let plain: QuietReceiptRecord;
  let zk: QuietReceiptRecord;
  let zkLabel: number;
  let dir: string;
  let database: string;
  const iris = loadIris();
  const signer = privateKeyToAccount(SIGNER_KEY);

  const audit = (record: QuietReceiptRecord, extra: Partial<Parameters<typeof auditReceipt>[0]> = {}) =>
    auditReceipt({ client: publicClient, settlement: devnet.addresses.settlement, record, ...extra });
  const auditWithModel = (record: QuietReceiptRecord, prove = false) =>
    auditReceiptWithModel({
      client: publicClient,
      settlement: devnet.addresses.settlement,
      record,
      modelFile,
      prove,
    });

  before(async () => {
    devnet = await startDevnetWithOperator();
    dir = await mkdtemp(join(tmpdir(), "opg-audit-receipt-"));
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
    operator = clientFor(2);
    operatorAddress = operator.account()!.address;
    quietMode = (await operator.getQuietMode()).address;
    modelFile = new Uint8Array(await readFile(IRIS_MODEL_PATH));
    const register = async (name: string, modes: number, withZk: boolean) => {
      const spec = await irisRegistration({
        fee: FEE,
        royaltyBps: 500,
        name,
        ...(withZk && { zkVerifier: devnet.addresses.irisVerifier }),
      });
      return (await clientFor(1).registerModel({ ...spec.spec, modes })).modelId;
    };
    quietModel = await register("iris-audit", VerificationMode.Signature | VerificationMode.Quiet, false);
    zkModel = await register("iris-audit-zk", VerificationMode.Zk | VerificationMode.Quiet, true);

    database = join(dir, "state.sqlite");
    node = operatorNode(0);
    url = (await node.start()).quietUrl!;
  });
  after(async () => {
    await node.stop();
    await devnet.close();
  });

  /**
   * The operator node, committing on a one-hour timer: receipts stay uncommitted until {@link commitNow} restarts it
   * (a start commits what waits at once, as after a crash).
   */
  function operatorNode(port: number): OperatorNode {
    return new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: OPERATOR_KEY,
      signerKey: SIGNER_KEY,
      models: [quietModel, zkModel].map((modelId) => ({ modelId, file: IRIS_MODEL_PATH })),
      database,
      pollIntervalMs: 200,
      quiet: { port, batchIntervalMs: 3_600_000 },
      logger: pino({ level: process.env.AUDIT_RECEIPT_LOG ?? "silent" }),
    });
  }

  /** Restart the node on the same port; its first round commits the waiting receipts. */
  async function commitNow(): Promise<void> {
    const { nextSeq } = await operator.getLogHead({ operator: operatorAddress });
    const waiting = node.store.quiet.unbatchedCount();
    await node.stop();
    node = operatorNode(Number(new URL(url).port));
    await node.start();
    const target = nextSeq + BigInt(waiting);
    await waitFor(
      `the log to reach seq ${target}`,
      async () => (await operator.getLogHead({ operator: operatorAddress })).nextSeq >= target,
    );
  }

  /** A funded payer's inference through the gateway; the record `onReceipt` handed over. */
  async function served(payer: OpgClient, modelId: Hex, sample: number, inputHash?: Hex) {
    let record: QuietReceiptRecord | undefined;
    await payer.infer({
      operatorUrl: url,
      operator: operatorAddress,
      modelId,
      input: iris.features[sample]!,
      ...(inputHash !== undefined && { inputHash }),
      onReceipt: (r) => {
        record = r;
      },
    });
    return record!;
  }

  async function fundedPayer(index: number): Promise<OpgClient> {
    const client = clientFor(index);
    await client.deposit({ amount: OPG });
    await client.fundChannel({ operator: operatorAddress, amount: OPG });
    return client;
  }

  it("an honest receipt before its batch is committed: pending, with the commit deadline; re-executed", async () => {
    const payer = await fundedPayer(3);
    plain = await served(payer, quietModel, 0);
    const report = await auditWithModel(plain);
    expect(failed(report), JSON.stringify(report.checks)).to.deep.equal([]);
    expect(report).to.include({ verdict: "pending", state: "uncommitted" });
    expect(named(report, C.committed).pending).to.equal(true);
    const { commitWindow, challengeWindow } = await operator.getQuietMode();
    expect(report.commitDeadline).to.equal(plain.request.deadline + commitWindow);
    expect(report.challengeDeadline).to.equal(plain.request.deadline + commitWindow + challengeWindow);
    for (const name of [C.chain, C.quietMode, C.pair, C.payer, C.signer, C.stake, C.model, C.output]) {
      expect(named(report, name).ok, name).to.equal(true);
    }
    expect(named(report, C.input).ok).to.equal(true);
    expect(named(report, C.modelFile).ok).to.equal(true);
    expect(named(report, C.rerun).ok).to.equal(true);
  });

  it("after the commit: in its window, the leaf proven against the on-chain root; a lying gateway cannot pass", async () => {
    const sample = 120;
    const quantized = quantizeOnnx(modelFile, IRIS_ZK_PARAMS);
    const q = quantizeInput(iris.features[sample]!, quantized);
    zkLabel = fixedPointForward(quantized, q).label;
    const commitment = fieldToBytes32(await inputCommitment(q, quantized.params));
    zk = await served(clientFor(3), zkModel, sample, commitment);
    await commitNow();
    await waitFor("the gateway's inclusion proof", async () => {
      const body = (await (await fetch(`${url}/v1/receipts/1`)).json()) as Record<string, unknown>;
      return body.inclusion !== undefined;
    });

    const report = await audit(plain);
    expect(failed(report), JSON.stringify(report.checks)).to.deep.equal([]);
    expect(report).to.include({ verdict: "pending", state: "in window", inclusionSource: "gateway" });
    expect(named(report, C.window).pending).to.equal(true);
    const inclusion = report.inclusion!;
    expect(
      verifyLogProof(
        inclusion.root,
        receiptLeaf(hashReceipt(plain.receipt)),
        0,
        inclusion.count,
        inclusion.proof,
      ),
    ).to.equal(true);

    // A gateway serving a bogus proof: the auditor rebuilds the batch from its data instead.
    const bogusProof = async (input: string, init?: RequestInit): Promise<Response> => {
      const answer = await fetch(input, init);
      if (!input.includes("/v1/receipts/")) return answer;
      const body = (await answer.json()) as { inclusion: { proof: Hex[] } };
      body.inclusion.proof = body.inclusion.proof.map((): Hex => `0x${"11".repeat(32)}`);
      return Response.json(body);
    };
    const rebuilt = await audit(plain, { fetch: bogusProof });
    expect(rebuilt).to.include({ verdict: "pending", state: "in window", inclusionSource: "batch data" });
    expect(rebuilt.inclusion!.proof).to.deep.equal(inclusion.proof);

    // Bogus proofs and bogus batch data: nothing verifies against the root, so nothing is taken on trust.
    const allBogus = async (input: string, init?: RequestInit): Promise<Response> => {
      if (!input.includes("/v1/batches/")) return bogusProof(input, init);
      const body = (await (await fetch(input, init)).json()) as { receipts: { receipt: { time: string } }[] };
      body.receipts[0]!.receipt.time = "1";
      return Response.json(body);
    };
    const lied = await audit(plain, { fetch: allBogus });
    expect(lied.verdict).to.equal("failed");
    expect(failed(lied)).to.deep.equal([C.committed]);
    expect(named(lied, C.committed).detail).to.match(/does not verify.*rebuild root/s);
  });

  it("re-executes a zk-model receipt: the Poseidon input commitment, the fixed-point output and a Groth16 proof", async () => {
    const report = await auditWithModel(zk, true);
    expect(failed(report), JSON.stringify(report.checks)).to.deep.equal([]);
    expect(report).to.include({ verdict: "pending", state: "in window" });
    expect(named(report, C.input).detail).to.match(/Poseidon/);
    expect(named(report, C.rerun).detail).to.include(`class ${zkLabel}`);
    expect(named(report, C.proof).ok).to.equal(true);
    expect(report.zkProof?.output).to.equal(BigInt(zkLabel));
  });

  it("fails a tampered output, a tampered receipt field and a signature by a non-operator key, naming the check", async () => {
    const last = plain.output.slice(-2) === "00" ? "01" : "00";
    const tamperedOutput = await audit({ ...plain, output: `${plain.output.slice(0, -2)}${last}` as Hex });
    expect(tamperedOutput.verdict).to.equal("failed");
    expect(failed(tamperedOutput)).to.deep.equal([C.output]);

    const later = { ...plain.receipt, time: plain.receipt.time + 1n };
    const tamperedField = await audit({ ...plain, receipt: later });
    expect(tamperedField.verdict).to.equal("failed");
    expect(failed(tamperedField)).to.include(C.signer);
    // Its leaf is not the one committed at seq 0: omission evidence, verified against the root.
    expect(failed(tamperedField)).to.include(C.committed);
    expect(tamperedField.omission?.committedLeaf).to.equal(receiptLeaf(hashReceipt(plain.receipt)));

    const domain = quietModeDomain(devnet.chainId, quietMode);
    const mallory = privateKeyToAccount(generatePrivateKey());
    const forged = await audit({ ...plain, signature: await signReceipt(mallory, domain, plain.receipt) });
    expect(forged.verdict).to.equal("failed");
    expect(failed(forged)).to.deep.equal([C.signer]);
    expect(named(forged, C.signer).detail).to.include(`recovered ${mallory.address}, a key of no operator`);
  });

  it("fails a receipt replayed under another chain id or another QuietMode", async () => {
    const payerKey = privateKeyToAccount(testAccountKey(3));
    const replay = async (chainId: number, contract: Address) => {
      const domain = quietModeDomain(chainId, contract);
      return audit({
        ...plain,
        chainId,
        quietMode: contract,
        requestSignature: await signQuietRequest(payerKey, domain, plain.request),
        signature: await signReceipt(signer, domain, plain.receipt),
      });
    };
    const otherChain = await replay(1, quietMode);
    expect(otherChain.verdict).to.equal("failed");
    expect(failed(otherChain)).to.have.members([C.chain, C.payer, C.signer]);

    const otherContract = await replay(Number(devnet.chainId), devnet.addresses.zkMode);
    expect(otherContract.verdict).to.equal("failed");
    expect(failed(otherContract)).to.have.members([C.quietMode, C.payer, C.signer]);
  });

  it("fails a wrong-output receipt signed with the operator's key: re-execution and the proof show the right class", async () => {
    const wrong = BigInt((zkLabel + 1) % 3);
    const receipt = { ...zk.receipt, seq: 1_000n, outputHash: zkOutputHash(wrong) };
    const record: QuietReceiptRecord = {
      ...zk,
      receipt,
      signature: await operator.signQuietReceipt({ signer, receipt }),
      output: zkOutputBytes(wrong),
      outputHash: receipt.outputHash,
    };
    const report = await auditWithModel(record, true);
    expect(report.verdict).to.equal("failed");
    expect(report.state).to.equal("uncommitted");
    expect(failed(report)).to.have.members([C.rerun, C.proof]);
    expect(named(report, C.signer).ok).to.equal(true);
    expect(named(report, C.proof).detail).to.match(/wrong-output evidence/);
    expect(report.zkProof?.output).to.equal(BigInt(zkLabel));
  });

  it("after the windows: final and verified, and the contract's verifyReceipt agrees; an uncommitted receipt is an omission", async () => {
    // Past both receipts' challenge deadlines (their deadlines come from the chain clock, which may run ahead of the
    // last block's time).
    const { commitWindow, challengeWindow } = await operator.getQuietMode();
    const closed = [plain, zk].map((r) => r.request.deadline + commitWindow + challengeWindow);
    const last = (await publicClient.getBlock({ blockTag: "latest" })).timestamp;
    const until = closed.reduce((a, b) => (a > b ? a : b));
    await publicClient.request({
      method: "evm_increaseTime" as never,
      params: [Number(until - last + 60n)] as never,
    });
    await publicClient.request({ method: "evm_mine" as never, params: [] as never });

    const report = await auditWithModel(plain);
    expect(failed(report), JSON.stringify(report.checks)).to.deep.equal([]);
    expect(report).to.include({ verdict: "verified", state: "final" });
    expect(named(report, C.onChain).ok).to.equal(true);
    const zkReport = await audit(zk);
    expect(zkReport).to.include({ verdict: "verified", state: "final" });

    const never = { ...zk.receipt, seq: 1_000n };
    const neverReport = await audit({
      ...zk,
      receipt: never,
      signature: await operator.signQuietReceipt({ signer, receipt: never }),
    });
    expect(neverReport.verdict).to.equal("failed");
    expect(failed(neverReport)).to.deep.equal([C.committed]);
    expect(named(neverReport, C.committed).detail).to.match(/never committed/);
  });

  it("opg audit --receipt: a human report, --json, and exit codes 0 verified, 2 failed, 3 pending, 1 bad file", async () => {
    const addresses = join(dir, "addresses.json");
    await writeFile(addresses, JSON.stringify(devnet.addresses));
    const env = { OPG_RPC_URL: devnet.url, OPG_ADDRESSES: addresses };
    const file = async (name: string, record: QuietReceiptRecord) => {
      const path = join(dir, name);
      await writeFile(path, JSON.stringify(receiptRecordToJson(record), null, 2));
      return path;
    };
    const good = await file("good.json", plain);
    const json = await runOpg(["--json", "audit", "--receipt", good, "--model-file", IRIS_MODEL_PATH], env);
    expect(json.code, json.out + json.err).to.equal(0);
    expect(json.json).to.include({ verdict: "verified", state: "final" });
    expect((json.json.checks as { name: string }[]).map((c) => c.name)).to.include(C.rerun);

    const human = await runOpg(["audit", "--receipt", good], env);
    expect(human.code, human.err).to.equal(0);
    expect(human.out).to.include(`✓ ${C.signer}`);
    expect(human.out).to.match(/verdict: verified/);

    const forged = await file("forged.json", {
      ...plain,
      receipt: { ...plain.receipt, time: plain.receipt.time + 1n },
    });
    const rejected = await runOpg(["--json", "audit", "--receipt", forged], env);
    expect(rejected.code).to.equal(2);
    expect(rejected.json.verdict).to.equal("failed");

    // A new receipt waits for its batch: pending, exit 3.
    const fresh = await file("fresh.json", await served(await fundedPayer(4), quietModel, 7));
    const pending = await runOpg(["audit", "--receipt", fresh, "--model-file", IRIS_MODEL_PATH], env);
    expect(pending.code, pending.out + pending.err).to.equal(3);
    expect(pending.out).to.match(/state: uncommitted/);

    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ ...receiptRecordToJson(plain), receipt: { seq: "x" } }));
    const usage = await runOpg(["audit", "--receipt", bad], env);
    expect(usage.code).to.equal(1);
    expect(usage.err).to.match(/receipt\.operator/);
    expect((await runOpg(["audit"], env)).code).to.equal(1);
  });

  it("a rotated key: receipts signed before its retirement stay valid, receipts after it do not", async () => {
    const next = privateKeyToAccount(generatePrivateKey());
    await operator.rotateSigner({ signer: next });
    const report = await audit(plain);
    expect(report.verdict).to.equal("verified");
    expect(named(report, C.signer).detail).to.match(/retired at \d+, after the receipt's time/);

    const record = (await operator.getOperator()).signer;
    expect(record).to.equal(next.address);
    const late = { ...plain.receipt, time: plain.receipt.time + 10n ** 6n };
    const afterRetirement = await audit({
      ...plain,
      receipt: late,
      signature: await operator.signQuietReceipt({ signer, receipt: late }),
    });
    expect(failed(afterRetirement)).to.include(C.signer);
    expect(named(afterRetirement, C.signer).detail).to.match(/not after the receipt's time/);
  });
});
