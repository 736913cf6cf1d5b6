import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  encodeFunctionData,
  http,
  keccak256,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { inferenceSettlementAbi, modelRegistryAbi, protocolErrorsAbi } from "../abi/index.js";
import { fromDataUri, decodeFeatures } from "../model/encoding.js";
import { inferBytes } from "../model/infer.js";
import { createModel, type LoadedModel } from "../model/onnx-runtime.js";
import { sha256Hex } from "../model/hash.js";
import { RequestStatus, VerificationMode } from "../protocol/modes.js";
import { toInferenceRequest } from "../protocol/request.js";
import { resultTypedData, settlementDomain } from "../protocol/typed-data.js";
import { fieldToBytes32 } from "../protocol/zk.js";
import {
  buildZkInference,
  inputCommitment,
  IRIS_ZK_PARAMS,
  prove,
  quantizeInput,
  quantizeOnnx,
  settlementProof,
  toSolidityCalldata,
  type QuantizedMlp,
} from "../zk/index.js";
import { OperatorStore, type StoredRequest } from "./store.js";

/** A model this node serves: its registered id and a local copy of its file (checked against the registry). */
export interface ServedModel {
  modelId: Hex;
  file: string;
}

export interface OperatorNodeOptions {
  rpcUrl: string;
  settlement: Address;
  /** Key of the operator (staking) account: sends the transactions and is the `operator` in results. */
  operatorKey: Hex;
  /** The operator's registered signing key (signature mode). */
  signerKey: Hex;
  models: ServedModel[];
  /** SQLite file holding the node's state. */
  database: string;
  pollIntervalMs?: number;
  /** First block to scan on a fresh database. */
  fromBlock?: bigint;
  /** Loopback port for `/health` and `/metrics` (0: any free port; undefined: no server). */
  healthPort?: number;
  logger?: Logger;
  /** Attempts per request before giving up on it (RPC errors). */
  maxAttempts?: number;
}

interface ModelRuntime {
  modelId: Hex;
  modes: number;
  model: LoadedModel;
  quantized?: QuantizedMlp;
}

const CHUNK = 2_000n;

/**
 * An operator node: watches `RequestOpened` for the models it serves, checks each committed model file's hash
 * before serving, runs the model with onnxruntime-web (signature mode) or proves it (zk mode), and fulfils.
 *
 * Every step is persisted first (see `OperatorStore`): the result is signed once and kept; the transaction is
 * signed with an explicit nonce and kept as raw bytes before it is broadcast; after a crash the same bytes are
 * re-broadcast (the same hash: at most one transaction per request) or found settled. Before a transaction is
 * signed it is simulated, so a request another operator already settled is dropped without spending gas.
 */
export class OperatorNode {
  readonly store: OperatorStore;
  private readonly log: Logger;
  private readonly client: PublicClient;
  private readonly account;
  private readonly signer;
  private runtimes = new Map<string, ModelRuntime>();
  private chain?: Chain;
  private timer?: NodeJS.Timeout;
  private health?: Server;
  private running = false;
  private lastBlock = 0n;
  private ticking?: Promise<void>;

  constructor(private readonly options: OperatorNodeOptions) {
    this.store = new OperatorStore(options.database);
    this.log = options.logger ?? pino({ name: "opg-operator" });
    this.client = createPublicClient({ transport: http(options.rpcUrl, { retryCount: 3 }) });
    this.account = privateKeyToAccount(options.operatorKey);
    this.signer = privateKeyToAccount(options.signerKey);
  }

  get address(): Address {
    return this.account.address;
  }

