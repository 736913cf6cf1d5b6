/**
 * End-to-end operator throughput on a devnet over HTTP: requests opened concurrently by several requesters,
 * served by one operator node (src/operator), until every one is settled. Reports settled requests per second
 * and the latency from a request's inclusion to its settlement (p50/p95), for signature and zk mode.
 *
 *   npm run bench:node            # table
 *   npm run bench:node -- --json  # table, then one JSON line
 *   OPG_BENCH_N=500 npm run bench:node
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import { keccak256, type Hex } from "viem";
import { startDevnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { openedFrom } from "../src/ethers/index.js";
import { encodeFeatures, toDataUri } from "../src/model/encoding.js";
import { loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { fieldToBytes32, VerificationMode } from "../src/protocol/index.js";
import { inputCommitment, IRIS_ZK_PARAMS, quantizeInput, quantizeOnnx, releaseZk } from "../src/zk/index.js";
import { readFile } from "node:fs/promises";

const OPG = 10n ** 18n;
const json = process.argv.includes("--json");
const N = { signature: Number(process.env.OPG_BENCH_N ?? 200), zk: Number(process.env.OPG_BENCH_ZK_N ?? 10) };
const OPERATOR_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"; // Hardhat test account #2
const SIGNER_KEY: Hex = "0x4242424242424242424242424242424242424242424242424242424242424242";

const devnet = await startDevnet(hre, "127.0.0.1", 0);
const { ethers } = devnet.connection;
const signers = await ethers.getSigners();
const operator = signers[2]!;
const requesters = [signers[3]!, signers[4]!, signers[6]!];
const { token, operators, settlement } = devnet.system;
await (await token.connect(operator).approve(devnet.addresses.operators, 1_000n * OPG)).wait();
await (
  await operators
    .connect(operator)
    .register(new ethers.Wallet(SIGNER_KEY).address, operator.address, 1_000n * OPG)
).wait();
for (const requester of requesters) {
  await (await token.connect(signers[0]).transfer(requester.address, 10_000n * OPG)).wait();
  await (await token.connect(requester).approve(devnet.addresses.settlement, ethers.MaxUint256)).wait();
  await (await settlement.connect(requester).deposit(5_000n * OPG)).wait();
}
const iris = loadIris();
const quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);

const node = new OperatorNode({
  rpcUrl: devnet.url,
  settlement: devnet.addresses.settlement,
  operatorKey: OPERATOR_KEY,
  signerKey: SIGNER_KEY,
  models: [{ modelId: devnet.irisModelId, file: IRIS_MODEL_PATH }],
  database: join(await mkdtemp(join(tmpdir(), "opg-bench-node-")), "state.sqlite"),
  pollIntervalMs: 20,
  logger: pino({ level: "silent" }),
});
await node.start();

interface Run {
  mode: string;
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

async function run(mode: number, n: number): Promise<Run> {
  const opened = new Map<bigint, number>();
  const settledAt = new Map<bigint, number>();
  const start = performance.now();
  const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3_600n;
  // Watch settlements incrementally (only new blocks), timestamping each when first seen.
  let fromBlock = await ethers.provider.getBlockNumber();
  const watch = { on: true };
  const watcher = (async () => {
    while (watch.on) {
      const latest = await ethers.provider.getBlockNumber();
      if (latest >= fromBlock) {
        const events = await settlement.queryFilter(settlement.filters.RequestFulfilled(), fromBlock, latest);
        for (const e of events)
          if (!settledAt.has(e.args.requestId)) settledAt.set(e.args.requestId, performance.now());
        fromBlock = latest + 1;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  // Each requester opens its share sequentially; requesters run concurrently.
  await Promise.all(
    requesters.map(async (requester, r) => {
      for (let i = r; i < n; i += requesters.length) {
        const features = iris.features[i % 150]!;
        const input = encodeFeatures(features);
        const inputHash =
          mode === VerificationMode.Zk
            ? fieldToBytes32(await inputCommitment(quantizeInput(features, quantized), quantized.params))
            : keccak256(input);
        const receipt = await (
          await settlement.connect(requester).openRequest({
            modelId: devnet.irisModelId,
            inputHash,
            maxFee: 2n * OPG,
            deadline,
            mode,
            operator: "0x0000000000000000000000000000000000000000",
            callback: "0x0000000000000000000000000000000000000000",
            callbackGasLimit: 0,
            inputUri: toDataUri(input),
          })
        ).wait();
        opened.set(openedFrom(settlement, receipt).requestId, performance.now());
      }
    }),
  );
  while ([...opened.keys()].some((id) => !settledAt.has(id))) await new Promise((r) => setTimeout(r, 20));
  watch.on = false;
  await watcher;
  const end = Math.max(...[...opened.keys()].map((id) => settledAt.get(id)!));
  const latencies = [...opened.entries()].map(([id, t]) => settledAt.get(id)! - t);
  const seconds = (end - start) / 1000;
  return {
    mode: mode === VerificationMode.Zk ? "zk" : "signature",
    requests: n,
    seconds,
    perSecond: n / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
  };
}

const runs = [await run(VerificationMode.Signature, N.signature), await run(VerificationMode.Zk, N.zk)];
await node.stop();
await releaseZk();
await devnet.close();

console.log("mode       requests  seconds  settled/s  latency p50  latency p95");
for (const r of runs) {
  console.log(
    `${r.mode.padEnd(10)} ${String(r.requests).padStart(8)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.perSecond.toFixed(1).padStart(9)}  ${`${r.p50.toFixed(0)} ms`.padStart(11)}  ${`${r.p95.toFixed(0)} ms`.padStart(11)}`,
  );
}
console.log(
  "(one operator node, one Hardhat node, both on this machine; every request is a separate transaction and block)",
);
if (json) {
  console.log(
    JSON.stringify(
      Object.fromEntries(
        runs.map((r) => [
          r.mode,
          {
            requests: r.requests,
            perSecond: Number(r.perSecond.toFixed(1)),
            p50Ms: Math.round(r.p50),
            p95Ms: Math.round(r.p95),
          },
        ]),
      ),
    ),
  );
}
process.exit(0);
