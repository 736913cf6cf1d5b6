/**
 * `opg watch` as a library (docs/quiet.md, "Watching"): a service that stays quiet until it must act. Each pass it
 *
 * 1. follows `BatchCommitted` from its cursor in bounded block ranges (all operators, or a list);
 * 2. fetches each new batch's data (http(s), capped, timed out), rebuilds the Merkle root from the entries and checks
 *    every entry (receipt signed by a key of the operator valid at its time, request hash, payer signature, output
 *    hash); missing or mismatching data is a data-availability finding and the batch is retried with backoff;
 * 3. reads new receipt files (a payer's `QuietReceiptRecord`s, which hold the inputs) from a directory;
 * 4. for each receipt file: re-executes it (all, or a deterministic sample by seq) with the model's canonical runtime
 *    and on a wrong class proves it and sends `challengeOutput`; checks its position in the log (`challengeOmission`
 *    when another leaf is committed there, `challengeLate`, `challengeUncommitted` past its commit deadline) and
 *    equivocation (two receipts for one request).
 *
 * Every challenge is simulated first and recorded before it is sent (src/watch/challenge.ts): an honest operator is
 * never challenged, a challenge is never sent twice. State is one SQLite file bound to the chain and `QuietMode`.
 */
import { watch as watchDir, type FSWatcher } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import {
  getAddress,
  keccak256,
  zeroAddress,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { modelRegistryAbi, quietModeAbi } from "../abi/index.js";
import { backoffDelay, DEFAULT_BACKOFF, errorSummary, type BackoffPolicy } from "../operator/backoff.js";
import { moveAside } from "../operator/binding.js";
import { LogTree, receiptBatch, receiptLeaf } from "../protocol/merkle.js";
import { hashReceipt, zkOutputHash } from "../protocol/quiet.js";
import { QuietJsonError, receiptRecordFromJson, type BatchEntry } from "../protocol/quiet-json.js";
import type { ProtocolAddresses } from "../sdk/addresses.js";
import { getQuietMode, type QuietModeInfo } from "../sdk/actions/getQuietMode.js";
import { createCache, type OpgContext } from "../sdk/context.js";
import type { SignedQuietReceipt } from "../sdk/quiet.js";
import {
  equivocationCall,
  lateCall,
  omissionCall,
  sendChallenge,
  uncommittedCall,
  wrongOutputCall,
  type ChallengeCall,
} from "./challenge.js";
import { entryFromJson, entryToJson, payerProblem, receiptProblem, sampled } from "./evidence.js";
import { DEFAULT_FETCH_LIMITS, fetchBatchData, type FetchLimits } from "./fetch.js";
import { serveWatchHealth, type WatchHealth, type WatchHealthServer } from "./health.js";
import { loadWatchedModel, reexecute, releaseModels, type WatchedModel } from "./models.js";
import { WatchStore, type StoredBatch, type StoredRecord, type WatchBinding } from "./store.js";

/** What a watcher watches, and how. */
export interface WatcherOptions {
  publicClient: PublicClient;
  /** The challenger's wallet (its account sends challenges). Without one the watcher only reports. */
  walletClient?: WalletClient;
  /** The deployment (the settlement core, registries). */
  addresses: ProtocolAddresses;
  /** SQLite state file. */
  database: string;
  /** Move an existing state file aside first (to `<file>.<timestamp>.bak`). */
  freshState?: boolean;
  /** First block to scan on a fresh state file (default 0). */
  fromBlock?: bigint;
  /** Watch only these operators (default: all). */
  operators?: readonly Address[];
  /** Local model files to re-execute with (sha256 checked against the registry). */
  models?: readonly { modelId: Hex; path: string }[];
  /** A directory of receipt files (`QuietReceiptRecord` JSON, e.g. `opg infer --out` or `infer`'s `onReceipt`). */
  receiptsDir?: string;
  /** Share of receipts re-executed, 0 to 1 (default 1), chosen by a hash of (operator, seq). */
  sample?: number;
  /** Time between passes (ms, default 2,000). */
  pollIntervalMs?: number;
  /** Serve `/health` and `/metrics` on 127.0.0.1:`healthPort` (0: any free port). */
  healthPort?: number;
  /** Blocks per `eth_getLogs` range (default 2,000). */
  blockRange?: bigint;
  /** Limits of a batch data fetch. */
  fetchLimits?: FetchLimits;
  /** Retry schedule of a batch whose data failed. */
  backoff?: BackoffPolicy;
  /** Largest receipt file read (bytes, default 1 MiB). */
  maxReceiptFileBytes?: number;
  logger?: Logger;
}

/** The state file was made for another chain or `QuietMode`: nothing was changed. */
export class WatchStateMismatchError extends Error {
  override readonly name = "WatchStateMismatchError";
  constructor(
    readonly file: string,
    readonly stored: WatchBinding,
    readonly actual: WatchBinding,
  ) {
    super(
      `watcher state file ${file} was made for chain ${stored.chainId} (genesis ${stored.genesisHash}), QuietMode ` +
        `${stored.quietMode}, but the RPC serves chain ${actual.chainId} (genesis ${actual.genesisHash}), QuietMode ` +
        `${actual.quietMode}: use another state file (the default path includes them) or start with fresh state`,
    );
  }
}

/** What one pass did (for tests and logs). */
export interface PassSummary {
  /** Batches newly seen on chain. */
  newBatches: number;
  /** Batches whose data was proven this pass. */
  batchesChecked: number;
  /** Receipt files newly read. */
  newReceipts: number;
  /** Challenges sent this pass. */
  challengesSent: number;
}

/** The default watcher state file name for a binding, beside the node's (`defaultStatePath` is the node's). */
export function watchStateFileName(binding: WatchBinding): string {
  const hex8 = (value: string) => value.toLowerCase().replace(/^0x/, "").slice(0, 8);
  return `watch-${binding.chainId}-${hex8(binding.genesisHash)}-${hex8(binding.quietMode)}.sqlite`;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The quiet-mode watcher. `start()` runs passes on a timer; `runOnce()` runs one (tests, the demo). */
export class Watcher {
  private readonly log: Logger;
  private readonly ctx: OpgContext;
  private store?: WatchStore;
  private quiet?: QuietModeInfo;
  private readonly models = new Map<string, WatchedModel>();
  private timer?: NodeJS.Timeout;
  private running = false;
  private pass?: Promise<PassSummary>;
  private health?: WatchHealthServer;
  private dirWatcher?: FSWatcher;
  private failures = 0;
  private lastError?: string;
  private opened?: Promise<void>;

  constructor(private readonly options: WatcherOptions) {
    this.log = options.logger ?? pino({ name: "opg-watch" });
    this.ctx = {
      publicClient: options.publicClient,
      walletClient: options.walletClient,
      addresses: options.addresses,
      cache: createCache(),
    };
  }

  /** The challenger's address, if the watcher has a wallet. */
  get challenger(): Address | undefined {
    return this.options.walletClient?.account?.address;
  }

  /** The state file (open after `start` or the first `runOnce`). */
  get state(): WatchStore {
    if (this.store === undefined) throw new Error("the watcher is not open: call start() or runOnce()");
    return this.store;
  }

  /** Open the state (checking its binding) and load the models; idempotent. */
  private open(): Promise<void> {
    this.opened ??= this.doOpen().catch((error: unknown) => {
      this.opened = undefined;
      throw error;
    });
    return this.opened;
  }

  private async doOpen(): Promise<void> {
    const { publicClient } = this.options;
    const [chainId, genesis, quiet] = await Promise.all([
      publicClient.getChainId(),
      publicClient.getBlock({ blockNumber: 0n }),
      getQuietMode(this.ctx),
    ]);
    const actual: WatchBinding = { chainId, genesisHash: genesis.hash, quietMode: quiet.address };
    if (this.options.freshState === true) {
      const moved = moveAside(this.options.database);
      if (moved !== undefined)
        this.log.warn({ movedTo: moved }, "fresh state: the old state file was moved aside");
    }
    const store = new WatchStore(this.options.database);
    const stored = store.binding();
    if (stored === undefined) store.bind(actual);
    else if (
      stored.chainId !== actual.chainId ||
      !same(stored.genesisHash, actual.genesisHash) ||
      !same(stored.quietMode, actual.quietMode)
    ) {
      store.close();
      throw new WatchStateMismatchError(this.options.database, stored, actual);
    }
    try {
      for (const { modelId, path } of this.options.models ?? []) {
        const model = await loadWatchedModel(this.ctx, modelId, path);
        this.models.set(modelId.toLowerCase(), model);
        this.log.info(
          { modelId, path, zk: model.quantized !== undefined },
          "re-executing model: file matches the registry",
        );
      }
    } catch (error) {
      store.close();
      await releaseModels(this.models.values());
      this.models.clear();
      throw error;
    }
    this.store = store;
    this.quiet = quiet;
  }

  /** Open, serve health, and run passes every `pollIntervalMs` until `stop()`. Resolves to the health URL, if any. */
  async start(): Promise<{ healthUrl?: string }> {
    await this.open();
    this.running = true;
    if (this.options.healthPort !== undefined) {
      this.health = await serveWatchHealth(this.options.healthPort, () => this.healthReport());
    }
    if (this.options.receiptsDir !== undefined) {
      try {
        this.dirWatcher = watchDir(this.options.receiptsDir, () => {
          this.wake();
        });
        this.dirWatcher.on("error", () => undefined);
      } catch {
        // Polling still reads the directory each pass.
      }
    }
    this.log.info(
      {
        quietMode: this.quiet!.address,
        challenger: this.challenger ?? null,
        healthUrl: this.health?.url ?? null,
      },
      "watcher started",
    );
    this.schedule(0);
    return this.health === undefined ? {} : { healthUrl: this.health.url };
  }

  /** Stop after the pass in flight; closes the health server, the models and the state file. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirWatcher?.close();
    while (this.pass !== undefined) await this.pass.catch(() => undefined);
    await this.health?.close();
    this.health = undefined;
    await releaseModels(this.models.values());
    this.models.clear();
    this.store?.close();
    this.store = undefined;
    this.opened = undefined;
  }

  private wake(): void {
    if (!this.running || this.pass !== undefined) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.timedPass()
        .then(() => {
          this.schedule(this.options.pollIntervalMs ?? 2_000);
        })
        .catch(() => {
          this.schedule(backoffDelay(this.failures, this.options.backoff ?? DEFAULT_BACKOFF));
        });
    }, ms);
  }

  /** A pass of the timer: none once `stop()` began (it would reopen the state file behind the caller's back). */
  private async timedPass(): Promise<void> {
    while (this.pass !== undefined) await this.pass.catch(() => undefined);
    if (this.running) await this.runOnce();
  }

  /** `/health`'s report. */
  healthReport(): WatchHealth {
    const reasons =
      this.failures > 0 ? [`${this.failures} consecutive failed passes: ${this.lastError ?? ""}`] : [];
    const status = !this.running ? "stopped" : reasons.length > 0 ? "degraded" : "ok";
    const store = this.store;
    const backlog = store?.backlog();
    return {
      status,
      ok: status === "ok",
      reasons,
      nextBlock: (store?.cursor() ?? this.options.fromBlock ?? 0n).toString(),
      pendingBatches: backlog?.pendingBatches ?? 0,
      openReceipts: backlog?.openRecords ?? 0,
      counters: store?.counters() ?? {},
    };
  }

  /**
   * Run one whole pass that starts after this call (passes never overlap: a call during one waits for it first, so
   * everything on chain and in the receipts directory before the call is seen).
   */
  async runOnce(): Promise<PassSummary> {
    while (this.pass !== undefined) await this.pass.catch(() => undefined);
    const pass = this.doPass()
      .then((summary) => {
        this.failures = 0;
        return summary;
      })
      .catch((error: unknown) => {
        this.failures++;
        this.lastError = errorSummary(error);
        this.log.warn({ err: this.lastError, failures: this.failures }, "pass failed: retrying with backoff");
        throw error;
      })
      .finally(() => {
        this.pass = undefined;
      });
    this.pass = pass;
    return pass;
  }

  private async doPass(): Promise<PassSummary> {
    await this.open();
    const summary: PassSummary = { newBatches: 0, batchesChecked: 0, newReceipts: 0, challengesSent: 0 };
    summary.newBatches = await this.scan();
    summary.batchesChecked = await this.checkBatches(summary);
    summary.newReceipts = await this.readReceipts();
    await this.followReceipts(summary);
    return summary;
  }

  private skip(reason: string, detail: Record<string, unknown>, message: string): void {
    this.state.count(`skips:${reason}`);
    this.log.warn({ reason, ...detail }, message);
  }

  private finding(kind: string, operator: Address, seq: bigint | undefined, detail: string): void {
    if (this.state.addFinding({ kind, operator, ...(seq === undefined ? {} : { seq }), detail })) {
      this.state.count(`findings:${kind}`);
      this.log.warn({ kind, operator, seq: seq?.toString(), detail }, "finding");
    }
  }

  // ------------------------------------------------------------------ 1. follow the log

  private async scan(): Promise<number> {
    const store = this.state;
    const { publicClient } = this.options;
    const latest = await publicClient.getBlockNumber({ cacheTime: 0 });
    const range = this.options.blockRange ?? 2_000n;
    let from = store.cursor() ?? this.options.fromBlock ?? 0n;
    const operators = this.options.operators;
    let added = 0;
    while (from <= latest) {
      const to = from + range - 1n < latest ? from + range - 1n : latest;
      const logs = await publicClient.getContractEvents({
        address: this.quiet!.address,
        abi: quietModeAbi,
        eventName: "BatchCommitted",
        fromBlock: from,
        toBlock: to,
        ...(operators === undefined || operators.length === 0 ? {} : { args: { operator: [...operators] } }),
      });
      const batches = logs.map((log) => ({
        operator: getAddress(log.args.operator!),
        batchIndex: log.args.batchIndex!,
        firstSeq: log.args.firstSeq!,
        count: log.args.count!,
        root: log.args.root!,
        committedAt: log.args.committedAt!,
        dataUri: log.args.dataUri!,
        block: log.blockNumber,
      }));
      added += store.advance(to + 1n, batches);
      from = to + 1n;
    }
    if (added > 0) this.log.info({ batches: added }, "new batches committed");
    return added;
  }

  // ------------------------------------------------------------------ 2. batch data

  private async checkBatches(summary: PassSummary): Promise<number> {
    const store = this.state;
    let checked = 0;
    for (const batch of store.dueBatches(Date.now())) {
      let problem: { reason: string; detail: string } | undefined;
      try {
        problem = await this.checkBatch(batch, summary);
      } catch (error) {
        // A chain read or a challenge failed midway: the batch is checked again from scratch later.
        problem = { reason: "check_error", detail: errorSummary(error) };
      }
      if (problem === undefined) {
        checked++;
        continue;
      }
      const nextAt = Date.now() + backoffDelay(batch.attempts + 1, this.options.backoff ?? DEFAULT_BACKOFF);
      store.batchFailed(batch.operator, batch.batchIndex, problem.reason, nextAt);
      this.skip(
        problem.reason,
        { operator: batch.operator, batchIndex: batch.batchIndex.toString(), detail: problem.detail },
        "batch data not usable: kept for retry",
      );
      if (problem.reason !== "check_error") {
        this.finding(
          "data_unavailable",
          batch.operator,
          batch.firstSeq,
          `batch ${batch.batchIndex}: ${problem.reason}`,
        );
      }
    }
    return checked;
  }

  /** Fetch, prove and check one batch's data; a problem keeps it pending. */
  private async checkBatch(
    batch: StoredBatch,
    summary: PassSummary,
  ): Promise<{ reason: string; detail: string } | undefined> {
    const fetched = await fetchBatchData(batch.dataUri, this.options.fetchLimits ?? DEFAULT_FETCH_LIMITS);
    if ("failure" in fetched) return { reason: fetched.failure, detail: fetched.detail };
    const data = fetched.data;
    if (data.firstSeq !== batch.firstSeq || data.count !== batch.count) {
      return {
        reason: "root_mismatch",
        detail: `the data is seq ${data.firstSeq}+${data.count}, the batch ${batch.firstSeq}+${batch.count}`,
      };
    }
    let root: Hex;
    let leaves: Hex[];
    try {
      const built = receiptBatch(data.receipts.map((e) => e.receipt));
      if (!same(built.operator, batch.operator)) throw new Error(`the receipts are ${built.operator}'s`);
      root = built.root;
      leaves = built.leaves;
    } catch (error) {
      return { reason: "malformed", detail: (error as Error).message };
    }
    if (!same(root, batch.root)) {
      return {
        reason: "root_mismatch",
        detail: `the entries' root is ${root}, the committed one ${batch.root}`,
      };
    }
    // The data is the committed log: check each entry.
    const signers = new Map<string, Promise<{ operator: Address; retiredAt: bigint }>>();
    const byRequest = new Map<string, BatchEntry>();
    for (const entry of data.receipts) {
      const problems = [
        await receiptProblem(this.evidenceContext(), entry.receipt, entry.request, entry.signature, signers),
        await payerProblem(this.quiet!.domain, entry.request, entry.requestSignature),
        await this.outputProblem(entry),
      ].filter((p): p is string => p !== undefined);
      for (const p of problems) this.finding(`bad_entry:${p}`, batch.operator, entry.receipt.seq, p);
      const key = entry.receipt.request.toLowerCase();
      const twin = byRequest.get(key);
      if (twin !== undefined && problems.length === 0) {
        // Two committed receipts for one request: equivocation.
        await this.challenge(equivocationCall(asSigned(twin), asSigned(entry)), summary, undefined);
      }
      if (problems.length === 0 && twin === undefined) byRequest.set(key, entry);
    }
    this.state.batchChecked(
      batch.operator,
      batch.batchIndex,
      data.receipts.map((entry, i) => ({
        operator: batch.operator,
        seq: entry.receipt.seq,
        batchIndex: batch.batchIndex,
        leaf: leaves[i]!,
        requestHash: entry.receipt.request,
        entryJson: entryToJson(entry),
      })),
    );
    this.state.count("batches_checked");
    this.state.count("receipts_checked", data.count);
    this.log.info(
      { operator: batch.operator, batchIndex: batch.batchIndex.toString(), count: data.count },
      "batch checked: its data proves the committed root",
    );
    return undefined;
  }

  /** Whether an entry's output hashes to its receipt's output hash (zk models: the class word). */
  private async outputProblem(entry: BatchEntry): Promise<string | undefined> {
    const model = this.models.get(entry.request.modelId.toLowerCase());
    const zk =
      model !== undefined
        ? model.quantized !== undefined
        : (await this.zkVerifierOf(entry.request.modelId)) !== zeroAddress;
    let expected: Hex;
    if (zk) {
      if (entry.output.length !== 66) return "output_not_a_class";
      expected = zkOutputHash(BigInt(entry.output));
    } else expected = keccak256(entry.output);
    return same(expected, entry.receipt.outputHash) ? undefined : "output_hash_mismatch";
  }

  private readonly zkVerifiers = new Map<string, Promise<Address>>();

  private zkVerifierOf(modelId: Hex): Promise<Address> {
    const key = modelId.toLowerCase();
    let found = this.zkVerifiers.get(key);
    if (found === undefined) {
      found = this.ctx.publicClient
        .readContract({
          address: this.ctx.addresses.models,
          abi: modelRegistryAbi,
          functionName: "zkBindingOf",
          args: [modelId],
        })
        .then(([, verifier]) => verifier)
        .catch(() => zeroAddress);
      this.zkVerifiers.set(key, found);
    }
    return found;
  }

  private evidenceContext() {
    return { ctx: this.ctx, domain: this.quiet!.domain, maxTtl: this.quiet!.maxTtl };
  }

  // ------------------------------------------------------------------ 3. receipt files

  private async readReceipts(): Promise<number> {
    const dir = this.options.receiptsDir;
    if (dir === undefined) return 0;
    const store = this.state;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
    } catch (error) {
      this.skip(
        "receipts_dir_unreadable",
        { dir, err: errorSummary(error) },
        "cannot read the receipts directory",
      );
      return 0;
    }
    const maxBytes = this.options.maxReceiptFileBytes ?? 1024 * 1024;
    let added = 0;
    for (const name of names) {
      const path = join(dir, name);
      let info;
      try {
        info = await stat(path);
      } catch {
        continue;
      }
      if (!info.isFile() || store.fileSeen(path, info.size, info.mtimeMs)) continue;
      store.markFile(path, info.size, info.mtimeMs);
      if (info.size > maxBytes) {
        this.skip("bad_receipt_file", { path, size: info.size }, "receipt file too large");
        continue;
      }
      let record;
      try {
        record = receiptRecordFromJson(JSON.parse(await readFile(path, "utf8")));
      } catch (error) {
        const detail = error instanceof QuietJsonError ? error.message : "not JSON";
        this.skip("bad_receipt_file", { path, detail }, "not a receipt file");
        continue;
      }
      if (record.chainId !== this.state.binding()?.chainId || !same(record.quietMode, this.quiet!.address)) {
        this.skip("foreign_receipt", { path }, "receipt file of another chain or deployment");
        continue;
      }
      const watched = this.options.operators;
      if (
        watched !== undefined &&
        watched.length > 0 &&
        !watched.some((o) => same(o, record.receipt.operator))
      ) {
        continue;
      }
      let receiptHash: Hex;
      try {
        receiptHash = hashReceipt(record.receipt);
      } catch {
        this.skip("bad_receipt_file", { path }, "receipt out of range");
        continue;
      }
      if (store.addRecord(receiptHash, record)) {
        store.count("receipt_files_read");
        added++;
      }
    }
    if (added > 0) this.log.info({ receipts: added }, "new receipt files");
    return added;
  }

  // ------------------------------------------------------------------ 4. follow each receipt

  private async followReceipts(summary: PassSummary): Promise<void> {
    const store = this.state;
    const open = store.openRecords();
    if (open.length === 0) return;
    const now = (await this.ctx.publicClient.getBlock({ blockTag: "latest" })).timestamp;
    const heads = new Map<string, Promise<bigint>>();
    const nextSeqOf = (operator: Address) => {
      const key = operator.toLowerCase();
      let found = heads.get(key);
      if (found === undefined) {
        found = this.ctx.publicClient
          .readContract({
            address: this.quiet!.address,
            abi: quietModeAbi,
            functionName: "head",
            args: [operator],
          })
          .then(([nextSeq]) => nextSeq);
        heads.set(key, found);
      }
      return found;
    };
    const signers = new Map<string, Promise<{ operator: Address; retiredAt: bigint }>>();
    for (const stored of open) {
      try {
        await this.followReceipt(stored, now, nextSeqOf, signers, summary);
      } catch (error) {
        // One receipt's failure (an RPC error, the prover) never holds up the others: it is followed again next pass.
        this.skip(
          "receipt_error",
          {
            operator: stored.record.receipt.operator,
            seq: stored.record.receipt.seq.toString(),
            err: errorSummary(error),
          },
          "following a receipt failed: retried next pass",
        );
      }
    }
  }

  private async followReceipt(
    stored: StoredRecord,
    now: bigint,
    nextSeqOf: (operator: Address) => Promise<bigint>,
    signers: Map<string, Promise<{ operator: Address; retiredAt: bigint }>>,
    summary: PassSummary,
  ): Promise<void> {
    const store = this.state;
    const { record, receiptHash } = stored;
    const { receipt, request } = record;
    const operator = getAddress(receipt.operator);
    const evidence: SignedQuietReceipt = { receipt, request, signature: record.signature };
    const problem = await receiptProblem(this.evidenceContext(), receipt, request, record.signature, signers);
    if (problem !== undefined) {
      store.updateRecord(receiptHash, { state: "done", note: `not evidence: ${problem}` });
      this.skip(
        "not_evidence",
        { operator, seq: receipt.seq.toString(), problem },
        "receipt file is not evidence",
      );
      return;
    }
    const quiet = this.quiet!;
    const closedAt = request.deadline + quiet.commitWindow + quiet.challengeWindow;
    if (now > closedAt) {
      store.updateRecord(receiptHash, { state: "done", note: "challenge window closed" });
      return;
    }

    // Re-execution (once per receipt; a sampled-out one counts as done).
    let reexecutionDone = stored.reexecuted;
    if (!reexecutionDone) reexecutionDone = await this.reexecuteRecord(stored, evidence, summary);

    // Equivocation: two receipt files for one request (different seq).
    for (const other of store.recordsLike(operator, receipt.seq, receipt.request, receiptHash)) {
      if (other.record.receipt.seq === receipt.seq || !same(other.record.receipt.request, receipt.request))
        continue;
      const otherEvidence = {
        receipt: other.record.receipt,
        request: other.record.request,
        signature: other.record.signature,
      };
      if (
        (await receiptProblem(
          this.evidenceContext(),
          otherEvidence.receipt,
          otherEvidence.request,
          otherEvidence.signature,
          signers,
        )) !== undefined
      )
        continue;
      await this.challenge(equivocationCall(evidence, otherEvidence), summary, receiptHash);
    }
    // ... or a committed receipt for the same request at another seq.
    for (const entry of store.entriesForRequest(operator, receipt.request)) {
      if (entry.seq === receipt.seq) continue;
      await this.challenge(
        equivocationCall(evidence, asSigned(entryFromJson(entry.entryJson))),
        summary,
        receiptHash,
      );
    }

    // Its place in the log.
    const dueBy = request.deadline + quiet.commitWindow;
    const nextSeq = await nextSeqOf(operator);
    let placed = false;
    if (receipt.seq >= nextSeq) {
      if (now > dueBy) {
        this.finding("uncommitted", operator, receipt.seq, `seq ${receipt.seq} not committed by ${dueBy}`);
        placed = await this.challenge(uncommittedCall(evidence), summary, receiptHash);
      } else {
        // Two receipt files for one uncommitted seq: equivocation now (omission needs the commit).
        for (const other of store.recordsLike(operator, receipt.seq, receipt.request, receiptHash)) {
          if (other.record.receipt.seq !== receipt.seq) continue;
          const otherEvidence = {
            receipt: other.record.receipt,
            request: other.record.request,
            signature: other.record.signature,
          };
          if (
            (await receiptProblem(
              this.evidenceContext(),
              otherEvidence.receipt,
              otherEvidence.request,
              otherEvidence.signature,
              signers,
            )) !== undefined
          )
            continue;
          placed = await this.challenge(equivocationCall(evidence, otherEvidence), summary, receiptHash);
        }
      }
    } else {
      const batch = store.batchHolding(operator, receipt.seq);
      if (batch !== undefined)
        placed = await this.checkPlacement(evidence, batch, dueBy, summary, receiptHash);
    }
    if (placed && reexecutionDone) store.updateRecord(receiptHash, { state: "done" });
  }

  /**
   * A committed receipt's position: the leaf there must be the receipt's (else omission), and the batch in time (else
   * late). True when nothing more is to be done about it.
   */
  private async checkPlacement(
    evidence: SignedQuietReceipt,
    batch: StoredBatch,
    dueBy: bigint,
    summary: PassSummary,
    receiptHash: Hex,
  ): Promise<boolean> {
    const { receipt } = evidence;
    const fields = {
      root: batch.root,
      firstSeq: batch.firstSeq,
      count: batch.count,
      committedAt: batch.committedAt,
    };
    const leaf = receiptLeaf(receiptHash);
    if (batch.state === "checked") {
      const entries = this.state.entriesOf(batch.operator, batch.batchIndex);
      const index = Number(receipt.seq - batch.firstSeq);
      const committed = entries[index];
      if (committed !== undefined && !same(committed.leaf, leaf)) {
        this.finding("omission", receipt.operator, receipt.seq, `leaf ${committed.leaf} committed instead`);
        const tree = LogTree.fromLeaves(entries.map((e) => e.leaf));
        return this.challenge(
          omissionCall(evidence, batch.batchIndex, fields, committed.leaf, tree.proof(index)),
          summary,
          receiptHash,
        );
      }
    }
    if (batch.committedAt > dueBy) {
      this.finding(
        "late",
        receipt.operator,
        receipt.seq,
        `committed at ${batch.committedAt}, due by ${dueBy}`,
      );
      return this.challenge(lateCall(evidence, batch.batchIndex, fields), summary, receiptHash);
    }
    // Committed in time; with the data unavailable the leaf cannot be compared yet.
    return batch.state === "checked";
  }

  /** Re-execute one receipt file (sampled); on a wrong zk class, prove and challenge. True when done. */
  private async reexecuteRecord(
    stored: StoredRecord,
    evidence: SignedQuietReceipt,
    summary: PassSummary,
  ): Promise<boolean> {
    const { record, receiptHash } = stored;
    const { receipt, request } = record;
    const model = this.models.get(request.modelId.toLowerCase());
    if (model === undefined || !sampled(receipt.operator, receipt.seq, this.options.sample ?? 1)) {
      this.state.updateRecord(receiptHash, { reexecuted: true });
      return true;
    }
    if (record.input === undefined) {
      this.skip(
        "no_input",
        { operator: receipt.operator, seq: receipt.seq.toString() },
        "receipt file has no input",
      );
      this.state.updateRecord(receiptHash, { reexecuted: true });
      return true;
    }
    const result = await reexecute(model, record.input, request.inputHash, receipt.outputHash);
    if (result.outcome === "unusable") {
      this.skip(
        "input_unusable",
        { operator: receipt.operator, seq: receipt.seq.toString(), detail: result.detail },
        "cannot re-execute",
      );
      this.state.updateRecord(receiptHash, { reexecuted: true });
      return true;
    }
    this.state.count("reexecuted");
    if (result.outcome === "match") {
      this.state.updateRecord(receiptHash, { reexecuted: true });
      return true;
    }
    this.state.count("mismatches");
    this.finding(
      "wrong_output",
      receipt.operator,
      receipt.seq,
      `receipt output hash ${receipt.outputHash}, the model gives ${result.outputHash}`,
    );
    if (result.classIndex === undefined || model.quantized === undefined) {
      // No circuit: the contract cannot slash it; reported only.
      this.state.updateRecord(receiptHash, { reexecuted: true });
      return true;
    }
    const challenger = this.challenger;
    if (challenger === undefined) {
      this.state.updateRecord(receiptHash, { reexecuted: true, note: "wrong output: no challenger key" });
      return true;
    }
    const [{ prove, toSolidityCalldata }, { circuitInput }, { settlementProof }] = await Promise.all([
      import("../zk/prover.js"),
      import("../zk/witness.js"),
      import("../zk/settlement.js"),
    ]);
    const binding = await this.ctx.publicClient.readContract({
      address: this.quiet!.address,
      abi: quietModeAbi,
      functionName: "quietBinding",
      args: [receipt.operator, receipt.seq, challenger],
    });
    this.log.info({ operator: receipt.operator, seq: receipt.seq.toString() }, "proving the wrong output");
    const proven = await prove(circuitInput(model.quantized, result.quantizedInput!, binding));
    const { output, proof } = settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
    if (output !== result.classIndex) {
      throw new Error(`the proof's output ${output} is not the reference class ${result.classIndex}`);
    }
    const done = await this.challenge(wrongOutputCall(evidence, output, proof), summary, receiptHash);
    if (done) this.state.updateRecord(receiptHash, { reexecuted: true });
    return done;
  }

  /** Send a challenge (simulated first, recorded before sending); true when it is decided (sent, landed, refused). */
  private async challenge(
    call: ChallengeCall,
    summary: PassSummary,
    receiptHash: Hex | undefined,
  ): Promise<boolean> {
    const detail = { kind: call.kind, operator: call.operator, seq: call.seq.toString() };
    if (this.options.walletClient === undefined) {
      this.finding(`unchallenged:${call.kind}`, call.operator, call.seq, "no challenger key: reported only");
      return true;
    }
    const result = await sendChallenge(this.ctx, this.quiet!.address, this.state, call);
    switch (result.outcome) {
      case "won":
        this.state.count("challenges_sent");
        if (result.slashed > 0n || call.kind === "wrong_output") this.state.count("challenges_won");
        summary.challengesSent++;
        this.log.warn(
          { ...detail, slashed: result.slashed.toString(), tx: result.txHash },
          "challenge landed",
        );
        return true;
      case "landed":
        this.log.info(detail, "challenge found landed (sent before a restart): not sent again");
        return true;
      case "known":
        return true;
      case "refused":
        this.skip(`challenge_refused:${result.reason}`, detail, "challenge would revert: not sent");
        if (receiptHash !== undefined)
          this.state.updateRecord(receiptHash, { note: `${call.kind}: ${result.reason}` });
        return true;
      case "failed":
        this.state.count("challenges_sent");
        this.skip("challenge_failed", { ...detail, error: result.detail }, "challenge reverted");
        return true;
    }
  }
}

/** A batch entry as challenge evidence. */
function asSigned(entry: BatchEntry): SignedQuietReceipt {
  return { receipt: entry.receipt, request: entry.request, signature: entry.signature };
}
