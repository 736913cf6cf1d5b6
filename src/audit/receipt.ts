/**
 * Audit a quiet-mode receipt end to end (issue #10 §6, docs/quiet.md "Auditing a receipt"): the deployment it was
 * signed for, both signatures and the operator's key at the receipt's time, the model commitment, its inclusion in
 * the operator's committed log (proof verified against the on-chain root, never taken on trust), the challenge window,
 * and re-execution (or a Groth16 proof) of the committed model on the committed input.
 *
 * Browser-safe: no `node:` imports. The model file comes as bytes, the network as a `fetch`, and the ways to run and
 * prove the model as tools (`auditReceiptWithModel` in `receipt-tools.ts` builds them in Node).
 */
import {
  formatUnits,
  hexToBigInt,
  hexToBytes,
  isAddressEqual,
  keccak256,
  size,
  zeroAddress,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { inferenceSettlementAbi, modelRegistryAbi, operatorRegistryAbi, quietModeAbi } from "../abi/index.js";
import type { AuditTools } from "../modes/types.js";
import { computeModelId } from "../protocol/ids.js";
import { ModelStatus, VerificationMode } from "../protocol/modes.js";
import type { QuietReceiptRecord } from "../protocol/quiet-json.js";
import {
  bytesOutputHash,
  hashQuietRequest,
  hashReceipt,
  quietModeDomain,
  recoverQuietRequestSigner,
  recoverReceiptSigner,
  zkOutputHash,
} from "../protocol/quiet.js";
import type { ProtocolDomain } from "../protocol/typed-data.js";
import type { ZkProofArgs } from "../protocol/zk.js";
import { findBatch, proveLeaf, type ReceiptFetch } from "./receipt-log.js";
import {
  RECEIPT_CHECKS as C,
  type ReceiptAuditCheck,
  type ReceiptAuditReport,
  type ReceiptState,
} from "./receipt-types.js";

export * from "./receipt-types.js";
export { batchCommitment, DEFAULT_LOG_RANGE, findBatch, type ReceiptFetch } from "./receipt-log.js";

/** The request path's audit tools, plus proving (zk-circuit models, `prove: true`). */
export interface ReceiptAuditTools extends AuditTools {
  /** Zk: prove the committed circuit on the input bytes with this binding signal; the proven class and the proof. */
  proveZk?: (input: Uint8Array, binding: bigint) => Promise<{ output: bigint; proof: ZkProofArgs }>;
}

/** What a receipt audit takes: the receipt file's record, the chain, and optionally the model and the network. */
export interface ReceiptAuditOptions extends ReceiptAuditTools {
  client: PublicClient;
  /** The core (`InferenceSettlement`): the live `QuietMode` and the registries are read through it. */
  settlement: Address;
  /** The receipt file (`receiptRecordFromJson`). */
  record: QuietReceiptRecord;
  /** The model file's bytes; checked against the registered sha256 (with `sha256`) before anything is re-run. */
  modelFile?: Uint8Array;
  /** sha256 of bytes as 0x-hex (the registry's file hash). */
  sha256?: (bytes: Uint8Array) => Hex;
  /** Reads the operator's gateway and batch data (default: the global `fetch`; `null`: no network but the chain). */
  fetch?: ReceiptFetch | null;
  /** The operator's gateway (default: the record's `operatorUrl`). */
  operatorUrl?: string;
  /** First block to search for batch commits (the deployment block; default 0). */
  fromBlock?: bigint;
  /** Blocks per log read (default {@link DEFAULT_LOG_RANGE}). */
  logRange?: bigint;
  /** Generate a Groth16 proof of the receipt's request and verify it (zk-circuit models; needs `proveZk`). */
  prove?: boolean;
  /** The account a generated proof is bound to (`quietBinding`): who could submit it as a challenge. Default zero. */
  challenger?: Address;
  /** Per HTTP request, ms (default 10,000). */
  timeoutMs?: number;
}

const statusName = (status: number) =>
  Object.entries(ModelStatus).find(([, value]) => value === status)?.[0] ?? `#${status}`;
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const describe = (error: unknown) => (error instanceof Error ? error.message.split("\n")[0]! : String(error));

/** The deployment as the chain has it: the live `QuietMode`, its windows, the registries. */
interface Deployment {
  chainId: bigint;
  quietMode: Address;
  domain: ProtocolDomain;
  commitWindow: bigint;
  challengeWindow: bigint;
  maxTtl: bigint;
  operators: Address;
  models: Address;
}

async function readDeployment(client: PublicClient, settlement: Address): Promise<Deployment | undefined> {
  const read = (functionName: "models" | "operators") =>
    client.readContract({ address: settlement, abi: inferenceSettlementAbi, functionName });
  const [chainId, quietMode, models, operators] = await Promise.all([
    client.getChainId(),
    client.readContract({
      address: settlement,
      abi: inferenceSettlementAbi,
      functionName: "modeContract",
      args: [VerificationMode.Quiet],
    }),
    read("models"),
    read("operators"),
  ]);
  if (quietMode === zeroAddress) return undefined;
  const window = (functionName: "commitWindow" | "challengeWindow" | "maxTtl") =>
    client.readContract({ address: quietMode, abi: quietModeAbi, functionName });
  const [commitWindow, challengeWindow, maxTtl] = await Promise.all([
    window("commitWindow"),
    window("challengeWindow"),
    window("maxTtl"),
  ]);
  return {
    chainId: BigInt(chainId),
    quietMode,
    domain: quietModeDomain(chainId, quietMode),
    commitWindow,
    challengeWindow,
    maxTtl,
    operators,
    models,
  };
}

function readModel(client: PublicClient, models: Address, modelId: Hex) {
  return client.readContract({
    address: models,
    abi: modelRegistryAbi,
    functionName: "getModel",
    args: [modelId],
  });
}

/** The last block at or before `time` (unix seconds), searched between `low` and the latest block. */
async function blockAt(
  client: PublicClient,
  time: bigint,
  low: bigint,
): Promise<{ number: bigint; timestamp: bigint }> {
  const latest = await client.getBlock({ blockTag: "latest" });
  if (latest.timestamp <= time) return { number: latest.number, timestamp: latest.timestamp };
  let lo = low;
  let hi = latest.number;
  let found = await client.getBlock({ blockNumber: lo });
  if (found.timestamp > time) return { number: found.number, timestamp: found.timestamp };
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    const block = await client.getBlock({ blockNumber: mid });
    if (block.timestamp <= time) {
      lo = mid;
      found = block;
    } else hi = mid;
  }
  return { number: found.number, timestamp: found.timestamp };
}