  /** Load and check the served models, start the health server and the polling loop. */
  async start(): Promise<{ healthUrl?: string }> {
    const chainId = await this.client.getChainId();
    this.chain = {
      id: chainId,
      name: `chain ${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [this.options.rpcUrl] } },
    };
    const modelsAddress = await this.client.readContract({
      address: this.options.settlement,
      abi: inferenceSettlementAbi,
      functionName: "models",
    });
    for (const served of this.options.models) {
      const version = await this.client.readContract({
        address: modelsAddress,
        abi: modelRegistryAbi,
        functionName: "getModel",
        args: [served.modelId],
      });
      const bytes = new Uint8Array(await readFile(served.file));
      const fileHash = sha256Hex(bytes);
      if (fileHash !== version.fileHash) {
        throw new Error(
          `model ${served.modelId}: ${served.file} has sha256 ${fileHash}, the registry commits to ${version.fileHash}`,
        );
      }
      const model = await createModel(bytes, { expectedSha256: version.fileHash });
      const zk = (version.modes & VerificationMode.Zk) !== 0;
      this.runtimes.set(served.modelId.toLowerCase(), {
        modelId: served.modelId,
        modes: version.modes,
        model,
        ...(zk ? { quantized: quantizeOnnx(bytes, IRIS_ZK_PARAMS) } : {}),
      });
      this.log.info(
        { modelId: served.modelId, fileHash, modes: version.modes },
        "serving model: file matches the registry",
      );
    }
    let healthUrl: string | undefined;
    if (this.options.healthPort !== undefined) {
      this.health = createServer((req, res) => {
        const counts = this.store.counts();
        if (req.url === "/metrics") {
          res.setHeader("content-type", "text/plain; version=0.0.4");
          const lines = Object.entries(counts).map(
            ([state, n]) => `opg_operator_requests{state="${state}"} ${n}`,
          );
          lines.push(`opg_operator_last_block ${this.lastBlock}`);
          res.end(`${lines.join("\n")}\n`);
          return;
        }
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            ok: this.running,
            operator: this.address,
            lastBlock: this.lastBlock.toString(),
            requests: counts,
          }),
        );
      });
      await new Promise<void>((resolve) =>
        this.health!.listen(this.options.healthPort, "127.0.0.1", resolve),
      );
      healthUrl = `http://127.0.0.1:${(this.health.address() as AddressInfo).port}`;
    }
    this.running = true;
    this.schedule(0);
    this.log.info(
      { operator: this.address, signer: this.signer.address, healthUrl },
      "operator node started",
    );
    return healthUrl === undefined ? {} : { healthUrl };
  }

  /** Stop polling, wait for the step in progress, close the health server and the database. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.ticking;
    const health = this.health;
    if (health !== undefined) {
      await new Promise<void>((resolve) => {
        health.close(() => {
          resolve();
        });
      });
    }
    for (const runtime of this.runtimes.values()) await runtime.model.release();
    this.store.close();
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error: unknown) => {
          this.log.warn({ err: String(error) }, "step failed; retrying");
        })
        .finally(() => {
          this.schedule(this.options.pollIntervalMs ?? 500);
        });
    }, delay);
  }

  /** One pass: confirm what was sent, scan new blocks, compute, submit. */
  async tick(): Promise<void> {
    await this.confirm();
    await this.scan();
    await this.compute();
    await this.submit();
  }

  private async scan(): Promise<void> {
    const latest = await this.client.getBlockNumber();
    let from = this.store.cursor() ?? this.options.fromBlock ?? 0n;
    while (from <= latest) {
      const to = from + CHUNK - 1n < latest ? from + CHUNK - 1n : latest;
      const events = await this.client.getContractEvents({
        address: this.options.settlement,
        abi: inferenceSettlementAbi,
        eventName: "RequestOpened",
        fromBlock: from,
        toBlock: to,
        strict: true,
      });
      for (const event of events) {
        const request = toInferenceRequest(event.args.request);
        const mine =
          request.operator === "0x0000000000000000000000000000000000000000" ||
          request.operator.toLowerCase() === this.address.toLowerCase();
        if (!this.runtimes.has(request.modelId.toLowerCase()) || !mine) continue;
        if (this.store.addSeen(event.args.requestId, request, event.args.inputUri)) {
          this.log.info({ requestId: event.args.requestId.toString(), mode: request.mode }, "request seen");
        }
      }
      this.store.setCursor(to + 1n);
      from = to + 1n;
    }
    this.lastBlock = latest;
  }

