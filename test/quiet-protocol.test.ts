/**
 * Quiet mode's signed structures (`src/protocol/quiet.ts`) and log tree (`src/protocol/merkle.ts`), against
 * docs/quiet.md: struct hashes and digests recomputed by hand from the spec's type strings (and by ethers, a second
 * EIP-712 implementation), real secp256k1 signatures, and the positional tree against a recursive reference.
 */
import { expect } from "chai";
import { TypedDataEncoder } from "ethers";
import fc from "fast-check";
import { bytesToHex, concat, encodeAbiParameters, keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  bytesOutputHash,
  hashQuietRequest,
  hashReceipt,
  logProof,
  logProofLength,
  logRoot,
  LogTree,
  MAX_BATCH,
  QUIET_MODE_BIT,
  QUIET_REQUEST_TYPEHASH,
  QUIET_TYPES,
  quietModeDomain,
  quietRequestDigest,
  RECEIPT_TYPEHASH,
  receiptBatch,
  receiptDigest,
  receiptLeaf,
  recoverQuietRequestSigner,
  recoverReceiptSigner,
  signQuietRequest,
  signReceipt,
  verifyLogProof,
  zkOutputHash,
  type ProtocolDomain,
  type QuietRequest,
  type Receipt,
} from "../src/protocol/index.js";

/** The type strings exactly as docs/quiet.md writes them. */
const SPEC_QUIET_REQUEST =
  "QuietRequest(address payer,address operator,bytes32 modelId,bytes32 inputHash,uint96 fee,uint96 cumulative,uint64 index,uint64 deadline)";
const SPEC_RECEIPT = "Receipt(address operator,uint64 seq,bytes32 request,bytes32 outputHash,uint64 time)";
const EIP712_DOMAIN = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

const QUIET_MODE: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DOMAIN = quietModeDomain(31337n, QUIET_MODE);

const payer = privateKeyToAccount(generatePrivateKey());
const operatorKey = privateKeyToAccount(generatePrivateKey());
const OPERATOR: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

const REQUEST: QuietRequest = {
  payer: payer.address,
  operator: OPERATOR,
  modelId: keccak256(toHex("iris model")),
  inputHash: keccak256(toHex("input bytes")),
  fee: 10n ** 18n,
  cumulative: 3n * 10n ** 18n,
  index: 2n,
  deadline: 1_900_000_000n,
};

const RECEIPT: Receipt = {
  operator: OPERATOR,
  seq: 41n,
  request: hashQuietRequest(REQUEST),
  outputHash: zkOutputHash(1n),
  time: 1_899_999_000n,
};

/** `keccak256(abi.encode(...))` of a struct, by hand. */
function handRequestHash(r: QuietRequest): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "address" },
        { type: "address" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint96" },
        { type: "uint96" },
        { type: "uint64" },
        { type: "uint64" },
      ],
      [
        keccak256(toHex(SPEC_QUIET_REQUEST)),
        r.payer,
        r.operator,
        r.modelId,
        r.inputHash,
        r.fee,
        r.cumulative,
        r.index,
        r.deadline,
      ],
    ),
  );
}

function handReceiptHash(r: Receipt): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "address" },
        { type: "uint64" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint64" },
      ],
      [keccak256(toHex(SPEC_RECEIPT)), r.operator, r.seq, r.request, r.outputHash, r.time],
    ),
  );
}

function handDigest(domain: ProtocolDomain, structHash: Hex): Hex {
  const separator = keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint256" },
        { type: "address" },
      ],
      [
        keccak256(toHex(EIP712_DOMAIN)),
        keccak256(toHex("OPG Quiet Mode")),
        keccak256(toHex("1")),
        domain.chainId,
        domain.verifyingContract,
      ],
    ),
  );
  return keccak256(concat(["0x1901", separator, structHash]));
}

