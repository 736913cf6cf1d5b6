/**
 * The CLI, SDK and operator node against Anvil (Foundry's node: a second EVM implementation next to Hardhat's
 * EDR), started from the `@foundry-rs/anvil` npm package on a free port. From an empty chain: `opg deploy` through
 * the real launcher (default addresses path; the core and both mode contracts), register the Iris model with its zk
 * verifier (code hash read from the chain), register an operator (its signing key proving possession),
 * deposit, open a signature request and a zk request, let the operator node serve both, then `status` and
 * `audit` (verified, exit 0), the last audit again through the launcher from the default addresses path.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { createPublicClient, createWalletClient, defineChain, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { irisMlpVerifierCodeHash } from "../src/abi/index.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { readAddresses, type ProtocolAddresses } from "../src/sdk/addresses.js";
import { createOpgClient } from "../src/sdk/client.js";
import { anvilBinary, startAnvil, type Anvil } from "./helpers/anvil.js";
import { runOpg, spawnOpg } from "./helpers/cli.js";
import { accountKey, OPERATOR_SIGNING_KEY } from "./helpers/sdk-fixture.js";
import "./helpers/release-zk.js";

const address = (i: number) => privateKeyToAccount(accountKey(i)).address;

describe("anvil: deploy, register, request, serve, audit through the CLI", function () {
  this.timeout(60_000);
  let anvil: Anvil | undefined;
  let dir = "";
  let env: NodeJS.ProcessEnv;
  let addresses: ProtocolAddresses & { irisVerifier: string };
  let modelId: string;
  const requests: Record<"signature" | "zk", string> = { signature: "", zk: "" };

  const opg = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runOpg(args, env, extraEnv);

  /** The real launcher as a child process, in `cwd` (so `deploy/deployments/chain-<id>/` resolves there). */
  const spawnIn = (cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    spawnOpg(args, { OPG_RPC_URL: env.OPG_RPC_URL, ...extraEnv }, cwd);

  before(async function () {
    const binary = anvilBinary();
    if (binary === undefined) {
      console.log(`    (no anvil build for ${process.platform}-${process.arch}: skipped)`);
      this.skip();
    }
    anvil = await startAnvil(binary);
    dir = await mkdtemp(join(tmpdir(), "opg-anvil-"));
    env = { OPG_RPC_URL: anvil.url };
  });
  after(async () => {
    await anvil?.close();
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("deploys with the Iris verifier through the launcher, to the default addresses path", async () => {
    const deployed = await spawnIn(dir, ["--json", "deploy", "--with-iris-verifier"], {
      OPG_PRIVATE_KEY: accountKey(0),
    });
    expect(deployed.code, deployed.stderr).to.equal(0);
    const json = JSON.parse(deployed.stdout) as Record<string, unknown>;
    const file = join(dir, "deploy/deployments/chain-31337/deployed_addresses.json");
    expect(json.out).to.equal("deploy/deployments/chain-31337/deployed_addresses.json");
    addresses = { ...(await readAddresses(file)), irisVerifier: String(json.irisVerifier) };
    expect(json.settlement).to.equal(addresses.settlement);
    expect(addresses.signatureMode).to.equal(json.signatureMode);
    expect(addresses.zkMode).to.equal(json.zkMode);
    expect(deployed.stdout + deployed.stderr).not.to.contain(accountKey(0).slice(2));
    env.OPG_ADDRESSES = file;

    // The governance account hands out OPG (the CLI has no transfer command): operator and requester.
    const chain = defineChain({
      id: 31337,
      name: "anvil",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [anvil!.url] } },
    });
    const transport = http(anvil!.url, { retryCount: 0 });
    const governance = createOpgClient({
      publicClient: createPublicClient({ chain, transport, pollingInterval: 100 }),
      walletClient: createWalletClient({ chain, transport, account: privateKeyToAccount(accountKey(0)) }),
      addresses,
    });
    await governance.transferToken({ to: address(2), amount: 1_000n * 10n ** 18n });
    await governance.transferToken({ to: address(4), amount: 100n * 10n ** 18n });
  });

  it("registers the Iris model with zk weights and an operator (its key's proof of possession; the SDK approves the stake)", async () => {
    const registered = await opg(
      [
        "--json",
        "model",
        "register",
        "--file",
        IRIS_MODEL_PATH,
        "--name",
        "iris-mlp",
        "--fee",
        "2",
        "--royalty",
        "1000",
        "--zk-verifier",
        addresses.irisVerifier,
      ],
      { OPG_PRIVATE_KEY: accountKey(1) },
    );
    expect(registered.code, registered.err).to.equal(0);
    modelId = String(registered.json.modelId);
    const shown = await opg(["--json", "model", "show", modelId]);
    expect(shown.json).to.include({
      status: "Active",
      modes: 3,
      zkVerifier: addresses.irisVerifier,
      zkVerifierCodeHash: irisMlpVerifierCodeHash,
    });

    const operator = await opg(
      ["--json", "operator", "register", "--payout", address(3), "--stake", "1000"],
      {
        OPG_PRIVATE_KEY: accountKey(2),
        OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY,
      },
    );
    expect(operator.code, operator.err).to.equal(0);
    expect(operator.json).to.include({ signer: privateKeyToAccount(OPERATOR_SIGNING_KEY).address });
    expect((await opg(["--json", "operator", "show", address(2)])).json).to.include({ eligible: true });
  });

  it("deposits and opens a signature request and a zk request", async () => {
    const requester = { OPG_PRIVATE_KEY: accountKey(4) };
    const deposit = await opg(["--json", "deposit", "10"], requester);
    expect(deposit.code, deposit.err).to.equal(0);
    expect(deposit.json.balance).to.equal((10n * 10n ** 18n).toString());
    const signature = await opg(
      ["--json", "request", "--model", modelId, "--input", "5.1,3.5,1.4,0.2"],
      requester,
    );
    expect(signature.code, signature.err).to.equal(0);
    requests.signature = String(signature.json.requestId);
    const zk = await opg(
      [
        "--json",
        "request",
        "--model",
        modelId,
        "--input",
        "6.3,3.3,6,2.5",
        "--mode",
        "zk",
        "--model-file",
        IRIS_MODEL_PATH,
      ],
      requester,
    );
    expect(zk.code, zk.err).to.equal(0);
    requests.zk = String(zk.json.requestId);
    expect((await opg(["--json", "status", requests.zk])).json.status).to.equal("Pending");
  });

  it("serves both with the operator node; status and audit verify them", async () => {
    const node = new OperatorNode({
      rpcUrl: anvil!.url,
      settlement: addresses.settlement,
      operatorKey: accountKey(2),
      signerKey: OPERATOR_SIGNING_KEY,
      models: [{ modelId: modelId as Hex, file: IRIS_MODEL_PATH }],
      database: join(dir, "operator.sqlite"),
      pollIntervalMs: 100,
      logger: pino({ level: "silent" }),
    });
    await node.start();
    try {
      const start = Date.now();
      const status = async (id: string) => String((await opg(["--json", "status", id])).json.status);
      while (
        (await status(requests.signature)) !== "Fulfilled" ||
        (await status(requests.zk)) !== "Fulfilled"
      ) {
        if (Date.now() - start > 40_000)
          throw new Error("the operator node did not settle both requests in 40 s");
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await node.stop();
    }

    const shown = await opg(["status", requests.signature]);
    expect(shown.out).to.contain(`request #${requests.signature}: Fulfilled`);
    expect(shown.out).to.contain(`result by operator ${address(2)}`);

    const audit = await opg(["--json", "audit", requests.signature]);
    expect(audit.code, audit.out).to.equal(0);
    expect(audit.json.verdict).to.equal("verified");
    const checks = (audit.json.checks as { name: string; ok: boolean }[]).map((c) => c.name);
    expect(checks.join("; ")).to.match(/EIP-712 signature.*re-executed output/);

    const zkAudit = await opg(["audit", requests.zk]);
    expect(zkAudit.code, zkAudit.out).to.equal(0);
    expect(zkAudit.out).to.match(/✓ Groth16 proof verifies/);
    expect(zkAudit.out).to.match(/✓ verifier code matches its pinned hash/);
    expect(zkAudit.out).to.contain("verdict: verified");

    // The launcher again, from the deployment's directory: the addresses come from the default path.
    const spawned = await spawnIn(dir, ["audit", requests.signature]);
    expect(spawned.code, spawned.stderr).to.equal(0);
    expect(spawned.stdout).to.contain("verdict: verified");
  });

  it("decodes Anvil's reverts (estimation, simulation, calls) into the same one-line errors", async () => {
    const unknown = `0x${"34".repeat(32)}`;
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [
        ["deploy", "--min-stake", "0", "--out", join(dir, "never.json")],
        { OPG_PRIVATE_KEY: accountKey(0) },
        /stopped at OperatorRegistry: the minimum stake must be greater than zero/,
      ],
      [
        ["operator", "register", "--payout", address(5), "--stake", "1"],
        { OPG_PRIVATE_KEY: accountKey(5), OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY },
        /is, or was, registered to an operator: keys are never reused/,
      ],
      [["model", "show", unknown], {}, new RegExp(`unknown model ${unknown}`)],
      [
        ["request", "--model", modelId, "--input", "1,2,3,4"],
        { OPG_PRIVATE_KEY: accountKey(5) },
        /insufficient prepaid balance.*deposit/,
      ],
      [
        ["request", "--model", modelId, "--input", "1,2,3,4", "--pay", "transfer"],
        { OPG_PRIVATE_KEY: accountKey(5) },
        /insufficient OPG allowance/,
      ],
      [["operator", "withdraw"], { OPG_PRIVATE_KEY: accountKey(2) }, /nothing is unbonding/],
      [
        ["refund", requests.signature],
        { OPG_PRIVATE_KEY: accountKey(5) },
        /is not pending \(status Fulfilled\)/,
      ],
    ];
    for (const [args, extra, expected] of cases) {
      const result = await opg(["--json", ...args], extra);
      expect(result.code, args.join(" ")).to.equal(1);
      expect(result.err, args.join(" ")).to.match(expected);
    }
  });
});