/**
 * Check a quiet receipt end to end from its record, chain data, and (optionally) the operator's served data, the
 * model file and the tools to run or prove it. Every check carries its evidence; nothing the operator serves is
 * trusted (proofs are verified against the root committed on chain). The verdict is `failed` when any check failed,
 * `pending` while the receipt is uncommitted (before its commit deadline) or in its challenge window, and `verified`
 * once final with every check passed. Chain reads that fail (an unreachable RPC) are thrown.
 */
export async function auditReceipt(options: ReceiptAuditOptions): Promise<ReceiptAuditReport> {
  const { client, record } = options;
  const { request, receipt } = record;
  const checks: ReceiptAuditCheck[] = [];
  const skipped: string[] = [];
  const check = (name: string, ok: boolean, detail: string, pending = false) =>
    checks.push({ name, ok, detail, ...(pending && { pending: true }) });
  const report = (state: ReceiptState, extra: Partial<ReceiptAuditReport> = {}): ReceiptAuditReport => ({
    verdict: checks.some((c) => !c.ok) ? "failed" : state === "final" ? "verified" : "pending",
    state,
    checks,
    skipped,
    operator: receipt.operator,
    seq: receipt.seq,
    ...extra,
  });

  // Deployment: the record names the chain and the QuietMode it was signed under; both must be this deployment's.
  const deployment = await readDeployment(client, options.settlement);
  if (deployment === undefined) {
    check(C.quietMode, false, `no live QuietMode is bound to mode 4 at the core ${options.settlement}`);
    return report("unknown");
  }
  const { domain, quietMode } = deployment;
  check(
    C.chain,
    BigInt(record.chainId) === deployment.chainId,
    `record: chain ${record.chainId}; RPC: chain ${deployment.chainId}`,
  );
  check(
    C.quietMode,
    same(record.quietMode, quietMode),
    `record: ${record.quietMode}; the core's live mode-4 contract: ${quietMode}`,
  );

  // The pair: the receipt answers this request, by its operator, within maxTtl (as the contract's _checkPair).
  let requestHash: Hex | undefined;
  let receiptHash: Hex | undefined;
  try {
    requestHash = hashQuietRequest(request);
    receiptHash = hashReceipt(receipt);
  } catch (error) {
    check(C.pair, false, `malformed: ${describe(error)}`);
    return report("unknown");
  }
  const ttlOk = request.deadline <= receipt.time + deployment.maxTtl;
  check(
    C.pair,
    same(receipt.request, requestHash) && same(receipt.operator, request.operator) && ttlOk,
    `receipt.request ${receipt.request}, hashQuietRequest(request) ${requestHash}; operator ${receipt.operator} / ${request.operator}; deadline ${request.deadline} ${ttlOk ? "≤" : ">"} time ${receipt.time} + maxTtl ${deployment.maxTtl}`,
  );

  // Signatures, under this deployment's domain: a record replayed from another chain or contract recovers nobody.
  let payer: Address | undefined;
  try {
    payer = await recoverQuietRequestSigner(domain, request, record.requestSignature);
  } catch {
    payer = undefined;
  }
  check(
    C.payer,
    payer !== undefined && isAddressEqual(payer, request.payer),
    `recovered ${payer ?? "nothing"}, request.payer ${request.payer} (chain ${deployment.chainId}, QuietMode ${quietMode})`,
  );
  let signer: Address | undefined;
  try {
    signer = await recoverReceiptSigner(domain, receipt, record.signature);
  } catch {
    signer = undefined;
  }
  if (signer === undefined) {
    check(C.signer, false, "the signature is malformed: it recovers no key");
  } else {
    const key = await client.readContract({
      address: deployment.operators,
      abi: operatorRegistryAbi,
      functionName: "signerRecord",
      args: [signer],
    });
    const retired = key.retiredAt !== 0n;
    const validAtTime = !retired || receipt.time < key.retiredAt;
    check(
      C.signer,
      isAddressEqual(key.operator, receipt.operator) && validAtTime,
      !isAddressEqual(key.operator, receipt.operator)
        ? `recovered ${signer}, a key of ${key.operator === zeroAddress ? "no operator" : key.operator}, not of ${receipt.operator}`
        : `recovered ${signer}, a key of ${receipt.operator}: ${retired ? `retired at ${key.retiredAt}, ${validAtTime ? "after" : "not after"} the receipt's time ${receipt.time}` : "its current key"}`,
    );
  }
  const at = await blockAt(client, receipt.time, options.fromBlock ?? 0n);
  const [operatorRecord, minStake] = await Promise.all([
    client.readContract({
      address: deployment.operators,
      abi: operatorRegistryAbi,
      functionName: "getOperator",
      args: [receipt.operator],
      blockNumber: at.number,
    }),
    client.readContract({
      address: deployment.operators,
      abi: operatorRegistryAbi,
      functionName: "minStake",
      blockNumber: at.number,
    }),
  ]);
  check(
    C.stake,
    operatorRecord.stake > 0n && operatorRecord.stake >= minStake,
    `stake ${formatUnits(operatorRecord.stake, 18)} OPG, minimum ${formatUnits(minStake, 18)} OPG, at block ${at.number} (time ${at.timestamp}, receipt time ${receipt.time})`,
  );

  // The model version: registered, derived from its content, open to quiet mode; the output is the receipt's.
  let model: Awaited<ReturnType<typeof readModel>> | undefined;
  try {
    model = await readModel(client, deployment.models, request.modelId);
  } catch (error) {
    check(C.model, false, `model ${request.modelId} is not registered (${describe(error)})`);
  }
  const zk = model !== undefined && model.zkVerifier !== zeroAddress;
  if (model !== undefined) {
    const derived = computeModelId(model);
    check(
      C.model,
      derived === request.modelId && (model.modes & VerificationMode.Quiet) !== 0,
      `model ${request.modelId}: id ${derived === request.modelId ? "derives from" : "does not derive from"} its content (file sha256 ${model.fileHash}), mode flags ${model.modes}, status ${statusName(model.status)}${zk ? `, zk circuit (verifier ${model.zkVerifier})` : ""}`,
    );
    let expected: Hex | undefined;
    try {
      if (!zk) expected = bytesOutputHash(record.output);
      else if (size(record.output) === 32) expected = zkOutputHash(hexToBigInt(record.output));
    } catch {
      expected = undefined;
    }
    check(
      C.output,
      expected !== undefined &&
        same(expected, receipt.outputHash) &&
        same(record.outputHash, receipt.outputHash),
      expected === undefined
        ? `the output (${size(record.output)} bytes) is not a zk-circuit model's class word (32 bytes)`
        : `${zk ? "keccak256(abi.encode(class))" : "keccak256(output)"} = ${expected}; receipt.outputHash ${receipt.outputHash}; record.outputHash ${record.outputHash}`,
    );
  }

  // The log: committed (proof verified against the on-chain root), in time, not struck, past the challenge window.
  const latest = await client.getBlock({ blockTag: "latest" });
  const chainTime = latest.timestamp;
  const commitDeadline = request.deadline + deployment.commitWindow;
  const challengeDeadline = commitDeadline + deployment.challengeWindow;
  const times = { chainTime, commitDeadline, challengeDeadline };
  const [nextSeq] = await client.readContract({
    address: quietMode,
    abi: quietModeAbi,
    functionName: "head",
    args: [receipt.operator],
  });
  let state: ReceiptState = "unknown";
  const extra: Partial<ReceiptAuditReport> = { ...times };
  if (receipt.seq >= nextSeq) {
    if (chainTime <= commitDeadline) {
      state = "uncommitted";
      check(
        C.committed,
        true,
        `not yet: seq ${receipt.seq} ≥ the log's next seq ${nextSeq}; the operator must commit it by ${commitDeadline} (chain time ${chainTime})`,
        true,
      );
    } else {
      check(
        C.committed,
        false,
        `never committed: seq ${receipt.seq} ≥ the log's next seq ${nextSeq} after the commit deadline ${commitDeadline} (chain time ${chainTime}): omission, challengeUncommitted until ${challengeDeadline}`,
      );
    }
  } else {
    const batch = await findBatch(
      client,
      quietMode,
      receipt.operator,
      receipt.seq,
      options.fromBlock ?? 0n,
      options.logRange,
    );
    if (batch === undefined) {
      check(
        C.committed,
        false,
        `seq ${receipt.seq} is below the log's next seq ${nextSeq}, but no BatchCommitted event from block ${options.fromBlock ?? 0n} holds it`,
      );
    } else {
      const fetcher = options.fetch === null ? undefined : (options.fetch ?? globalThis.fetch);
      const outcome = await proveLeaf(
        batch,
        receipt.seq,
        receiptHash,
        fetcher,
        options.operatorUrl ?? record.operatorUrl,
        options.timeoutMs ?? 10_000,
      );
      const where = `batch ${batch.batchIndex} (seq ${batch.firstSeq}…${batch.firstSeq + BigInt(batch.count) - 1n}, root ${batch.root}, block ${batch.blockNumber})`;
      if (outcome.kind === "included") {
        check(
          C.committed,
          true,
          `${where}: the leaf's proof (${outcome.inclusion.proof.length} nodes, from the ${outcome.source}) verifies against the on-chain root`,
        );
        extra.inclusion = outcome.inclusion;
        extra.inclusionSource = outcome.source;
        const inTime = batch.committedAt <= commitDeadline;
        check(
          C.inTime,
          inTime,
          `committed at ${batch.committedAt}, deadline ${commitDeadline}${inTime ? "" : `: late (omission, challengeLate until ${challengeDeadline})`}`,
        );
        if (inTime) state = chainTime <= challengeDeadline ? "in window" : "final";
      } else if (outcome.kind === "other leaf") {
        check(
          C.committed,
          false,
          `${where} commits another leaf ${outcome.omission.committedLeaf} at seq ${receipt.seq} (proof from the ${outcome.source}, verified against the on-chain root): omission, challengeOmission until ${challengeDeadline}`,
        );
        extra.omission = outcome.omission;
      } else {
        check(
          C.committed,
          false,
          `${where} holds seq ${receipt.seq}, but no source gave a proof that verifies against its root: ${outcome.reasons.join("; ")}`,
        );
      }
    }
  }

  // A wrong output can be struck before its receipt is committed: read it whatever the log says.
  const struck = await client.readContract({
    address: quietMode,
    abi: quietModeAbi,
    functionName: "isStruck",
    args: [receipt.operator, receipt.seq],
  });
  check(
    C.struck,
    !struck,
    struck
      ? "struck by a proven wrong output (ReceiptStruck): its fee went back to the payer"
      : "isStruck(operator, seq) is false",
  );
  if (struck) state = "struck";
  else if (state === "in window") {
    check(C.window, true, `open until ${challengeDeadline} (chain time ${chainTime})`, true);
  } else if (state === "final" && extra.inclusion !== undefined) {
    check(C.window, true, `closed at ${challengeDeadline} (chain time ${chainTime}), unchallenged`);
    check(C.onChain, ...(await verifyOnChain(client, quietMode, record, extra.inclusion)));
  }

  if (model !== undefined) await reexecute(options, model, zk, deployment, check, skipped, extra);
  return report(state, extra);
}

