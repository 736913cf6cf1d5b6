/**
 * Quiet mode, end to end, over real HTTP and JSON-RPC (docs/quiet.md): a devnet with the protocol deployed, an
 * operator node serving the Iris model through its quiet-mode gateway, payers bursting inferences with `infer()`
 * (each answer's receipt verified before it returns), one batch committed on chain, a dishonest receipt (the node's
 * `dishonest` flag signs a wrong class now and then) caught by the watcher, which proves the right class with Groth16
 * and slashes the operator, the vouchers redeemed after the windows, one receipt audited from chain data, and the gas
 * per inference beside the request path's.
 *
 *   npm run demo            # this, then the request path (scripts/demo.ts)
 *   npx tsx scripts/demo-quiet.ts
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { pino } from "pino";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  formatUnits,
  http,
  parseEventLogs,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { quietModeAbi } from "../src/abi/index.js";
import { auditReceiptWithModel } from "../src/audit/receipt-tools.js";
import { testAccountKey } from "../src/devnet/accounts.js";
import { registerDevnetOperator, startDevnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { IRIS_CLASS_NAMES, loadIris } from "../src/model/iris.js";
import { OperatorNode } from "../src/operator/node.js";
import { openVouchersReadOnly } from "../src/operator/quiet-vouchers.js";
import { redeemDueVouchers } from "../src/operator/quiet-redeemer.js";
import { receiptRecordToJson, type QuietReceiptRecord } from "../src/protocol/quiet-json.js";
import { createOpgClient, type OpgClient } from "../src/sdk/client.js";
import { Watcher } from "../src/watch/index.js";
import { fieldToBytes32 } from "../src/protocol/zk.js";
import { inputCommitment, IRIS_ZK_PARAMS, quantizeInput, quantizeOnnx, releaseZk } from "../src/zk/index.js";

const OPG = 10n ** 18n;
const PAYERS = 8;
const PER_PAYER = 16;
/** Every n-th zk receipt the dishonest node signs carries a wrong class. */
const WRONG_EVERY = 50;
const OPERATOR_SIGNER_KEY: Hex = `0x${"5a".repeat(32)}`;
/** The figures of gas-snapshot.json this demo prints beside its own. */
interface GasSnapshot {
  quietGasPerInference: number;
  quietRedeem: number;
  requestPrepaid: number;
  fulfillSigned: number;
  fulfillZk: number;
}
const snapshot = JSON.parse(
  await readFile(join(import.meta.dirname, "../gas-snapshot.json"), "utf8"),
) as GasSnapshot;

let step = 0;
const heading = (title: string) => {
  console.log(`\n${String(++step).padStart(2)}. ${title}`);
};
const line = (text: string) => {
  console.log(`    ${text}`);
};
const opg = (wei: bigint) => `${formatUnits(wei, 18)} OPG`;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

console.log("OPG quiet mode: receipts in milliseconds, a signed log on chain, a cheat caught and slashed");
const devnet = await startDevnet(hre, "127.0.0.1", 0);
const work = await mkdtemp(join(tmpdir(), "opg-demo-quiet-"));
const receiptsDir = join(work, "receipts");
await mkdir(receiptsDir);
const chain = defineChain({
  id: Number(devnet.chainId),
  name: "devnet",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [devnet.url] } },
});
const transport = http(devnet.url, { retryCount: 0, batch: true });
const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
const clientFor = (index: number): OpgClient =>
  createOpgClient({
    publicClient,
    walletClient: createWalletClient({
      chain,
      transport,
      account: privateKeyToAccount(testAccountKey(index)),
    }),
    addresses: devnet.addresses,
  });
const modelId = devnet.irisModelId;
const rpc = (method: string, params: unknown[] = []) =>
  publicClient.request({ method: method as never, params: params as never });

