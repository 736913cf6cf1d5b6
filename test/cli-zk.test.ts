import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { privateKeyToAccount } from "viem/accounts";
import { irisMlpVerifierCodeHash } from "../src/abi/index.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { OPG_BIN, runOpg } from "./helpers/cli.js";
import "./helpers/release-zk.js";
import { accountKey, OPERATOR_SIGNING_KEY, startTestChain, type TestChain } from "./helpers/sdk-fixture.js";

/**
 * The zk path from the command line: a model registered with its zk weight commitment, verifier and the verifier's
 * code hash (read from the chain), requests that require a proof, `opg operator serve` proving them, and `opg audit`
 * checking the proof from chain data.
 */
describe("cli: zk requests end to end", function () {
  this.timeout(180_000);
  let chain: TestChain;
  let env: NodeJS.ProcessEnv;
  let zkModelId: string;
  const opg = (args: string[], extra: NodeJS.ProcessEnv = {}) => runOpg(args, env, extra);

  before(async () => {
    chain = await startTestChain();
    env = { OPG_RPC_URL: chain.url, OPG_ADDRESSES: chain.deploymentDir, OPG_PRIVATE_KEY: accountKey(4) };
    const connection = await hre.network.create({ network: "localhost", override: { url: chain.url } });
    const verifier = await connection.ethers.deployContract("IrisMlpVerifier");
    const verifierAddress = await verifier.getAddress();
    await connection.close();
    const registered = await opg(
      [
        "--json",
        "model",
        "register",
        "--file",
        IRIS_MODEL_PATH,
        "--name",
        "iris-zk",
        "--fee",
        "1",
        "--royalty",
        "500",
        "--zk-verifier",
        verifierAddress,
      ],
      { OPG_PRIVATE_KEY: accountKey(1) },
    );
    expect(registered.code, registered.err).to.equal(0);
    // The verifier's code hash was read from the chain and pinned in the model id.
    expect(registered.json).to.include({ zkVerifierCodeHash: irisMlpVerifierCodeHash });
    zkModelId = String(registered.json.modelId);
  });
  after(async () => {
    await chain.close();
  });

  it("registers a zk model, proves requests with the operator node and audits the proofs", async () => {
    const shown = await opg(["model", "show", zkModelId]);
    expect(shown.out).to.contain("modes signature | zk");
    expect(shown.out).to.contain(`pinned code hash ${irisMlpVerifierCodeHash}`);

    // One request names the model file, the other relies on the registered URI being a local file.
    const withFile = await opg([
      "--json",
      "request",
      "--model",
      zkModelId,
      "--mode",
      "zk",
      "--input",
      "6.3,3.3,6,2.5",
      "--model-file",
      IRIS_MODEL_PATH,
      "--pay",
      "permit",
    ]);
    expect(withFile.code, withFile.err).to.equal(0);
    const fromUri = await opg([
      "--json",
      "request",
      "--model",
      zkModelId,
      "--mode",
      "zk",
      "--input",
      "5.1,3.5,1.4,0.2",
      "--pay",
      "permit",
    ]);
    expect(fromUri.code, fromUri.err).to.equal(0);
    const ids = [String(withFile.json.requestId), String(fromUri.json.requestId)];

    // Not yet proven: the audit says so and exits 3 (not settled yet), not 2 (rejected).
    const early = await opg(["--json", "audit", ids[0]!]);
    expect(early.code).to.equal(3);
    expect(early.json.verdict).to.equal("pending");

    // The operator serves through the real launcher; stopped, it exits (snarkjs's workers released).
    const database = join(await mkdtemp(join(tmpdir(), "opg-cli-zk-")), "node.sqlite");
    const child = spawn(
      "node",
      [
        OPG_BIN,
        "operator",
        "serve",
        "--model",
        zkModelId,
        "--model-file",
        IRIS_MODEL_PATH,
        "--db",
        database,
        "--poll-ms",
        "100",
      ],
      {
        env: {
          PATH: process.env.PATH,
          ...env,
          OPG_PRIVATE_KEY: accountKey(2),
          OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY,
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const start = Date.now();
      const statuses = async () =>
        Promise.all(ids.map(async (id) => String((await opg(["--json", "status", id])).json.status)));
      while ((await statuses()).some((s) => s !== "Fulfilled")) {
        if (Date.now() - start > 120_000) throw new Error("zk requests were not fulfilled in time");
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).to.equal(0);

    for (const [id, expectedClass] of [
      [ids[0]!, 2n],
      [ids[1]!, 0n],
    ] as const) {
      const audit = await opg(["--json", "audit", id]);
      expect(audit.code, audit.out).to.equal(0);
      expect(audit.json.verdict).to.equal("verified");
      const checks = audit.json.checks as { name: string; ok: boolean }[];
      expect(checks.every((c) => c.ok)).to.equal(true);
      expect(checks.map((c) => c.name).join(" | ")).to.match(/Groth16 proof verifies/);
      const status = await opg(["--json", "status", id]);
      const result = status.json.result as { output: string };
      expect(BigInt(`0x${result.output.slice(2).padStart(64, "0")}`)).to.equal(expectedClass);
    }
    const human = await opg(["audit", ids[0]!]);
    expect(human.out).to.match(/✓ Groth16 proof verifies/);
    expect(human.out).to.contain("verdict: verified");
  });

  it("refuses zk requests that cannot be proven, with a clear line", async () => {
    // The fixture's Iris version was registered without a verifier: signature mode only.
    const notZk = await opg([
      "--json",
      "request",
      "--model",
      chain.irisModelId,
      "--mode",
      "zk",
      "--input",
      "5.1,3.5,1.4,0.2",
      "--model-file",
      IRIS_MODEL_PATH,
      "--pay",
      "permit",
    ]);
    expect(notZk.code).to.equal(1);
    expect(notZk.err).to.match(/does not allow verification mode[\s\S]*hint: choose another `--mode`/);

    const missingFile = await opg([
      "--json",
      "request",
      "--model",
      zkModelId,
      "--mode",
      "zk",
      "--input",
      "5.1,3.5,1.4,0.2",
      "--model-file",
      "/nonexistent/iris.onnx",
    ]);
    expect(missingFile.code).to.equal(1);
    expect(missingFile.err).to.match(/zk mode needs the model file: pass --model-file/);

    const noCode = await opg(
      [
        "model",
        "register",
        "--file",
        IRIS_MODEL_PATH,
        "--name",
        "iris-zk-2",
        "--fee",
        "1",
        "--royalty",
        "500",
        "--zk-verifier",
        privateKeyToAccount(accountKey(9)).address,
      ],
      { OPG_PRIVATE_KEY: accountKey(1) },
    );
    expect(noCode.code).to.equal(1);
    expect(noCode.err).to.match(
      /the zk verifier 0x[0-9a-fA-F]{40} has no contract code on chain \d+: deploy it first/,
    );

    const badInput = await opg([
      "--json",
      "request",
      "--model",
      zkModelId,
      "--mode",
      "zk",
      "--input",
      "1,2,x",
    ]);
    expect(badInput.code).to.equal(1);
    expect(badInput.json.error).to.be.a("string");
  });
});