/** The ethers shape of the quiet types (a second, independent EIP-712 implementation). */
function ethersTypes(primary: keyof typeof QUIET_TYPES) {
  return { [primary]: QUIET_TYPES[primary].map((field) => ({ ...field })) };
}

/** A value of the same type as `value`, but different. */
function changed(value: unknown): unknown {
  if (typeof value === "bigint") return value + 1n;
  if (typeof value === "string" && value.length === 42) return "0x000000000000000000000000000000000000dEaD";
  if (typeof value === "string") return keccak256(value as Hex);
  throw new Error(`no change for ${String(value)}`);
}

describe("quiet mode protocol: signed structures", function () {
  it("uses mode bit 4 and the spec's domain", function () {
    expect(QUIET_MODE_BIT).to.equal(4);
    expect(DOMAIN).to.deep.equal({
      name: "OPG Quiet Mode",
      version: "1",
      chainId: 31337n,
      verifyingContract: QUIET_MODE,
    });
    expect(quietModeDomain(1, QUIET_MODE).chainId).to.equal(1n);
  });

  it("has the typehashes of the spec's type strings", function () {
    expect(QUIET_REQUEST_TYPEHASH).to.equal(keccak256(toHex(SPEC_QUIET_REQUEST)));
    expect(RECEIPT_TYPEHASH).to.equal(keccak256(toHex(SPEC_RECEIPT)));
    expect(TypedDataEncoder.from(ethersTypes("QuietRequest")).encodeType("QuietRequest")).to.equal(
      SPEC_QUIET_REQUEST,
    );
    expect(TypedDataEncoder.from(ethersTypes("Receipt")).encodeType("Receipt")).to.equal(SPEC_RECEIPT);
  });

  it("hashes structs as keccak256(abi.encode(TYPEHASH, ...)) and digests as EIP-712", function () {
    expect(hashQuietRequest(REQUEST)).to.equal(handRequestHash(REQUEST));
    expect(hashReceipt(RECEIPT)).to.equal(handReceiptHash(RECEIPT));
    expect(quietRequestDigest(DOMAIN, REQUEST)).to.equal(handDigest(DOMAIN, handRequestHash(REQUEST)));
    expect(receiptDigest(DOMAIN, RECEIPT)).to.equal(handDigest(DOMAIN, handReceiptHash(RECEIPT)));
    // ethers agrees.
    expect(quietRequestDigest(DOMAIN, REQUEST)).to.equal(
      TypedDataEncoder.hash(DOMAIN, ethersTypes("QuietRequest"), REQUEST),
    );
    expect(receiptDigest(DOMAIN, RECEIPT)).to.equal(
      TypedDataEncoder.hash(DOMAIN, ethersTypes("Receipt"), RECEIPT),
    );
  });

  it("agrees with the hand encoding on random field values at their type bounds", function () {
    const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
    const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b));
    const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
    fc.assert(
      fc.property(
        fc.record({
          payer: address,
          operator: address,
          modelId: hash32,
          inputHash: hash32,
          fee: uint(96),
          cumulative: uint(96),
          index: uint(64),
          deadline: uint(64),
        }),
        fc.record({ seq: uint(64), outputHash: hash32, time: uint(64) }),
        (request, part) => {
          expect(hashQuietRequest(request)).to.equal(handRequestHash(request));
          const receipt = { ...part, operator: request.operator, request: hashQuietRequest(request) };
          expect(hashReceipt(receipt)).to.equal(handReceiptHash(receipt));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses values out of their Solidity range", function () {
    expect(() => hashQuietRequest({ ...REQUEST, fee: 1n << 96n })).to.throw();
    expect(() => hashQuietRequest({ ...REQUEST, cumulative: -1n })).to.throw();
    expect(() => hashQuietRequest({ ...REQUEST, deadline: 1n << 64n })).to.throw();
    expect(() => hashReceipt({ ...RECEIPT, seq: 1n << 64n })).to.throw();
  });

  it("signatures are 65 bytes and recover to the signer", async function () {
    const requestSig = await signQuietRequest(payer, DOMAIN, REQUEST);
    const receiptSig = await signReceipt(operatorKey, DOMAIN, RECEIPT);
    expect(requestSig).to.match(/^0x[0-9a-f]{130}$/);
    expect(receiptSig).to.match(/^0x[0-9a-f]{130}$/);
    expect(await recoverQuietRequestSigner(DOMAIN, REQUEST, requestSig)).to.equal(payer.address);
    expect(await recoverReceiptSigner(DOMAIN, RECEIPT, receiptSig)).to.equal(operatorKey.address);
    // Signed for one chain or deployment, worthless on another.
    const otherChain = quietModeDomain(1n, QUIET_MODE);
    expect(await recoverReceiptSigner(otherChain, RECEIPT, receiptSig)).not.to.equal(operatorKey.address);
    expect(await recoverQuietRequestSigner(otherChain, REQUEST, requestSig)).not.to.equal(payer.address);
  });

  it("a change of any field, of the chain id or of the contract changes the digest", function () {
    const requestDigest = quietRequestDigest(DOMAIN, REQUEST);
    for (const { name } of QUIET_TYPES.QuietRequest) {
      const other = { ...REQUEST, [name]: changed(REQUEST[name]) };
      expect(quietRequestDigest(DOMAIN, other), name).not.to.equal(requestDigest);
      expect(hashQuietRequest(other), name).not.to.equal(hashQuietRequest(REQUEST));
    }
    const digest = receiptDigest(DOMAIN, RECEIPT);
    for (const { name } of QUIET_TYPES.Receipt) {
      const other = { ...RECEIPT, [name]: changed(RECEIPT[name]) };
      expect(receiptDigest(DOMAIN, other), name).not.to.equal(digest);
      expect(hashReceipt(other), name).not.to.equal(hashReceipt(RECEIPT));
    }
    for (const domain of [
      quietModeDomain(1n, QUIET_MODE),
      quietModeDomain(31337n, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"),
    ]) {
      expect(receiptDigest(domain, RECEIPT)).not.to.equal(digest);
      expect(quietRequestDigest(domain, REQUEST)).not.to.equal(requestDigest);
    }
  });

  it("hashes outputs as ZkMode and signature mode do", function () {
    expect(zkOutputHash(2n)).to.equal(keccak256(encodeAbiParameters([{ type: "uint256" }], [2n])));
    expect(zkOutputHash(0n)).to.equal(keccak256(`0x${"00".repeat(32)}`));
    const scores = new Uint8Array(new Float32Array([0.1, 0.7, 0.2]).buffer);
    expect(bytesOutputHash(scores)).to.equal(keccak256(scores));
    expect(bytesOutputHash(bytesToHex(scores))).to.equal(keccak256(scores));
  });
});

// ---- the log tree ----

/** Reference tree, written differently: recursive, on hex strings; the left subtree is the largest power of two. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
function refNode(left: Hex, right: Hex): Hex {
  return keccak256(concat(["0x01", left, right]));
}
function refRoot(leaves: Hex[]): Hex {
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return refNode(refRoot(leaves.slice(0, k)), refRoot(leaves.slice(k)));
}
function refProof(leaves: Hex[], index: number): Hex[] {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...refProof(leaves.slice(0, k), index), refRoot(leaves.slice(k))]
    : [...refProof(leaves.slice(k), index - k), refRoot(leaves.slice(0, k))];
}
/** The sides of the partners a proof of `index` in `count` leaves uses, bottom up: what the path hashes depend on. */
function shape(index: number, count: number): string {
  let s = "";
  for (let i = index, n = count; n > 1; i >>= 1, n = (n + 1) >> 1)
    s += (i ^ 1) < n ? (i % 2 === 1 ? "L" : "R") : "-";
  return s.replaceAll("-", "");
}

function randomLeaves(count: number, salt = 0): Hex[] {
  return Array.from({ length: count }, (_, i) => keccak256(toHex(`leaf ${salt} ${i}`)));
}

describe("quiet mode protocol: log tree", function () {
  it("leaves and nodes carry the spec's prefixes", function () {
    const structHash = hashReceipt(RECEIPT);
    expect(receiptLeaf(structHash)).to.equal(keccak256(concat(["0x00", structHash])));
    const [a, b] = randomLeaves(2);
    expect(logRoot([a!, b!])).to.equal(keccak256(concat(["0x01", a!, b!])));
    expect(() => receiptLeaf("0x1234")).to.throw(TypeError);
  });

  it("the root of one leaf is the leaf, with an empty proof", function () {
    const [leaf] = randomLeaves(1);
    expect(logRoot([leaf!])).to.equal(leaf);
    expect(logProof([leaf!], 0)).to.deep.equal([]);
    expect(verifyLogProof(leaf!, leaf!, 0, 1, [])).to.equal(true);
    expect(verifyLogProof(leaf!, leaf!, 0, 2, [])).to.equal(false);
  });

  it("pairs left to right and moves an odd last node up unchanged", function () {
    const [a, b, c, d, e] = randomLeaves(5) as [Hex, Hex, Hex, Hex, Hex];
    expect(logRoot([a, b, c])).to.equal(refNode(refNode(a, b), c));
    expect(logRoot([a, b, c, d, e])).to.equal(refNode(refNode(refNode(a, b), refNode(c, d)), e));
    expect(logProof([a, b, c, d, e], 4)).to.deep.equal([refNode(refNode(a, b), refNode(c, d))]);
    expect(logProof([a, b, c], 0)).to.deep.equal([b, c]);
  });

  it("for every count 1..33 (every shape up to 2^5), 63, 64, 65 and 70, and every index: the proof verifies, has the right length, and any tampering fails", function () {
    this.timeout(120_000);
    const counts = [...Array.from({ length: 33 }, (_, i) => i + 1), 63, 64, 65, 70];
    for (const count of counts) {
      const leaves = randomLeaves(count, count);
      const tree = LogTree.fromLeaves(leaves);
      const root = tree.root;
      expect(root, `count ${count}`).to.equal(refRoot(leaves));
      expect(tree.count).to.equal(count);
      for (let index = 0; index < count; index++) {
        const where = `count ${count} index ${index}`;
        const leaf = leaves[index]!;
        const proof = tree.proof(index);
        expect(proof, where).to.deep.equal(refProof(leaves, index));
        expect(proof.length, where).to.equal(logProofLength(index, count));
        expect(proof.length, where).to.equal(shape(index, count).length);
        expect(tree.leaf(index)).to.equal(leaf);
        expect(verifyLogProof(root, leaf, index, count, proof), where).to.equal(true);
        expect(verifyLogProof(root, leaf, BigInt(index), BigInt(count), proof), where).to.equal(true);

        // Tampered leaf, root or proof element.
        expect(verifyLogProof(root, keccak256(leaf), index, count, proof), where).to.equal(false);
        expect(verifyLogProof(keccak256(root), leaf, index, count, proof), where).to.equal(false);
        for (let j = 0; j < proof.length; j++) {
          const bad = proof.slice();
          bad[j] = keccak256(bad[j]!);
          expect(verifyLogProof(root, leaf, index, count, bad), `${where} element ${j}`).to.equal(false);
        }
        // Extra or missing element.
        expect(verifyLogProof(root, leaf, index, count, [...proof, leaf]), where).to.equal(false);
        if (proof.length > 0) {
          expect(verifyLogProof(root, leaf, index, count, proof.slice(1)), where).to.equal(false);
          expect(verifyLogProof(root, leaf, index, count, proof.slice(0, -1)), where).to.equal(false);
        }
        // Wrong index: the neighbours, the sibling, both ends, and out of range.
        for (const other of new Set([0, index - 1, index + 1, index ^ 1, count - 1])) {
          if (other !== index && other >= 0 && other < count)
            expect(verifyLogProof(root, leaf, other, count, proof), `${where} as ${other}`).to.equal(false);
        }
        expect(verifyLogProof(root, leaf, count, count, proof), where).to.equal(false);
        expect(verifyLogProof(root, leaf, -1, count, proof), where).to.equal(false);
        // Wrong count: fails unless the path is the same (count is bound by the committed slot, not by the proof).
        for (const other of [count - 1, count + 1, count * 2, 0, MAX_BATCH + 1]) {
          const same =
            other > index &&
            other <= MAX_BATCH &&
            shape(index, other) === shape(index, count) &&
            logProofLength(index, other) === proof.length;
          expect(verifyLogProof(root, leaf, index, other, proof), `${where} count ${other}`).to.equal(same);
        }
      }
    }
  });

  it("never throws on malformed input, and builds only committable trees", function () {
    const leaves = randomLeaves(4);
    const proof = logProof(leaves, 1);
    const root = logRoot(leaves);
    expect(verifyLogProof(root, leaves[1]!, 1, 4, proof)).to.equal(true);
    expect(verifyLogProof(root, leaves[1]!, 1.5, 4, proof)).to.equal(false);
    expect(verifyLogProof(root, leaves[1]!, 1, 0, proof)).to.equal(false);
    expect(verifyLogProof(root, leaves[1]!, 1n << 80n, 4, proof)).to.equal(false);
    expect(verifyLogProof(root, leaves[1]!, 1, 1n << 80n, proof)).to.equal(false);
    expect(verifyLogProof("0x12", leaves[1]!, 1, 4, proof)).to.equal(false);
    expect(verifyLogProof(root, "0xzz", 1, 4, proof)).to.equal(false);
    expect(verifyLogProof(root, leaves[1]!, 1, 4, [proof[0]!, "0x01"])).to.equal(false);
    expect(verifyLogProof(root, leaves[1]!, 1, 4, null as unknown as Hex[])).to.equal(false);
    // Upper-case hex is the same hash.
    expect(verifyLogProof(`0x${root.slice(2).toUpperCase()}`, leaves[1]!, 1, 4, proof)).to.equal(true);

    expect(() => logRoot([])).to.throw(RangeError);
    expect(() => logRoot(["0x00"])).to.throw(TypeError);
    expect(() => logProof(leaves, 4)).to.throw(RangeError);
    expect(() => logProof(leaves, -1)).to.throw(RangeError);
  });

  it("takes batches up to MAX_BATCH = 65,536 leaves and no more", function () {
    this.timeout(60_000);
    expect(MAX_BATCH).to.equal(65_536);
    const leaves = randomLeaves(MAX_BATCH);
    const tree = LogTree.fromLeaves(leaves);
    for (const index of [0, 12_345, MAX_BATCH - 1]) {
      const proof = tree.proof(index);
      expect(proof.length).to.equal(16);
      expect(verifyLogProof(tree.root, leaves[index]!, index, MAX_BATCH, proof)).to.equal(true);
    }
    expect(() => LogTree.fromLeaves([...leaves, leaves[0]!])).to.throw(RangeError);
  });

  it("property: random leaves, the tree agrees with the reference and every proof verifies", function () {
    this.timeout(120_000);
    const leaf = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
    fc.assert(
      fc.property(
        fc
          .array(leaf, { minLength: 1, maxLength: 200 })
          .chain((leaves) =>
            fc.tuple(fc.constant(leaves), fc.nat({ max: leaves.length - 1 }), fc.nat({ max: 255 })),
          ),
        ([leaves, index, flip]) => {
          const tree = LogTree.fromLeaves(leaves);
          expect(tree.root).to.equal(refRoot(leaves));
          const proof = tree.proof(index);
          expect(proof).to.deep.equal(refProof(leaves, index));
          expect(verifyLogProof(tree.root, leaves[index]!, index, leaves.length, proof)).to.equal(true);
          // Flip one bit of the leaf or of one proof element: the proof fails.
          if (proof.length > 0) {
            const bad = proof.slice();
            const j = flip % proof.length;
            bad[j] = flipBit(bad[j]!, flip);
            expect(verifyLogProof(tree.root, leaves[index]!, index, leaves.length, bad)).to.equal(false);
          }
          expect(
            verifyLogProof(tree.root, flipBit(leaves[index]!, flip), index, leaves.length, proof),
          ).to.equal(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("builds a batch from one operator's consecutive receipts", async function () {
    const receipts: Receipt[] = Array.from({ length: 9 }, (_, i) => ({
      ...RECEIPT,
      seq: 100n + BigInt(i),
      outputHash: zkOutputHash(BigInt(i % 3)),
    }));
    const batch = receiptBatch(receipts);
    expect(batch.firstSeq).to.equal(100n);
    expect(batch.count).to.equal(9);
    expect(batch.operator).to.equal(OPERATOR);
    expect(batch.leaves).to.deep.equal(receipts.map((r) => receiptLeaf(hashReceipt(r))));
    expect(batch.root).to.equal(refRoot(batch.leaves));
    // A consumer holding receipt 5 and its signature checks both the signer and the leaf.
    const signature = await signReceipt(operatorKey, DOMAIN, receipts[5]!);
    expect(await recoverReceiptSigner(DOMAIN, receipts[5]!, signature)).to.equal(operatorKey.address);
    const leaf = receiptLeaf(hashReceipt(receipts[5]!));
    expect(verifyLogProof(batch.root, leaf, 5, 9, batch.tree.proof(5))).to.equal(true);

    expect(() => receiptBatch([])).to.throw(RangeError);
    expect(() => receiptBatch([receipts[0]!, receipts[2]!])).to.throw(/seq/);
    expect(() => receiptBatch([receipts[1]!, receipts[0]!])).to.throw(/seq/);
    expect(() =>
      receiptBatch([
        receipts[0]!,
        { ...receipts[1]!, operator: "0x000000000000000000000000000000000000dEaD" },
      ]),
    ).to.throw(/by/);
    // The operator's address is compared case-insensitively.
    expect(
      receiptBatch([receipts[0]!, { ...receipts[1]!, operator: OPERATOR.toLowerCase() as Address }]).count,
    ).to.equal(2);
  });

  it("timing: the root and all 1,024 proofs of a 1,024-leaf batch", function () {
    const receipts: Receipt[] = Array.from({ length: 1024 }, (_, i) => ({ ...RECEIPT, seq: BigInt(i) }));
    let start = performance.now();
    const batch = receiptBatch(receipts);
    const batchMs = performance.now() - start;
    start = performance.now();
    const tree = LogTree.fromLeaves(batch.leaves);
    const proofs = Array.from({ length: 1024 }, (_, i) => tree.proof(i));
    const treeMs = performance.now() - start;
    start = performance.now();
    for (let i = 0; i < 1024; i++)
      expect(verifyLogProof(tree.root, batch.leaves[i]!, i, 1024, proofs[i]!)).to.equal(true);
    const verifyMs = performance.now() - start;
    console.log(
      `      1,024-leaf batch: receipts→root ${batchMs.toFixed(1)} ms; tree + 1,024 proofs ${treeMs.toFixed(1)} ms; ` +
        `1,024 verifications ${verifyMs.toFixed(1)} ms`,
    );
  });
});

function flipBit(value: Hex, n: number): Hex {
  const bytes = new Uint8Array(Buffer.from(value.slice(2), "hex"));
  bytes[(n >> 3) % 32]! ^= 1 << (n & 7);
  return bytesToHex(bytes);
}