let node: OperatorNode | undefined;
let watcher: Watcher | undefined;
try {
  heading("A devnet, the operator staked, its node serving Iris through the quiet-mode gateway");
  line(`JSON-RPC ${devnet.url}, chain ${devnet.chainId}; QuietMode ${devnet.addresses.quietMode}`);
  const { operator } = await registerDevnetOperator(devnet, 2, OPERATOR_SIGNER_KEY, 2_000n * OPG);
  const quiet = await clientFor(0).getQuietMode();
  line(
    `windows: commit ${quiet.commitWindow} s after a request's deadline, challenge ${quiet.challengeWindow} s more; penalty ${opg(quiet.penalty)}`,
  );
  node = new OperatorNode({
    rpcUrl: devnet.url,
    settlement: devnet.addresses.settlement,
    operatorKey: testAccountKey(2),
    signerKey: OPERATOR_SIGNER_KEY,
    models: [{ modelId, file: IRIS_MODEL_PATH }],
    database: join(work, "operator.sqlite"),
    pollIntervalMs: 200,
    // One batch for the whole burst: committed when PAYERS × PER_PAYER receipts wait.
    quiet: {
      port: 0,
      batchIntervalMs: 3_600_000,
      maxBatch: PAYERS * PER_PAYER,
      dishonest: { wrongOutputEvery: WRONG_EVERY },
    },
    logger: pino({ level: "silent" }),
  });
  const url = (await node.start()).quietUrl!;
  line(`operator ${operator}: gateway ${url}/v1/infer`);
  line(
    `(this node is dishonest on purpose: every ${WRONG_EVERY}th receipt of a zk-circuit model carries a wrong class)`,
  );

  heading(`${PAYERS} payers fund channels to the operator (one transaction each, then none per inference)`);
  const model = await clientFor(0).getModel({ modelId });
  const owner = clientFor(0);
  const payers: OpgClient[] = [];
  for (let i = 0; i < PAYERS; i++) {
    const payer = clientFor(10 + i);
    const amount = BigInt(PER_PAYER) * model.fee;
    await owner.walletClient!.writeContract({
      address: devnet.addresses.token,
      abi: [
        {
          type: "function",
          name: "transfer",
          stateMutability: "nonpayable",
          inputs: [
            { name: "to", type: "address" },
            { name: "amount", type: "uint256" },
          ],
          outputs: [{ type: "bool" }],
        },
      ],
      functionName: "transfer",
      args: [payer.account()!.address, amount],
      account: owner.account()!,
      chain,
    });
    await payer.deposit({ amount });
    await payer.fundChannel({ operator, amount });
    payers.push(payer);
  }
  line(
    `each holds ${opg(BigInt(PER_PAYER) * model.fee)} in its channel: ${PER_PAYER} inferences at ${opg(model.fee)}`,
  );

  heading(
    `A burst: ${PAYERS * PER_PAYER} inferences through infer(), every receipt verified before it returns`,
  );
  const iris = loadIris();
  const quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);
  const records: QuietReceiptRecord[] = [];
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    payers.map(async (payer, p) => {
      for (let i = 0; i < PER_PAYER; i++) {
        const sample = (p * PER_PAYER + i) % iris.features.length;
        const features = iris.features[sample]!;
        const inputHash = fieldToBytes32(
          await inputCommitment(quantizeInput(features, quantized), quantized.params),
        );
        const result = await payer.infer({
          operatorUrl: url,
          operator,
          modelId,
          input: features,
          inputHash,
          onReceipt: async (record) => {
            records.push(record);
            const file = join(receiptsDir, `${record.receipt.operator}-${record.receipt.seq}.json`);
            await writeFile(file, JSON.stringify(receiptRecordToJson(record)));
          },
        });
        latencies.push(result.latencyMs);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  line(
    `${records.length} receipts in ${seconds.toFixed(2)} s: ${(records.length / seconds).toFixed(0)} receipts/s, latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms`,
  );
  const first = records[0]!;
  line(
    `receipt seq ${first.receipt.seq}: class ${IRIS_CLASS_NAMES[Number(BigInt(first.output))]}, signed by the operator's key, answering the payer's signed request (voucher index ${first.request.index}, running total ${opg(first.request.cumulative)})`,
  );
  line(
    "no transaction so far: the receipts are the operator's signed promise, the vouchers the payers' signed payment",
  );

  heading("The operator's node commits its log: one Merkle root for the whole burst");
  const deadline = Date.now() + 60_000;
  while (node.store.quiet.totals().unbatched > 0 || node.store.quiet.totals().batches.submitted > 0) {
    if (Date.now() > deadline) throw new Error("the batch was not committed within a minute");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const logs = await publicClient.getLogs({
    address: devnet.addresses.quietMode,
    event: quietModeAbi.find((e) => e.type === "event" && e.name === "BatchCommitted")!,
    fromBlock: 0n,
  });
  const commits = parseEventLogs({ abi: quietModeAbi, eventName: "BatchCommitted", logs });
  let commitGas = 0n;
  for (const commit of commits) {
    const receipt = await publicClient.getTransactionReceipt({ hash: commit.transactionHash });
    commitGas += receipt.gasUsed;
    line(
      `batch ${commit.args.batchIndex}: seq ${commit.args.firstSeq}…${commit.args.firstSeq + BigInt(commit.args.count) - 1n}, root ${commit.args.root.slice(0, 10)}…, data at ${commit.args.dataUri}; gas ${receipt.gasUsed.toLocaleString("en")}`,
    );
  }
  line(
    `${(Number(commitGas) / records.length).toFixed(1)} gas per inference here; ${snapshot.quietGasPerInference} at 1,024 receipts per batch (gas-snapshot.json)`,
  );

  heading(
    "A watcher re-executes the receipts it can (the payers' receipt files hold the inputs) and challenges a cheat",
  );
  const challenger = clientFor(5);
  watcher = new Watcher({
    publicClient,
    walletClient: challenger.walletClient!,
    addresses: devnet.addresses,
    database: join(work, "watcher.sqlite"),
    models: [{ modelId, path: IRIS_MODEL_PATH }],
    receiptsDir,
    pollIntervalMs: 1_000_000,
    logger: pino({ level: "silent" }),
  });
  const stakeBefore = (await challenger.getOperator({ operator })).stake;
  const rewardBefore = await challenger.getBalance();
  const pass = await watcher.runOnce();
  const stakeAfter = (await challenger.getOperator({ operator })).stake;
  line(
    `checked ${pass.batchesChecked} batch(es) and ${pass.newReceipts} receipt files; challenges sent: ${pass.challengesSent}`,
  );
  const struck = parseEventLogs({
    abi: quietModeAbi,
    eventName: "ReceiptStruck",
    logs: await publicClient.getLogs({ address: devnet.addresses.quietMode, fromBlock: 0n }),
  });
  for (const event of struck) {
    line(
      `seq ${event.args.seq}: a Groth16 proof of the committed circuit's class on the committed input contradicts the receipt: struck, ${opg(event.args.slashed)} slashed`,
    );
  }
  line(
    `operator stake ${opg(stakeBefore)} → ${opg(stakeAfter)}; the challenger's reward ${opg((await challenger.getBalance()) - rewardBefore)} (in its ledger balance)`,
  );
  line("the honest receipts were re-executed too, and none was challenged");

  heading("After the windows the operator redeems the vouchers: one transaction for every channel");
  await rpc("evm_increaseTime", [Number(quiet.maxTtl + quiet.commitWindow + quiet.challengeWindow) + 600]);
  await rpc("evm_mine");
  const operatorClient = clientFor(2);
  const db = openVouchersReadOnly(join(work, "operator.sqlite"));
  const outcome = await redeemDueVouchers(operatorClient, db, operator);
  db.close();
  const redeemGas = outcome.transactions.reduce((sum, tx) => sum + tx.gasUsed, 0n);
  line(
    `${outcome.redeemed.length} sub-channels redeemed in ${outcome.transactions.length} transaction(s): ${opg(outcome.total)} for ${records.length} inferences (gas ${redeemGas.toLocaleString("en")})`,
  );
  const charged = BigInt(records.length - struck.length) * model.fee;
  line(
    `the payers paid ${opg(outcome.total)} = ${records.length - struck.length} × ${opg(model.fee)}: the ${struck.length} struck receipt(s) cost their payer nothing (${opg(charged)} expected)`,
  );

  heading(
    "Anyone audits a receipt from chain data: signatures, key and stake at its time, inclusion, window, re-execution",
  );
  const audited = records.find((r) => !struck.some((s) => s.args.seq === r.receipt.seq))!;
  const report = await auditReceiptWithModel({
    client: publicClient,
    settlement: devnet.addresses.settlement,
    record: audited,
    modelFile: new Uint8Array(await readFile(IRIS_MODEL_PATH)),
  });
  for (const check of report.checks) line(`${check.ok ? "✓" : "✗"} ${check.name}`);
  line(`verdict: ${report.verdict}`);

  heading("Gas per inference: quiet mode beside the request path");
  const perInference = (Number(commitGas) + Number(redeemGas)) / records.length;
  line(
    `quiet mode, this run:    ${perInference.toFixed(0).padStart(7)} gas (log commit + redemption, ${records.length} inferences)`,
  );
  line(
    `quiet mode, at scale:    ${snapshot.quietGasPerInference.toString().padStart(7)} gas per inference for the log at 1,024 per batch, ${snapshot.quietRedeem.toLocaleString("en")} per channel redeemed`,
  );
  line(
    `request path, signature: ${(snapshot.requestPrepaid + snapshot.fulfillSigned).toLocaleString("en").padStart(7)} gas (requestPrepaid + fulfillSigned), and two blocks of waiting`,
  );
  line(
    `request path, zk:        ${(snapshot.requestPrepaid + snapshot.fulfillZk).toLocaleString("en").padStart(7)} gas (requestPrepaid + fulfillZk)`,
  );
} finally {
  await watcher?.stop();
  await node?.stop();
  await devnet.close();
  await releaseZk();
  await rm(work, { recursive: true, force: true });
}
