/**
 * The explorer page in a real browser: a devnet with the protocol deployed, the Iris model registered and an operator
 * staked (the SDK fixture), one request answered with a real EIP-712 signature and one refunded, and a quiet receipt
 * (a funded channel, the payer's signed voucher, the operator key's receipt, committed in a one-leaf batch whose data a
 * tiny HTTP server serves) later caught equivocating and slashed, and a zk request (the Iris model registered with its
 * Groth16 verifier) proven with the repository's prover and settled with `fulfillZk`; the page built once
 * with Vite (its config fails the build on any Node module in the page), served from a temporary directory, and
 * opened in headless Chromium (`@sparticuz/chromium`, driven by `puppeteer-core`). The assertions are on what a
 * visitor sees. Screenshots go to `test-output/explorer/` (git-ignored).
 */
import { expect } from "chai";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import chromium from "@sparticuz/chromium";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import hre from "hardhat";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { build } from "vite";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { encodeFeatures } from "../src/model/encoding.js";
import { sha256Hex } from "../src/model/hash.js";
import { inferBytes } from "../src/model/infer.js";
import { loadModel } from "../src/model/onnx-runtime.js";
import { VerificationMode } from "../src/protocol/modes.js";
import {
  batchDataToJson,
  receiptRecordToJson,
  type BatchData,
  type QuietReceiptRecord,
} from "../src/protocol/quiet-json.js";
import { hashQuietRequest, type Receipt } from "../src/protocol/quiet.js";
import { prepareSignatureInput } from "../src/sdk/features.js";
import { prepareInput, zkInputCommitment } from "../src/sdk/inputs.js";
import { zkOutputBytes } from "../src/protocol/zk.js";
import {
  buildZkInference,
  fixedPointForward,
  prove,
  quantizeInput,
  settlementProof,
  toSolidityCalldata,
  type QuantizedMlp,
} from "../src/zk/index.js";
import "./helpers/release-zk.js";
import {
  MODEL_FEE,
  OPERATOR_SIGNING_KEY,
  OPG,
  serveSigned,
  startTestChain,
  type TestChain,
} from "./helpers/sdk-fixture.js";

const SCREENSHOTS = resolve("test-output/explorer");
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
};

