/**
 * Quiet-mode throughput (issue #10 §6): receipts per second through one operator node's gateway, for a client in
 * ANOTHER process that calls the SDK's `infer()` — signs each voucher, posts it over HTTP, and verifies every receipt
 * (signature, the operator's key and eligibility, the model) before counting it. Three processes, as in real life:
 * the chain (a Hardhat node over HTTP, forked with `--chain`), the operator node (gateway, SQLite with synchronous
 * writes, committer) in this process, and the client (forked with `--client`) with `--payers` payers, one
 * sub-channel each, calling concurrently; then one payer alone, one call at a time (`--sequential` calls).
 *
 * Reports `receiptsPerSecond` (verified receipts / wall time of the run), `latencyP50Ms`/`latencyP95Ms` (one `infer()`
 * call, as the client measures it), `bareInferenceP50Ms` (the ONNX model run alone, in this process) and
 * `addedLatencyP50Ms` (the difference), then what one receipt costs, line by line, measured alone on this machine.
 *
 *   npm run bench:quiet                          # table: 5,000 receipts, 32 payers
 *   npm run bench:quiet -- --json                # table, then one JSON line
 *   npm run bench:quiet -- --count 2000 --payers 8
 */
import { fork } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  keccak256,
  toHex,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ecdsaBackend, fastPrivateKeyToAccount } from "../src/sdk/fast-ecdsa.js";

const OPG = 10n ** 18n;
const FEE = OPG / 1_000n;
const SIGNER_KEY: Hex = "0x4242424242424242424242424242424242424242424242424242424242424242";
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) {
    console.error(`${name} needs a positive whole number, e.g. ${name} ${fallback}`);
    process.exit(1);
  }
  return value;
};

/** What the parent sends the client process. */
interface ClientJob {
  url: string;
  rpcUrl: string;
  chainId: number;
  addresses: Record<string, string>;
  operator: Address;
  modelId: Hex;
  payerKeys: Hex[];
  count: number;
  warmup: number;
  /** Calls made one at a time after the burst (the latency of a lone caller). */
  sequential: number;
}

