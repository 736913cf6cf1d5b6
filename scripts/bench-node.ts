/**
 * End-to-end operator throughput on a devnet over HTTP: a burst of N requests opened concurrently by three
 * requesters (each signs its share with consecutive nonces and broadcasts them all at once), served by one
 * operator node (src/operator), until every one is settled. Reports settled requests per second (from the first
 * broadcast to the last settlement) and the latency from a request's broadcast to its settlement (p50/p95), for
 * signature and zk mode, with the chain mining on a block interval (default 1 s) or one block per transaction
 * (`--automine`).
 *
 *   npm run bench:node                       # table: signature bursts of 100, 300 and 1000, a zk burst of 10
 *   npm run bench:node -- --json             # table, then one JSON line
 *   npm run bench:node -- --block-time 500   # block interval in ms
 *   npm run bench:node -- --automine         # every transaction its own block
 *   OPG_BENCH_N=100,2000 OPG_BENCH_ZK_N=0 npm run bench:node   # burst sizes (0: skip the mode)
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  http,
  keccak256,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { testAccountKey } from "../src/devnet/accounts.js";
import { inferenceSettlementAbi } from "../src/abi/index.js";
import { registerDevnetOperator, setBlockTime, startDevnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { encodeFeatures, toDataUri } from "../src/model/encoding.js";
import { loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { fieldToBytes32, VerificationMode } from "../src/protocol/index.js";
import { inputCommitment, IRIS_ZK_PARAMS, quantizeInput, quantizeOnnx, releaseZk } from "../src/zk/index.js";

const OPG = 10n ** 18n;
const ZERO = "0x0000000000000000000000000000000000000000";
const args = process.argv.slice(2);
const json = args.includes("--json");
const automine = args.includes("--automine");
const blockTimeArg = args.indexOf("--block-time");
const blockTimeMs = automine ? 0 : blockTimeArg >= 0 ? Number(args[blockTimeArg + 1]) : 1_000;
if (!automine && (!Number.isInteger(blockTimeMs) || blockTimeMs <= 0)) {
  console.error("--block-time needs a whole number of milliseconds, e.g. --block-time 1000");
  process.exit(1);
}
const bursts = (value: string | undefined, fallback: string, what: string) =>
  (value ?? fallback).split(",").map((v) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < 0) {
      console.error(`${what} must be comma-separated whole numbers of requests, got "${value}"`);
      process.exit(1);
    }
    return n;
  });
const N = {
  signature: bursts(process.env.OPG_BENCH_N, "100,300,1000", "OPG_BENCH_N").filter((n) => n > 0),
  zk: bursts(process.env.OPG_BENCH_ZK_N, "10", "OPG_BENCH_ZK_N").filter((n) => n > 0),
};
const key = testAccountKey;
const OPERATOR_KEY = key(2);
const SIGNER_KEY: Hex = "0x4242424242424242424242424242424242424242424242424242424242424242";

// The protocol is deployed and funded under automine; the chain switches to interval mining for the runs.
const devnet = await startDevnet(hre, "127.0.0.1", 0);
const { ethers } = devnet.connection;
const signers = await ethers.getSigners();
const requesterIndexes = [3, 4, 6];
const { token, settlement } = devnet.system;
await registerDevnetOperator(devnet, 2, SIGNER_KEY, 1_000n * OPG);
for (const i of requesterIndexes) {
  const requester = signers[i]!;
  await (await token.connect(signers[0]).transfer(requester.address, 10_000n * OPG)).wait();
  await (await token.connect(requester).approve(devnet.addresses.settlement, ethers.MaxUint256)).wait();
  await (await settlement.connect(requester).deposit(5_000n * OPG)).wait();
}
const iris = loadIris();
const quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);

const chain = defineChain({
  id: Number(devnet.chainId),
  name: "devnet",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [devnet.url] } },
});
const transport = http(devnet.url, { retryCount: 0 });
const client = createPublicClient({ chain, transport, cacheTime: 0 });
const requesters = requesterIndexes.map((i) =>
  createWalletClient({ chain, transport, account: privateKeyToAccount(key(i)) }),
);

if (!automine) {
  await setBlockTime(devnet.connection.provider, blockTimeMs);
}

const node = new OperatorNode({
  rpcUrl: devnet.url,
  settlement: devnet.addresses.settlement,
  operatorKey: OPERATOR_KEY,
  signerKey: SIGNER_KEY,
  models: [{ modelId: devnet.irisModelId, file: IRIS_MODEL_PATH }],
  database: join(await mkdtemp(join(tmpdir(), "opg-bench-node-")), "state.sqlite"),
  pollIntervalMs: 50,
  logger: pino({ level: process.env.OPG_BENCH_LOG ?? "silent" }),
});
await node.start();

interface Run {
  mode: string;
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  blocks: number;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(mode: VerificationMode, n: number): Promise<Run> {
  const deadline = (await client.getBlock()).timestamp + 3_600n;
  const fees = await client.estimateFeesPerGas();
  // Sign every request first (nonces in order per requester), so the burst is only broadcasting.
  const signed: Hex[] = [];
  const nonces = await Promise.all(
    requesters.map((w) => client.getTransactionCount({ address: w.account.address, blockTag: "pending" })),
  );
  for (let i = 0; i < n; i++) {
    const r = i % requesters.length;
    const features = iris.features[i % 150]!;
    const input = encodeFeatures(features);
    const inputHash =
      mode === VerificationMode.Zk
        ? fieldToBytes32(await inputCommitment(quantizeInput(features, quantized), quantized.params))
        : keccak256(input);
    const data = encodeFunctionData({
      abi: inferenceSettlementAbi,
      functionName: "openRequest",
      args: [
        {
          modelId: devnet.irisModelId,
          inputHash,
          maxFee: 2n * OPG,
          deadline,
          mode,
          operator: ZERO,
          callback: ZERO,
          callbackGasLimit: 0,
          inputUri: toDataUri(input),
        },
      ],
    });
    signed.push(
      await requesters[r]!.signTransaction({
        to: devnet.addresses.settlement,
        data,
        nonce: nonces[r]!++,
        gas: 200_000n,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      }),
    );
  }

  const sentAt = new Map<Hex, number>();
  const openedAt = new Map<bigint, number>(); // request id -> broadcast time of its transaction
  const settledAt = new Map<bigint, number>();
  const firstBlock = await client.getBlockNumber();
  let fromBlock = firstBlock + 1n;
  const watch = { on: true };
  const watcher = (async () => {
    while (watch.on) {
      const latest = await client.getBlockNumber();
      if (latest >= fromBlock) {
        const logs = await client.getContractEvents({
          address: devnet.addresses.settlement,
          abi: inferenceSettlementAbi,
          fromBlock,
          toBlock: latest,
          strict: true,
        });
        const now = performance.now();
        for (const log of logs) {
          if (log.eventName === "RequestOpened")
            openedAt.set(log.args.requestId, sentAt.get(log.transactionHash)!);
          if (log.eventName === "RequestFulfilled" && !settledAt.has(log.args.requestId))
            settledAt.set(log.args.requestId, now);
        }
        fromBlock = latest + 1n;
      }
      await sleep(20);
    }
  })();

  const start = performance.now();
  await Promise.all(
    signed.map(async (raw) => {
      sentAt.set(keccak256(raw), performance.now());
      await client.sendRawTransaction({ serializedTransaction: raw });
    }),
  );
  while (openedAt.size < n || [...openedAt.keys()].some((id) => !settledAt.has(id))) await sleep(20);
  watch.on = false;
  await watcher;
  const lastBlock = await client.getBlockNumber();
  const end = Math.max(...settledAt.values());
  const latencies = [...openedAt.entries()].map(([id, t]) => settledAt.get(id)! - t);
  const seconds = (end - start) / 1000;
  return {
    mode: mode === VerificationMode.Zk ? "zk" : "signature",
    requests: n,
    seconds,
    perSecond: n / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    blocks: Number(lastBlock - firstBlock),
  };
}

const runs: Run[] = [];
for (const n of N.signature) runs.push(await run(VerificationMode.Signature, n));
for (const n of N.zk) runs.push(await run(VerificationMode.Zk, n));
// The chain saw every settlement; wait for the node to have confirmed each of its own (nothing lost, no extra).
const total = runs.reduce((sum, r) => sum + r.requests, 0);
for (let waited = 0; node.store.counts().settled < total && waited < 30_000; waited += 50) await sleep(50);
const counts = node.store.counts();
await node.stop();
await releaseZk();
await devnet.close();

const chainNote = automine ? "automine: one block per transaction" : `a block every ${blockTimeMs} ms`;
console.log(
  `One operator node, three requesters and one Hardhat node (${chainNote}), all on this 2-core machine, over HTTP.`,
);
console.log("mode       burst  seconds  settled/s  latency p50  latency p95  blocks");
for (const r of runs) {
  console.log(
    `${r.mode.padEnd(10)} ${String(r.requests).padStart(5)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.perSecond.toFixed(1).padStart(9)}  ${`${r.p50.toFixed(0)} ms`.padStart(11)}  ${`${r.p95.toFixed(0)} ms`.padStart(11)}  ${String(r.blocks).padStart(6)}`,
  );
}
console.log(
  `node: ${counts.settled} of ${total} settled, ${counts.lost} lost, ${counts.skipped} skipped, ${counts.seen + counts.computed + counts.submitted} unfinished`,
);
console.log(
  "settled/s: burst size / (last settlement seen - first request broadcast); latency: a request's broadcast to its settlement seen on chain",
);
if (json) {
  console.log(
    JSON.stringify({
      chain: automine ? { automine: true } : { blockTimeMs },
      node: { settled: counts.settled, lost: counts.lost, skipped: counts.skipped },
      runs: runs.map((r) => ({
        mode: r.mode,
        requests: r.requests,
        seconds: Number(r.seconds.toFixed(2)),
        perSecond: Number(r.perSecond.toFixed(1)),
        p50Ms: Math.round(r.p50),
        p95Ms: Math.round(r.p95),
        blocks: r.blocks,
      })),
    }),
  );
}
process.exit(counts.settled === total ? 0 : 1);