  private async compute(): Promise<void> {
    const now = BigInt(Math.floor(Date.now() / 1000));
    const block = await this.client.getBlock();
    const chainNow = block.timestamp > now ? block.timestamp : now;
    for (const stored of this.store.inState("seen")) {
      const { requestId, request } = stored;
      if (request.deadline <= chainNow) {
        this.store.finish(requestId, "skipped", "expired before it was served");
        continue;
      }
      const runtime = this.runtimes.get(request.modelId.toLowerCase())!;
      let input: Uint8Array;
      try {
        input = fromDataUri(stored.inputUri);
      } catch (error) {
        this.store.finish(requestId, "skipped", `input unavailable: ${String(error)}`);
        continue;
      }
      if (request.mode === VerificationMode.Signature) {
        if (keccak256(input) !== request.inputHash) {
          this.store.finish(requestId, "skipped", "input does not match the request's input hash");
          continue;
        }
        const output = await inferBytes(runtime.model, input);
        const outputHash = keccak256(output);
        const domain = settlementDomain(this.chain!.id, this.options.settlement);
        const signature = await this.signer.signTypedData(
          resultTypedData(domain, {
            requestId,
            modelId: request.modelId,
            inputHash: request.inputHash,
            outputHash,
            operator: this.address,
          }),
        );
        this.store.markComputed(requestId, {
          mode: "signature",
          output: `0x${Buffer.from(output).toString("hex")}`,
          outputHash,
          signature,
        });
      } else if (request.mode === VerificationMode.Zk && runtime.quantized !== undefined) {
        const features = decodeFeatures(input, runtime.model.inputWidth);
        const commitment = fieldToBytes32(
          await inputCommitment(quantizeInput(features, runtime.quantized), runtime.quantized.params),
        );
        if (commitment !== request.inputHash) {
          this.store.finish(requestId, "skipped", "input does not match the request's input commitment");
          continue;
        }
        const built = await buildZkInference(runtime.quantized, features, requestId, this.address);
        const proven = await prove(built.input);
        const { output, proof } = settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
        const str = (v: bigint) => v.toString();
        this.store.markComputed(requestId, {
          mode: "zk",
          output: output.toString(),
          proof: { a: proof.a.map(str), b: proof.b.map((row) => row.map(str)), c: proof.c.map(str) },
        });
        this.log.info({ requestId: requestId.toString(), provingMs: Math.round(proven.provingMs) }, "proved");
      } else {
        this.store.finish(requestId, "skipped", `mode ${request.mode} is not served by this node`);
      }
    }
  }

  private calldata(stored: StoredRequest): Hex {
    const { request, requestId, result } = stored;
    if (result?.mode === "signature") {
      return encodeFunctionData({
        abi: inferenceSettlementAbi,
        functionName: "fulfillSigned",
        args: [
          request,
          requestId,
          { operator: this.address, outputHash: result.outputHash, output: result.output, outputUri: "" },
          result.signature,
        ],
      });
    }
    if (result?.mode === "zk") {
      const big = (v: string) => BigInt(v);
      return encodeFunctionData({
        abi: inferenceSettlementAbi,
        functionName: "fulfillZk",
        args: [
          request,
          requestId,
          BigInt(result.output),
          {
            a: [big(result.proof.a[0]!), big(result.proof.a[1]!)],
            b: [
              [big(result.proof.b[0]![0]!), big(result.proof.b[0]![1]!)],
              [big(result.proof.b[1]![0]!), big(result.proof.b[1]![1]!)],
            ],
            c: [big(result.proof.c[0]!), big(result.proof.c[1]!)],
          },
        ],
      });
    }
    throw new Error(`request ${requestId} has no computed result`);
  }

  private async submit(): Promise<void> {
    const batch = this.store.inState("computed");
    if (batch.length === 0) return;
    const wallet = createWalletClient({
      account: this.account,
      chain: this.chain!,
      transport: http(this.options.rpcUrl),
    });
    // Once per batch: the chain's pending nonce (the store hands out nonces from there) and the fee level.
    const [pending, fees] = await Promise.all([
      this.client.getTransactionCount({ address: this.address, blockTag: "pending" }),
      this.client.estimateFeesPerGas(),
    ]);
    // Simulate every fulfilment (one execution each, concurrently): a request another operator already settled
    // is dropped here without spending gas.
    const simulated = await Promise.all(
      batch.map(async (stored) => {
        const data = this.calldata(stored);
        try {
          await this.client.call({
            account: this.account,
            to: this.options.settlement,
            data,
            gas: gasLimit(stored),
          });
          return { stored, data };
        } catch (error) {
          this.dropUnsendable(stored.requestId, error);
          return undefined;
        }
      }),
    );
    const sendable = simulated.filter((s) => s !== undefined);
    // Nonces in request order, each transaction signed and stored before any is broadcast.
    const signed: { requestId: bigint; rawTx: Hex }[] = [];
    for (const { stored, data } of sendable) {
      const nonce = this.store.reserveNonce(pending);
      const rawTx = await wallet.signTransaction({
        to: this.options.settlement,
        data,
        nonce,
        gas: gasLimit(stored),
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        chain: this.chain!,
      });
      this.store.markSubmitted(stored.requestId, rawTx, keccak256(rawTx), nonce);
      signed.push({ requestId: stored.requestId, rawTx });
    }
    await Promise.all(signed.map(({ requestId, rawTx }) => this.broadcast(requestId, rawTx)));
    if (signed.length > 0)
      this.log.info(
        { count: signed.length, firstNonce: this.store.get(signed[0]!.requestId)?.nonce },
        "fulfilments sent",
      );
  }

