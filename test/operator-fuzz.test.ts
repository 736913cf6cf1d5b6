import { expect } from "chai";
import fc from "fast-check";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { createServer, createConnection, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { findEvent, openedFrom } from "../src/ethers/index.js";
import { DATA_URI_PREFIX, encodeFeatures, toDataUri } from "../src/model/encoding.js";
import { inferBytes } from "../src/model/infer.js";
import { loadIris } from "../src/model/iris.js";
import { createModel } from "../src/model/onnx-runtime.js";
import { readBindingAt } from "../src/operator/binding.js";
import {
  OperatorNode,
  StateMismatchError,
  type HealthReport,
  type OperatorNodeOptions,
} from "../src/operator/node.js";
import { SKIP_CODES, type SkipCode } from "../src/operator/skip.js";
import { defaultStatePath } from "../src/operator/state-path.js";
import { OperatorStore } from "../src/operator/store.js";
import { MAX_INPUT_URI_LENGTH, validateInput, inputShape } from "../src/operator/validate.js";
import { MAX_INPUT_ROWS } from "../src/sdk/features.js";
import { fieldToBytes32, ModelStatus, VerificationMode } from "../src/protocol/index.js";
import { inputCommitment, IRIS_ZK_PARAMS, quantizeInput, quantizeOnnx } from "../src/zk/index.js";
import { anvilBinary, startAnvil } from "./helpers/anvil.js";
import "./helpers/release-zk.js";

const MAX_SIGNATURE_ROWS = MAX_INPUT_ROWS[VerificationMode.Signature]!;

/** Hardhat's well-known test key for account #2 (the devnet's "operator"); public, never use it elsewhere. */
const OPERATOR_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const SIGNER_KEY: Hex = "0x4545454545454545454545454545454545454545454545454545454545454545";
const OPG = 10n ** 18n;
const ZERO: Address = "0x0000000000000000000000000000000000000000";
const FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const SEED = 20_261_130;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** What must become of a request: settled, skipped with a code, or ignored (not for this node). */
type Expected = "settled" | "ignored" | SkipCode;

/** Which model a case is opened for: the served Iris model, a served one revoked later, one nobody here serves. */
type Target = "iris" | "revoked" | "unserved";

interface Case {
  label: string;
  target: Target;
  mode: number;
  inputHash: Hex;
  inputUri: string;
  /** `local`: whatever running the model here gives (settled, or runtime_error when the runtime throws). */
  expected: Expected | "local";
}

/** float32 LE bytes of `values`, written raw (NaN and ±Infinity included: no client-side checks). */
function rawFloats(values: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    view.setFloat32(i * 4, v, true);
  });
  return bytes;
}

/** A field element derived from bytes (a zk request's input hash must be one, or opening reverts). */
const fieldHash = (bytes: Uint8Array): Hex => fieldToBytes32(BigInt(keccak256(bytes)) % FIELD);

const finite = fc.double({ min: -8, max: 8, noNaN: true, noDefaultInfinity: true });
const row = fc.array(finite, { minLength: 4, maxLength: 4 });
const signature = VerificationMode.Signature;
const zk = VerificationMode.Zk;

const sigCase = (
  label: string,
  bytes: Uint8Array,
  expected: Expected | "local",
  target: Target = "iris",
): Case => ({
  label,
  target,
  mode: signature,
  inputHash: keccak256(bytes),
  inputUri: toDataUri(bytes),
  expected,
});

