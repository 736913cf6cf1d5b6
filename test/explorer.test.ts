/**
 * The explorer page in a real browser: a devnet with the protocol deployed, the Iris model registered and an operator
 * staked (the SDK fixture), one request answered with a real EIP-712 signature and one refunded; the page built once
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
import { build } from "vite";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { sha256Hex } from "../src/model/hash.js";
import { prepareSignatureInput } from "../src/sdk/features.js";
import { serveSigned, startTestChain, type TestChain } from "./helpers/sdk-fixture.js";

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

describe("explorer page (headless Chromium against a devnet)", function () {
  this.timeout(300_000);
  let chain: TestChain;
  let outDir: string;
  let site: { server: Server; url: string };
  let browser: Browser;
  let page: Page;
  let fulfilledId: bigint;
  let refundedId: bigint;
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
    expect(timeline).to.have.length(1);
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
    expect(operator).to.match(/Results settled\s+1/);
    await screenshots("operators", "operators");
    await open("#/requests", "requests");
    await page.click(`a[href="#/request/${fulfilledId}"]`);
    await ready("request");
    expect(await page.$eval("h1", (h) => h.textContent)).to.equal(`Request #${fulfilledId}`);
    expect(pageErrors).to.deep.equal([]);
  });
});