/** The contract's own view (`verifyReceipt`, as a consumer calls it): `[ok, detail]`. */
async function verifyOnChain(
  client: PublicClient,
  quietMode: Address,
  record: QuietReceiptRecord,
  inclusion: NonNullable<ReceiptAuditReport["inclusion"]>,
): Promise<[boolean, string]> {
  try {
    await client.readContract({
      address: quietMode,
      abi: quietModeAbi,
      functionName: "verifyReceipt",
      args: [
        record.receipt,
        record.request,
        inclusion.batchIndex,
        {
          root: inclusion.root,
          firstSeq: inclusion.firstSeq,
          count: inclusion.count,
          committedAt: inclusion.committedAt,
        },
        inclusion.proof,
      ],
    });
    return [true, `QuietMode.verifyReceipt(receipt, request, batch ${inclusion.batchIndex}, proof) passes`];
  } catch (error) {
    return [false, `QuietMode.verifyReceipt reverts: ${describe(error)}`];
  }
}

interface RegisteredModel {
  fileHash: Hex;
  zkCommitment: Hex;
}

/** The input against the request's commitment, then the model re-run (or proven) on it. */
async function reexecute(
  options: ReceiptAuditOptions,
  model: RegisteredModel,
  zk: boolean,
  deployment: Deployment,
  check: (name: string, ok: boolean, detail: string) => void,
  skipped: string[],
  extra: Partial<ReceiptAuditReport>,
): Promise<void> {
  const { record } = options;
  const { request, receipt } = record;
  if (record.input === undefined) {
    skipped.push("re-execution: the record holds no input (only a proof by its holder can check the output)");
    return;
  }
  const input = hexToBytes(record.input);
  if (!zk) {
    const hash = keccak256(input);
    check(
      C.input,
      hash === request.inputHash,
      `keccak256(input) = ${hash}; request.inputHash ${request.inputHash}`,
    );
  } else if (options.zkInputCommitment !== undefined) {
    const commitment = await commitmentOf(options.zkInputCommitment, input);
    check(
      C.input,
      commitment === request.inputHash,
      `Poseidon commitment of the quantized input ${commitment}; request.inputHash ${request.inputHash}`,
    );
  } else {
    skipped.push("input commitment: no zkInputCommitment tool (pass the model file)");
  }

  if (options.modelFile !== undefined && options.sha256 !== undefined) {
    const fileHash = options.sha256(options.modelFile);
    check(
      C.modelFile,
      fileHash === model.fileHash,
      `sha256(file) = ${fileHash}; registered ${model.fileHash}`,
    );
    if (fileHash !== model.fileHash) {
      skipped.push("re-execution: the model file is not the committed one");
      return;
    }
  } else if (options.modelFile === undefined) {
    skipped.push("re-execution: no model file");
    return;
  }

  if (!zk) {
    if (options.runModel === undefined) skipped.push("re-execution: no runModel tool");
    else {
      const hash = keccak256(await options.runModel(input));
      check(
        C.rerun,
        hash === receipt.outputHash,
        `onnxruntime-web output hash ${hash}; receipt.outputHash ${receipt.outputHash}`,
      );
    }
  } else if (options.runZkModel === undefined) skipped.push("re-execution: no runZkModel tool");
  else {
    const output = await options.runZkModel(input);
    const hash = zkOutputHash(output);
    check(
      C.rerun,
      hash === receipt.outputHash,
      `fixed-point circuit output class ${output} (hash ${hash}); receipt.outputHash ${receipt.outputHash}`,
    );
  }

  if (options.prove !== true) return;
  if (!zk) {
    skipped.push("proof: the model has no zk circuit");
    return;
  }
  if (options.proveZk === undefined || options.verifyZkProof === undefined) {
    skipped.push("proof: no proveZk / verifyZkProof tools");
    return;
  }
  const challenger = options.challenger ?? zeroAddress;
  const binding = await options.client.readContract({
    address: deployment.quietMode,
    abi: quietModeAbi,
    functionName: "quietBinding",
    args: [receipt.operator, receipt.seq, challenger],
  });
  let proven: { output: bigint; proof: ZkProofArgs };
  try {
    proven = await options.proveZk(input, binding);
  } catch (error) {
    check(C.proof, false, `the circuit could not prove this input: ${describe(error)}`);
    return;
  }
  const signals = [proven.output, BigInt(model.zkCommitment), BigInt(request.inputHash), binding];
  const valid = await options.verifyZkProof(signals, proven.proof);
  const matches = zkOutputHash(proven.output) === receipt.outputHash;
  extra.zkProof = { output: proven.output, binding, challenger, proof: proven.proof };
  check(
    C.proof,
    valid && matches,
    `proof ${valid ? "verifies" : "does not verify"} for [output ${proven.output}, weight commitment ${model.zkCommitment}, input commitment ${request.inputHash}, quietBinding(operator, seq ${receipt.seq}, ${challenger})]${valid && !matches ? ": the committed circuit gives another output (wrong-output evidence for challengeOutput, from the challenger it is bound to)" : ""}`,
  );
}

async function commitmentOf(tool: (input: Uint8Array) => Promise<Hex>, input: Uint8Array): Promise<string> {
  try {
    return await tool(input);
  } catch (error) {
    return `none (${describe(error)})`;
  }
}