/** Hostile and valid requests, opened directly on the settlement (no SDK or CLI checks in the way). */
function caseArbitrary(withRevoked: boolean): fc.Arbitrary<Case> {
  const arbitraries: fc.Arbitrary<Case>[] = [
    fc
      .array(row, { minLength: 1, maxLength: 3 })
      .map((rows) => sigCase(`valid ${rows.length} row(s)`, encodeFeatures(rows.flat()), "settled")),
    fc
      .constantFrom(0, 1, 2, 3, 8, 12, 20)
      .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
      .map((bytes) => sigCase(`${bytes.length} bytes`, bytes, "malformed_input")),
    fc
      .integer({ min: MAX_SIGNATURE_ROWS + 1, max: 2 * MAX_SIGNATURE_ROWS })
      .map((rows) =>
        sigCase(`${rows} rows`, rawFloats(Array<number>(rows * 4).fill(1.5)), "oversized_input"),
      ),
    fc
      .tuple(row, fc.integer({ min: 0, max: 3 }), fc.constantFrom(NaN, Infinity, -Infinity, 1e40, -3e39))
      .map(([values, at, bad]) => {
        const bytes = rawFloats(values.map((v, i) => (i === at ? bad : v)));
        return sigCase(`${bad} at ${at}`, bytes, "non_finite_input");
      }),
    fc
      .tuple(
        row,
        fc.integer({ min: 0, max: 3 }),
        fc.double({ min: 33, max: 1e30, noNaN: true }),
        fc.boolean(),
      )
      .map(([values, at, big, negative]) => {
        const bytes = rawFloats(values.map((v, i) => (i === at ? (negative ? -big : big) : v)));
        return {
          label: `zk ${big} at ${at}`,
          target: "iris",
          mode: zk,
          inputHash: fieldHash(bytes),
          inputUri: toDataUri(bytes),
          expected: "input_out_of_range",
        };
      }),
    fc.array(row, { minLength: 2, maxLength: 4 }).map((rows) => {
      const bytes = encodeFeatures(rows.flat());
      return {
        label: `zk ${rows.length} rows`,
        target: "iris",
        mode: zk,
        inputHash: fieldHash(bytes),
        inputUri: toDataUri(bytes),
        expected: "oversized_input",
      };
    }),
    fc.integer({ min: MAX_INPUT_URI_LENGTH + 1, max: 2 * MAX_INPUT_URI_LENGTH }).map((length) => ({
      label: `URI of ${length} characters`,
      target: "iris",
      mode: signature,
      inputHash: keccak256("0x01"),
      inputUri: DATA_URI_PREFIX + "A".repeat(length - DATA_URI_PREFIX.length),
      expected: "oversized_input",
    })),
    fc
      .oneof(
        fc.constantFrom(
          "https://10.255.255.1/x",
          "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
          "ar://Zt3FZ3dVFGnk3HvAZpdJ3pGHn6D3ZYyprrdGkzyEG5I",
          "",
          "not a uri at all",
        ),
        fc
          .integer({ min: 1, max: MAX_INPUT_URI_LENGTH - 40 })
          .map((n) => `https://example.invalid/${"a".repeat(n)}`),
      )
      .map((uri) => ({
        label: `remote URI ${uri.slice(0, 40)}`,
        target: "iris",
        mode: signature,
        inputHash: keccak256(toHex(uri)),
        inputUri: uri,
        expected: "input_unavailable",
      })),
    fc
      .tuple(
        row,
        fc.constantFrom<(payload: string) => string>(
          (p) => `data:text/plain;base64,${p}`,
          (p) => `data:application/octet-stream,${p}`,
          (p) => `${DATA_URI_PREFIX}${p.replace(/==$/, "")}`, // missing padding
          (p) => `${DATA_URI_PREFIX}${p.slice(0, -3)}${p.slice(-3, -2) === "B" ? "C" : "B"}==`, // non-zero pad bits
          (p) => `${DATA_URI_PREFIX}${p.slice(0, 4)} ${p.slice(4)}`,
          (p) => `${DATA_URI_PREFIX}${p.replace(/[A-Za-z0-9]/, "-")}`,
        ),
      )
      .map(([values, encode]) => {
        const bytes = encodeFeatures(values);
        const payload = Buffer.from(bytes).toString("base64");
        return {
          label: "bad encoding",
          target: "iris",
          mode: signature,
          inputHash: keccak256(bytes),
          inputUri: encode(payload),
          expected: "malformed_input",
        };
      }),
    fc.tuple(row, fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([values, hash]) => ({
      ...sigCase("hash mismatch", encodeFeatures(values), "input_mismatch"),
      inputHash: toHex(hash),
    })),
    row.map((values) => sigCase("unserved model", encodeFeatures(values), "ignored", "unserved")),
    fc
      .tuple(row, fc.double({ min: 1e37, max: 3e38, noNaN: true }))
      .map(([values, big]) =>
        sigCase(`huge finite ${big}`, rawFloats(values.map((v, i) => (i % 2 === 0 ? big : v))), "local"),
      ),
  ];
  if (withRevoked) {
    arbitraries.push(
      row.map((values) => sigCase("revoked model", encodeFeatures(values), "model_revoked", "revoked")),
    );
  }
  return fc.oneof(...arbitraries);
}

