/**
 * The package as a dApp gets it: `npm pack`, then `npm install --omit=dev` of the tarball into a fresh project in a
 * temporary directory (no devDependencies: no tsx, no Hardhat), then the core imported from ESM and from CommonJS,
 * the README's dApp script run against a devnet this test starts (an operator node serving it), and `npx opg` run
 * from the installed package.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import hre from "hardhat";
import { pino } from "pino";
import type { Hex } from "viem";
import { registerDevnetOperator, startDevnet, type Devnet } from "../src/devnet/devnet.js";
import { testAccountKey } from "../src/devnet/accounts.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { OperatorNode } from "../src/operator/node.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const SIGNER_KEY: Hex = "0x4545454545454545454545454545454545454545454545454545454545454545";
/** Packages the core must not load: a dApp that only opens requests pays for none of them. */
const HEAVY = [
  "onnxruntime-web",
  "snarkjs",
  "circomlibjs",
  "onnx-proto",
  "pino",
  "commander",
  "ffjavascript",
];

describe("the packed package, installed into a fresh project", function () {
  this.timeout(600_000);
  let dir = "";
  let tarball: string;
  let devnet: Devnet | undefined;
  let node: OperatorNode | undefined;
  let addressesFile: string;
  const sh = (file: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(file, args, { cwd: dir, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "opg-dapp-"));
    const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: ROOT,
      maxBuffer: 64 << 20,
    });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
      filename: string;
      size: number;
      unpackedSize: number;
      files: { path: string }[];
    }[];
    tarball = join(dir, info!.filename);
    files = info!.files.map((f) => f.path);
    console.log(
      `      packed ${info!.filename}: ${info!.size} bytes, ${info!.unpackedSize} unpacked, ${files.length} files`,
    );
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({ name: "a-dapp", private: true, type: "module" }),
    );
    const started = Date.now();
    await sh("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", tarball]);
    console.log(
      `      npm install --omit=dev of the tarball: ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    const chain = await startDevnet(hre, "127.0.0.1", 0);
    devnet = chain;
    addressesFile = join(dir, "addresses.json");
    const { token, models, operators, settlement } = chain.addresses;
    await writeFile(addressesFile, JSON.stringify({ token, models, operators, settlement }));
    await registerDevnetOperator(chain, 2, SIGNER_KEY, 1_000n * 10n ** 18n);
    node = new OperatorNode({
      rpcUrl: chain.url,
      settlement: chain.addresses.settlement,
      operatorKey: testAccountKey(2),
      signerKey: SIGNER_KEY,
      models: [{ modelId: chain.irisModelId, file: IRIS_MODEL_PATH }],
      database: join(dir, "operator.sqlite"),
      pollIntervalMs: 100,
      logger: pino({ level: "silent" }),
    });
    await node.start();
  });

  after(async () => {
    await node?.stop();
    await devnet?.close();
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  let files: string[] = [];

  it("holds the compiled library, the generated ABIs, the bin and the kept zk artifacts, and no local state or source", () => {
    for (const expected of [
      "dist/sdk/index.js",
      "dist/sdk/index.d.ts",
      "dist/abi/generated.js",
      "dist/abi/generated-bytecode.js",
      "dist/cli/main.js",
      "dist/operator/index.js",
      "bin/opg.mjs",
      "circuits/build/iris_mlp_final.zkey",
      "models/iris-mlp.onnx",
    ]) {
      expect(files, expected).to.include(expected);
    }
    const unwanted = files.filter(
      (f) => /\.sqlite|^src\/|^test\/|^contracts\/|\.env|^artifacts\/|\.ts$/.test(f) && !f.endsWith(".d.ts"),
    );
    expect(unwanted).to.deep.equal([]);
  });

  it("installs without devDependencies: no tsx, no Hardhat", async () => {
    const installed = await readdir(join(dir, "node_modules"));
    expect(installed).to.include("opg-verifiable-inference");
    expect(installed).to.not.include("tsx");
    expect(installed).to.not.include("hardhat");
  });

  it("imports the core from ESM and from CommonJS (require of the ES module), loading viem and nothing heavy", async () => {
    await writeFile(
      join(dir, "trace.mjs"),
      `import { registerHooks } from "node:module";
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { seen.add(specifier); return next(specifier, context); } });
process.on("exit", () => process.stdout.write("\\nLOADED " + JSON.stringify([...seen])));`,
    );
    await writeFile(
      join(dir, "esm.mjs"),
      `import { createOpgClient, getModel, inferenceSettlementAbi, decodeOutput } from "opg-verifiable-inference";
console.log(typeof createOpgClient, typeof getModel, inferenceSettlementAbi.length > 0, typeof decodeOutput);`,
    );
    await writeFile(
      join(dir, "cjs.cjs"),
      `const { createOpgClient, VerificationMode } = require("opg-verifiable-inference");