/** What the client process sends back. */
interface ClientResult {
  latencies: number[];
  seconds: number;
  failures: string[];
  /** Latencies of the calls made one at a time. */
  sequential: number[];
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

// ------------------------------------------------------------------ the client (a separate process)

async function runClient(job: ClientJob): Promise<ClientResult> {
  const { createOpgClient } = await import("../src/sdk/client.js");
  const { loadIris } = await import("../src/model/iris.js");
  const chain = defineChain({
    id: job.chainId,
    name: "devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [job.rpcUrl] } },
  });
  const transport = http(job.rpcUrl, { retryCount: 0 });
  const publicClient = createPublicClient({ chain, transport });
  const iris = loadIris();
  const payers = job.payerKeys.map((key) =>
    createOpgClient({
      publicClient,
      walletClient: createWalletClient({ chain, transport, account: fastPrivateKeyToAccount(key) }),
      addresses: job.addresses as unknown as Parameters<typeof createOpgClient>[0]["addresses"],
    }),
  );
  const failures: string[] = [];
  const call = async (payer: (typeof payers)[number], i: number) =>
    payer.infer({
      operatorUrl: job.url,
      operator: job.operator,
      modelId: job.modelId,
      input: iris.features[i % iris.features.length]!,
      outputWidth: 3,
      cacheTtlMs: 60_000,
    });
  // Warm-up: each payer's first calls read the chain (mode, model, operator, clock, its sub-channel).
  await Promise.all(
    payers.map(async (payer, p) => {
      for (let i = 0; i < job.warmup; i++) await call(payer, p + i);
    }),
  );
  const latencies: number[] = [];
  let taken = 0;
  const started = performance.now();
  await Promise.all(
    payers.map(async (payer) => {
      while (taken < job.count) {
        const i = taken++;
        try {
          latencies.push((await call(payer, i)).latencyMs);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // One caller, one call at a time: the latency a lone user sees (nothing queued ahead of it).
  const sequential: number[] = [];
  for (let i = 0; i < job.sequential; i++) {
    try {
      sequential.push((await call(payers[0]!, i)).latencyMs);
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  return { latencies, seconds, failures: failures.slice(0, 5), sequential };
}

/** What the chain process sends back once the devnet is up. */
interface ChainInfo {
  url: string;
  chainId: number;
  addresses: Record<string, string>;
}

if (args.includes("--chain")) {
  const { default: hre } = await import("hardhat");
  const { startDevnet } = await import("../src/devnet/devnet.js");
  const devnet = await startDevnet(hre, "127.0.0.1", 0);
  const info: ChainInfo = {
    url: devnet.url,
    chainId: Number(devnet.chainId),
    addresses: devnet.addresses as unknown as Record<string, string>,
  };
  process.send!(info);
  process.once("disconnect", () => {
    void devnet.close().then(() => process.exit(0));
  });
} else if (args.includes("--client")) {
  process.once("message", (job: ClientJob) => {
    runClient(job).then(
      (result) => {
        process.send!(result, () => process.exit(0));
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
} else {
  await main();
}

// ------------------------------------------------------------------ the node side (this process)

async function main(): Promise<void> {
  const count = option("--count", 5_000);
  const payerCount = option("--payers", 32);
  const warmup = option("--warmup", 5);
  const sequentialCount = option("--sequential", 300);
  const json = args.includes("--json");
  const { pino } = await import("pino");
  const { testAccountKey } = await import("../src/devnet/accounts.js");
  const { IRIS_MODEL_PATH, irisRegistration } = await import("../src/devnet/iris.js");
  const { loadIris } = await import("../src/model/iris.js");
  const { encodeFeatures } = await import("../src/model/encoding.js");
  const { createModel } = await import("../src/model/onnx-runtime.js");
  const { inferBytes } = await import("../src/model/infer.js");
  const { OperatorNode } = await import("../src/operator/node.js");
  const { VerificationMode } = await import("../src/protocol/index.js");
  const { createOpgClient } = await import("../src/sdk/client.js");

  // The chain: its own process, like an RPC node.
  const chainProcess = fork(fileURLToPath(import.meta.url), ["--chain"], { stdio: "inherit" });
  const devnet = await new Promise<ChainInfo>((resolve, reject) => {
    chainProcess.once("message", (message) => {
      resolve(message as ChainInfo);
    });
    chainProcess.once("exit", (code) => {
      reject(new Error(`the chain process exited with ${code}`));
    });
  });
  const addresses = devnet.addresses as unknown as Parameters<typeof createOpgClient>[0]["addresses"];
  const chain = defineChain({
    id: devnet.chainId,
    name: "devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [devnet.url] } },
  });
  const transport = http(devnet.url, { retryCount: 0 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
  const clientOf = (key: Hex) =>
    createOpgClient({
      publicClient,
      walletClient: createWalletClient({ chain, transport, account: privateKeyToAccount(key) }),
      addresses,
    });
  const deployer = clientOf(testAccountKey(0));
  const owner = clientOf(testAccountKey(1));
  const operator = privateKeyToAccount(testAccountKey(2)).address;
  await clientOf(testAccountKey(2)).registerOperator({
    signer: privateKeyToAccount(SIGNER_KEY),
    payout: operator,
    amount: 1_000n * OPG,
  });

  // A signature-style Iris version that allows quiet mode.
  const spec = await irisRegistration({ fee: FEE, royaltyBps: 500, name: "iris-bench-quiet" });
  const { modelId } = await owner.registerModel({
    ...spec.spec,
    modes: VerificationMode.Signature | VerificationMode.Quiet,
  });

  // Payers: fresh keys with gas, OPG, a deposit and a channel that covers the whole run.
  const payerKeys = [...Array(payerCount).keys()].map((i) => keccak256(toHex(`opg bench-quiet payer ${i}`)));
  const perPayer = BigInt(count + payerCount * warmup + sequentialCount) * FEE + OPG;
  for (const key of payerKeys) {
    const address = privateKeyToAccount(key).address;
    await publicClient.request({
      method: "hardhat_setBalance" as never,
      params: [address, toHex(10n ** 20n)] as never,
    });
    await deployer.transferToken({ to: address, amount: perPayer });
  }
  await Promise.all(
    payerKeys.map(async (key) => {
      const payer = clientOf(key);
      await payer.deposit({ amount: perPayer });
      await payer.fundChannel({ operator, amount: perPayer });
    }),
  );

  const node = new OperatorNode({
    rpcUrl: devnet.url,
    settlement: addresses.settlement,
    operatorKey: testAccountKey(2),
    signerKey: SIGNER_KEY,
    models: [{ modelId, file: IRIS_MODEL_PATH }],
    database: join(await mkdtemp(join(tmpdir(), "opg-bench-quiet-")), "state.sqlite"),
    pollIntervalMs: 1_000,
    quiet: { port: 0, batchIntervalMs: 1_000 },
    logger: pino({ level: process.env.OPG_BENCH_LOG ?? "silent" }),
  });
  const { quietUrl } = await node.start();

  // The client: another process (this script with --client, under the same loader).
  const child = fork(fileURLToPath(import.meta.url), ["--client"], { stdio: "inherit" });
  const job: ClientJob = {
    url: quietUrl!,
    rpcUrl: devnet.url,
    chainId: devnet.chainId,
    addresses: devnet.addresses,
    operator,
    modelId,
    payerKeys,
    count,
    warmup,
    sequential: sequentialCount,
  };
  const result = await new Promise<ClientResult>((resolve, reject) => {
    child.once("message", (message) => {
      resolve(message as ClientResult);
    });
    child.once("exit", (code) => {
      reject(new Error(`the client process exited with ${code}`));
    });
    child.send(job);
  });
  const totals = node.store.quiet.totals();
  const served = totals.receipts;
  const seqs = node.store.quiet.receiptRange(0n, served).map((r) => r.receipt.seq);
  const gapFree = seqs.every((seq, i) => seq === BigInt(i));
  await node.stop();

  // The model run alone, the way the gateway runs it (same file, same runtime), in this process.
  const iris = loadIris();
  const model = await createModel(new Uint8Array(await readFile(IRIS_MODEL_PATH)));
  const inputs = iris.features.map((f) => encodeFeatures(f));
  const bare: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const start = performance.now();
    await inferBytes(model, inputs[i % inputs.length]!);
    bare.push(performance.now() - start);
  }
  const profile = await profileReceipt(inputs[0]!, model, inferBytes);
  await model.release();
  chainProcess.disconnect();

  const receiptsPerSecond = result.latencies.length / result.seconds;
  const latencyP50Ms = percentile(result.latencies, 50);
  const latencyP95Ms = percentile(result.latencies, 95);
  const bareInferenceP50Ms = percentile(bare, 50);
  const addedLatencyP50Ms = latencyP50Ms - bareInferenceP50Ms;
  const aloneP50Ms = percentile(result.sequential, 50);
  const aloneP95Ms = percentile(result.sequential, 95);
  const aloneAddedP50Ms = aloneP50Ms - bareInferenceP50Ms;
  console.log(
    `One operator node (gateway, SQLite synchronous=FULL) in one process, a Hardhat node in another; the client (infer(),`,
  );
  console.log(
    `verifying every receipt) in another, ${payerCount} payers calling concurrently; all on this ${(await import("node:os")).cpus().length}-core machine.`,
  );
  console.log("receipts  seconds  receipts/s  p50 ms  p95 ms  bare inference p50 ms  added p50 ms  failures");
  console.log(
    `${String(result.latencies.length).padStart(8)}  ${result.seconds.toFixed(1).padStart(7)}  ${receiptsPerSecond.toFixed(0).padStart(10)}  ${latencyP50Ms.toFixed(1).padStart(6)}  ${latencyP95Ms.toFixed(1).padStart(6)}  ${bareInferenceP50Ms.toFixed(3).padStart(21)}  ${addedLatencyP50Ms.toFixed(1).padStart(12)}  ${String(result.failures.length).padStart(8)}`,
  );
  console.log(
    `one caller, one call at a time (${result.sequential.length} calls): p50 ${aloneP50Ms.toFixed(2)} ms, p95 ${aloneP95Ms.toFixed(2)} ms, added over bare inference p50 ${aloneAddedP50Ms.toFixed(2)} ms (ECDSA: ${await ecdsaBackend()})`,
  );
  console.log(
    `node: ${served} receipts stored (${count} measured + ${payerCount * warmup} warm-up + ${sequentialCount} one at a time), log ${gapFree ? "gap-free" : "WITH GAPS"}, ${totals.batches.committed} batches committed`,
  );
  console.log("What one receipt costs, each line measured alone in this process (µs per receipt):");
  for (const [line, us] of Object.entries(profile))
    console.log(`  ${line.padEnd(58)} ${us.toFixed(0).padStart(7)}`);
  for (const failure of result.failures) console.log(`failure: ${failure}`);
  if (json) {
    console.log(
      JSON.stringify({
        receipts: result.latencies.length,
        payers: payerCount,
        seconds: Number(result.seconds.toFixed(2)),
        receiptsPerSecond: Math.round(receiptsPerSecond),
        latencyP50Ms: Number(latencyP50Ms.toFixed(2)),
        latencyP95Ms: Number(latencyP95Ms.toFixed(2)),
        bareInferenceP50Ms: Number(bareInferenceP50Ms.toFixed(3)),
        addedLatencyP50Ms: Number(addedLatencyP50Ms.toFixed(2)),
        aloneLatencyP50Ms: Number(aloneP50Ms.toFixed(2)),
        aloneLatencyP95Ms: Number(aloneP95Ms.toFixed(2)),
        aloneAddedLatencyP50Ms: Number(aloneAddedP50Ms.toFixed(2)),
        ecdsa: await ecdsaBackend(),
        failures: result.failures.length,
        gapFree,
        profileUs: Object.fromEntries(Object.entries(profile).map(([k, v]) => [k, Math.round(v)])),
      }),
    );
  }
  process.exit(
    result.failures.length === 0 && gapFree && served === count + payerCount * warmup + sequentialCount
      ? 0
      : 1,
  );
}

/** Mean µs of `task` over `n` runs (after a few warm-up runs). */
async function micro(n: number, task: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i++) await task();
  const start = performance.now();
  for (let i = 0; i < n; i++) await task();
  return ((performance.now() - start) / n) * 1000;
}

/** The per-receipt work of the gateway and of the client, one line at a time. */
async function profileReceipt(
  input: Uint8Array,
  model: Awaited<ReturnType<typeof import("../src/model/onnx-runtime.js").createModel>>,
  inferBytes: typeof import("../src/model/infer.js").inferBytes,
): Promise<Record<string, number>> {
  const { quietModeDomain, quietRequestTypedData } = await import("../src/protocol/quiet.js");
  const { quietRequestToJson, inferAnswerToJson } = await import("../src/protocol/quiet-json.js");
  const {
    fastHashQuietRequest,
    fastQuietRequestDigest,
    fastReceiptDigest,
    recoverDigestSigner,
    typedDigest,
    fastSignReceipt,
  } = await import("../src/sdk/quiet-digest.js");
  const { parseInferBody } = await import("../src/operator/quiet-request.js");
  const account = fastPrivateKeyToAccount(SIGNER_KEY);
  const domain = quietModeDomain(31337, account.address);
  const request = {
    payer: account.address,
    operator: account.address,
    modelId: keccak256("0x01"),
    inputHash: keccak256(input),
    fee: FEE,
    cumulative: FEE,
    index: 0n,
    deadline: 2_000_000_000n,
  };
  const signature = await account.signTypedData(quietRequestTypedData(domain, request));
  const body = JSON.stringify({
    request: quietRequestToJson(request),
    signature,
    input: Buffer.from(input).toString("base64"),
  });
  const receipt = {
    operator: account.address,
    seq: 1n,
    request: fastHashQuietRequest(request),
    outputHash: keccak256("0x02"),
    time: 1_900_000_000n,
  };
  const receiptSignature = await fastSignReceipt(account, domain, receipt);
  const answer = inferAnswerToJson({
    receipt,
    signature: receiptSignature,
    output: "0x00",
    outputHash: keccak256("0x"),
  });
  const db = new DatabaseSync(join(await mkdtemp(join(tmpdir(), "opg-bench-sqlite-")), "t.sqlite"));
  db.exec(
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)",
  );
  const insert = db.prepare("INSERT INTO t (b) VALUES (?)");
  const row = "x".repeat(900);
  const commit = (rows: number) => () => {
    db.exec("BEGIN IMMEDIATE");
    for (let i = 0; i < rows; i++) insert.run(row);
    db.exec("COMMIT");
  };
  const result = {
    "gateway: parse the body (JSON, fields, base64)": await micro(500, () =>
      parseInferBody(JSON.parse(body)),
    ),
    "gateway: EIP-712 hash of the request": await micro(500, () => fastHashQuietRequest(request)),
    "gateway: recover the payer's signature (libsecp256k1, wasm)": await micro(100, () =>
      recoverDigestSigner(typedDigest(domain, fastHashQuietRequest(request)), signature),
    ),
    "gateway: ONNX run (onnxruntime-web, wasm)": await micro(500, () => inferBytes(model, input)),
    "gateway: sign the receipt (libsecp256k1, wasm)": await micro(100, () =>
      fastSignReceipt(account, domain, receipt),
    ),
    "gateway: SQLite commit, 1 receipt per transaction (fsync)": await micro(30, commit(1)),
    "gateway: SQLite commit, per receipt in groups of 32": (await micro(30, commit(32))) / 32,
    "client: sign the voucher (EIP-712 digest, secp256k1, JS)": await micro(100, () =>
      account.sign({ hash: fastQuietRequestDigest(domain, request) }),
    ),
    "client: recover the receipt's signer (libsecp256k1, wasm)": await micro(100, () =>
      recoverDigestSigner(fastReceiptDigest(domain, receipt), receiptSignature),
    ),
    "both: answer JSON out and in": await micro(500, () => JSON.parse(JSON.stringify(answer))),
  };
  db.close();
  return result;
}
