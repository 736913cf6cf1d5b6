/**
 * The log side of a receipt audit: find the committed batch that holds a sequence number from chain data (bounded
 * `BatchCommitted` range reads), and get the receipt's Merkle proof from the operator's gateway or its batch data,
 * trusting neither: every proof is verified against the root committed on chain. Browser-safe (no `node:` imports):
 * the network is the `fetch` the caller gives.
 */
import { encodeAbiParameters, keccak256, type Address, type Hex, type PublicClient } from "viem";
import { quietModeAbi } from "../abi/index.js";
import { LogTree, receiptLeaf, verifyLogProof } from "../protocol/merkle.js";
import {
  batchDataFromJson,
  isJsonObject,
  receiptFromJson,
  receiptInclusionFromJson,
  type ReceiptInclusion,
} from "../protocol/quiet-json.js";
import { hashReceipt } from "../protocol/quiet.js";
import type { OmissionEvidence } from "./receipt-types.js";

/** A `fetch` (the global one, or the caller's): the auditor reads the operator's gateway and batch data with it. */
export type ReceiptFetch = (url: string, init?: RequestInit) => Promise<Response>;

/** A committed batch as its `BatchCommitted` event gave it. */
export interface CommittedBatch {
  batchIndex: bigint;
  root: Hex;
  firstSeq: bigint;
  count: number;
  committedAt: bigint;
  dataUri: string;
  blockNumber: bigint;
}

/** Blocks per `eth_getLogs` call by default (many public RPCs cap a range at 10,000). */
export const DEFAULT_LOG_RANGE = 5_000n;

/**
 * The batch of `operator`'s log holding `seq`, read newest range first from the latest block down to `fromBlock`,
 * `range` blocks per call; checked against the batch's on-chain commitment. `undefined` when no event holds it.
 */
export async function findBatch(
  client: PublicClient,
  quietMode: Address,
  operator: Address,
  seq: bigint,
  fromBlock: bigint,
  range: bigint = DEFAULT_LOG_RANGE,
): Promise<CommittedBatch | undefined> {
  const latest = await client.getBlockNumber({ cacheTime: 0 });
  for (let to = latest; to >= fromBlock; to -= range) {
    const from = to - range + 1n > fromBlock ? to - range + 1n : fromBlock;
    const events = await client.getContractEvents({
      address: quietMode,
      abi: quietModeAbi,
      eventName: "BatchCommitted",
      args: { operator },
      fromBlock: from,
      toBlock: to,
      strict: true,
    });
    for (const event of events.reverse()) {
      const { batchIndex, firstSeq, count, root, committedAt, dataUri } = event.args;
      if (seq >= firstSeq + BigInt(count)) return undefined; // the log is in seq order: older batches are lower
      if (seq < firstSeq) continue;
      const batch: CommittedBatch = {
        batchIndex,
        root,
        firstSeq,
        count,
        committedAt,
        dataUri,
        blockNumber: event.blockNumber,
      };
      const stored = await client.readContract({
        address: quietMode,
        abi: quietModeAbi,
        functionName: "batchCommitment",
        args: [operator, batchIndex],
      });
      return stored === batchCommitment(batch) ? batch : undefined;
    }
    if (from === fromBlock) break;
  }
  return undefined;
}

/** `keccak256(abi.encode(root, firstSeq, count, committedAt))`: what `QuietMode` stores per batch. */
export function batchCommitment(
  batch: Pick<CommittedBatch, "root" | "firstSeq" | "count" | "committedAt">,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "uint64" }, { type: "uint32" }, { type: "uint64" }],
      [batch.root, batch.firstSeq, batch.count, batch.committedAt],
    ),
  );
}

/** What the proof sources established about the receipt's leaf in its batch. */
export type LeafOutcome =
  | { kind: "included"; inclusion: ReceiptInclusion; source: "gateway" | "batch data" }
  | { kind: "other leaf"; omission: OmissionEvidence; source: "gateway" | "batch data" }
  | { kind: "unavailable"; reasons: string[] };