  /** Record why a fulfilment that failed simulation will not be sent (or count an RPC failure). */
  private dropUnsendable(requestId: bigint, error: unknown): void {
    const reason = revertName(error);
    if (reason === "RequestNotPending") {
      this.store.finish(requestId, "lost", "already settled by someone else (detected before sending)");
    } else if (reason === "RequestExpired" || reason === "ModelRevoked") {
      this.store.finish(requestId, "skipped", reason);
    } else if (reason !== undefined) {
      this.store.finish(requestId, "skipped", `would revert: ${reason}`);
    } else if (this.store.noteAttempt(requestId, String(error)) >= (this.options.maxAttempts ?? 10)) {
      this.store.finish(requestId, "skipped", `gave up after RPC errors: ${String(error)}`);
    }
  }

  private async broadcast(requestId: bigint, rawTx: Hex): Promise<void> {
    try {
      await this.client.sendRawTransaction({ serializedTransaction: rawTx });
    } catch (error) {
      // Already known / nonce used by this very transaction: the receipt check decides. Anything else is retried.
      this.log.warn(
        { requestId: requestId.toString(), err: String(error).split("\n")[0] },
        "broadcast failed; will check and retry",
      );
    }
  }

  private async confirm(): Promise<void> {
    await Promise.all(this.store.inState("submitted").map((stored) => this.confirmOne(stored)));
  }

  private async confirmOne(stored: StoredRequest): Promise<void> {
    const { requestId, txHash, rawTx } = stored;
    const receipt = await this.client.getTransactionReceipt({ hash: txHash! }).catch(() => undefined);
    if (receipt !== undefined) {
      if (receipt.status === "success") {
        this.store.finish(requestId, "settled");
        this.log.info(
          { requestId: requestId.toString(), txHash, gasUsed: receipt.gasUsed.toString() },
          "settled",
        );
      } else {
        const status = await this.requestStatus(requestId);
        this.store.finish(
          requestId,
          status === "Pending" ? "skipped" : "lost",
          `transaction reverted; request ${status}`,
        );
      }
      return;
    }
    const status = await this.requestStatus(requestId);
    if (status !== "Pending") {
      // Settled while our transaction is unmined: it will revert or never mine; nothing more to do for it.
      this.store.finish(requestId, "lost", `request ${status} before our transaction was mined`);
      return;
    }
    await this.broadcast(requestId, rawTx!);
  }

  private async requestStatus(requestId: bigint): Promise<string> {
    const index = await this.client.readContract({
      address: this.options.settlement,
      abi: inferenceSettlementAbi,
      functionName: "requestStatus",
      args: [requestId],
    });
    return RequestStatus[index] ?? "None";
  }
}

/**
 * A gas cap for a fulfilment: what the verification path needs at most (measured: signature ~75k, zk ~280k,
 * both with cold accounts and event data ~30k more), plus the callback's exact allowance and its EIP-150 share.
 */
function gasLimit(stored: StoredRequest): bigint {
  const base = stored.result?.mode === "zk" ? 400_000n : 200_000n;
  const callback = BigInt(stored.request.callbackGasLimit);
  return base + callback + callback / 63n + (callback > 0n ? 20_000n : 0n);
}

/** The custom error name of a reverted call, if it is one. */
function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName;
  const raw = error.walk((e) => typeof (e as { data?: unknown }).data === "string") as {
    data?: string;
  } | null;
  if (typeof raw?.data === "string" && raw.data.startsWith("0x") && raw.data.length >= 10) {
    try {
      return decodeErrorResult({ abi: protocolErrorsAbi, data: raw.data as Hex }).errorName;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
