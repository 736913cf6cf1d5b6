/**
 * The operator node's quiet-mode gateway (docs/operator.md, "Quiet mode gateway") over a real Hardhat JSON-RPC devnet
 * (QuietMode with the default windows: 1 h commit, 1 day challenge, 1 h maxTtl): a payer funds a channel and posts
 * signed vouchers with inputs over HTTP, the node answers with outputs and signed receipts (a signature-style model
 * and a zk-circuit model), refuses every bad request with its code without persisting anything, commits its receipts,
 * serves batches and proofs, and keeps its log across restarts. The SDK verifies on the payer's side. Concurrency:
 * racing vouchers on one sub-channel (one served per index, seqs without gaps), payers in parallel, a model revoked
 * and a refund requested while serving (refused after the chain view's refresh), and the demo's cheating flag.
 */
import { expect } from "chai";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  keccak256,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { testAccountKey } from "../src/devnet/accounts.js";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { encodeFeatures } from "../src/model/encoding.js";
import { loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { fieldToBytes32, ModelStatus, VerificationMode, zkOutputBytes } from "../src/protocol/index.js";
import { zkOutputHash } from "../src/protocol/quiet.js";
import type { QuietRequest } from "../src/protocol/quiet.js";
import {
  batchDataFromJson,
  quietRequestFromJson,
  receiptFromJson,
  receiptInclusionFromJson,
} from "../src/protocol/quiet-json.js";
import { createOpgClient, type OpgClient } from "../src/sdk/client.js";
import { inputCommitment, IRIS_ZK_PARAMS, quantizeInput, quantizeOnnx } from "../src/zk/index.js";
import { fixedPointForward } from "../src/zk/reference.js";
import "./helpers/release-zk.js";

const OPERATOR_KEY = testAccountKey(2);
const SIGNER_KEY: Hex = "0x4242424242424242424242424242424242424242424242424242424242424242";
const OPG = 10n ** 18n;
const FEE = OPG / 1_000n;
const COMMIT_WINDOW = 3_600;
const CHALLENGE_WINDOW = 24 * 3_600;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const decimal = (value: unknown) =>
  JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  ) as unknown;

