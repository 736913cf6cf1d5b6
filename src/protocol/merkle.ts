/**
 * Quiet mode's log tree (docs/quiet.md, "The log"): a positional Merkle tree over a batch of receipts, in `seq`
 * order. Leaf: `keccak256(0x00 ‖ hashStruct(Receipt))`; inner node: `keccak256(0x01 ‖ left ‖ right)`; level by level
 * nodes pair left to right and a last node without a partner moves up unchanged. A proof is the list of partner
 * hashes bottom up, levels without a partner skipped. Mirrors `contracts/libraries/ReceiptLog.sol` (`leaf`, `verify`).
 *
 * Hashing works on bytes (one 65-byte scratch buffer per tree), so a 1,024-leaf batch and all its proofs cost 1,023
 * hashes plus the hex conversions of the results.
 */
import { bytesToHex, hexToBytes, isHex, keccak256, type Hex } from "viem";
import { hashReceipt, type Receipt } from "./quiet.js";

/** The most receipts one batch commits (`ReceiptLog.MAX_BATCH`). */
export const MAX_BATCH = 65_536;

/** Domain-separation prefix of a leaf (`0x00`). */
export const LEAF_PREFIX = 0x00;
/** Domain-separation prefix of an inner node (`0x01`). */
export const NODE_PREFIX = 0x01;

/** A 32-byte hash as bytes, or `undefined` when `value` is not one. */
function hash32(value: unknown): Uint8Array | undefined {
  if (typeof value !== "string" || value.length !== 66 || !isHex(value, { strict: true })) return undefined;
  return hexToBytes(value);
}

/** `keccak256(0x01 ‖ left ‖ right)` into bytes, reusing `scratch` (65 bytes, first byte already `0x01`). */
function node(scratch: Uint8Array, left: Uint8Array, right: Uint8Array): Uint8Array {
  scratch.set(left, 1);
  scratch.set(right, 33);
  return keccak256(scratch, "bytes");
}

function nodeScratch(): Uint8Array {
  const scratch = new Uint8Array(65);
  scratch[0] = NODE_PREFIX;
  return scratch;
}

/** The log leaf of a receipt, from its struct hash (`hashReceipt`): `keccak256(0x00 ‖ structHash)`. */
export function receiptLeaf(structHash: Hex): Hex {
  const bytes = hash32(structHash);
  if (bytes === undefined) throw new TypeError(`receipt struct hash ${structHash} is not 32 bytes of hex`);
  const buffer = new Uint8Array(33);
  buffer[0] = LEAF_PREFIX;
  buffer.set(bytes, 1);
  return keccak256(buffer);
}

/** Throws unless `count` is a batch size the contract accepts (1 to `MAX_BATCH`). */
function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_BATCH)
    throw new RangeError(`a batch holds 1 to ${MAX_BATCH} leaves, not ${count}`);
}

/**
 * A built log tree: every level kept, so the root and each proof are read without hashing again. Build one per
 * batch with `LogTree.fromLeaves` (or `receiptBatch`).
 */
export class LogTree {
  /** Level 0 is the leaves, the last level the root alone. */
  private readonly levels: readonly (readonly Uint8Array[])[];

  private constructor(levels: Uint8Array[][]) {
    this.levels = levels;
  }

  /** The tree over `leaves` (1 to `MAX_BATCH` 32-byte hashes, in `seq` order). Throws on a bad count or leaf. */
  static fromLeaves(leaves: readonly Hex[]): LogTree {
    checkCount(leaves.length);
    let level = leaves.map((leaf, i) => {
      const bytes = hash32(leaf);
      if (bytes === undefined) throw new TypeError(`leaf ${i} (${leaf}) is not 32 bytes of hex`);
      return bytes;
    });
    const levels = [level];
    const scratch = nodeScratch();
    while (level.length > 1) {
      const up: Uint8Array[] = new Array<Uint8Array>((level.length + 1) >> 1);
      for (let i = 0; i + 1 < level.length; i += 2) up[i >> 1] = node(scratch, level[i]!, level[i + 1]!);
      if (level.length % 2 === 1) up[up.length - 1] = level[level.length - 1]!;
      levels.push(up);
      level = up;
    }
    return new LogTree(levels);
  }

  /** The number of leaves. */
  get count(): number {
    return this.levels[0]!.length;
  }

  /** The root `commitBatch` commits (for one leaf: the leaf itself). */
  get root(): Hex {
    return bytesToHex(this.levels[this.levels.length - 1]![0]!);
  }

