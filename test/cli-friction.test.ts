/**
 * The CLI's frictions, each fixed and pinned here: the key's account as the default account, a failed operator
 * registration that sends nothing, model files checked by hash before parsing, input counts in values, hints that
 * name real commands, one exit-code table, answers beside hashes, `request --wait`, readable operator logs, the
 * state file outside the repository, URL schemes checked up front, progress on a terminal, and the ecosystem aliases.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { expect } from "chai";
import { privateKeyToAccount } from "viem/accounts";
import { operatorLogger } from "../src/cli/logger.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { OperatorStore } from "../src/operator/store.js";
import { OPG_BIN, runOpg, spawnOpg } from "./helpers/cli.js";
import {
  accountKey,
  OPERATOR_SIGNING_KEY,
  OPG,
  serveSigned,
  startTestChain,
  type TestChain,
} from "./helpers/sdk-fixture.js";

describe("cli: frictions", function () {
  this.timeout(120_000);
  let chain: TestChain;
  let env: NodeJS.ProcessEnv;
  let wrongModel: string;
  const opg = (args: string[], extra: NodeJS.ProcessEnv = {}, tty = false) =>
    runOpg(args, env, extra, { tty });
  const requester = () => privateKeyToAccount(accountKey(4)).address;

  /** Serve request `id` with the SDK as operator 2 (signature mode). */
  const fulfil = (id: bigint) => serveSigned(chain, id);

  before(async () => {
    chain = await startTestChain();
    env = { OPG_RPC_URL: chain.url, OPG_ADDRESSES: chain.deploymentDir, OPG_PRIVATE_KEY: accountKey(4) };
    const dir = await mkdtemp(join(tmpdir(), "opg-friction-"));
    wrongModel = join(dir, "wrong.onnx");
    await writeFile(wrongModel, "not an onnx file at all");
    expect((await opg(["deposit", "20"])).code).to.equal(0);
  });
  after(async () => {
    await chain.close();
  });

  it("a. balance and operator show default to the configured key's account, and say what to pass without one", async () => {
    const balance = await opg(["--json", "balance"]);
    expect(balance.code, balance.err).to.equal(0);
    expect(balance.json.account).to.equal(requester());
    const operator = privateKeyToAccount(accountKey(2)).address;
    const shown = await opg(["--json", "operator", "show"], { OPG_PRIVATE_KEY: accountKey(2) });
    expect(shown.code, shown.err).to.equal(0);
    expect(shown.json).to.include({ operator, eligible: true });
    const noKey = await opg(["balance"], { OPG_PRIVATE_KEY: "" });
    expect(noKey.code).to.equal(1);
    expect(noKey.err).to.match(/pass --account <address>, or set OPG_PRIVATE_KEY to use its account/);
    const noKeyShow = await opg(["operator", "show", "--key-env", "NOPE"]);
    expect(noKeyShow.err).to.match(/pass an operator address, or set NOPE/);
  });

  it("b. a failing operator register sends nothing: allowance and nonce unchanged", async () => {
    const key = accountKey(6);
    const account = privateKeyToAccount(key).address;
    const reader = chain.clientFor(6);
    await chain.clientFor(0).transferToken({ to: account, amount: 10n * OPG });
    const state = async () => ({
      nonce: await reader.publicClient.getTransactionCount({ address: account }),
      allowance: await reader.getAllowance({ owner: account, spender: chain.addresses.operators }),
    });
    const before = await state();
    const cases: [NodeJS.ProcessEnv, string, RegExp][] = [
      // the signing key already belongs to operator 2
      [{ OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY }, "5", /keys are never reused/],
      // 10 OPG held, 1000 asked
      [{ OPG_SIGNER_KEY: `0x${"c1".repeat(32)}` }, "1000", /holds 10 OPG, less than the stake of 1000 OPG/],
    ];
    for (const [extra, stake, message] of cases) {
      const refused = await opg(["operator", "register", "--payout", account, "--stake", stake], {
        OPG_PRIVATE_KEY: key,
        ...extra,
      });
      expect(refused.code).to.equal(1);
      expect(refused.err).to.match(message);
      expect(await state()).to.deep.equal(before);
    }
  });

  it("c. a wrong model file is a failed hash check, before any parsing, wherever --model-file is read", async () => {
    const hashError = new RegExp(
      `${wrongModel} has sha256 0x[0-9a-f]{64}, model ${chain.irisModelId} commits to 0x[0-9a-f]{64}`,
    );
    const request = await opg([
      "request",
      "--model",
      chain.irisModelId,
      "--input",
      "5.1,3.5,1.4,0.2",
      "--model-file",
      wrongModel,
    ]);
    expect(request.code).to.equal(1);
    expect(request.err).to.match(hashError);
    const zk = await opg([
      "request",
      "--model",
      chain.irisModelId,
      "--mode",
      "zk",
      "--input",
      "5.1,3.5,1.4,0.2",
      "--model-file",
      wrongModel,
    ]);
    expect(zk.err).to.match(hashError);
    const opened = await opg([
      "--json",
      "request",
      "--model",
      chain.irisModelId,
      "--input",
      "5.1,3.5,1.4,0.2",
    ]);
    const audit = await opg(["audit", String(opened.json.requestId), "--model-file", wrongModel]);
    expect(audit.code).to.equal(1);
    expect(audit.err).to.match(hashError);
    const serve = await opg(
      [
        "operator",
        "serve",
        "--model",
        chain.irisModelId,
        "--model-file",
        wrongModel,
        "--db",
        join(tmpdir(), "x.db"),
      ],
      { OPG_PRIVATE_KEY: accountKey(2), OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY },
    );
    expect(serve.code).to.equal(1);
    expect(serve.err).to.match(hashError);
    expect(`${request.err}${zk.err}${audit.err}${serve.err}`).not.to.match(
      /protobuf|ModelProto|invalid wire|index out of range/i,
    );
  });

  it("d. input counts speak of values and are refused before any transaction; non-finite float32 too", async () => {
    const nonce = () => chain.clientFor(4).publicClient.getTransactionCount({ address: requester() });
    const before = await nonce();
    const base = ["request", "--model", chain.irisModelId, "--model-file", IRIS_MODEL_PATH, "--input"];
    const short = await opg([...base, "5.1,3.5"]);
    expect(short.code).to.equal(1);
    expect(short.err).to.match(/the model takes 4 values per sample, got 2 values/);
    expect(short.err).not.to.match(/bytes/);
    const huge = await opg([...base, "1e40,1,1,1"]);
    expect(huge.code).to.equal(1);
    expect(huge.err).to.match(/input value 1 \(1e\+40\) is not a finite float32/);
    const hugeUnchecked = await opg(["request", "--model", chain.irisModelId, "--input", "1e40,1,1,1"]);
    expect(hugeUnchecked.err).to.match(/not a finite float32/);
    const zkRows = await opg([...base, "1,2,3,4,5,6,7,8", "--mode", "zk"]);
    expect(zkRows.err).to.match(/2 samples of 4 values, but a zk-mode request carries at most 1/);
    expect(await nonce()).to.equal(before);
    // Two samples are fine in signature mode; without the model file the CLI says it did not check.
    const two = await opg([...base, "5.1,3.5,1.4,0.2,6.6,3,4.4,1.4"]);
    expect(two.code, two.err).to.equal(0);
    expect(two.out).not.to.contain("input not checked");
    // Without --model-file, the registered URI (a file in this checkout) is checked the same way...
    const byUri = await opg(["request", "--model", chain.irisModelId, "--input", "5.1,3.5"]);
    expect(byUri.code).to.equal(1);
    expect(byUri.err).to.match(/the model takes 4 values per sample, got 2 values/);
    // ...and where it names no file, the CLI says it did not check.
    const elsewhere = process.cwd();
    process.chdir(tmpdir());
    try {
      const unchecked = await opg(["request", "--model", chain.irisModelId, "--input", "5.1,3.5"]);
      expect(unchecked.code, unchecked.err).to.equal(0);
      expect(unchecked.out).to.contain("input not checked against the model: pass --model-file to check it");
    } finally {
      process.chdir(elsewhere);
    }
  });

  it("e. errors carry a hint naming real opg commands and flags", async () => {
    const transfer = await opg([
      "--json",
      "request",
      "--model",
      chain.irisModelId,
      "--input",
      "1,2,3,4",
      "--pay",
      "transfer",
    ]);
    expect(transfer.code).to.equal(1);
    const [, hint] = transfer.err.split("\n");
    expect(hint).to.match(/^hint: opg has no approve command: pay with `--pay permit`.*`opg deposit <OPG>`/);
    expect(transfer.json.hint).to.equal(hint!.slice("hint: ".length));
    const broke = await opg(["request", "--model", chain.irisModelId, "--input", "1,2,3,4"], {
      OPG_PRIVATE_KEY: accountKey(7),
    });
    expect(broke.err).to.match(/\nhint: deposit first with `opg deposit <OPG>`/);
    const unreachable = await opg(["status", "1"], { OPG_RPC_URL: "http://127.0.0.1:9" });
    expect(unreachable.code).to.equal(5);
    expect(unreachable.err).to.match(/\nhint: start a local node with `npm run devnet`/);
  });

  it("f. one exit-code table, in opg --help", async () => {
    const help = await opg(["--help"]);
    expect(help.code).to.equal(0);
    expect(help.out).to.match(/Exit codes \(every command\):/);
    expect(help.out).to.match(/2 {2}audit: verification rejected/);
    expect(help.out).to.match(/3 {2}not settled yet/);
    expect(help.out).to.match(/5 {2}the chain's RPC could not be reached/);
    expect(help.out).to.contain("ETH_RPC_URL");
  });

  it("g+h. request --wait shows the answer; status and audit show it beside the hash; timeouts and refunds exit 3 and 4", async () => {
    // Nobody serves: --wait times out with what to do next (exit 3), progress on a terminal's stderr.
    const waited = await opg(
      ["request", "--model", chain.irisModelId, "--input", "5.1,3.5,1.4,0.2", "--ttl", "600", "--wait", "2"],
      {},
      true,
    );
    expect(waited.code, waited.err).to.equal(3);
    expect(waited.out).to.match(/is not settled after 2 s/);
    expect(waited.out).to.match(/opg status \d+/);
    expect(waited.err).to.match(/^… waiting for request #\d+: Pending/m);
    const pendingId = BigInt(/request #(\d+)/.exec(waited.out)![1]!);

    // Served while waiting: the decoded answer.
    const next = pendingId + 1n;
    const serving = (async () => {
      for (let i = 0; i < 200; i++) {
        const status = await chain.clientFor(2).getRequestStatus({ requestId: next });
        if (status === "Pending") return fulfil(next);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const answered = await opg([
      "--json",
      "request",
      "--model",
      chain.irisModelId,
      "--model-file",
      IRIS_MODEL_PATH,
      "--input",
      "6.3,3.3,6,2.5",
      "--wait",
      "30",
    ]);
    await serving;
    expect(answered.code, answered.err).to.equal(0);
    expect(answered.json.requestId).to.equal(next.toString());
    const answer = answered.json.answer as { classes: number[]; logits: number[][] };
    expect(answer.classes).to.deep.equal([2]);
    expect(answer.logits[0]).to.have.length(3);

    const status = await opg(["status", next.toString()]);
    expect(status.out).to.match(/answer: class 2 \(logits -?\d/);
    expect(status.out).to.match(/output hash 0x/);
    const statusJson = await opg(["--json", "status", next.toString()]);
    expect((statusJson.json.answer as { classes: number[] }).classes).to.deep.equal([2]);
    const audit = await opg(["audit", next.toString()]);
    expect(audit.code, audit.out).to.equal(0);
    expect(audit.out).to.match(/^answer: class 2 \(logits/m);

    // Refunded: audit exits 4.
    await chain.timeTravel(601);
    expect((await opg(["refund", pendingId.toString()])).code).to.equal(0);
    const refunded = await opg(["--json", "audit", pendingId.toString()]);
    expect(refunded.code).to.equal(4);
    expect(refunded.json.verdict).to.equal("refunded");
  });

  it("i. operator logs are readable on a terminal (pino-pretty as a stream), JSON lines otherwise", async () => {
    const read = async (pretty: boolean) => {
      const stream = new PassThrough();
      const chunks: string[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c.toString()));
      const log = operatorLogger({ pretty, destination: stream });
      log.info({ requestId: 7 }, "fulfilled");
      log.flush();
      await new Promise((r) => setTimeout(r, 50));
      return chunks.join("");
    };
    const pretty = await read(true);
    expect(pretty).to.match(/INFO.*fulfilled/);
    expect(pretty).to.match(/requestId: 7/);
    expect(() => JSON.parse(pretty) as unknown).to.throw();
    const json = JSON.parse(await read(false)) as Record<string, unknown>;
    expect(json).to.include({ msg: "fulfilled", requestId: 7, level: 30 });
  });

  it("j. operator serve keeps its state outside the repository by default and prints where", async () => {
    const state = await mkdtemp(join(tmpdir(), "opg-state-"));
    const child = spawn(
      "node",
      [OPG_BIN, "operator", "serve", "--model", chain.irisModelId, "--model-file", IRIS_MODEL_PATH],
      {
        env: {
          PATH: process.env.PATH,
          ...env,
          XDG_STATE_HOME: state,
          OPG_PRIVATE_KEY: accountKey(2),
          OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const start = Date.now();
    // Started once it logs (JSON lines: stdout is not a terminal).
    while (!stdout.includes('"msg"') && Date.now() - start < 30_000) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGTERM");
    expect(await exited).to.equal(0);
    expect(stderr).to.match(
      new RegExp(`state file ${state}/opg/operator-31337-[0-9a-f]{8}-[0-9a-f]{8}\\.sqlite`),
    );
  });

  it("j. a state file made for another chain is refused with what to do; --fresh-state moves it aside and serves", async () => {
    const dir = await mkdtemp(join(tmpdir(), "opg-state-"));
    const file = join(dir, "node.sqlite");
    const other = new OperatorStore(file);
    other.bind({ chainId: 1, genesisHash: `0x${"11".repeat(32)}`, settlement: chain.addresses.settlement });
    other.close();
    const serve = ["operator", "serve", "--model", chain.irisModelId, "--model-file", IRIS_MODEL_PATH];
    const keys = { ...env, OPG_PRIVATE_KEY: accountKey(2), OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY };
    const refused = await spawnOpg([...serve, "--db", file], keys);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/error: state file .*node\.sqlite was made for chain 1/);
    expect(refused.stderr).to.match(
      /hint: `opg operator serve --fresh-state` moves the old state file aside/,
    );
    expect(await readdir(dir)).to.include("node.sqlite");

    // From the next block on: the node must not serve the requests other tests leave pending.
    const next = (await chain.clientFor(0).publicClient.getBlockNumber()) + 1n;
    const fresh = [...serve, "--db", file, "--fresh-state", "--from-block", next.toString()];
    const child = spawn("node", [OPG_BIN, ...fresh], {
      env: { PATH: process.env.PATH, ...keys },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const start = Date.now();
    while (!stdout.includes("operator node started") && Date.now() - start < 30_000) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGINT");
    expect(await exited).to.equal(0);
    const files = await readdir(dir);
    expect(files.filter((f) => /^node\.sqlite\..*\.bak$/.test(f))).to.have.length(1);
    const store = new OperatorStore(file);
    expect(store.binding()?.chainId).to.equal(31337);
    store.close();
  });

  it("k. an RPC URL without a scheme is refused up front with the fix", async () => {
    const noScheme = await opg(["status", "1", "--rpc", "127.0.0.1:8545"]);
    expect(noScheme.code).to.equal(1);
    expect(noScheme.err).to.match(/--rpc 127\.0\.0\.1:8545 has no scheme: use http:\/\/127\.0\.0\.1:8545/);
    const envNoScheme = await opg(["status", "1"], { OPG_RPC_URL: "localhost:8545" });
    expect(envNoScheme.err).to.match(/OPG_RPC_URL localhost:8545 has no scheme: use http:\/\/localhost:8545/);
    const ws = await opg(["status", "1", "--rpc", "ws://127.0.0.1:8545"]);
    expect(ws.err).to.match(/is a ws:\/\/ URL: use http:\/\/ or https:\/\//);
    const serveWs = await opg(
      [
        "operator",
        "serve",
        "--model",
        chain.irisModelId,
        "--model-file",
        IRIS_MODEL_PATH,
        "--ws",
        "127.0.0.1:8546",
      ],
      { OPG_PRIVATE_KEY: accountKey(2), OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY },
    );
    expect(serveWs.err).to.match(/--ws 127\.0\.0\.1:8546 has no scheme: use ws:\/\/127\.0\.0\.1:8546/);
  });

  it("aliases cast users expect: --rpc-url, ETH_RPC_URL, --chain, -j", async () => {
    const viaFlag = await opg(
      ["-j", "--rpc-url", chain.url, "--chain", "31337", "model", "show", chain.irisModelId],
      {
        OPG_RPC_URL: "",
      },
    );
    expect(viaFlag.code, viaFlag.err).to.equal(0);
    expect(viaFlag.json.status).to.equal("Active");
    const viaEnv = await opg(["-j", "modes"], { OPG_RPC_URL: "", ETH_RPC_URL: chain.url });
    expect(viaEnv.code, viaEnv.err).to.equal(0);
    const wrongChain = await opg(["-j", "modes", "--chain", "1"]);
    expect(wrongChain.code).to.equal(1);
    expect(wrongChain.json.error).to.match(/expected 1/);
  });

  it("l+m. progress only on a terminal; audit (onnxruntime, snarkjs loaded) exits by itself through the launcher", async () => {
    const copy = join(await mkdtemp(join(tmpdir(), "opg-model-")), "iris.onnx");
    await copyFile(IRIS_MODEL_PATH, copy);
    const quiet = await opg(["audit", "1", "--model-file", copy]);
    expect(quiet.err).to.equal("");
    const shown = await opg(["audit", "1", "--model-file", copy], {}, true);
    expect(shown.err).to.match(/^… auditing request #1 \(re-running the model\)/m);
    const launched = await spawnOpg(["audit", "1", "--model-file", copy], { PATH: process.env.PATH, ...env });
    expect(launched.code, launched.stderr).to.equal(3); // request 1 is still pending
    expect(launched.stdout).to.contain("verdict: pending");
  });
});
