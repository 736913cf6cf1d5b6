/**
 * How fast the explorer's first view renders on a devnet with a few hundred requests (issue #11): a devnet (Hardhat
 * node over HTTP), `--requests` requests opened (default 300, every other one answered with a real EIP-712
 * signature), the page built with Vite and served statically, then each view opened in a fresh headless Chromium tab
 * (nothing cached) and timed from navigation start to the view's `data-ready` (the page's own `firstRenderMs`).
 *
 *   npm run bench:explorer                # table
 *   npm run bench:explorer -- --json      # table, then one JSON line
 *   npm run bench:explorer -- --requests 500
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import chromium from "@sparticuz/chromium";
import hre from "hardhat";
import puppeteer from "puppeteer-core";
import { createPublicClient, createWalletClient, defineChain, http, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { build } from "vite";
import { testAccountKey } from "../src/devnet/accounts.js";
import { registerDevnetOperator, startDevnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { fromDataUri } from "../src/model/encoding.js";
import { inferBytes } from "../src/model/infer.js";
import { loadIris } from "../src/model/iris.js";
import { loadModel } from "../src/model/onnx-runtime.js";
import { createOpgClient } from "../src/sdk/client.js";
import { prepareSignatureInput } from "../src/sdk/features.js";

const OPG = 10n ** 18n;
const SIGNER_KEY = `0x${"7e".repeat(32)}` as const;
const args = process.argv.slice(2);
const at = args.indexOf("--requests");
const count = at < 0 ? 300 : Number(args[at + 1]);
if (!Number.isSafeInteger(count) || count <= 0) {
  console.error("--requests needs a positive whole number, e.g. --requests 300");
  process.exit(1);
}
const json = args.includes("--json");

const devnet = await startDevnet(hre, "127.0.0.1", 0);
const cleanups: (() => Promise<unknown>)[] = [() => devnet.close()];
try {
  await registerDevnetOperator(devnet, 2, SIGNER_KEY, 1_000n * OPG);
  const chain = defineChain({
    id: Number(devnet.chainId),
    name: "devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [devnet.url] } },
  });
  const transport = http(devnet.url, { retryCount: 0 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
  const clientFor = (index: number) =>
    createOpgClient({
      publicClient,
      walletClient: createWalletClient({
        chain,
        transport,
        account: privateKeyToAccount(testAccountKey(index)),
      }),
      addresses: devnet.addresses,
    });
  const requester = clientFor(3);
  const operator = clientFor(2);
  const model = await requester.getModel({ modelId: devnet.irisModelId });
  await requester.deposit({ amount: BigInt(count) * model.fee });

  const iris = loadIris();
  const runtime = await loadModel(IRIS_MODEL_PATH);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const { inputHash, inputUri } = prepareSignatureInput(iris.features[i % iris.features.length]!);
    const opened = await requester.openRequest({ modelId: devnet.irisModelId, inputHash, inputUri });
    if (i % 2 === 1) continue;
    const info = await operator.getRequest({ requestId: opened.requestId });
    const result = {
      operator: operator.account()!.address,
      output: toHex(await inferBytes(runtime, fromDataUri(info.inputUri))),
    };
    const signature = await operator.signResult({
      signer: privateKeyToAccount(SIGNER_KEY),
      requestId: opened.requestId,
      request: info.request,
      result,
    });
    await operator.fulfillSigned({ request: info.request, requestId: opened.requestId, result, signature });
  }
  await runtime.release();
  const seeded = (performance.now() - started) / 1000;

  const outDir = await mkdtemp(join(tmpdir(), "opg-bench-explorer-"));
  cleanups.push(() => rm(outDir, { recursive: true, force: true }));
  await build({
    configFile: resolve("src/explorer/vite.config.ts"),
    logLevel: "warn",
    build: { outDir, emptyOutDir: true },
  });
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = join(outDir, path.endsWith("/") ? `${path}index.html` : path);
    if (!file.startsWith(outDir + sep)) {
      res.writeHead(403).end();
      return;
    }
    stat(file).then(
      () => {
        const type = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" }[extname(file)];
        res.writeHead(200, { "content-type": type ?? "application/octet-stream" });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  cleanups.push(() => new Promise((done) => server.close(done)));
  const site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await puppeteer.launch({
    args: chromium.args,
    executablePath: await chromium.executablePath(),
    headless: true,
  });
  cleanups.push(() => browser.close());

  const query = new URLSearchParams({ rpc: devnet.url, settlement: devnet.addresses.settlement });
  const views: [string, string][] = [
    ["models", "#/models"],
    ["requests", "#/requests"],
    ["operators", "#/operators"],
    ["request", "#/request/1"],
    ["activity", "#/activity"],
  ];
  const figures: Record<string, number> = {};
  for (const [view, route] of views) {
    // A fresh tab each time: nothing in its sessionStorage or memory.
    const page = await browser.newPage();
    await page.setViewport({ width: 1366, height: 900 });
    await page.goto(`${site}/?${query.toString()}${route}`);
    await page.waitForSelector(`main[data-ready="true"][data-view="${view}"]`, { timeout: 60_000 });
    figures[view] = Number(await page.evaluate(() => document.documentElement.dataset.firstRenderMs));
    await page.close();
  }

  console.log(
    `A devnet with ${count} requests (${Math.ceil(count / 2)} answered with a signature; seeded in ${seeded.toFixed(1)} s); each view opened in a fresh headless Chromium tab, timed from navigation start to the view rendered:`,
  );
  console.log("view        first render ms");
  for (const [view, ms] of Object.entries(figures))
    console.log(`${view.padEnd(12)}${String(ms).padStart(15)}`);
  if (json) console.log(JSON.stringify({ requests: count, firstRenderMs: figures }));
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
process.exit(0);