  /** The leaf at `index`. */
  leaf(index: number): Hex {
    return bytesToHex(this.leafBytes(index));
  }

  /** The proof of the leaf at `index`: partner hashes bottom up, levels where the node had no partner skipped. */
  proof(index: number): Hex[] {
    this.leafBytes(index);
    const proof: Hex[] = [];
    let i = index;
    for (let l = 0; l + 1 < this.levels.length; l++) {
      const level = this.levels[l]!;
      const partner = i ^ 1;
      if (partner < level.length) proof.push(bytesToHex(level[partner]!));
      i >>= 1;
    }
    return proof;
  }

  private leafBytes(index: number): Uint8Array {
    const leaves = this.levels[0]!;
    if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length)
      throw new RangeError(`index ${index} is outside a batch of ${leaves.length}`);
    return leaves[index]!;
  }
}

/** The root of the log tree over `leaves` (1 to `MAX_BATCH`). Throws on a bad count or leaf. */
export function logRoot(leaves: readonly Hex[]): Hex {
  return LogTree.fromLeaves(leaves).root;
}

/**
 * The proof of the leaf at `index` among `leaves`. Builds the tree each call: for many proofs of one batch, build a
 * `LogTree` once and call its `proof`.
 */
export function logProof(leaves: readonly Hex[], index: number): Hex[] {
  return LogTree.fromLeaves(leaves).proof(index);
}

/** The number of partner hashes in the proof of `index` in a tree of `count` leaves. */
export function logProofLength(index: number, count: number): number {
  let length = 0;
  for (let i = index, n = count; n > 1; i >>= 1, n = (n + 1) >> 1) if ((i ^ 1) < n) length++;
  return length;
}

/**
 * Whether `proof` proves `leaf` at position `index` of a batch of `count` leaves committed as `root`. False (never a
 * throw) for anything malformed: `count` 0 or above `MAX_BATCH`, `index` at or past `count`, a proof of the wrong
 * length, a value that is not a 32-byte hash.
 */
export function verifyLogProof(
  root: Hex,
  leaf: Hex,
  index: number | bigint,
  count: number | bigint,
  proof: readonly Hex[],
): boolean {
  if (typeof index === "bigint") index = index <= BigInt(MAX_BATCH) ? Number(index) : -1;
  if (typeof count === "bigint") count = count <= BigInt(MAX_BATCH) ? Number(count) : -1;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_BATCH) return false;
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) return false;
  if (!Array.isArray(proof) || proof.length !== logProofLength(index, count)) return false;
  const rootBytes = hash32(root);
  let hash = hash32(leaf);
  if (rootBytes === undefined || hash === undefined) return false;
  const scratch = nodeScratch();
  let p = 0;
  for (let i = index, n = count; n > 1; i >>= 1, n = (n + 1) >> 1) {
    const partner = i ^ 1;
    if (partner >= n) continue;
    const sibling = hash32(proof[p++]);
    if (sibling === undefined) return false;
    hash = i % 2 === 1 ? node(scratch, sibling, hash) : node(scratch, hash, sibling);
  }
  return bytesEqual(hash, rootBytes);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A batch of receipts as `commitBatch` commits it, with its tree for proofs. */
export interface ReceiptBatch {
  operator: Receipt["operator"];
  firstSeq: bigint;
  count: number;
  root: Hex;
  /** The receipts' leaves, in `seq` order. */
  leaves: Hex[];
  tree: LogTree;
}

/**
 * The batch of `receipts`: one operator's, `seq` consecutive from the first (the order they are committed in).
 * Throws on an empty or oversized batch, mixed operators or a gap in `seq`: such a batch is not committable.
 */
export function receiptBatch(receipts: readonly Receipt[]): ReceiptBatch {
  checkCount(receipts.length);
  const first = receipts[0]!;
  const operator = first.operator.toLowerCase();
  const leaves = receipts.map((receipt, i) => {
    if (receipt.operator.toLowerCase() !== operator)
      throw new Error(`receipt ${i} is by ${receipt.operator}, not ${first.operator}`);
    if (receipt.seq !== first.seq + BigInt(i))
      throw new Error(`receipt ${i} has seq ${receipt.seq}, expected ${first.seq + BigInt(i)}`);
    return receiptLeaf(hashReceipt(receipt));
  });
  const tree = LogTree.fromLeaves(leaves);
  return {
    operator: first.operator,
    firstSeq: first.seq,
    count: leaves.length,
    root: tree.root,
    leaves,
    tree,
  };
}