const { inferenceSettlementAbi } = require("opg-verifiable-inference/abi");
console.log(typeof createOpgClient, VerificationMode.Zk, inferenceSettlementAbi.length > 0);`,
    );
    const esm = await sh("node", ["--import", "./trace.mjs", "esm.mjs"]);
    expect(esm.stdout).to.match(/^function function true function/);
    const loaded = JSON.parse(esm.stdout.slice(esm.stdout.indexOf("LOADED ") + 7)) as string[];
    expect(loaded.some((s) => s === "viem" || s.startsWith("viem/"))).to.equal(true);
    for (const heavy of HEAVY) {
      expect(
        loaded.filter((s) => s === heavy || s.startsWith(`${heavy}/`)),
        heavy,
      ).to.deep.equal([]);
    }
    expect(loaded).to.not.include("node:sqlite");
    const cjs = await sh("node", ["cjs.cjs"]);
    expect(cjs.stdout.trim()).to.equal("function 2 true");
  });

  it("loads every subpath it declares", async () => {
    const pkg = JSON.parse(
      await readFile(join(dir, "node_modules/opg-verifiable-inference/package.json"), "utf8"),
    ) as { exports: Record<string, unknown> };
    const subpaths = Object.keys(pkg.exports).filter((s) => s !== "./package.json");
    expect(subpaths).to.include.members([
      ".",
      "./actions",
      "./abi",
      "./deploy",
      "./audit",
      "./zk",
      "./model",
      "./operator",
    ]);
    const script = subpaths
      .map((s) => `await import("opg-verifiable-inference${s.slice(1)}");`)
      .concat(
        `const { releaseZk } = await import("opg-verifiable-inference/zk"); await releaseZk();`,
        `console.log("ok");`,
      )
      .join("\n");
    await writeFile(join(dir, "subpaths.mjs"), script);
    expect((await sh("node", ["subpaths.mjs"])).stdout.trim()).to.equal("ok");
  });

  it("type-checks a TypeScript consumer of every subpath against the installed declarations (skipLibCheck off)", async () => {
    await writeFile(
      join(dir, "consumer.ts"),
      `import { createOpgClient, decodeOutput, type OpgClient, type RequestInfo } from "opg-verifiable-inference";
import { getRequestStatus } from "opg-verifiable-inference/actions";
import { inferenceSettlementAbi } from "opg-verifiable-inference/abi";
import { deployProtocol } from "opg-verifiable-inference/deploy";
import { prove, releaseZk, type ZkProof } from "opg-verifiable-inference/zk";
import { auditRequest, type AuditReport } from "opg-verifiable-inference/audit";
import { OperatorNode, type OperatorNodeOptions } from "opg-verifiable-inference/operator";
import { createModel } from "opg-verifiable-inference/model";
export type Used = [OpgClient, RequestInfo, ZkProof, AuditReport, OperatorNodeOptions];
export const used = [createOpgClient, decodeOutput, getRequestStatus, inferenceSettlementAbi, deployProtocol, prove,
  releaseZk, auditRequest, OperatorNode, createModel];
`,
    );
    await writeFile(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules/@types")],
        },
        files: ["consumer.ts"],
      }),
    );
    // The repository's TypeScript (the dApp project has none installed); the package's own declarations, viem's and
    // the shipped ones for snarkjs (types/) must all resolve.
    const tsc = await sh("node", [
      join(ROOT, "node_modules/typescript/bin/tsc"),
      "-p",
      "tsconfig.json",
    ]).catch((error: unknown) => ({ stdout: (error as { stdout: string }).stdout }));
    expect(tsc.stdout).to.equal("");
  });

  it("runs the README's dApp script (the README shows it verbatim): a read, a paid request, the verified answer decoded", async () => {
    const script = await readFile(join(ROOT, "docs/examples/dapp.mjs"), "utf8");
    expect(await readFile(join(ROOT, "README.md"), "utf8")).to.contain("```js\n" + script + "```");
    await copyFile(join(ROOT, "docs/examples/dapp.mjs"), join(dir, "dapp.mjs"));
    const { stdout } = await sh("node", ["dapp.mjs"], {
      OPG_RPC_URL: devnet!.url,
      OPG_ADDRESSES: addressesFile,
      OPG_PRIVATE_KEY: testAccountKey(3),
      OPG_MODEL: devnet!.irisModelId,
    });
    expect(stdout).to.match(/: Active, fee 2000000000000000000 wei OPG/);
    expect(stdout).to.match(/opened request #\d+/);
    expect(stdout).to.match(/answer: class 0 \(setosa\), logits /);
  });

  it("runs `npx opg` from the installed package (compiled JavaScript, no tsx)", async () => {
    const help = await sh("npx", ["--no-install", "opg", "--help"]);
    expect(help.stdout).to.match(/Usage: opg/);
    const status = await sh("npx", ["--no-install", "opg", "--json", "status", "1"], {
      OPG_RPC_URL: devnet!.url,
      OPG_ADDRESSES: addressesFile,
    });
    expect(JSON.parse(status.stdout)).to.include({ status: "Fulfilled" });
  });
});