describe("operator node: quiet-mode gateway (against a devnet over HTTP)", function () {
  this.timeout(300_000);
  let devnet: Devnet;
  let database: string;
  let payer: OpgClient;
  let operator: OpgClient;
  let owner: OpgClient;
  let operatorAddress: Address;
  let quietModel: Hex;
  let zkModel: Hex;
  let deprecatedModel: Hex;
  let revokedModel: Hex;
  /** A version without quiet mode (signature mode only). */
  let loudModel: Hex;
  let node: OperatorNode;
  let clientFor: (index: number) => OpgClient;
  let url: string;
  let healthUrl: string;
  const iris = loadIris();
  /** The payer's view of each sub-channel: the next index and the running total. */
  const sub = new Map<Hex, { index: bigint; cumulative: bigint }>();
  /** The latest voucher served per model (for redemption). */
  const latest = new Map<Hex, { request: QuietRequest; signature: Hex }>();
  let quantized: ReturnType<typeof quantizeOnnx>;

  const chainNow = async () => (await payer.publicClient.getBlock()).timestamp;
  /** The gateway's now: the later of the clock and the chain's head (automine: the head can be minutes old). */
  const gatewayNow = async () => {
    const head = await chainNow();
    const wall = BigInt(Math.floor(Date.now() / 1000));
    return head > wall ? head : wall;
  };

  async function inputFor(modelId: Hex, sample: number): Promise<{ bytes: Uint8Array; hash: Hex }> {
    const features = iris.features[sample]!;
    const bytes = encodeFeatures(features);
    if (modelId !== zkModel) return { bytes, hash: keccak256(bytes) };
    const q = quantizeInput(features, quantized);
    return { bytes, hash: fieldToBytes32(await inputCommitment(q, quantized.params)) };
  }

  /** A signed body for the next voucher of `modelId`'s sub-channel, with overrides (not remembered). */
  async function body(
    modelId: Hex,
    sample: number,
    overrides: Partial<QuietRequest> = {},
    input?: Uint8Array,
  ): Promise<{ request: QuietRequest; signature: Hex; input: string }> {
    const state = sub.get(modelId) ?? { index: 0n, cumulative: 0n };
    const { bytes, hash } = await inputFor(modelId, sample);
    const fee = overrides.fee ?? FEE;
    const { request, signature } = await payer.signQuietVoucher({
      operator: overrides.operator ?? operatorAddress,
      modelId: overrides.modelId ?? modelId,
      inputHash: overrides.inputHash ?? hash,
      fee,
      cumulative: overrides.cumulative ?? state.cumulative + fee,
      index: overrides.index ?? state.index,
      deadline: overrides.deadline ?? (await gatewayNow()) + 600n,
    });
    return { request, signature, input: Buffer.from(input ?? bytes).toString("base64") };
  }

  async function post(payload: unknown, raw?: string): Promise<Answer> {
    const response = await fetch(`${url}/v1/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: raw ?? JSON.stringify(decimal(payload)),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Post a valid request for `modelId`, expect 200, remember the voucher; returns the answer and the request. */
  async function serve(modelId: Hex, sample: number) {
    const payload = await body(modelId, sample);
    const answer = await post(payload);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    sub.set(modelId, { index: payload.request.index + 1n, cumulative: payload.request.cumulative });
    latest.set(modelId, { request: payload.request, signature: payload.signature });
    return { answer, payload, receipt: receiptFromJson(answer.body.receipt) };
  }

  async function get(path: string): Promise<Answer> {
    const response = await fetch(`${url}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
    const start = Date.now();
    while (!(await condition())) {
      if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  function startNode(batchIntervalMs: number): OperatorNode {
    return new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: OPERATOR_KEY,
      signerKey: SIGNER_KEY,
      models: [quietModel, zkModel, deprecatedModel, revokedModel, loudModel].map((modelId) => ({
        modelId,
        file: IRIS_MODEL_PATH,
      })),
      database,
      pollIntervalMs: 200,
      healthPort: 0,
      quiet: { port: 0, batchIntervalMs },
      logger: pino({ level: "silent" }),
    });
  }

  async function restart(batchIntervalMs: number): Promise<void> {
    await node.stop();
    node = startNode(batchIntervalMs);
    const started = await node.start();
    url = started.quietUrl!;
    healthUrl = started.healthUrl!;
  }

  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
    database = join(await mkdtemp(join(tmpdir(), "opg-gateway-")), "state.sqlite");
    await registerDevnetOperator(devnet, 2, SIGNER_KEY, 1_000n * OPG);
    const chain = defineChain({
      id: Number(devnet.chainId),
      name: "devnet",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [devnet.url] } },
    });
    const transport = http(devnet.url, { retryCount: 0 });
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
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
    owner = clientFor(1);
    operator = clientFor(2);
    payer = clientFor(3);
    operatorAddress = operator.account()!.address;
    quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);

    const plain = await irisRegistration({ fee: FEE, royaltyBps: 500, name: "iris-quiet" });
    ({ modelId: quietModel } = await owner.registerModel({
      ...plain.spec,
      modes: VerificationMode.Signature | VerificationMode.Quiet,
    }));
    const zk = await irisRegistration({
      fee: FEE,
      royaltyBps: 500,
      zkVerifier: devnet.addresses.irisVerifier,
      name: "iris-quiet-zk",
    });
    ({ modelId: zkModel } = await owner.registerModel({
      ...zk.spec,
      modes: VerificationMode.Zk | VerificationMode.Quiet,
    }));
    const old = await irisRegistration({ fee: FEE, royaltyBps: 500, name: "iris-quiet-old" });
    ({ modelId: deprecatedModel } = await owner.registerModel({
      ...old.spec,
      modes: VerificationMode.Signature | VerificationMode.Quiet,
    }));
    const loud = await irisRegistration({ fee: FEE, royaltyBps: 500, name: "iris-request-path-only" });
    ({ modelId: loudModel } = await owner.registerModel({ ...loud.spec, modes: VerificationMode.Signature }));
    const doomed = await irisRegistration({ fee: FEE, royaltyBps: 500, name: "iris-quiet-revoked" });
    ({ modelId: revokedModel } = await owner.registerModel({
      ...doomed.spec,
      modes: VerificationMode.Signature | VerificationMode.Quiet,
    }));

    await payer.deposit({ amount: 10n * OPG });
    await payer.fundChannel({ operator: operatorAddress, amount: 10n * OPG });

    node = startNode(300);
    const started = await node.start();
    url = started.quietUrl!;
    healthUrl = started.healthUrl!;
  });
  after(async () => {
    await node.stop();
    await devnet.close();
  });

  it("answers a signature-style model's request with its output and a receipt the SDK verifies, and a retry with the same receipt", async () => {
    const { answer, payload, receipt } = await serve(quietModel, 0);
    expect(receipt).to.include({ operator: operatorAddress, seq: 0n });
    const output = answer.body.output as Hex;
    expect((output.length - 2) / 2).to.equal(12); // three float32 scores
    expect(answer.body.outputHash).to.equal(keccak256(output));
    const verified = await payer.verifyQuietReceipt({
      receipt,
      request: payload.request,
      signature: answer.body.signature as Hex,
      output,
    });
    expect(verified).to.deep.equal(receipt);

    const again = await post(payload);
    expect(again.status).to.equal(200);
    expect(again.body).to.deep.equal(answer.body);
    expect(node.store.quiet.totals().receipts).to.equal(1);
  });

  it("answers a zk-circuit model with the circuit's class, as abi.encode(uint256)", async () => {
    const sample = 120;
    const { answer, payload, receipt } = await serve(zkModel, sample);
    expect(receipt.seq).to.equal(1n);
    const label = BigInt(
      fixedPointForward(quantized, quantizeInput(iris.features[sample]!, quantized)).label,
    );
    expect(answer.body.output).to.equal(zkOutputBytes(label));
    const verified = await payer.verifyQuietReceipt({
      receipt,
      request: payload.request,
      signature: answer.body.signature as Hex,
      output: label,
    });
    expect(verified).to.deep.equal(receipt);
  });

  it("refuses every bad request with its code and persists nothing; bad bodies never stop the endpoint", async () => {
    await owner.setModelStatus({ modelId: deprecatedModel, status: ModelStatus.Deprecated });
    const before = node.store.quiet.totals().receipts;
    const refused = async (payload: unknown, status: number, code: string, raw?: string) => {
      const answer = await post(payload, raw);
      expect(answer.status, `${code}: ${JSON.stringify(answer.body)}`).to.equal(status);
      expect(answer.body.code).to.equal(code);
      expect(answer.body.error).to.be.a("string");
    };
    const valid = await body(quietModel, 1);

    // 1. body shape, JSON, size
    await refused(undefined, 400, "bad_request", "{not json");
    await refused(undefined, 400, "bad_request", "[1,2,3]");
    await refused({ ...(decimal(valid) as object), signature: "0x12" }, 400, "bad_request");
    const negative = {
      ...(decimal(valid) as object),
      request: { ...(decimal(valid.request) as object), fee: "-1" },
    };
    await refused(negative, 400, "bad_request");
    await refused({ ...valid, input: "not base64!" }, 400, "bad_request");
    const huge = await fetch(`${url}/v1/infer`, { method: "POST", body: "x".repeat(200_000) }).then(
      (r) => r.status,
      () => 413, // the node may close the connection before the client finished sending
    );
    expect(huge).to.equal(413);
    // 2. another operator
    await refused(await body(quietModel, 1, { operator: payer.account()!.address }), 400, "wrong_operator");
    // 3. the model
    await refused(await body(quietModel, 1, { modelId: keccak256("0x01") }), 404, "unknown_model");
    await refused(await body(loudModel, 1), 400, "quiet_not_allowed");
    // 4. the payer's signature
    await refused(
      { ...valid, request: { ...valid.request, fee: valid.request.fee + 1n } },
      401,
      "bad_signature",
    );
    // The payer's own signature made malleable (s' = n - s, v flipped): it recovers the payer, but the contract's
    // ECDSA refuses it, so the voucher could never be redeemed: refused before any work.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${valid.signature.slice(66, 130)}`);
    const v = valid.signature.slice(130) === "1b" ? "1c" : "1b";
    const twin = `${valid.signature.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${v}` as Hex;
    await refused({ ...valid, signature: twin }, 401, "bad_signature");
    // 5. the deadline
    const head = await chainNow();
    const now = await gatewayNow();
    await refused(await body(quietModel, 1, { deadline: head - 1n }), 400, "bad_deadline");
    await refused(await body(quietModel, 1, { deadline: now + 3_600n + 120n }), 400, "bad_deadline");
    // 6. the model's terms and fee
    await refused(await body(deprecatedModel, 1), 403, "not_allowed");
    await refused(await body(quietModel, 1, { fee: FEE - 1n }), 402, "fee_too_low");
    // 7. the sub-channel
    const state = sub.get(quietModel)!;
    await refused(await body(quietModel, 1, { index: state.index + 1n }), 409, "voucher_out_of_order");
    await refused(
      await body(quietModel, 1, { cumulative: state.cumulative + 2n * FEE }),
      409,
      "voucher_out_of_order",
    );
    // 8. the channel's funds
    await refused(await body(quietModel, 1, { fee: 100n * OPG }), 402, "insufficient_funds");
    // 9. the input
    await refused(await body(quietModel, 1, { inputHash: keccak256("0x02") }), 422, "input_mismatch");
    const short = new Uint8Array(12);
    await refused(await body(quietModel, 1, { inputHash: keccak256(short) }, short), 422, "malformed_input");
    const nan = new Uint8Array(new Float32Array([Number.NaN, 1, 2, 3]).buffer);
    await refused(await body(quietModel, 1, { inputHash: keccak256(nan) }, nan), 422, "non_finite_input");
    await refused(
      await body(zkModel, 1, { inputHash: keccak256(encodeFeatures(iris.features[1]!)) }),
      422,
      "input_mismatch",
    );

    expect(node.store.quiet.totals().receipts).to.equal(before);
    const next = await serve(quietModel, 1);
    expect(next.receipt.seq).to.equal(BigInt(before));

    const metrics = await (await fetch(`${healthUrl}/metrics`)).text();
    expect(metrics).to.match(/opg_operator_quiet_requests_total\{code="ok"\} 3/);
    expect(metrics).to.match(/opg_operator_quiet_requests_total\{code="replayed"\} 1/);
    expect(metrics).to.match(/opg_operator_quiet_requests_total\{code="voucher_out_of_order"\} 2/);
    expect(metrics).to.match(/opg_operator_quiet_requests_total\{code="body_too_large"\} 1/);
    expect((await get("/v1/nothing")).status).to.equal(404);
  });

  it("serves 200 sequential requests (client-measured latency printed)", async () => {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const payload = await body(quietModel, i % 150);
      const start = performance.now();
      const answer = await post(payload);
      times.push(performance.now() - start);
      expect(answer.status).to.equal(200);
      sub.set(quietModel, { index: payload.request.index + 1n, cumulative: payload.request.cumulative });
      latest.set(quietModel, { request: payload.request, signature: payload.signature });
    }
    times.sort((a, b) => a - b);
    const pct = (p: number) =>
      times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!.toFixed(1);
    console.log(
      `      quiet gateway latency over 200 sequential requests: p50 ${pct(50)} ms, p95 ${pct(95)} ms`,
    );
  });

  /** A payer-signed body for `client`'s voucher `index` (running total `cumulative`) on `modelId`. */
  async function voucher(
    client: OpgClient,
    modelId: Hex,
    sample: number,
    index: bigint,
    cumulative: bigint,
  ): Promise<{ request: QuietRequest; signature: Hex; input: string }> {
    const { bytes, hash } = await inputFor(modelId, sample);
    const { request, signature } = await client.signQuietVoucher({
      operator: operatorAddress,
      modelId,
      inputHash: hash,
      fee: FEE,
      cumulative,
      index,
      deadline: (await gatewayNow()) + 600n,
    });
    return { request, signature, input: Buffer.from(bytes).toString("base64") };
  }

  /** Every stored receipt has seq 0 … n-1: the log has no gap. */
  function expectGapFreeLog(): void {
    const total = node.store.quiet.totals().receipts;
    const seqs = node.store.quiet.receiptRange(0n, total).map((r) => r.receipt.seq);
    expect(seqs).to.deep.equal(seqs.map((_, i) => BigInt(i)));
  }

  it("serves racing vouchers on one sub-channel one per index (the rest 409), seqs consecutive, no gap", async () => {
    const racer = clientFor(4);
    await racer.deposit({ amount: OPG });
    await racer.fundChannel({ operator: operatorAddress, amount: OPG });
    const served: bigint[] = [];
    // Rounds: four different requests with the same index at once; exactly one is served.
    for (let index = 0n; index < 4n; index++) {
      const bodies = await Promise.all(
        [0, 1, 2, 3].map((v) => voucher(racer, quietModel, 10 + v, index, (index + 1n) * FEE)),
      );
      const answers = await Promise.all(bodies.map((b) => post(b)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, JSON.stringify(answers.map((a) => a.body))).to.deep.equal([200, 409, 409, 409]);
      served.push(receiptFromJson(answers.find((a) => a.status === 200)!.body.receipt).seq);
    }
    // A burst: indexes 4 … 11, three requests each, all at once. Whatever the arrival order, the served indexes are a
    // run from 4, one request each, and every other request is refused as out of order.
    const burst = await Promise.all(
      [...Array(24).keys()].map((i) => {
        const index = 4n + BigInt(Math.floor(i / 3));
        return voucher(racer, quietModel, 20 + i, index, (index + 1n) * FEE);
      }),
    );
    const answers = await Promise.all(burst.map((b) => post(b)));
    const ok = answers.flatMap((a, i) => (a.status === 200 ? [{ a, index: burst[i]!.request.index }] : []));
    expect(answers.every((a) => a.status === 200 || a.body.code === "voucher_out_of_order")).to.equal(true);
    expect(ok.length).to.be.greaterThan(0);
    expect(ok.map((o) => o.index).sort((x, y) => Number(x - y))).to.deep.equal(
      ok.map((_, i) => 4n + BigInt(i)),
    );
    served.push(...ok.map((o) => receiptFromJson(o.a.body.receipt).seq));
    served.sort((x, y) => Number(x - y));
    expect(served).to.deep.equal(served.map((_, i) => served[0]! + BigInt(i)));
    expect(node.store.quiet.subChannel(racer.account()!.address, quietModel)).to.deep.equal({
      nextIndex: 4n + BigInt(ok.length),
      cumulative: (4n + BigInt(ok.length)) * FEE,
    });
    expectGapFreeLog();
  });

  it("serves payers in parallel (and a request sent twice at once gets one receipt), without a gap in the log", async () => {
    const payers = [clientFor(0), clientFor(5)];
    for (const p of payers) {
      await p.deposit({ amount: OPG });
      await p.fundChannel({ operator: operatorAddress, amount: OPG });
    }
    const before = node.store.quiet.totals().receipts;
    const perPayer = 6;
    const results = await Promise.all(
      payers.map(async (p, n) => {
        const seqs: bigint[] = [];
        for (let i = 0n; i < BigInt(perPayer); i++) {
          const b = await voucher(p, quietModel, 40 + n * 10 + Number(i), i, (i + 1n) * FEE);
          // The same signed request twice at once (a client retrying): one receipt, answered to both.
          const [first, second] = await Promise.all([post(b), post(b)]);
          expect(first.status, JSON.stringify(first.body)).to.equal(200);
          expect(second.body).to.deep.equal(first.body);
          seqs.push(receiptFromJson(first.body.receipt).seq);
        }
        return seqs;
      }),
    );
    const all = results.flat().sort((x, y) => Number(x - y));
    expect(all).to.deep.equal(all.map((_, i) => BigInt(before) + BigInt(i)));
    expect(node.store.quiet.totals().receipts).to.equal(before + payers.length * perPayer);
    expectGapFreeLog();
  });

  it("refuses a model revoked while serving once its chain view refreshes, and a payer that asked for its refund", async () => {
    const first = await serve(revokedModel, 2);
    expect(first.answer.status).to.equal(200);
    await owner.setModelStatus({ modelId: revokedModel, status: ModelStatus.Revoked });
    let refused: Answer | undefined;
    await until(async () => {
      const payload = await body(revokedModel, 3);
      const answer = await post(payload);
      if (answer.status === 200) {
        // Served before the refresh (within its bounded delay): a valid voucher, keep the sub-channel in step.
        sub.set(revokedModel, { index: payload.request.index + 1n, cumulative: payload.request.cumulative });
        return false;
      }
      refused = answer;
      return true;
    }, "the revoked model to be refused");
    expect(refused!.status).to.equal(403);
    expect(refused!.body).to.include({ code: "not_allowed" });
    expect(refused!.body.error).to.contain("ModelNotActive");

    // Payer 5 asks for its channel back: the node stops serving it after the refresh.
    const leaving = clientFor(5);
    const next = node.store.quiet.subChannel(leaving.account()!.address, quietModel)!;
    await leaving.requestChannelRefund({ operator: operatorAddress });
    let index = next.nextIndex;
    let cumulative = next.cumulative;
    let last: Answer | undefined;
    await until(async () => {
      last = await post(await voucher(leaving, quietModel, 7, index, cumulative + FEE));
      if (last.status === 200) {
        index++;
        cumulative += FEE;
        return false;
      }
      return true;
    }, "the refund request to be seen");
    expect(last!.status).to.equal(402);
    expect(last!.body).to.include({ code: "insufficient_funds" });
    expect(last!.body.error).to.contain("refund");
    expectGapFreeLog();
  });

  it("commits the receipts, serves batches and proofs; final on chain after the windows; the operator redeems", async () => {
    const total = node.store.quiet.totals().receipts;
    await until(
      () => node.store.quiet.totals().unbatched === 0 && node.store.quiet.totals().batches.submitted === 0,
      "the receipts to be committed",
    );
    const head = await payer.getLogHead({ operator: operatorAddress });
    expect(head.nextSeq).to.equal(BigInt(total));

    const one = await get("/v1/receipts/2");
    expect(one.status).to.equal(200);
    const inclusion = receiptInclusionFromJson(one.body.inclusion);
    const served = await get(`/v1/batches/${inclusion.firstSeq}`);
    expect(served.status).to.equal(200);
    const data = batchDataFromJson(served.body);
    expect(data).to.include({
      root: inclusion.root,
      count: inclusion.count,
      batchIndex: inclusion.batchIndex,
    });
    expect(data.receipts[Number(2n - inclusion.firstSeq)]!.receipt).to.deep.equal(
      receiptFromJson(one.body.receipt),
    );
    expect(served.body.receipts).to.satisfy((entries: Record<string, unknown>[]) =>
      entries.every((entry) => !("input" in entry)),
    );
    expect((await get("/v1/batches/999999")).status).to.equal(404);
    expect((await get("/v1/receipts/999999")).status).to.equal(404);

    // Past every served request's challenge deadline: their deadlines were set from the gateway's now (the later of
    // the clock and the head), up to 600 s ahead.
    const lag = Number((await gatewayNow()) - (await chainNow()));
    await payer.publicClient.request({
      method: "evm_increaseTime" as never,
      params: [lag + 600 + COMMIT_WINDOW + CHALLENGE_WINDOW + 1] as never,
    });
    await payer.publicClient.request({ method: "evm_mine" as never, params: [] as never });
    const ok = await payer.verifyReceiptOnChain({
      receipt: receiptFromJson(one.body.receipt),
      request: quietRequestFromJson(one.body.request),
      batchIndex: inclusion.batchIndex,
      batch: inclusion,
      proof: inclusion.proof,
    });
    expect(ok).to.equal(true);

    const vouchers = [latest.get(quietModel)!, latest.get(zkModel)!];
    const redeemed = await operator.redeemVouchers({ vouchers });
    expect(redeemed.total).to.equal(vouchers[0]!.request.cumulative + vouchers[1]!.request.cumulative);
  });

  it("keeps seq numbers and sub-channels across restarts, and commits after a restart what was left uncommitted", async () => {
    const before = node.store.quiet.totals().receipts;
    // A node that will not commit for an hour: its receipts wait.
    await restart(3_600_000);
    const a = await serve(quietModel, 3);
    const b = await serve(zkModel, 4);
    expect([a.receipt.seq, b.receipt.seq]).to.deep.equal([BigInt(before), BigInt(before) + 1n]);
    expect(node.store.quiet.totals().unbatched).to.equal(2);
    // A voucher that does not continue the sub-channel is still refused after the restart.
    const stale = await post(await body(quietModel, 3, { index: 0n, cumulative: FEE }));
    expect(stale.body.code).to.equal("voucher_out_of_order");

    await restart(200);
    const c = await serve(quietModel, 5);
    expect(c.receipt.seq).to.equal(BigInt(before) + 2n);
    await until(
      () => node.store.quiet.totals().unbatched === 0 && node.store.quiet.totals().batches.submitted === 0,
      "the receipts left to be committed",
    );
    expect((await payer.getLogHead({ operator: operatorAddress })).nextSeq).to.equal(BigInt(before) + 3n);
    const proven = await get(`/v1/receipts/${before}`);
    expect(receiptInclusionFromJson(proven.body.inclusion).proof).to.be.an("array");
    expect(node.store.quiet.totals().batches.failed).to.equal(0);
  });

  it("re-sends a batch transaction stored before a crash, byte for byte, and records it once mined", async () => {
    const rpc = (method: string, params: unknown[] = []) =>
      payer.publicClient.request({ method: method as never, params: params as never });
    await rpc("evm_setAutomine", [false]);
    try {
      const { receipt } = await serve(quietModel, 6);
      await until(() => node.store.quiet.totals().batches.submitted === 1, "the batch to be signed and sent");
      const [sent] = node.store.quiet.openBatches();
      expect(sent).to.include({ firstSeq: receipt.seq, count: 1 });
      await node.stop();
      // The chain's node forgets the transaction: as if the operator crashed right after storing it.
      await rpc("hardhat_dropTransaction", [sent!.txHash]);
      node = startNode(200);
      const started = await node.start();
      url = started.quietUrl!;
      healthUrl = started.healthUrl!;
      await until(async () => {
        const pending = (await rpc("eth_getTransactionByHash", [sent!.txHash])) as unknown;
        return pending !== null;
      }, "the stored transaction to be re-sent");
      await rpc("evm_mine");
      await until(
        () => node.store.quiet.batch(receipt.seq)?.state === "committed",
        "the re-sent batch to be recorded",
      );
      expect(node.store.quiet.batch(receipt.seq)!.txHash).to.equal(sent!.txHash);
      expect(node.store.quiet.totals().batches.failed).to.equal(0);
      expect((await payer.getLogHead({ operator: operatorAddress })).nextSeq).to.equal(receipt.seq + 1n);
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
  });

  it("with the dishonest flag signs a wrong class every n-th zk receipt: validly signed, consistent, and wrong", async () => {
    const cheatDb = join(await mkdtemp(join(tmpdir(), "opg-gateway-cheat-")), "state.sqlite");
    const cheat = new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: OPERATOR_KEY,
      signerKey: SIGNER_KEY,
      models: [{ modelId: zkModel, file: IRIS_MODEL_PATH }],
      database: cheatDb,
      pollIntervalMs: 200,
      // Never commits during the test: its log is a separate, throwaway one.
      quiet: { port: 0, batchIntervalMs: 3_600_000, dishonest: { wrongOutputEvery: 2 } },
      logger: pino({ level: "silent" }),
    });
    const cheatUrl = (await cheat.start()).quietUrl!;
    try {
      const victim = clientFor(0); // funded above; its zk sub-channel is fresh
      const labels: bigint[] = [];
      const outputs: Hex[] = [];
      for (const [i, sample] of [0, 60, 120, 140].entries()) {
        const features = iris.features[sample]!;
        labels.push(BigInt(fixedPointForward(quantized, quantizeInput(features, quantized)).label));
        const b = await voucher(victim, zkModel, sample, BigInt(i), BigInt(i + 1) * FEE);
        const response = await fetch(`${cheatUrl}/v1/infer`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(decimal(b)),
        });
        const answer = (await response.json()) as Record<string, unknown>;
        expect(response.status, JSON.stringify(answer)).to.equal(200);
        const receipt = receiptFromJson(answer.receipt);
        const output = answer.output as Hex;
        // Validly signed by the operator's registered key, output and hash consistent: the SDK accepts it.
        const verified = await victim.verifyQuietReceipt({
          receipt,
          request: b.request,
          signature: answer.signature as Hex,
          output,
        });
        expect(verified).to.deep.equal(receipt);
        expect(answer.outputHash).to.equal(keccak256(output));
        outputs.push(output);
      }
      // Receipts 2 and 4 (every 2nd) carry the next class mod 3; 1 and 3 the circuit's.
      expect(outputs).to.deep.equal([
        zkOutputBytes(labels[0]!),
        zkOutputBytes((labels[1]! + 1n) % 3n),
        zkOutputBytes(labels[2]!),
        zkOutputBytes((labels[3]! + 1n) % 3n),
      ]);
      expect(keccak256(outputs[1]!)).to.equal(zkOutputHash((labels[1]! + 1n) % 3n));
      expect(outputs[1]).to.not.equal(zkOutputBytes(labels[1]!));
    } finally {
      await cheat.stop();
    }
  });
});
