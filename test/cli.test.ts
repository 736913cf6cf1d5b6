import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { privateKeyToAccount } from "viem/accounts";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import {
  accountKey,
  MODEL_FEE,
  OPG,
  OPERATOR_SIGNING_KEY,
  serveSigned,
  startTestChain,
  type TestChain,
} from "./helpers/sdk-fixture.js";
import { OPG_BIN, runOpg, spawnOpg as spawnBin } from "./helpers/cli.js";

describe("cli", function () {
  this.timeout(120_000);
  let chain: TestChain;
  let env: NodeJS.ProcessEnv;

  /** Run the CLI in this process (fast); `--json` output parsed. */
  const opg = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runOpg(args, env, extraEnv);
  /** Run the real launcher as a child process. */
  const spawnOpg = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    spawnBin(args, { ...env, ...extraEnv });

  before(async () => {
    chain = await startTestChain();
    env = {
      OPG_RPC_URL: chain.url,
      OPG_ADDRESSES: chain.deploymentDir,
      OPG_PRIVATE_KEY: accountKey(4),
    };
  });
  after(async () => {
    await chain.close();
  });

  it("runs through the bin launcher: --help, and --json status as a child process", async () => {
    const help = await spawnOpg(["--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain("Usage: opg");
    const missing = await spawnOpg(["--json", "deposit", "1"], { OPG_PRIVATE_KEY: "" });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/set the environment variable OPG_PRIVATE_KEY/);
    expect(missing.stderr).not.to.contain(accountKey(4).slice(2));
  });

  it("registers, shows and lists models", async () => {
    const registered = await opg(
      [
        "--json",
        "model",
        "register",
        "--file",
        IRIS_MODEL_PATH,
        "--name",
        "iris-cli",
        "--fee",
        "1.5",
        "--royalty",
        "250",
      ],
      { OPG_PRIVATE_KEY: accountKey(1) },
    );
    expect(registered.code, registered.err).to.equal(0);
    const modelId = registered.json.modelId as string;
    const shown = await opg(["--json", "model", "show", modelId]);
    expect(shown.json).to.include({ status: "Active", fee: (15n * 10n ** 17n).toString(), royaltyBps: 250 });
    const listed = await opg(["--json", "model", "list"]);
    expect((listed.json as unknown as { modelId: string }[]).map((m) => m.modelId)).to.include.members([
      modelId,
      chain.irisModelId,
    ]);
    const human = await opg(["model", "show", modelId]);
    expect(human.out).to.contain(`model ${modelId}: Active`);
    const revoked = await opg(["--json", "model", "revoke", modelId], { OPG_PRIVATE_KEY: accountKey(1) });
    expect(revoked.code, revoked.err).to.equal(0);
    expect((await opg(["--json", "model", "show", modelId])).json.status).to.equal("Revoked");
  });

  it("deposits, requests (prepaid and permit), shows status, audits a fulfilled result, refunds, withdraws", async () => {
    const deposit = await opg(["--json", "deposit", "5"]);
    expect(deposit.code, deposit.err).to.equal(0);
    expect(deposit.json.balance).to.equal((5n * 10n ** 18n).toString());

    const prepaid = await opg([
      "--json",
      "request",
      "--model",
      chain.irisModelId,
      "--input",
      "5.1,3.5,1.4,0.2",
    ]);
    expect(prepaid.code, prepaid.err).to.equal(0);
    const id1 = BigInt(prepaid.json.requestId as string);
    const permit = await opg([
      "--json",
      "request",
      "--model",
      chain.irisModelId,
      "--input",
      "6.6, 3, 4.4, 1.4",
      "--pay",
      "permit",
      "--ttl",
      "600",
    ]);
    expect(permit.code, permit.err).to.equal(0);
    const id2 = BigInt(permit.json.requestId as string);

    // The operator serves request 1 with the SDK.
    await serveSigned(chain, id1);

    const status = await opg(["--json", "status", id1.toString()]);
    expect(status.json.status).to.equal("Fulfilled");
    const audit = await opg(["--json", "audit", id1.toString(), "--model-file", IRIS_MODEL_PATH]);
    expect(audit.code, audit.out).to.equal(0);
    expect(audit.json.verdict).to.equal("verified");
    const humanAudit = await opg(["audit", id1.toString(), "--model-file", IRIS_MODEL_PATH]);
    expect(humanAudit.out).to.match(/✓ EIP-712 signature recovers the signer/);
    expect(humanAudit.out).to.contain("verdict: verified");
    const pendingAudit = await opg(["--json", "audit", id2.toString()]);
    expect(pendingAudit.code, "pending: not settled yet").to.equal(3);
    expect(pendingAudit.json.verdict).to.equal("pending");

    await chain.timeTravel(601);
    const refund = await opg(["--json", "refund", id2.toString()], { OPG_PRIVATE_KEY: accountKey(5) });
    expect(refund.code, refund.err).to.equal(0);
    expect(refund.json.amount).to.equal(MODEL_FEE.toString());
    expect((await opg(["--json", "status", id2.toString()])).json.status).to.equal("Refunded");

    const to = privateKeyToAccount(accountKey(6)).address;
    const withdraw = await opg(["--json", "withdraw", "--amount", "1", "--to", to]);
    expect(withdraw.code, withdraw.err).to.equal(0);
    expect(withdraw.json.amount).to.equal((10n ** 18n).toString());
  });

  it("registers an operator with the signing key from the environment, stakes, rotates its key, unbonds; refuses an early withdrawal", async () => {
    const key = accountKey(5);
    const account = privateKeyToAccount(key).address;
    await chain.clientFor(0).transferToken({ to: account, amount: 2_000n * OPG });
    const signerKey = `0x${"cd".repeat(32)}` as const;
    const signer = privateKeyToAccount(signerKey).address;
    const asOperator = { OPG_PRIVATE_KEY: key, OPG_SIGNER_KEY: signerKey };
    const nonce = () => chain.clientFor(5).publicClient.getTransactionCount({ address: account });
    const before = await nonce();

    // Refused before any transaction (no approve either): no signing key, a --signer that is not the key, a key
    // already registered to another operator.
    const refusals: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [[], { OPG_SIGNER_KEY: "" }, /set the environment variable OPG_SIGNER_KEY .*--signer-key-env/],
      [["--signer", account], {}, new RegExp(`the signing key in OPG_SIGNER_KEY is ${signer}, not --signer`)],
      [
        [],
        { OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY },
        /is, or was, registered to an operator: keys are never reused/,
      ],
    ];
    for (const [extra, env, message] of refusals) {
      const refused = await opg(
        ["--json", "operator", "register", "--payout", account, "--stake", "1000", ...extra],
        { ...asOperator, ...env },
      );
      expect(refused.code, extra.join(" ")).to.equal(1);
      expect(refused.err.split("\n").filter((l) => !l.startsWith("hint: "))).to.have.length(1);
      expect(refused.err).to.match(message);
      expect(refused.err).not.to.contain(signerKey.slice(2));
    }
    expect(await nonce()).to.equal(before);

    const registered = await opg(
      ["--json", "operator", "register", "--signer", signer, "--payout", account, "--stake", "1000"],
      asOperator,
    );
    expect(registered.code, registered.err).to.equal(0);
    expect(registered.json).to.include({ operator: account, signer, payout: account, eligible: true });
    expect((await opg(["--json", "operator", "stake", "10"], asOperator)).code).to.equal(0);
    const shown = await opg(["--json", "operator", "show", account]);
    expect(shown.json).to.include({ signer, eligible: true, stake: (1_010n * OPG).toString() });

    const newKey = `0x${"ce".repeat(32)}` as const;
    const newSigner = privateKeyToAccount(newKey).address;
    const rotated = await opg(["--json", "operator", "rotate-signer"], {
      ...asOperator,
      OPG_SIGNER_KEY: newKey,
    });
    expect(rotated.code, rotated.err).to.equal(0);
    expect(rotated.json).to.include({ oldSigner: signer, signer: newSigner });
    expect((await opg(["--json", "operator", "show", account])).json).to.include({ signer: newSigner });
    const reused = await opg(["operator", "rotate-signer"], asOperator);
    expect(reused.code).to.equal(1);
    expect(reused.err).to.match(/never reused; use a fresh key/);

    expect((await opg(["--json", "operator", "unstake", "1010"], asOperator)).code).to.equal(0);
    expect((await opg(["--json", "operator", "show", account])).json).to.include({ eligible: false });
    const early = await opg(["operator", "withdraw"], asOperator);
    expect(early.code).to.equal(1);
    expect(early.err).to.match(/^error: .*unbond/i);
    const noSigner = await opg(
      ["operator", "serve", "--model", chain.irisModelId, "--model-file", IRIS_MODEL_PATH],
      { ...asOperator, OPG_SIGNER_KEY: "" },
    );
    expect(noSigner.code).to.equal(1);
    expect(noSigner.err).to.contain("OPG_SIGNER_KEY");
  });

  it("lists the verification modes and their contracts, read from the settlement", async () => {
    const modes = await opg(["--json", "modes"]);
    expect(modes.code, modes.err).to.equal(0);
    expect(modes.json).to.deep.equal([
      { mode: 1, name: "signature", contract: chain.addresses.signatureMode },
      { mode: 2, name: "zk", contract: chain.addresses.zkMode },
      { mode: 4, name: "quiet", contract: chain.addresses.quietMode },
    ]);
    const human = await opg(["modes"]);
    expect(human.out).to.contain(`signature  mode 1  ${chain.addresses.signatureMode!}`);
  });

  it("serves requests with `operator serve` until stopped", async () => {
    const database = join(await mkdtemp(join(tmpdir(), "opg-cli-serve-")), "node.sqlite");
    const child = spawn(
      "node",
      [
        OPG_BIN,
        "operator",
        "serve",
        "--model",
        chain.irisModelId,
        "--model-file",
        IRIS_MODEL_PATH,
        "--db",
        database,
        "--poll-ms",
        "50",
      ],
      {
        env: {
          PATH: process.env.PATH,
          ...env,
          OPG_PRIVATE_KEY: accountKey(2),
          OPG_SIGNER_KEY: OPERATOR_SIGNING_KEY,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const opened = await opg([
        "--json",
        "request",
        "--model",
        chain.irisModelId,
        "--input",
        "6.1,2.8,4.7,1.2",
      ]);
      expect(opened.code, opened.err).to.equal(0);
      const id = String(opened.json.requestId);
      const start = Date.now();
      let status = "";
      while (status !== "Fulfilled" && Date.now() - start < 60_000) {
        await new Promise((r) => setTimeout(r, 200));
        status = String((await opg(["--json", "status", id])).json.status);
      }
      expect(status).to.equal("Fulfilled");
      const audit = await opg(["--json", "audit", id]);
      expect(audit.json.verdict).to.equal("verified");
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).to.equal(0);
    }
  });

  it("fails with one clear line (and at most a hint line) and exit code 1, or 5 when the RPC is unreachable", async () => {
    const unknown = `0x${"34".repeat(32)}`;
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [["model", "show", unknown], {}, new RegExp(`unknown model ${unknown}`)],
      [["request", "--model", unknown, "--input", "1,2,3,4"], {}, new RegExp(`unknown model ${unknown}`)],
      [["withdraw", "--to", "0x1234"], {}, /--to is not an address: "0x1234"/],
      [
        ["request", "--model", chain.irisModelId, "--input", "1,2,3,4"],
        { OPG_PRIVATE_KEY: accountKey(7) },
        /insufficient prepaid balance.*deposit/,
      ],
      [
        ["request", "--model", chain.irisModelId, "--input", "1,2,3,4", "--pay", "transfer"],
        {},
        /allowance[\s\S]*--pay permit/,
      ],
      [
        ["status", "1"],
        { OPG_RPC_URL: "http://127.0.0.1:9" },
        /cannot reach the RPC at http:\/\/127\.0\.0\.1:9/,
      ],
      [["status", "1", "--chain-id", "1"], {}, /wrong chain: .* serves chain \d+, expected 1/],
      [["deposit", "1"], { OPG_PRIVATE_KEY: "" }, /set the environment variable OPG_PRIVATE_KEY/],
      [["deposit", "1", "--key-env", "MY_KEY"], {}, /set the environment variable MY_KEY/],
      [["--addresses", "/nonexistent.json", "status", "1"], {}, /not found: \/nonexistent\.json/],
      [
        ["request", "--model", chain.irisModelId, "--input", "1,2,3,4", "--ttl", "2592001"],
        {},
        /--ttl must be 1 to 2592000 seconds/,
      ],
      [
        ["model", "register", "--file", IRIS_MODEL_PATH, "--name", "x", "--fee", "1", "--royalty", "8001"],
        {},
        /--royalty must be whole basis points from 0 to 8000/,
      ],
      [
        [
          "model",
          "register",
          "--file",
          IRIS_MODEL_PATH,
          "--name",
          "n".repeat(65),
          "--fee",
          "1",
          "--royalty",
          "1",
        ],
        {},
        /model name must be 1 to 64 bytes/,
      ],
    ];
    for (const [args, extra, expected] of cases) {
      const result = await opg(["--json", ...args], extra);
      const unreachable = extra.OPG_RPC_URL === "http://127.0.0.1:9";
      expect(result.code, args.join(" ")).to.equal(unreachable ? 5 : 1);
      const [first, ...rest] = result.err.split("\n");
      expect(first, args.join(" ")).to.match(/^error: /);
      expect(rest.length, result.err).to.be.at.most(1);
      if (rest.length === 1) expect(rest[0]).to.match(/^hint: /);
      expect(result.err, args.join(" ")).to.match(expected);
      expect(result.json.error).to.be.a("string");
    }
  });

  it("reads settings from a --config file, flags winning over it", async () => {
    const config = join(chain.deploymentDir, "opg.json");
    await writeFile(
      config,
      JSON.stringify({ rpc: "http://127.0.0.1:9", deployment: ".", keyEnv: "CFG_KEY" }),
    );
    const viaConfig = await opg(
      ["--json", "--config", config, "--rpc", chain.url, "model", "show", chain.irisModelId],
      {
        OPG_RPC_URL: "",
        OPG_ADDRESSES: "",
      },
    );
    expect(viaConfig.code, viaConfig.err).to.equal(0);
    const keyFromConfig = await opg(["--json", "--config", config, "--rpc", chain.url, "deposit", "1"], {
      OPG_ADDRESSES: "",
    });
    expect(keyFromConfig.err).to.match(/CFG_KEY/);
  });
});