/** The most bytes read from one answer (a full batch of 65,536 receipts with their requests is about 80 MB). */
export const MAX_ANSWER_BYTES = 128 * 1024 * 1024;

/** A JSON answer, read up to {@link MAX_ANSWER_BYTES} (a hostile server cannot make the auditor read forever). */
async function getJson(fetcher: ReceiptFetch, url: string, timeoutMs: number): Promise<unknown> {
  const response = await fetcher(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  if (response.body === null) throw new Error("empty answer");
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The receipt's leaf in `batch`: proven included, or proven to be another leaf (omission evidence), from the operator's
 * `GET /v1/receipts/<seq>` first, then the batch's data at its `dataUri`; each answer is checked against the on-chain
 * root and a source that does not verify is only a reason in `unavailable`.
 */
export async function proveLeaf(
  batch: CommittedBatch,
  seq: bigint,
  receiptHash: Hex,
  fetcher: ReceiptFetch | undefined,
  operatorUrl: string | undefined,
  timeoutMs: number,
): Promise<LeafOutcome> {
  const leaf = receiptLeaf(receiptHash);
  const index = Number(seq - batch.firstSeq);
  const base = {
    batchIndex: batch.batchIndex,
    root: batch.root,
    firstSeq: batch.firstSeq,
    count: batch.count,
  };
  const committed = { ...base, committedAt: batch.committedAt };
  const reasons: string[] = [];
  if (fetcher === undefined) return { kind: "unavailable", reasons: ["no fetch: the network is off"] };

  if (operatorUrl !== undefined) {
    const url = `${operatorUrl.replace(/\/+$/, "")}/v1/receipts/${seq}`;
    try {
      const body = await getJson(fetcher, url, timeoutMs);
      if (!isJsonObject(body) || body.inclusion === undefined) throw new Error("no inclusion in the answer");
      const { proof } = receiptInclusionFromJson(body.inclusion);
      if (verifyLogProof(batch.root, leaf, index, batch.count, proof)) {
        return { kind: "included", inclusion: { ...committed, proof }, source: "gateway" };
      }
      const served = receiptLeaf(hashReceipt(receiptFromJson(body.receipt)));
      if (served !== leaf && verifyLogProof(batch.root, served, index, batch.count, proof)) {
        return {
          kind: "other leaf",
          omission: { ...committed, committedLeaf: served, proof },
          source: "gateway",
        };
      }
      reasons.push(`${url}: its proof does not verify against the on-chain root`);
    } catch (error) {
      reasons.push(`${url}: ${describe(error)}`);
    }
  }

  if (/^https?:\/\//i.test(batch.dataUri)) {
    try {
      const data = batchDataFromJson(await getJson(fetcher, batch.dataUri, timeoutMs));
      if (data.firstSeq !== batch.firstSeq || data.count !== batch.count) {
        throw new Error(
          `it holds seq ${data.firstSeq} + ${data.count}, not the committed ${batch.firstSeq} + ${batch.count}`,
        );
      }
      const tree = LogTree.fromLeaves(data.receipts.map((entry) => receiptLeaf(hashReceipt(entry.receipt))));
      if (tree.root !== batch.root)
        throw new Error(`its receipts rebuild root ${tree.root}, not the committed ${batch.root}`);
      const proof = tree.proof(index);
      const at = tree.leaf(index);
      if (at === leaf) return { kind: "included", inclusion: { ...committed, proof }, source: "batch data" };
      return {
        kind: "other leaf",
        omission: { ...committed, committedLeaf: at, proof },
        source: "batch data",
      };
    } catch (error) {
      reasons.push(`${batch.dataUri}: ${describe(error)}`);
    }
  } else {
    reasons.push(`data URI "${batch.dataUri}" is not http(s)`);
  }
  return { kind: "unavailable", reasons };
}