/** A TCP proxy whose target can be switched: the chain under a running node changes. */
class SwitchableProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(public target: URL) {}
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }
  async start() {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: this.target.hostname, port: Number(this.target.port) });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
      }
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
  }
  switchTo(target: string) {
    this.target = new URL(target);
    for (const s of this.sockets) s.destroy();
  }
  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) =>
      this.server?.close(() => {
        resolve();
      }),
    );
  }
}

describe("operator input validation (pure, fast-check)", () => {
  const zkShape = inputShape(zk, 4, IRIS_ZK_PARAMS);
  const sigShape = inputShape(signature, 4);

  it("never throws, and accepts only whole rows within the cap of finite (zk: quantizable) values", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_200 }), fc.boolean(), (bytes, isZk) => {
        const shape = isZk ? zkShape : sigShape;
        const checked = validateInput(toDataUri(bytes), shape);
        if ("skip" in checked) {
          expect(SKIP_CODES).to.include(checked.skip.code);
          expect(checked.skip.detail).to.be.a("string").and.not.equal("");
          return;
        }
        expect(checked.rows).to.be.within(1, shape.maxRows);
        expect(checked.features.length).to.equal(checked.rows * 4);
        for (const v of checked.features) {
          expect(Number.isFinite(v)).to.equal(true);
          if (isZk) expect(() => quantizeInput([v, 0, 0, 0], quantized())).not.to.throw();
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (uri) => {
        const checked = validateInput(uri, sigShape);
        if ("skip" in checked) expect(SKIP_CODES).to.include(checked.skip.code);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("names the user's two reported inputs: two values for four inputs, and 1e40", () => {
    const short = validateInput(toDataUri(encodeFeatures([5.1, 3.5])), sigShape);
    expect(short).to.deep.equal({
      skip: {
        code: "malformed_input",
        detail: "2 values: the model takes 4 values per sample (a non-empty whole number of samples)",
      },
    });
    const huge = validateInput(toDataUri(encodeFeatures([5.1, 3.5, 1.4, 1e40])), sigShape);
    expect(huge).to.deep.equal({
      skip: { code: "non_finite_input", detail: "input[0][3] is Infinity as float32" },
    });
    const zkBig = validateInput(toDataUri(encodeFeatures([5.1, 3.5, 1.4, 40])), zkShape);
    expect("skip" in zkBig && zkBig.skip.code).to.equal("input_out_of_range");
    expect(validateInput(toDataUri(encodeFeatures([5.1, 3.5, 1.4, 40])), sigShape)).to.have.property(
      "rows",
      1,
    );
  });
});

let quantizedIris: ReturnType<typeof quantizeOnnx> | undefined;
/** The Iris model's quantized twin (read once). */
function quantized() {
  quantizedIris ??= quantizeOnnx(readFileSync(IRIS_MODEL_PATH), IRIS_ZK_PARAMS);
  return quantizedIris;
}

describe("operator node under hostile requests (fuzz, devnet)", function () {
  this.timeout(120_000);
  let devnet: Devnet;
  let revokedModel: Hex;
  let unservedModel: Hex;
  let database: string;
  let dir: string;
  const iris = loadIris();
  const operator = privateKeyToAccount(OPERATOR_KEY).address;
  /** Every request opened, with what must become of it. */
  const opened: { id: bigint; c: Case }[] = [];
  let node: OperatorNode | undefined;

  before(async () => {
    devnet = await startDevnet(hre, "127.0.0.1", 0);
    const { ethers } = devnet.connection;
    const [, modelOwner, , requester] = await ethers.getSigners();
    await registerDevnetOperator(devnet, 2, SIGNER_KEY, 1_000n * OPG);
    await (
      await devnet.system.token.connect(requester).approve(devnet.addresses.settlement, 1_000n * OPG)
    ).wait();
    await (await devnet.system.settlement.connect(requester).deposit(1_000n * OPG)).wait();
    const register = async (name: string) => {
      const { spec } = await irisRegistration({ fee: 2n * OPG, royaltyBps: 1_000, name });
      const receipt = await (await devnet.system.models.connect(modelOwner).registerModel(spec)).wait();
      return findEvent(devnet.system.models, receipt, "ModelRegistered").args.getValue("modelId") as Hex;
    };
    revokedModel = await register("iris-revoked");
    unservedModel = await register("iris-unserved");
    dir = await mkdtemp(join(tmpdir(), "opg-fuzz-"));
    database = join(dir, "state.sqlite");
  });
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });
  after(async () => {
    await devnet.close();
  });

  const modelOf = (target: Target) =>
    target === "iris" ? devnet.irisModelId : target === "revoked" ? revokedModel : unservedModel;

  async function open(c: Case): Promise<bigint> {
    const { ethers } = devnet.connection;
    const [, , , requester] = await ethers.getSigners();
    const block = await ethers.provider.getBlock("latest");
    const tx = await devnet.system.settlement.connect(requester).openRequest({
      modelId: modelOf(c.target),
      inputHash: c.inputHash,
      maxFee: 2n * OPG,
      deadline: BigInt(block!.timestamp) + 3_600n,
      mode: c.mode,
      operator: ZERO,
      callback: ZERO,
      callbackGasLimit: 0,
      inputUri: c.inputUri,
    });
    const { requestId } = openedFrom(devnet.system.settlement, await tx.wait());
    opened.push({ id: requestId, c });
    return requestId;
  }

  function makeNode(options: Partial<OperatorNodeOptions> = {}) {
    return new OperatorNode({
      rpcUrl: devnet.url,
      settlement: devnet.addresses.settlement,
      operatorKey: OPERATOR_KEY,
      signerKey: SIGNER_KEY,
      models: [
        { modelId: devnet.irisModelId, file: IRIS_MODEL_PATH },
        { modelId: revokedModel, file: IRIS_MODEL_PATH },
      ],
      database,
      pollIntervalMs: 100,
      healthPort: 0,
      logger: pino({ level: "silent" }),
      ...options,
    });
  }

  async function health(url: string): Promise<{ status: number; body: HealthReport }> {
    const response = await fetch(`${url}/health`);
    return { status: response.status, body: (await response.json()) as HealthReport };
  }

  /** `opg_operator_skips_total` per reason, from `/metrics`. */
  async function skipMetrics(url: string): Promise<Record<string, number>> {
    const text = await (await fetch(`${url}/metrics`)).text();
    const counts: Record<string, number> = {};
    for (const [, reason, n] of text.matchAll(/^opg_operator_skips_total\{reason="([a-z_]+)"\} (\d+)$/gm)) {
      counts[reason!] = Number(n);
    }
    return counts;
  }

  /** Resolve `local` expectations by running the model here, as the node would. */
  async function resolveExpectations() {
    const model = await createModel(new Uint8Array(await readFile(IRIS_MODEL_PATH)));
    try {
      for (const entry of opened) {
        if (entry.c.expected !== "local") continue;
        const checked = validateInput(entry.c.inputUri, inputShape(signature, 4));
        if ("skip" in checked) {
          entry.c.expected = checked.skip.code;
          continue;
        }
        entry.c.expected = await inferBytes(model, checked.bytes).then(
          () => "settled" as const,
          () => "runtime_error" as const,
        );
      }
    } finally {
      await model.release();
    }
  }

  it("settles every valid request and skips every hostile one with its reason, never stopping", async () => {
    // Phase 1, node down: a valid zk request, random valid and hostile ones, requests for a model that is then
    // revoked. The node starts on all of them at once.
    const zkFeatures = iris.features[120]!;
    const quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);
    await open({
      label: "valid zk",
      target: "iris",
      mode: zk,
      inputHash: fieldToBytes32(
        await inputCommitment(quantizeInput(zkFeatures, quantized), quantized.params),
      ),
      inputUri: toDataUri(encodeFeatures(zkFeatures)),
      expected: "settled",
    });
    // The user's report: two values for a four-input model, and 1e40 (+Infinity as float32).
    await open(sigCase("--input 5.1,3.5", encodeFeatures([5.1, 3.5]), "malformed_input"));
    await open(
      sigCase("--input 5.1,3.5,1.4,1e40", encodeFeatures([5.1, 3.5, 1.4, 1e40]), "non_finite_input"),
    );
    // Finite values so large the logits overflow: the runtime throws, the request is skipped, the pass goes on.
    await open(sigCase("logits overflow", encodeFeatures([3e38, 1, 3e38, 1]), "runtime_error"));
    for (const c of fc.sample(caseArbitrary(true), { seed: SEED, numRuns: 30 })) await open(c);
    await open(sigCase("revoked model", encodeFeatures(iris.features[3]!), "model_revoked", "revoked"));
    const [, modelOwner] = await devnet.connection.ethers.getSigners();
    await (
      await devnet.system.models.connect(modelOwner).setStatus(revokedModel, ModelStatus.Revoked)
    ).wait();

    node = makeNode();
    const { healthUrl } = await node.start();
    // Phase 2, node running: more, interleaved with valid requests.
    for (const c of fc.sample(caseArbitrary(false), { seed: SEED + 1, numRuns: 20 })) {
      await open(c);
      await open(sigCase("valid", encodeFeatures(iris.features[opened.length % 150]!), "settled"));
    }
    await resolveExpectations();

    const n = node;
    const done = (entry: { id: bigint; c: Case }) => {
      const state = n.store.get(entry.id)?.state;
      if (entry.c.expected === "ignored") return state === undefined;
      return state === (entry.c.expected === "settled" ? "settled" : "skipped");
    };
    await until(() => opened.every(done), "every request to be settled or skipped", 60_000);

    const expectedSkips = Object.fromEntries([...SKIP_CODES, "unclassified"].map((c) => [c, 0]));
    for (const { id, c } of opened) {
      const stored = n.store.get(id);
      const what = `request ${id} (${c.label})`;
      if (c.expected === "ignored") {
        expect(stored, what).to.equal(undefined);
      } else if (c.expected === "settled") {
        expect(await devnet.system.settlement.requestStatus(id), what).to.equal(2n);
      } else {
        expect(stored?.skipCode, `${what}: ${stored?.error}`).to.equal(c.expected);
        expect(stored?.error, what).to.be.a("string").and.not.equal("");
        expect(await devnet.system.settlement.requestStatus(id), what).to.equal(1n); // pending: refundable
        expectedSkips[c.expected as string]! += 1;
      }
    }
    // The sample covers every kind of hostile request.
    for (const code of [
      "malformed_input",
      "non_finite_input",
      "input_out_of_range",
      "oversized_input",
      "input_unavailable",
      "input_mismatch",
      "model_revoked",
      "runtime_error",
    ]) {
      expect(expectedSkips[code], code).to.be.greaterThan(0);
    }
    expect(opened.some((o) => o.c.expected === "ignored")).to.equal(true);

    // Still running, healthy, and the metrics count every skip by reason.
    const { status, body } = await health(healthUrl!);
    expect(status).to.equal(200);
    expect(body).to.include({ status: "ok", ok: true });
    expect(body.reasons).to.deep.equal([]);
    expect(body.skips).to.deep.equal(expectedSkips);
    expect(await skipMetrics(healthUrl!)).to.deep.equal(expectedSkips);
    expect(body.recentSkips).to.have.length(10);
    const skippedIds = new Set(opened.filter((o) => o.c.expected !== "settled").map((o) => o.id.toString()));
    for (const recent of body.recentSkips) expect(skippedIds.has(recent.requestId)).to.equal(true);
    expect(n.healthReport().rpc.consecutiveFailures).to.equal(0);

    // Exactly one fulfilment per valid request, none for anything else.
    const fulfilled = await devnet.system.settlement.queryFilter(
      devnet.system.settlement.filters.RequestFulfilled(),
    );
    const valid = opened.filter((o) => o.c.expected === "settled").map((o) => o.id);
    expect(fulfilled.map((e) => e.args.requestId).sort()).to.deep.equal(valid.sort());
  });

  it("keeps the skip records and their counts across a restart with the same database", async () => {
    const store = new OperatorStore(database);
    const before = store.skipCounts();
    const recent = store.recentSkips(5);
    store.close();
    expect(Object.values(before).reduce((a, b) => a + b, 0)).to.be.greaterThan(10);
    node = makeNode();
    const { healthUrl } = await node.start();
    await sleep(500); // a few passes
    const { body } = await health(healthUrl!);
    expect(body.skips).to.deep.equal(before);
    expect(await skipMetrics(healthUrl!)).to.deep.equal(before);
    expect(body.recentSkips.slice(0, 5).map((r) => r.requestId)).to.deep.equal(
      recent.map((r) => r.requestId.toString()),
    );
  });

  it("skips a request in a mode the node does not serve (zk on a signature-only node) and serves the rest", async () => {
    const fromBlock = BigInt(await devnet.connection.ethers.provider.getBlockNumber()) + 1n;
    node = makeNode({
      database: join(dir, "signature-only.sqlite"),
      modes: VerificationMode.Signature,
      fromBlock,
    });
    await node.start();
    const features = iris.features[7]!;
    const quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);
    const zkId = await open({
      label: "zk on a signature-only node",
      target: "iris",
      mode: zk,
      inputHash: fieldToBytes32(await inputCommitment(quantizeInput(features, quantized), quantized.params)),
      inputUri: toDataUri(encodeFeatures(features)),
      expected: "mode_not_served",
    });
    const sigId = await open(sigCase("valid", encodeFeatures(features), "settled"));
    const n = node;
    await until(() => n.store.get(sigId)?.state === "settled", "the signature request to settle");
    expect(n.store.get(zkId)).to.include({ state: "skipped", skipCode: "mode_not_served" });
  });

  it("refuses a state file made for another chain, genesis or settlement; the fresh option moves it aside", async () => {
    const actual = await readBindingAt(devnet.url, devnet.addresses.settlement);
    // The fuzz test's file is bound to this chain; another settlement is refused, the file untouched.
    const other = makeNode({ settlement: devnet.addresses.token });
    const error = await other.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await other.stop();
    expect(error).to.be.instanceOf(StateMismatchError);
    expect((error as Error).name).to.equal("StateMismatchError");
    expect((error as Error).message)
      .to.match(/different settlement/)
      .and.match(/fresh/)
      .and.match(/\.bak/);
    const unchanged = new OperatorStore(database);
    expect(unchanged.binding()).to.deep.include({ chainId: actual.chainId });
    unchanged.close();

    for (const [what, binding] of [
      ["genesis block", { ...actual, genesisHash: `0x${"ab".repeat(32)}` }],
      ["chain id", { ...actual, chainId: 1 }],
    ] as const) {
      const file = join(dir, `bound-${what.replace(" ", "-")}.sqlite`);
      const store = new OperatorStore(file);
      store.bind(binding);
      store.setCursor(5n);
      store.close();
      const refused = makeNode({ database: file });
      const e = await refused.start().then(
        () => undefined,
        (x: unknown) => x,
      );
      await refused.stop();
      expect(e, what).to.be.instanceOf(StateMismatchError);
      expect((e as Error).message, what).to.include(`different ${what}`);
      expect((e as Error).message, what).to.include(file);
    }

    // The same chain, but the file's cursor is far past the head (the chain was reset under it): refused too.
    const ahead = join(dir, "ahead.sqlite");
    const aheadStore = new OperatorStore(ahead);
    aheadStore.bind(actual);
    aheadStore.setCursor(1_000_000n);
    aheadStore.close();
    const reset = makeNode({ database: ahead });
    const resetError = await reset.start().then(
      () => undefined,
      (x: unknown) => x,
    );
    await reset.stop();
    expect(resetError).to.be.instanceOf(StateMismatchError);
    expect((resetError as Error).message).to.match(/scan cursor is at block 1000000/);

    // Fresh: the mismatching file is moved aside (kept), a new one is bound to this chain and serves.
    const file = join(dir, "bound-genesis-block.sqlite");
    const fromBlock = BigInt(await devnet.connection.ethers.provider.getBlockNumber()) + 1n;
    node = makeNode({ database: file, freshState: true, fromBlock });
    await node.start();
    const backups = (await readdir(dir)).filter(
      (f) => f.startsWith("bound-genesis-block.sqlite.") && f.endsWith(".bak"),
    );
    expect(backups).to.have.length(1);
    const kept = new OperatorStore(join(dir, backups[0]!));
    expect(kept.binding()?.genesisHash).to.equal(`0x${"ab".repeat(32)}`);
    kept.close();
    expect(node.store.binding()).to.deep.equal({
      ...actual,
      genesisHash: actual.genesisHash.toLowerCase(),
      settlement: actual.settlement.toLowerCase(),
    });
    const n = node;
    const id = await open(sigCase("valid after fresh", encodeFeatures(iris.features[9]!), "settled"));
    await until(() => n.store.get(id)?.state === "settled", "a request to settle on the fresh state");
  });

  it("puts the default state file outside the repository, named by chain, genesis and settlement", async () => {
    const binding = await readBindingAt(devnet.url, devnet.addresses.settlement);
    const home = await mkdtemp(join(tmpdir(), "opg-home-"));
    const xdg = defaultStatePath(binding, { XDG_STATE_HOME: join(home, "state"), HOME: home });
    expect(xdg).to.equal(
      join(
        home,
        "state",
        "opg",
        `operator-${binding.chainId}-${binding.genesisHash.slice(2, 10)}-${binding.settlement.slice(2, 10).toLowerCase()}.sqlite`,
      ),
    );
    expect(existsSync(join(home, "state", "opg"))).to.equal(true);
    const fallback = defaultStatePath(binding, { HOME: home });
    expect(fallback.startsWith(join(home, ".local", "state", "opg", "operator-"))).to.equal(true);
  });

  it("a node process that has proved once exits within seconds of one SIGINT", async () => {
    const fromBlock = BigInt(await devnet.connection.ethers.provider.getBlockNumber()) + 1n;
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/operator-node.ts"], {
      env: {
        ...process.env,
        OPG_RPC_URL: devnet.url,
        OPG_SETTLEMENT: devnet.addresses.settlement,
        OPG_OPERATOR_KEY: OPERATOR_KEY,
        OPG_SIGNER_KEY: SIGNER_KEY,
        OPG_MODEL_ID: devnet.irisModelId,
        OPG_MODEL_FILE: IRIS_MODEL_PATH,
        OPG_DB: join(dir, "child.sqlite"),
        OPG_POLL_MS: "100",
        OPG_FROM_BLOCK: fromBlock.toString(),
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        resolve(code);
      }),
    );
    try {
      await until(() => stderr.includes("operator node started"), "the node process to start", 30_000);
      const features = iris.features[140]!;
      const quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);
      const id = await open({
        label: "zk for the child",
        target: "iris",
        mode: zk,
        inputHash: fieldToBytes32(
          await inputCommitment(quantizeInput(features, quantized), quantized.params),
        ),
        inputUri: toDataUri(encodeFeatures(features)),
        expected: "settled",
      });
      await until(
        async () => (await devnet.system.settlement.requestStatus(id)) === 2n,
        "the zk request to settle",
      );
      const signalled = Date.now();
      child.kill("SIGINT");
      const code = await Promise.race([exited, sleep(8_000).then(() => "still running" as const)]);
      expect(code, stderr).to.equal(0);
      expect(Date.now() - signalled).to.be.below(8_000);
      expect(stderr).to.include("operator node stopped");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("stops serving and reports degraded when the chain under a running node changes", async function () {
    // The other chain: anvil (same chain id 31337, another genesis block).
    const binary = anvilBinary();
    if (binary === undefined) this.skip();
    const other = await startAnvil(binary);
    const proxy = new SwitchableProxy(new URL(devnet.url));
    await proxy.start();
    try {
      const fromBlock = BigInt(await devnet.connection.ethers.provider.getBlockNumber()) + 1n;
      node = makeNode({
        rpcUrl: proxy.url,
        database: join(dir, "switch.sqlite"),
        fromBlock,
        backoff: { baseMs: 50, capMs: 400 },
      });
      const { healthUrl } = await node.start();
      const n = node;
      const id = await open(
        sigCase("valid before the switch", encodeFeatures(iris.features[11]!), "settled"),
      );
      await until(() => n.store.get(id)?.state === "settled", "a request to settle");

      // The other chain (same chain id, another genesis) is ahead of ours: only the identity check tells them apart.
      const otherUrl = other.url;
      const rpc = async (method: string, params: unknown[]) =>
        (
          (await (
            await fetch(otherUrl, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
            })
          ).json()) as { result: unknown }
        ).result;
      const height = await devnet.connection.ethers.provider.getBlockNumber();
      await rpc("anvil_mine", [toHex(height + 100)]);
      proxy.switchTo(otherUrl);
      await until(() => n.healthReport().status === "degraded", "the node to notice the other chain");
      const { status, body } = await health(healthUrl!);
      expect(status).to.equal(503);
      expect(body).to.include({ status: "degraded", ok: false });
      expect(body.reasons.join(" ")).to.match(/genesis .* not the chain .* bound to: not serving/);
      await sleep(500);
      // Nothing was sent to the other chain.
      expect(BigInt((await rpc("eth_getTransactionCount", [operator, "pending"])) as Hex)).to.equal(0n);

      // Back on the bound chain: serving again.
      proxy.switchTo(devnet.url);
      await until(() => n.healthReport().status === "ok", "the node to serve again", 20_000);
      const later = await open(
        sigCase("valid after the switch back", encodeFeatures(iris.features[12]!), "settled"),
      );
      await until(() => n.store.get(later)?.state === "settled", "a request to settle after the switch back");

      // The same chain rewound far behind the node (a devnet reverted to a snapshot): refused until a restart, as
      // the scan cursor is past the blocks the chain will now make.
      const provider = devnet.connection.provider;
      const snapshot: unknown = await provider.request({ method: "evm_snapshot", params: [] });
      await provider.request({ method: "hardhat_mine", params: [toHex(100)] });
      const head = BigInt(await devnet.connection.ethers.provider.getBlockNumber());
      await until(() => BigInt(n.healthReport().lastBlock) >= head, "the node to scan the mined blocks");
      await provider.request({ method: "evm_revert", params: [snapshot] });
      await until(
        () => n.healthReport().reasons.some((r) => /went back/.test(r)),
        "the rewind to be noticed",
      );
      expect(n.healthReport().status).to.equal("degraded");
      const nonce = await devnet.connection.ethers.provider.getTransactionCount(operator, "pending");
      await open(sigCase("opened on the rewound chain", encodeFeatures(iris.features[13]!), "settled"));
      await sleep(800);
      expect(await devnet.connection.ethers.provider.getTransactionCount(operator, "pending")).to.equal(
        nonce,
      );
      expect(n.healthReport().status).to.equal("degraded");
      expect(BigInt((await rpc("eth_getTransactionCount", [operator, "pending"])) as Hex)).to.equal(0n);
    } finally {
      await node?.stop();
      node = undefined;
      await proxy.stop();
      await other.close();
    }
  });
});
