/**
 * The SDK's `infer()` (issue #10) against a real operator node's quiet-mode gateway over HTTP, on a Hardhat JSON-RPC
 * devnet: one call signs the next voucher, posts it, verifies the signed receipt and decodes the output; vouchers
 * continue their sub-channel (in memory or in a state the caller keeps); refusals, tampered answers and network
 * failures behave as documented (docs/quiet.md, src/sdk/actions/infer.ts).
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
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { testAccountKey } from "../src/devnet/accounts.js";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { fieldToBytes32, VerificationMode } from "../src/protocol/index.js";
import type { QuietReceiptRecord } from "../src/protocol/quiet-json.js";
import type { QuietVoucherPosition } from "../src/sdk/actions/infer.js";
import { createOpgClient, type OpgClient } from "../src/sdk/client.js";
import { OpgError } from "../src/sdk/errors.js";
import { OperatorRefusedError, type InferFetch } from "../src/sdk/quiet-gateway-client.js";
import { inputCommitment, IRIS_ZK_PARAMS, quantizeInput, quantizeOnnx } from "../src/zk/index.js";
import { fixedPointForward } from "../src/zk/reference.js";
import {
  hashQuietRequest,
  hashReceipt,
  quietModeDomain,
  quietRequestDigest,
  receiptDigest,
} from "../src/protocol/quiet.js";
import {
  fastHashQuietRequest,
  fastHashReceipt,
  fastQuietRequestDigest,
  fastReceiptDigest,
} from "../src/sdk/quiet-digest.js";
import "./helpers/release-zk.js";

const OPERATOR_KEY = testAccountKey(2);
const SIGNER_KEY: Hex = "0x4242424242424242424242424242424242424242424242424242424242424242";
const OPG = 10n ** 18n;
const FEE = OPG / 1_000n;

/** An `OpgError` with `code`, or a failure naming what was thrown instead. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<OpgError> {
  try {
    await promise;
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(OpgError);
    expect((error as OpgError).code, (error as Error).message).to.equal(code);
    return error as OpgError;
  }
  throw new Error(`expected OpgError ${code}, but it resolved`);
}

/** An `OperatorRefusedError`, or a failure naming what was thrown instead. */
async function refusedWith(promise: Promise<unknown>): Promise<OperatorRefusedError> {
  const error = await rejectsWith(promise, "OperatorRefused");
  if (!(error instanceof OperatorRefusedError))
    throw new Error(`not an OperatorRefusedError: ${error.message}`);
  return error;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

describe("sdk: infer() against an operator's quiet-mode gateway (devnet over HTTP)", function () {
  this.timeout(600_000);
  let devnet: Devnet;
  let publicClient: PublicClient;
  let clientFor: (index: number) => OpgClient;
  /** A client of test account `index` over its own transport (to count its RPC requests). */
  let clientOver: (index: number, transport: ReturnType<typeof http>) => OpgClient;
  let payer: OpgClient;
  let operatorAddress: Address;
  let quietModel: Hex;
  let zkModel: Hex;
  let unservedModel: Hex;
  let node: OperatorNode;
  let url: string;
  const iris = loadIris();
  let quantized: ReturnType<typeof quantizeOnnx>;
  const key = (modelId: Hex) => `${operatorAddress.toLowerCase()}/${modelId.toLowerCase()}`;

  async function zkHash(sample: number): Promise<Hex> {
    const q = quantizeInput(iris.features[sample]!, quantized);
    return fieldToBytes32(await inputCommitment(q, quantized.params));
  }

  /** A client of test account `index` with `amount` deposited and moved into its channel with the operator. */
  async function fundedPayer(index: number, amount: bigint): Promise<OpgClient> {
    const client = clientFor(index);
    await client.deposit({ amount });
    await client.fundChannel({ operator: operatorAddress, amount });
    return client;
  }

  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
    const database = join(await mkdtemp(join(tmpdir(), "opg-infer-")), "state.sqlite");
    await registerDevnetOperator(devnet, 2, SIGNER_KEY, 1_000n * OPG);
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
    clientOver = (index, over) =>
      createOpgClient({
        publicClient: createPublicClient({ chain, transport: over }),
        walletClient: createWalletClient({
          chain,
          transport: over,
          account: privateKeyToAccount(testAccountKey(index)),
        }),
        addresses: devnet.addresses,
      });
    const owner = clientFor(1);
    operatorAddress = clientFor(2).account()!.address;
    quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);

    const register = async (name: string, modes: number, zk: boolean) => {
      const spec = await irisRegistration({
        fee: FEE,
        royaltyBps: 500,
        name,
        ...(zk && { zkVerifier: devnet.addresses.irisVerifier }),
      });
      return (await owner.registerModel({ ...spec.spec, modes })).modelId;
    };
    quietModel = await register("iris-infer", VerificationMode.Signature | VerificationMode.Quiet, false);
    zkModel = await register("iris-infer-zk", VerificationMode.Zk | VerificationMode.Quiet, true);
    unservedModel = await register("iris-infer-elsewhere", VerificationMode.Quiet, false);

    payer = await fundedPayer(3, 10n * OPG);

    node = new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: OPERATOR_KEY,
      signerKey: SIGNER_KEY,
      models: [quietModel, zkModel].map((modelId) => ({ modelId, file: IRIS_MODEL_PATH })),
      database,
      pollIntervalMs: 200,
      quiet: { port: 0, batchIntervalMs: 500 },
      logger: pino({ level: "silent" }),
    });
    url = (await node.start()).quietUrl!;
  });
  after(async () => {
    await node.stop();
    await devnet.close();
  });

  it("returns a verified receipt and the decoded class, for a signature-style model and a zk-circuit model", async () => {
    const records: QuietReceiptRecord[] = [];
    const onReceipt = (record: QuietReceiptRecord) => {
      records.push(record);
    };
    const plain = await payer.infer({
      operatorUrl: url,
      operator: operatorAddress,
      modelId: quietModel,
      input: iris.features[0]!,
      outputWidth: 3,
      onReceipt,
    });
    expect(plain.receipt).to.include({ operator: operatorAddress, seq: 0n });
    expect(plain.request).to.include({ index: 0n, cumulative: FEE, fee: FEE, modelId: quietModel });
    expect(plain.decoded?.classes).to.deep.equal([iris.labels[0]]);
    expect(plain.decoded?.logits?.[0]).to.have.length(3);
    // What the caller got is what a fresh verification accepts.
    const verified = await clientFor(9).verifyQuietReceipt({
      receipt: plain.receipt,
      request: plain.request,
      signature: plain.signature,
      output: plain.output,
    });
    expect(verified).to.deep.equal(plain.receipt);

    const sample = 120;
    const zk = await payer.infer({
      operatorUrl: url,
      operator: operatorAddress,
      modelId: zkModel,
      input: iris.features[sample]!,
      inputHash: await zkHash(sample),
      onReceipt,
    });
    const label = fixedPointForward(quantized, quantizeInput(iris.features[sample]!, quantized)).label;
    expect(zk.decoded?.classes).to.deep.equal([label]);
    expect(zk.receipt.seq).to.equal(1n);

    expect(records.map((r) => r.receipt)).to.deep.equal([plain.receipt, zk.receipt]);
    expect(records[0]).to.include({ operatorUrl: url, requestSignature: plain.requestSignature });
    expect(records[0]!.input).to.have.length(2 + 2 * 16); // four float32 features

    // A zk-circuit model without its Poseidon commitment is refused before anything is signed.
    await rejectsWith(
      payer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: zkModel,
        input: iris.features[0]!,
      }),
      "BadInput",
    );
  });

  it("ten calls in a row advance the index and the running total, and the gateway accepts them all", async () => {
    const served: bigint[] = [];
    for (let i = 0; i < 10; i++) {
      const result = await payer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[i + 1]!,
        outputWidth: 3,
      });
      expect(result.request.index).to.equal(BigInt(i + 1));
      expect(result.request.cumulative).to.equal(FEE * BigInt(i + 2));
      expect(result.decoded?.classes).to.deep.equal([iris.labels[i + 1]]);
      served.push(result.receipt.seq);
    }
    expect(served).to.deep.equal(served.map((_, i) => served[0]! + BigInt(i)));
    expect(node.store.quiet.subChannel(payer.account()!.address, quietModel)).to.deep.equal({
      nextIndex: 11n,
      cumulative: 11n * FEE,
    });
  });

  it("runs concurrent calls on one sub-channel one after another, each with the next voucher", async () => {
    const results = await Promise.all(
      [0, 1, 2].map((i) =>
        payer.infer({
          operatorUrl: url,
          operator: operatorAddress,
          modelId: quietModel,
          input: iris.features[30 + i]!,
        }),
      ),
    );
    const indexes = results.map((r) => r.request.index);
    expect(indexes).to.deep.equal([indexes[0]!, indexes[0]! + 1n, indexes[0]! + 2n]);
  });

  it("uses and advances a voucher state passed in, which a new client can continue from", async () => {
    const state = new Map<string, QuietVoucherPosition>();
    const first = await fundedPayer(0, OPG); // the deployer: devnet accounts 0 to 5 hold OPG
    for (let i = 0; i < 2; i++) {
      await first.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[i]!,
        voucherState: state,
        fee: 2n * FEE,
      });
    }
    expect(state.get(key(quietModel))).to.deep.equal({ index: 2n, cumulative: 4n * FEE });

    // Persisted as JSON and read back by another client of the same payer (which has no memory of it).
    const saved = JSON.stringify([...state], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    const restored = new Map<string, QuietVoucherPosition>(
      (JSON.parse(saved) as [string, { index: string; cumulative: string }][]).map(([k, v]) => [
        k,
        { index: BigInt(v.index), cumulative: BigInt(v.cumulative) },
      ]),
    );
    const again = await clientFor(0).infer({
      operatorUrl: url,
      operator: operatorAddress,
      modelId: quietModel,
      input: iris.features[2]!,
      voucherState: restored,
    });
    expect(again.request).to.include({ index: 2n, cumulative: 5n * FEE });
    expect(restored.get(key(quietModel))).to.deep.equal({ index: 3n, cumulative: 5n * FEE });
  });

  it("turns an operator's refusal into OperatorRefused with its code, and advances nothing", async () => {
    const poor = clientFor(4);
    await poor.deposit({ amount: OPG });
    await poor.fundChannel({ operator: operatorAddress, amount: FEE / 2n });
    const state = new Map<string, QuietVoucherPosition>();
    const funds = await refusedWith(
      poor.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[0]!,
        voucherState: state,
      }),
    );
    expect(funds).to.be.instanceOf(OperatorRefusedError);
    expect(funds).to.include({ status: 402, reason: "insufficient_funds" });
    expect(funds.message).to.contain("insufficient_funds");

    const unknown = await refusedWith(
      payer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: unservedModel,
        input: iris.features[0]!,
        voucherState: state,
      }),
    );
    expect(unknown).to.include({ status: 404, reason: "unknown_model" });
    expect(state.size).to.equal(0);

    // Malformed features are the operator's 422, with the gateway's skip code (the payer's own memory of its
    // sub-channel is used here, so the voucher passes the continuity check and the input is what is refused).
    const shape = await refusedWith(
      payer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: [1, 2, 3],
      }),
    );
    expect(shape.status).to.equal(422);
  });

  it("rejects a tampered answer (output or signature) with ReceiptRejected and does not advance the state", async () => {
    const tamperer = await fundedPayer(5, OPG);
    const state = new Map<string, QuietVoucherPosition>();
    const records: QuietReceiptRecord[] = [];
    const tampering =
      (alter: (body: Record<string, unknown>) => void): InferFetch =>
      async (target, init) => {
        const response = await fetch(target, init);
        const body = (await response.json()) as Record<string, unknown>;
        alter(body);
        return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
      };
    const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith("0") ? "1" : "0"}`;

    const output = await rejectsWith(
      tamperer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[0]!,
        voucherState: state,
        onReceipt: (r) => void records.push(r),
        fetch: tampering((body) => {
          body.output = flip(body.output as string);
        }),
      }),
      "ReceiptRejected",
    );
    expect(output.message).to.contain("output hash");

    const signature = await rejectsWith(
      tamperer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: zkModel,
        input: iris.features[0]!,
        inputHash: await zkHash(0),
        voucherState: state,
        onReceipt: (r) => void records.push(r),
        fetch: tampering((body) => {
          body.signature = `${(body.signature as string).slice(0, 4)}${"ab".repeat(31)}${(body.signature as string).slice(66)}`;
        }),
      }),
      "ReceiptRejected",
    );
    expect(signature.message).to.match(/signed by|signature/);

    const garbage = await rejectsWith(
      tamperer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[0]!,
        voucherState: new Map(),
        fetch: () => Promise.resolve(new Response("{}", { status: 200 })),
      }),
      "ReceiptRejected",
    );
    expect(garbage.message).to.contain("malformed");
    expect(state.size).to.equal(0);
    expect(records).to.have.length(0);
  });

  it("retries a network failure once with the same signed request and gets the same receipt", async () => {
    const before = node.store.quiet.totals().receipts;
    const position = (
      await payer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[20]!,
      })
    ).request.index;
    let calls = 0;
    let servedFirst: unknown;
    const sent: string[] = [];
    const flaky: InferFetch = async (target, init) => {
      calls++;
      sent.push(init.body as string);
      if (calls === 1) {
        // Served by the gateway, but the answer is lost on the way back.
        servedFirst = await (await fetch(target, init)).json();
        throw new TypeError("fetch failed (connection reset)");
      }
      return fetch(target, init);
    };
    const result = await payer.infer({
      operatorUrl: url,
      operator: operatorAddress,
      modelId: quietModel,
      input: iris.features[21]!,
      fetch: flaky,
    });
    expect(calls).to.equal(2);
    expect(sent[1]).to.equal(sent[0]);
    const first = (servedFirst as { receipt: { seq: string } }).receipt;
    expect(result.receipt.seq).to.equal(BigInt(first.seq));
    expect(result.request.index).to.equal(position + 1n);
    expect(node.store.quiet.totals().receipts).to.equal(before + 2);
    expect(node.metricsText()).to.match(/opg_operator_quiet_requests_total\{code="replayed"\} 1/);

    // Two failures: Unreachable, nothing advanced (the next call continues from the same index).
    await rejectsWith(
      payer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[22]!,
        fetch: () => Promise.reject(new TypeError("fetch failed")),
      }),
      "Unreachable",
    );
    const next = await payer.infer({
      operatorUrl: url,
      operator: operatorAddress,
      modelId: quietModel,
      input: iris.features[22]!,
    });
    expect(next.request.index).to.equal(position + 2n);
  });

  it("makes no RPC request per call in the steady state (model, operator, clock cached for cacheTtlMs)", async () => {
    let rpcRequests = 0;
    const counted = http(devnet.url, {
      retryCount: 0,
      onFetchRequest: () => {
        rpcRequests++;
      },
    });
    const quietPayer = clientOver(0, counted); // funded above, its sub-channel continued from the gateway's record
    const state = new Map<string, QuietVoucherPosition>();
    const call = (i: number) =>
      quietPayer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[i]!,
        voucherState: state,
        cacheTtlMs: 600_000,
      });
    const record = node.store.quiet.subChannel(quietPayer.account()!.address, quietModel)!;
    state.set(key(quietModel), { index: record.nextIndex, cumulative: record.cumulative });
    await call(0); // warm: the mode, the model, the operator, the clock
    const warm = rpcRequests;
    expect(warm).to.be.greaterThan(0);
    for (let i = 1; i <= 10; i++) await call(i);
    expect(rpcRequests).to.equal(warm);
    expect(state.get(key(quietModel))!.index).to.equal(record.nextIndex + 11n);
  });

  it("hashes requests and receipts on the hot path exactly as viem's EIP-712 (struct hashes and digests)", () => {
    const domain = quietModeDomain(31337, operatorAddress);
    for (let i = 0; i < 100; i++) {
      const word = (bits: number) =>
        BigInt(keccak256(toHex(`${i}/${bits}`))) >> BigInt(256 - bits + (i % bits));
      const request = {
        payer: operatorAddress,
        operator: operatorAddress.toLowerCase() as Address,
        modelId: keccak256(toHex(i)),
        inputHash: keccak256(toHex(`input ${i}`)),
        fee: word(96),
        cumulative: word(96),
        index: word(64),
        deadline: word(64),
      };
      expect(fastHashQuietRequest(request)).to.equal(hashQuietRequest(request));
      expect(fastQuietRequestDigest(domain, request)).to.equal(quietRequestDigest(domain, request));
      const receipt = {
        operator: operatorAddress,
        seq: word(64),
        request: hashQuietRequest(request),
        outputHash: keccak256(toHex(i * 7)),
        time: word(64),
      };
      expect(fastHashReceipt(receipt)).to.equal(hashReceipt(receipt));
      expect(fastReceiptDigest(domain, receipt)).to.equal(receiptDigest(domain, receipt));
    }
    const base = {
      operator: operatorAddress,
      seq: 0n,
      request: keccak256("0x01"),
      outputHash: keccak256("0x02"),
    };
    expect(() => fastHashReceipt({ ...base, time: 2n ** 64n })).to.throw();
  });

  it("measures 100 sequential infer() calls (p50/p95 latency, printed)", async () => {
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      const result = await payer.infer({
        operatorUrl: url,
        operator: operatorAddress,
        modelId: quietModel,
        input: iris.features[i % iris.features.length]!,
        outputWidth: 3,
      });
      latencies.push(result.latencyMs);
    }
    const total = performance.now() - started;
    latencies.sort((a, b) => a - b);
    console.log(
      `      infer() x100 sequential: p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms, ${(100_000 / total).toFixed(1)} calls/s`,
    );
    expect(latencies).to.have.length(100);
  });
});