/** A static file server for the built page on 127.0.0.1 (random port). */
async function serveStatic(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
    if (!file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    stat(file).then(
      () => {
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A tiny server for committed batches' data (`<url>/batch/<index>`, their `dataUri`), readable from the page (CORS). */
async function serveBatch(
  data: (index: number) => BatchData | undefined,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const batch = data(Number(/\/batch\/(\d+)$/.exec(req.url ?? "")?.[1] ?? -1));
    const headers = { "access-control-allow-origin": "*", "content-type": "application/json" };
    if (batch === undefined) res.writeHead(404, headers).end("{}");
    else res.writeHead(200, headers).end(JSON.stringify(batchDataToJson(batch)));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * A quiet receipt made with the SDK, as a payer keeps it: the payer (account 4) funds a channel with the operator
 * (first receipt) and signs a voucher (the `n`-th, numbered from 0) for the model; the operator (account 2) runs the
 * model, signs receipt `seq` n with its registered key and commits it in a one-leaf batch whose data `serveBatch`
 * serves. For a zk-circuit model (`zk`, its quantized twin) the input hash is the circuit's Poseidon commitment and
 * the output the class word the circuit computes, as an operator's gateway makes them.
 */
async function quietReceipt(
  chain: TestChain,
  modelId: Hex,
  batch: { url: string; set: (data: BatchData) => void },
  n = 0n,
  zk?: QuantizedMlp,
): Promise<QuietReceiptRecord> {
  const payer = chain.clientFor(4);
  const operator = chain.clientFor(2);
  const operatorAddress = operator.account()!.address;
  if (n === 0n) {
    await payer.deposit({ amount: 10n * OPG });
    await payer.fundChannel({ operator: operatorAddress, amount: 10n * OPG });
  }
  const mode = await operator.getQuietMode();
  const now = ((await chain.rpc("eth_getBlockByNumber", ["latest", false])) as { timestamp: Hex }).timestamp;
  const time = BigInt(now);
  const features = [5.9, 3, 5.1, 1.8];
  const input = encodeFeatures(features);
  const signed = await payer.signQuietVoucher({
    operator: operatorAddress,
    modelId,
    inputHash: zk === undefined ? keccak256(input) : await zkInputCommitment(zk, input),
    fee: MODEL_FEE,
    cumulative: MODEL_FEE * (n + 1n),
    index: n,
    deadline: time + (mode.maxTtl < 300n ? mode.maxTtl : 300n),
  });
  let output: Hex;
  if (zk === undefined) {
    const model = await loadModel(IRIS_MODEL_PATH);
    output = toHex(await inferBytes(model, input));
    await model.release();
  } else {
    output = zkOutputBytes(BigInt(fixedPointForward(zk, quantizeInput(features, zk)).label));
  }
  const receipt: Receipt = {
    operator: operatorAddress,
    seq: n,
    request: hashQuietRequest(signed.request),
    outputHash: keccak256(output),
    time,
  };
  const signature = await operator.signQuietReceipt({
    signer: privateKeyToAccount(OPERATOR_SIGNING_KEY),
    receipt,
  });
  const committed = await operator.commitReceiptBatch({
    receipts: [receipt],
    dataUri: `${batch.url}/batch/${n}`,
  });
  batch.set({
    firstSeq: committed.firstSeq,
    count: committed.count,
    root: committed.root,
    batchIndex: committed.batchIndex,
    committedAt: committed.committedAt,
    receipts: [{ receipt, signature, request: signed.request, requestSignature: signed.signature, output }],
  });
  return {
    chainId: chain.chainId,
    quietMode: mode.address,
    request: signed.request,
    requestSignature: signed.signature,
    receipt,
    signature,
    output,
    outputHash: receipt.outputHash,
    input: toHex(input),
  };
}

/**
 * A zk request answered with a real Groth16 proof: the Iris model registered again with its verifier (`iris-zk`, both
 * request modes and quiet mode), a request opened in zk mode with the SDK (input in a `data:` URI, its Poseidon commitment as the
 * input hash), proven with the repository's prover for the operator (account 2) and settled with `fulfillZk`.
 */
async function provenZkRequest(
  chain: TestChain,
): Promise<{ requestId: bigint; modelId: Hex; label: number; quantized: QuantizedMlp }> {
  const connection = await hre.network.create({ network: "localhost", override: { url: chain.url } });
  const verifier = (await (
    await connection.ethers.deployContract("IrisMlpVerifier")
  ).getAddress()) as Address;
  await connection.close();
  const zk = await irisRegistration({
    fee: MODEL_FEE,
    royaltyBps: 1_000,
    name: "iris-zk",
    zkVerifier: verifier,
  });
  const { modelId } = await chain
    .clientFor(1)
    .registerModel({ ...zk.spec, modes: zk.spec.modes | VerificationMode.Quiet });
  const features = [6.3, 3.3, 6.0, 2.5];
  const opened = await chain.clientFor(4).openRequest({
    modelId,
    ...(await prepareInput(features, VerificationMode.Zk, zk.quantized)),
    mode: VerificationMode.Zk,
    pay: "permit",
  });
  const operator = chain.clientFor(2);
  const inference = await buildZkInference(zk.quantized, features, {
    chainId: BigInt(chain.chainId),
    zkMode: await operator.getModeContract({ mode: VerificationMode.Zk }),
    requestId: opened.requestId,
    submitter: operator.account()!.address,
  });
  const { proof, publicSignals } = await prove(inference.input);
  const { output, proof: args } = settlementProof(toSolidityCalldata(proof, publicSignals));
  await operator.fulfillZk({ request: opened.request, requestId: opened.requestId, output, proof: args });
  return { requestId: opened.requestId, modelId, label: inference.result.label, quantized: zk.quantized };
}

describe("explorer page (headless Chromium against a devnet)", function () {
  this.timeout(300_000);
  let chain: TestChain;
  let outDir: string;
  let site: { server: Server; url: string };
  let browser: Browser;
  let page: Page;
  let fulfilledId: bigint;
  let refundedId: bigint;
  let zkRequest: Awaited<ReturnType<typeof provenZkRequest>>;
  let zkRecord: QuietReceiptRecord;
  let quietModelId: Hex;
  let operatorAddress: Address;
  let record: QuietReceiptRecord;
  const batchData: BatchData[] = [];
  const pageErrors: string[] = [];
  /** What `before` started, closed in reverse order by `after` (even when `before` failed half way). */
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    chain = await startTestChain();
    cleanups.push(() => chain.close());
    const requester = chain.clientFor(4);
    const answered = await requester.openRequest({
      modelId: chain.irisModelId,
      ...prepareSignatureInput([5.1, 3.5, 1.4, 0.2]),
      pay: "permit",
    });
    fulfilledId = answered.requestId;
    await serveSigned(chain, fulfilledId);
    const unanswered = await requester.openRequest({
      modelId: chain.irisModelId,
      ...prepareSignatureInput([6.6, 3, 4.4, 1.4]),
      ttl: 60n,
      pay: "permit",
    });
    refundedId = unanswered.requestId;
    await chain.timeTravel(61);
    await chain.clientFor(5).refund({ requestId: refundedId });
    zkRequest = await provenZkRequest(chain);

    // Quiet mode: a model version open to it, and one receipt committed in a batch served over HTTP.
    const quietSpec = await irisRegistration({ fee: MODEL_FEE, royaltyBps: 1_000, name: "iris-quiet" });
    quietModelId = (
      await chain
        .clientFor(1)
        .registerModel({ ...quietSpec.spec, modes: VerificationMode.Signature | VerificationMode.Quiet })
    ).modelId;
    const batchSite = await serveBatch((index) => batchData[index]);
    cleanups.push(() => new Promise((done) => batchSite.server.close(done)));
    record = await quietReceipt(chain, quietModelId, {
      url: batchSite.url,
      set: (data) => {
        batchData[0] = data;
      },
    });
    // A receipt of the zk-circuit version (seq 1, batch 1): its input hash is the Poseidon commitment.
    zkRecord = await quietReceipt(
      chain,
      zkRequest.modelId,
      {
        url: batchSite.url,
        set: (data) => {
          batchData[1] = data;
        },
      },
      1n,
      zkRequest.quantized,
    );
    operatorAddress = record.receipt.operator;

    outDir = await mkdtemp(join(tmpdir(), "opg-explorer-"));
    cleanups.push(() => rm(outDir, { recursive: true, force: true }));
    const started = performance.now();
    await build({
      configFile: resolve("src/explorer/vite.config.ts"),
      logLevel: "warn",
      build: { outDir, emptyOutDir: true },
    });
    console.log(`      explorer built in ${Math.round(performance.now() - started)} ms`);
    site = await serveStatic(outDir);
    cleanups.push(() => new Promise((done) => site.server.close(done)));
    browser = await puppeteer.launch({
      args: chromium.args,
      executablePath: await chromium.executablePath(),
      headless: true,
    });
    cleanups.push(() => browser.close());
    page = await browser.newPage();
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    await mkdir(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Go to a route of the page and wait until its view is rendered. */
  async function open(route: string, view: string): Promise<void> {
    await page.evaluate((hash) => {
      location.hash = hash;
    }, route);
    await ready(view);
  }

  /** Wait until the page has rendered `view`; on a timeout, fail with what the visitor sees instead. */
  async function ready(view: string): Promise<void> {
    try {
      await page.waitForSelector(`main[data-ready="true"][data-view="${view}"]`, { timeout: 60_000 });
    } catch (error) {
      const seen = await page.evaluate(() => document.body.innerText).catch(() => "(no page)");
      throw new Error(
        `the ${view} view did not render; the page shows:\n${seen}\nerrors: ${pageErrors.join("\n")}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Screenshots of `view` at laptop and phone width (their paths are printed). Switching to a phone's viewport reloads
   * the page, which renders again from its URL (the logs then come from the tab's sessionStorage cache).
   */
  async function screenshots(name: string, view: string): Promise<void> {
    for (const [device, viewport] of [
      ["laptop", { width: 1366, height: 900 }],
      ["phone", { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
    ] as const) {
      await page.setViewport(viewport);
      await ready(view);
      await page.waitForFunction(() => document.querySelector('[aria-busy="true"]') === null);
      // Chromium tiles a full-page capture taller than about 8,000 device pixels (the page repeats): a tall page is
      // captured at one device pixel per CSS pixel instead.
      const tall = await page.evaluate(() => document.documentElement.scrollHeight > 4_000);
      if (tall && device === "phone") await page.setViewport({ ...viewport, deviceScaleFactor: 1 });
      const path = join(SCREENSHOTS, `${name}-${device}.png`) as `${string}.png`;
      await page.screenshot({ path, fullPage: true });
      console.log(`      screenshot ${path}`);
    }
    await page.setViewport({ width: 1366, height: 900 });
    await ready(view);
  }

  const text = () => page.$eval("main", (main) => main.innerText);

  it("opens on the models view from the URL: the Iris model with its commitment, fee, status and latest history", async () => {
    await page.setViewport({ width: 1366, height: 900 });
    const query = new URLSearchParams({ rpc: chain.url, settlement: chain.addresses.settlement });
    await page.goto(`${site.url}/?${query.toString()}#/models`);
    await ready("models");
    const firstRender = await page.evaluate(() => document.documentElement.dataset.firstRenderMs);
    console.log(`      first render of the models view: ${firstRender} ms (from navigation start)`);
    expect(Number(firstRender)).to.be.greaterThan(0);

    const fileHash = sha256Hex(new Uint8Array(await readFile(IRIS_MODEL_PATH)));
    const version = await page.$eval(
      `[data-model-id="${chain.irisModelId}"]`,
      (el) => (el as HTMLElement).innerText,
    );
    expect(version).to.include("iris-mlp");
    expect(version).to.include(fileHash);
    expect(version).to.include("Active");
    expect(version).to.include("2 OPG");
    expect(version).to.match(/Requests\s+2/);
    const timeline = await page.$$eval(".timeline li", (items) =>
      items.map((li) => (li as HTMLElement).innerText),
    );
    expect(timeline).to.have.length(3); // one `latest` move per family: iris-mlp, iris-zk and iris-quiet
    expect(await page.$eval('nav a[aria-current="page"]', (a) => a.textContent)).to.equal("Models");
    await screenshots("models", "models");
  });

  it("shows a request answered with a signature as verified, with every check and its evidence", async () => {
    await open(`#/request/${fulfilledId}`, "request");
    await page.waitForSelector('[data-verdict]:not([data-verdict=""])');
    const verdict = await page.$eval("[data-verdict]", (el) => [
      el.getAttribute("data-verdict"),
      (el as HTMLElement).innerText,
    ]);
    expect(verdict[0]).to.equal("verified");
    expect(verdict[1]).to.include("Verdict: Verified");
    const checks = await page.$$eval(".checks li", (items) =>
      items.map((li) => ({ name: li.getAttribute("data-check"), ok: li.classList.contains("ok") })),
    );
    expect(
      checks.every((c) => c.ok),
      JSON.stringify(checks),
    ).to.equal(true);
    expect(checks.map((c) => c.name)).to.include.members([
      "request opened",
      "result settled",
      "model id derives from its content",
      "settled request equals opened request",
      "EIP-712 signature recovers the signer",
      "signer is the operator's registered key",
      "operator was staked",
      "input matches the input hash",
    ]);
    const life = await page.$$eval(".life li", (items) => items.map((li) => li.getAttribute("data-step")));
    expect(life).to.deep.equal(["Opened", "Signed", "Settled", "Final"]);
    expect(await text()).to.include("Not checked in this browser yet");
    await screenshots("request-verified", "request");

    // With the model file, the page re-runs it with onnxruntime-web: the output is the settled one.
    const modelInput = await page.$("#model-file");
    await (modelInput as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(IRIS_MODEL_PATH);
    await page.waitForSelector('[data-check="re-executed output matches the result"]', { timeout: 60_000 });
    const rerun = await page.$$eval(".checks li", (items) =>
      items.map((li) => ({ name: li.getAttribute("data-check"), ok: li.classList.contains("ok") })),
    );
    expect(
      rerun.every((c) => c.ok),
      JSON.stringify(rerun),
    ).to.equal(true);
    expect(rerun.map((c) => c.name)).to.include.members([
      "model file matches the commitment",
      "re-executed output matches the result",
    ]);
    expect(await text()).not.to.include("Not checked in this browser yet");
  });

  it("shows a request answered with a Groth16 proof as verified: the proof, the input commitment and the fixed-point re-run checked in the browser", async () => {
    await open(`#/request/${zkRequest.requestId}`, "request");
    const started = performance.now();
    await page.waitForSelector('[data-verdict]:not([data-verdict=""])', { timeout: 60_000 });
    console.log(
      `      zk request audited in the browser in ${Math.round(performance.now() - started)} ms (snarkjs and circomlibjs loaded and run)`,
    );
    const verdict = await page.$eval("[data-verdict]", (el) => [
      el.getAttribute("data-verdict"),
      (el as HTMLElement).innerText,
    ]);
    expect(verdict[0], String(verdict[1])).to.equal("verified");
    expect(verdict[1]).to.include("Verdict: Verified");
    const checks = async () =>
      page.$$eval(".checks li", (items) =>
        items.map((li) => ({ name: li.getAttribute("data-check"), ok: li.classList.contains("ok") })),
      );
    const seen = await checks();
    expect(
      seen.every((c) => c.ok),
      JSON.stringify(seen),
    ).to.equal(true);
    expect(seen.map((c) => c.name)).to.include.members([
      "settled request equals opened request",
      "output hash is the proven output",
      "submitter is the operator",
      "verifier code matches its pinned hash",
      "Groth16 proof verifies",
      "input matches the input commitment",
    ]);
    const life = await page.$$eval(".life li", (items) => items.map((li) => li.getAttribute("data-step")));
    expect(life).to.deep.equal(["Opened", "Proven", "Settled", "Final"]);
    // Only the re-run waits for the model file.
    const notRun = await page.$$eval(".not-run li", (items) => items.map((li) => li.textContent));
    expect(notRun).to.have.length(1);
    expect(notRun[0]).to.match(/^re-executed output matches the result/);
    await screenshots("request-zk-verified", "request");

    // With the model file: its sha256, and the circuit's fixed-point model re-run on the input gives the proven class.
    const modelInput = await page.$("#model-file");
    await (modelInput as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(IRIS_MODEL_PATH);
    await page.waitForSelector('[data-check="re-executed output matches the result"]', { timeout: 60_000 });
    const rerun = await checks();
    expect(
      rerun.every((c) => c.ok),
      JSON.stringify(rerun),
    ).to.equal(true);
    expect(rerun.map((c) => c.name)).to.include.members([
      "Groth16 proof verifies",
      "model file matches the commitment",
      "re-executed output matches the result",
    ]);
    const evidence = await page.$eval(
      '[data-check="re-executed output matches the result"] .evidence',
      (el) => el.textContent,
    );
    expect(evidence).to.equal(`fixed-point re-run output ${zkRequest.label}`);
    expect(await text()).not.to.include("Not checked in this browser yet");
    expect(pageErrors).to.deep.equal([]);
  });

  it("shows a request nobody answered as refunded", async () => {
    await open(`#/request/${refundedId}`, "request");
    await page.waitForSelector('[data-verdict]:not([data-verdict=""])');
    const verdict = await page.$eval("[data-verdict]", (el) => [
      el.getAttribute("data-verdict"),
      (el as HTMLElement).innerText,
    ]);
    expect(verdict[0]).to.equal("refunded");
    expect(verdict[1]).to.include("Verdict: Refunded");
    const life = await page.$$eval(".life li", (items) => items.map((li) => li.getAttribute("data-step")));
    expect(life).to.deep.equal(["Opened", "Answered", "Refunded", "Final"]);
    await screenshots("request-refunded", "request");
  });

  it("lists the operator with its stake and key, and links requests to their views", async () => {
    await open("#/operators", "operators");
    const operator = await text();
    expect(operator).to.include("1000 OPG");
    expect(operator).to.match(/Results settled\s+2/); // the signed one and the proven one
    expect(operator).to.match(/Quiet receipts committed\s+2 in 2 batch/);
    await screenshots("operators", "operators");
    await open("#/requests", "requests");
    await page.click(`a[href="#/request/${fulfilledId}"]`);
    await ready("request");
    expect(await page.$eval("h1", (h) => h.textContent)).to.equal(`Request #${fulfilledId}`);
    expect(pageErrors).to.deep.equal([]);
  });
  /** Paste a receipt file's JSON into the receipt view and check it; the verdict element's attributes and text. */
  async function checkReceipt(json: string): Promise<{ verdict: string; state: string; text: string }> {
    await open("#/receipt", "receipt");
    await page.$eval(
      "#receipt-json",
      (el, value) => {
        (el as HTMLTextAreaElement).value = value;
      },
      json,
    );
    await page.click('#receipt-form button[type="submit"]');
    await page.waitForSelector('#receipt-result[aria-busy="false"] [data-verdict]', { timeout: 60_000 });
    return page.$eval("#receipt-result [data-verdict]", (el) => ({
      verdict: el.getAttribute("data-verdict") ?? "",
      state: el.getAttribute("data-state") ?? "",
      text: (el as HTMLElement).innerText,
    }));
  }

  const receiptChecks = () =>
    page.$$eval("#receipt-result .checks li", (items) =>
      items.map((li) => ({ name: li.getAttribute("data-check"), ok: !li.classList.contains("failed") })),
    );

  it("checks a quiet receipt in the browser: committed, in its window, every check passed, the model file too", async () => {
    await open("#/receipt", "receipt");
    const input = await page.$("#receipt-model");
    await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(IRIS_MODEL_PATH);
    const started = performance.now();
    const seen = await checkReceipt(JSON.stringify(receiptRecordToJson(record)));
    console.log(
      `      receipt audited in the browser in ${Math.round(performance.now() - started)} ms (onnxruntime-web loaded and run)`,
    );
    expect(seen.verdict, seen.text).to.equal("pending");
    expect(seen.state).to.equal("in window");
    expect(seen.text).to.include("Verdict: Pending");
    const checks = await receiptChecks();
    expect(
      checks.every((c) => c.ok),
      JSON.stringify(checks),
    ).to.equal(true);
    expect(checks.map((c) => c.name)).to.include.members([
      "payer signed the request",
      "receipt signed by an operator key",
      "operator staked",
      "committed in the operator's log",
      "committed in time",
      "not struck",
      "challenge window",
      "input matches the request's commitment",
      "model file matches the commitment",
      "re-executed output matches the receipt",
    ]);
    const life = await page.$$eval("#receipt-result .life li", (items) =>
      items.map((li) => li.getAttribute("data-step")),
    );
    expect(life).to.deep.equal(["Signed", "Committed", "Challenge window", "Final"]);
    const result = await page.$eval("#receipt-result", (el) => (el as HTMLElement).innerText);
    expect(result).to.include("batch 0");
    expect(result).to.include("onnxruntime-web output hash");
    expect(result).not.to.include("Not checked in this browser yet");
    await screenshots("receipt-pending", "receipt");
  });

  it("checks a quiet receipt of a zk-circuit model in the browser: the Poseidon input commitment and the fixed-point re-run", async () => {
    await open("#/receipt", "receipt");
    const input = await page.$("#receipt-model");
    await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(IRIS_MODEL_PATH);
    const seen = await checkReceipt(JSON.stringify(receiptRecordToJson(zkRecord)));
    expect(seen.verdict, seen.text).to.equal("pending");
    expect(seen.state).to.equal("in window");
    const checks = await receiptChecks();
    expect(
      checks.every((c) => c.ok),
      JSON.stringify(checks),
    ).to.equal(true);
    expect(checks.map((c) => c.name)).to.include.members([
      "output matches the receipt",
      "committed in the operator's log",
      "input matches the request's commitment",
      "model file matches the commitment",
      "re-executed output matches the receipt",
    ]);
    const result = await page.$eval("#receipt-result", (el) => (el as HTMLElement).innerText);
    expect(result).to.include("batch 1");
    expect(result).to.include("Poseidon commitment of the quantized input");
    expect(result).to.include("fixed-point circuit output class");
    expect(result).not.to.include("Not checked in this browser yet");
    await screenshots("receipt-zk-pending", "receipt");
  });

  it("fails a tampered receipt, naming the failing check", async () => {
    const last = record.output.slice(-2) === "00" ? "01" : "00";
    const tampered = { ...record, output: `${record.output.slice(0, -2)}${last}` as Hex };
    const seen = await checkReceipt(JSON.stringify(receiptRecordToJson(tampered)));
    expect(seen.verdict).to.equal("failed");
    expect(seen.text).to.include("Verdict: Failed");
    expect(seen.text).to.include("Failed: output matches the receipt");
    const failed = (await receiptChecks()).filter((c) => !c.ok).map((c) => c.name);
    expect(failed).to.deep.equal(["output matches the receipt"]);
    await screenshots("receipt-tampered", "receipt");

    const notJson = await (async () => {
      await page.$eval("#receipt-json", (el) => {
        (el as HTMLTextAreaElement).value = '{"chainId": 1}';
      });
      await page.click('#receipt-form button[type="submit"]');
      await page.waitForFunction(() => document.getElementById("receipt-error")?.textContent !== "");
      return page.$eval("#receipt-error", (el) => el.textContent);
    })();
    expect(notJson).to.match(/not a receipt file: quietMode must be/);
  });

  it("shows the slash after an equivocation challenge (operator, batches and challenges views); the receipt turns final", async () => {
    const operator = chain.clientFor(2);
    const other: Receipt = { ...record.receipt, time: record.receipt.time + 1n };
    const otherSignature = await operator.signQuietReceipt({
      signer: privateKeyToAccount(OPERATOR_SIGNING_KEY),
      receipt: other,
    });
    const { slashed } = await chain.clientFor(5).challengeEquivocation({
      a: { receipt: record.receipt, request: record.request, signature: record.signature },
      b: { receipt: other, request: record.request, signature: otherSignature },
    });
    expect(slashed > 0n).to.equal(true);

    await open(`#/operator/${operatorAddress}`, "operators");
    const view = await text();
    expect(view).to.match(/Challenges lost\s+1/);
    expect(view).to.match(/Slashed\s+1 time/);
    const slash = await page.$eval(".slashes li", (li) => (li as HTMLElement).innerText);
    expect(slash).to.include("quiet mode");
    expect(slash).to.include("equivocation at receipt seq 0");
    expect(await page.$$("[data-challenge]")).to.have.length(1);
    expect(await page.$$(`[data-batch="${operatorAddress}/0"]`)).to.have.length(1);
    await screenshots("operator-slashed", "operators");

    await open("#/batches", "batches");
    const batches = await text();
    expect(batches).to.include("0…0 (1)");
    expect(batches).to.include("/batch/0");
    expect(batches).to.include("equivocation");
    await screenshots("batches", "batches");

    // The receipt itself stays good: its operator was slashed for another receipt with the same seq. Past its
    // challenge deadline it is final, and the contract's verifyReceipt accepts it.
    const { commitWindow, challengeWindow } = await operator.getQuietMode();
    const closes = record.request.deadline + commitWindow + challengeWindow;
    const head = BigInt(
      ((await chain.rpc("eth_getBlockByNumber", ["latest", false])) as { timestamp: Hex }).timestamp,
    );
    await chain.timeTravel(Number(closes - head + 60n));
    const seen = await checkReceipt(JSON.stringify(receiptRecordToJson(record)));
    expect(seen.verdict, seen.text).to.equal("verified");
    expect(seen.state).to.equal("final");
    expect(seen.text).to.include("Verdict: Verified");
    expect(await page.$$('[data-check="contract accepts it as final"].ok')).to.have.length(1);
    expect(await page.$eval("[data-slashed]", (el) => (el as HTMLElement).innerText)).to.include(
      "slashed 1 time(s)",
    );
    const life = await page.$$eval("#receipt-result .life li", (items) =>
      items.map((li) => `${li.getAttribute("data-step")} ${li.className}`),
    );
    expect(life).to.deep.equal([
      "Signed step done",
      "Committed step done",
      "Challenge window step done",
      "Final step done",
    ]);
    await screenshots("receipt-final", "receipt");
  });

  it("draws the activity as an accessible chart, with its numbers as a table", async () => {
    await open("#/activity", "activity");
    const charts = await page.$$eval("figure[data-chart]", (figures) =>
      figures.map((f) => ({
        id: f.getAttribute("data-chart"),
        img: f.querySelector('svg[role="img"]') !== null,
        desc: f.querySelector("svg desc")?.textContent ?? "",
        rows: f.querySelectorAll("tbody tr").length,
      })),
    );
    expect(charts.map((c) => c.id)).to.deep.equal(["by-version", "by-operator"]);
    expect(charts.every((c) => c.img && c.rows > 0)).to.equal(true);
    expect(charts[0]!.desc).to.match(/^2 in all/); // the signed request and the proven one
    expect(charts[0]!.desc).to.include("iris-mlp");
    expect(charts[1]!.desc).to.match(/^4 in all/); // two requests settled and two quiet receipts committed
    await screenshots("activity", "activity");
    await open(`#/activity/${quietModelId}`, "activity");
    expect(await page.$eval("h1", (h) => h.textContent)).to.equal("Activity of iris-quiet");
    expect(pageErrors).to.deep.equal([]);
  });
});
