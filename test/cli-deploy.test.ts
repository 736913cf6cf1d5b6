/**
 * `opg deploy` against a fresh Hardhat JSON-RPC server (nothing deployed): the protocol is deployed with viem
 * from the bytecode in `src/abi`, wired like the Ignition modules, and the addresses file it writes drives the
 * other commands. Failures (existing file, bad token, no key, no node, a constructor revert) are one clear line.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { createPublicClient, getAddress, http, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  inferenceSettlementAbi,
  operatorRegistryAbi,
  opgTokenAbi,
  signatureModeAbi,
  quietModeAbi,
  zkModeAbi,
} from "../src/abi/index.js";
import { readAddresses } from "../src/sdk/addresses.js";
import { PROTOCOL_DEFAULTS } from "../src/protocol/defaults.js";
import { runOpg } from "./helpers/cli.js";
import { accountKey, OPG } from "./helpers/sdk-fixture.js";

interface Server {
  close(): Promise<void>;
}

describe("cli deploy", function () {
  this.timeout(60_000);
  let server: Server;
  let url: string;
  let dir: string;
  let publicClient: PublicClient;
  let env: NodeJS.ProcessEnv;
  const deployer = privateKeyToAccount(accountKey(0)).address;

  const opg = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runOpg(args, env, extraEnv);

  const read = async (file: string) => JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;

  before(async () => {
    const created = await hre.network.createServer("default", "127.0.0.1", 0);
    const { port } = await created.listen();
    server = created;
    url = `http://127.0.0.1:${port}`;
    dir = await mkdtemp(join(tmpdir(), "opg-deploy-"));
    publicClient = createPublicClient({ transport: http(url, { retryCount: 0 }) });
    // No addresses anywhere: deploy must not need them (and the path below does not exist).
    env = { OPG_RPC_URL: url, OPG_PRIVATE_KEY: accountKey(0), OPG_ADDRESSES: join(dir, "missing.json") };
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  let first: Record<string, unknown>;

  it("deploys the protocol and the Iris verifier, wired like the Ignition module, and writes the addresses file", async () => {
    const out = join(dir, "a", "deployed_addresses.json");
    const result = await opg(["--json", "deploy", "--with-iris-verifier", "--out", out]);
    expect(result.code, result.err).to.equal(0);
    first = result.json;
    const file = await read(out);
    const contracts = [
      "token",
      "models",
      "operators",
      "settlement",
      "signatureMode",
      "zkMode",
      "quietMode",
      "irisVerifier",
    ];
    expect(Object.keys(file)).to.have.members([...contracts, "chainId"]);
    expect(file.chainId).to.equal(31337);
    for (const key of contracts) {
      expect(result.json[key]).to.equal(file[key]);
      const code = await publicClient.getCode({ address: file[key] as Address });
      expect(code, key).to.match(/^0x[0-9a-f]{10,}/);
    }
    expect(result.json).to.include({ deployer, tokenDeployed: true, out });
    const steps = result.json.steps as { name: string; gasUsed: string }[];
    expect(steps.map((s) => s.name)).to.deep.equal([
      "OPGToken",
      "ModelRegistry",
      "OperatorRegistry",
      "InferenceSettlement",
      "SignatureMode",
      "ZkMode",
      "QuietMode",
      "OperatorRegistry.bindSettlement",
      "InferenceSettlement.bindMode(signature)",
      "InferenceSettlement.bindMode(zk)",
      "InferenceSettlement.bindMode(quiet)",
      "IrisMlpVerifier",
    ]);
    const total = steps.reduce((sum, s) => sum + BigInt(s.gasUsed), 0n);
    expect(result.json.gasUsed).to.equal(total.toString());

    // The same wiring and defaults as deploy/modules/protocol.ts.
    const addresses = await readAddresses(out);
    expect(addresses).to.include({
      signatureMode: file.signatureMode,
      zkMode: file.zkMode,
      quietMode: file.quietMode,
    });
    for (const [mode, contract, abi] of [
      [1, file.signatureMode, signatureModeAbi],
      [2, file.zkMode, zkModeAbi],
      [4, file.quietMode, quietModeAbi],
    ] as const) {
      expect(
        await publicClient.readContract({
          address: addresses.settlement,
          abi: inferenceSettlementAbi,
          functionName: "modeContract",
          args: [mode],
        }),
      ).to.equal(contract);
      expect(
        await publicClient.readContract({ address: contract as Address, abi, functionName: "settlement" }),
      ).to.equal(addresses.settlement);
    }
    expect(
      await publicClient.readContract({
        address: addresses.settlement,
        abi: inferenceSettlementAbi,
        functionName: "openModes",
      }),
    ).to.equal(7); // signature | zk | quiet
    expect(
      await publicClient.readContract({
        address: addresses.operators,
        abi: operatorRegistryAbi,
        functionName: "settlement",
      }),
    ).to.equal(addresses.settlement);
    expect(
      await publicClient.readContract({
        address: addresses.operators,
        abi: operatorRegistryAbi,
        functionName: "minStake",
      }),
    ).to.equal(PROTOCOL_DEFAULTS.minStake);
    expect(
      await publicClient.readContract({
        address: file.signatureMode as Address,
        abi: signatureModeAbi,
        functionName: "equivocationPenalty",
      }),
    ).to.equal(PROTOCOL_DEFAULTS.equivocationPenalty);
    expect(
      await publicClient.readContract({
        address: file.signatureMode as Address,
        abi: signatureModeAbi,
        functionName: "owner",
      }),
    ).to.equal(deployer);
    expect(
      await publicClient.readContract({
        address: addresses.settlement,
        abi: inferenceSettlementAbi,
        functionName: "owner",
      }),
    ).to.equal(deployer);
    expect(
      await publicClient.readContract({
        address: addresses.token,
        abi: opgTokenAbi,
        functionName: "balanceOf",
        args: [deployer],
      }),
    ).to.equal(PROTOCOL_DEFAULTS.opgSupply);

    // The file drives the other commands.
    const listed = await opg(["--addresses", out, "model", "list"]);
    expect(listed.code, listed.err).to.equal(0);
    expect(listed.out).to.equal("no models registered");
    const balance = await opg(["--json", "--addresses", out, "balance", "--account", deployer]);
    expect(balance.code, balance.err).to.equal(0);
    expect(balance.json.token).to.equal(PROTOCOL_DEFAULTS.opgSupply.toString());
  });

  it("deploys on an existing token with parameters; human output lists addresses, gas and next steps", async () => {
    const out = join(dir, "b.json");
    const treasury = privateKeyToAccount(accountKey(9)).address;
    const result = await opg([
      "deploy",
      "--token",
      String(first.token).toLowerCase(),
      "--treasury",
      treasury,
      "--min-stake",
      "5",
      "--unbonding-delay",
      "60",
      "--protocol-fee-bps",
      "100",
      "--reporter-reward-bps",
      "2500",
      "--out",
      out,
    ]);
    expect(result.code, result.err).to.equal(0);
    const file = await read(out);
    expect(file.token).to.equal(first.token);
    expect(file.settlement).not.to.equal(first.settlement);
    expect(file).not.to.have.property("irisVerifier");
    expect(result.out).to.match(/^deployed the OPG protocol on chain 31337 from 0x/);
    expect(result.out).to.match(/ModelRegistry\s+0x[0-9a-fA-F]{40}\s+gas\s+[\d,]+/);
    expect(result.out).to.match(/total\s+gas\s+[\d,]+/);
    expect(result.out).to.contain(`the existing OPG token ${String(first.token)}`);
    expect(result.out).to.contain(`--addresses ${out}`);
    expect(result.out).to.contain("operator register");
    expect(result.out).not.to.contain(accountKey(0).slice(2));
    expect(result.out).not.to.contain("OPGToken ");
    const settlement = getAddress(String(file.settlement));
    const operators = getAddress(String(file.operators));
    expect(
      await publicClient.readContract({
        address: operators,
        abi: operatorRegistryAbi,
        functionName: "minStake",
      }),
    ).to.equal(5n * OPG);
    expect(
      await publicClient.readContract({
        address: operators,
        abi: operatorRegistryAbi,
        functionName: "unbondingDelay",
      }),
    ).to.equal(60n);
    expect(
      await publicClient.readContract({
        address: settlement,
        abi: inferenceSettlementAbi,
        functionName: "protocolFeeBps",
      }),
    ).to.equal(100);
    expect(
      await publicClient.readContract({
        address: getAddress(String(file.signatureMode)),
        abi: signatureModeAbi,
        functionName: "reporterRewardBps",
      }),
    ).to.equal(2500);
    expect(
      await publicClient.readContract({
        address: settlement,
        abi: inferenceSettlementAbi,
        functionName: "treasury",
      }),
    ).to.equal(treasury);
  });

  it("refuses to overwrite an addresses file unless --force", async () => {
    const out = join(dir, "a", "deployed_addresses.json");
    const before = await readFile(out, "utf8");
    const nonce = await publicClient.getTransactionCount({ address: deployer });
    const refused = await opg(["--json", "deploy", "--out", out]);
    expect(refused.code).to.equal(1);
    expect(refused.err).to.match(/already exists .*pass --force to overwrite it, or --out <file>/);
    expect(refused.json.error).to.be.a("string");
    expect(await readFile(out, "utf8")).to.equal(before);
    expect(await publicClient.getTransactionCount({ address: deployer })).to.equal(nonce); // no gas spent
    const forced = await opg(["--json", "deploy", "--out", out, "--force"]);
    expect(forced.code, forced.err).to.equal(0);
    expect((await read(out)).settlement).to.equal(forced.json.settlement);
    expect(forced.json.settlement).not.to.equal(first.settlement);
  });

  it("checks parameters against the protocol limits before sending anything", async () => {
    const nonce = await publicClient.getTransactionCount({ address: deployer });
    for (const args of [
      ["--protocol-fee-bps", "2001"],
      ["--reporter-reward-bps", "10001"],
      ["--unbonding-delay", "7776001"],
    ]) {
      const result = await opg(["--json", "deploy", ...args, "--out", join(dir, "limits.json")]);
      expect(result.code, args.join(" ")).to.equal(1);
      expect(result.err, args.join(" ")).to.match(/^error: the .* must be .*(basis points|seconds)/);
    }
    expect(await publicClient.getTransactionCount({ address: deployer })).to.equal(nonce);
  });

  it("fails with one clear line (and at most a hint) and exit code 1, or 5 when the RPC is unreachable", async () => {
    const eoa = privateKeyToAccount(accountKey(8)).address;
    const out = join(dir, "never.json");
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [["deploy", "--token", "0x1234"], {}, /--token is not an address: "0x1234"/],
      [["deploy", "--token", eoa], {}, new RegExp(`the token ${eoa} has no contract code on chain 31337`)],
      [["deploy", "--token", String(first.models)], {}, /is not an ERC-20 token with EIP-2612 permits/],
      [["deploy", "--token", String(first.token), "--supply", "5"], {}, /--supply is only for a new token/],
      [["deploy"], { OPG_PRIVATE_KEY: "" }, /set the environment variable OPG_PRIVATE_KEY/],
      [["deploy", "--key-env", "DEPLOYER_KEY"], {}, /set the environment variable DEPLOYER_KEY/],
      [["deploy"], { OPG_RPC_URL: "http://127.0.0.1:9" }, /cannot reach the RPC at http:\/\/127\.0\.0\.1:9/],
      [["deploy", "--chain-id", "1"], {}, /wrong chain: .* serves chain 31337, expected 1/],
      [
        ["deploy", "--protocol-fee-bps", "3000"],
        {},
        /the protocol fee must be whole basis points from 0 to 2000/,
      ],
      [
        ["deploy", "--reporter-reward-bps", "10001"],
        {},
        /the reporter reward must be whole basis points from 0 to 10000/,
      ],
      [["deploy", "--unbonding-delay", "7776001"], {}, /the unbonding delay must be 0 to 7776000 seconds/],
      [
        ["deploy", "--min-stake", "0"],
        {},
        /stopped at OperatorRegistry: the minimum stake must be greater than zero.*already deployed: token 0x/,
      ],
      [["deploy", "--unbonding-delay", "1.5"], {}, /--unbonding-delay must be a whole number/],
    ];
    for (const [args, extra, expected] of cases) {
      const result = await opg(["--json", ...args, "--out", out], extra);
      const unreachable = extra.OPG_RPC_URL === "http://127.0.0.1:9";
      expect(result.code, args.join(" ")).to.equal(unreachable ? 5 : 1);
      const lines = result.err.split("\n");
      expect(
        lines.filter((l) => !l.startsWith("hint: ")),
        args.join(" "),
      ).to.have.length(1);
      expect(result.err, args.join(" ")).to.match(expected);
      expect(result.err).not.to.contain(accountKey(0).slice(2));
      expect(result.json.error).to.be.a("string");
    }
    const written = await readFile(out, "utf8").catch(() => undefined);
    expect(written, "no addresses file after a failed deployment").to.equal(undefined);
  });
});
