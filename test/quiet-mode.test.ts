/**
 * QuietMode (docs/quiet.md): the log, the consumer check, every challenge with an honest operator and adversarial
 * challengers (fabricated receipts, foreign and retired keys, replays from another deployment) and with a cheating
 * operator, and the channels. Receipts and requests are signed with the TypeScript definitions the SDK uses, so
 * this also pins that both sides agree.
 */
import { expect } from "chai";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { testAccountKey } from "../src/devnet/accounts.js";
import { irisRegistration } from "../src/devnet/iris.js";
import { loadIris } from "../src/model/iris.js";
import {
  bytesOutputHash,
  fieldToBytes32,
  hashQuietRequest,
  hashReceipt,
  LogTree,
  QUIET_MODE_BIT,
  QUIET_REQUEST_TYPEHASH,
  quietModeDomain,
  RECEIPT_TYPEHASH,
  receiptBatch,
  receiptLeaf,
  signQuietRequest,
  signReceipt,
  zkOutputHash,
  type QuietRequest,
  type Receipt,
} from "../src/protocol/index.js";
import {
  circuitInput,
  fixedPointForward,
  inputCommitment,
  prove,
  quantizeInput,
  settlementProof,
  toSolidityCalldata,
} from "../src/zk/index.js";
import type { QuietMode } from "../typechain-types/index.js";
import "./helpers/release-zk.js";
import {
  ethers,
  MODEL_FEE,
  modelSpec,
  networkHelpers,
  OPG,
  PENALTY,
  PROTOCOL_FEE_BPS,
  protocolFixture,
  QUIET_WINDOWS,
  registerModel,
  REWARD_BPS,
  ROYALTY_BPS,
  rotateSigner,
  SIGNER_KEYS,
  type Protocol,
} from "./helpers/fixture.js";

const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);
const { commitWindow: COMMIT_WINDOW, challengeWindow: CHALLENGE_WINDOW, maxTtl: MAX_TTL } = QUIET_WINDOWS;
const NOTICE = QUIET_WINDOWS.noticePeriod;
/** Hardhat's default account 5 is the fixture's requester: the payer here. */
const PAYER_KEY = testAccountKey(5);
const operatorKey = privateKeyToAccount(SIGNER_KEYS[0]);
const strangerKey = privateKeyToAccount(SIGNER_KEYS[2]);

interface World extends Protocol {
  quiet: QuietMode;
  quietAddress: Address;
  quietModelId: Hex;
  operatorAddress: Address;
  payerAddress: Address;
}

async function quietFixture(): Promise<World> {
  const p = await protocolFixture();
  // The deployment's QuietMode (the wiring binds it to bit 4), with the tests' short windows.
  const quiet = p.quietMode;
  const quietAddress = (await quiet.getAddress()) as Address;
  const quietModelId = await registerModel(
    p.models,
    p.modelOwner,
    modelSpec({ name: "quiet-model", modes: 1 | QUIET_MODE_BIT }),
  );
  return {
    ...p,
    quiet,
    quietAddress,
    quietModelId,
    operatorAddress: p.operator.address as Address,
    payerAddress: p.requester.address as Address,
  };
}

const now = async () => BigInt(await networkHelpers.time.latest());
const domainOf = (w: World, address: Address = w.quietAddress) => quietModeDomain(w.chainId, address);

/** A payer-signed request: `index` in the (payer, operator, model) sub-channel, fees of MODEL_FEE each. */
async function request(
  w: World,
  index: bigint,
  overrides: Partial<QuietRequest> = {},
): Promise<{ request: QuietRequest; signature: Hex }> {
  const r: QuietRequest = {
    payer: w.payerAddress,
    operator: w.operatorAddress,
    modelId: w.quietModelId,
    inputHash: keccak256(toHex(`input ${index}`)),
    fee: MODEL_FEE,
    cumulative: MODEL_FEE * (index + 1n),
    index,
    deadline: (await now()) + 300n,
    ...overrides,
  };
  return { request: r, signature: await signQuietRequest(privateKeyToAccount(PAYER_KEY), domainOf(w), r) };
}

/** A receipt for `req` at `seq`, signed by `key` (the operator's registered key by default). */
async function receipt(
  w: World,
  req: QuietRequest,
  seq: bigint,
  options: { output?: Hex; outputHash?: Hex; key?: typeof operatorKey; domain?: Address; time?: bigint } = {},
): Promise<{ receipt: Receipt; signature: Hex }> {
  const r: Receipt = {
    operator: req.operator,
    seq,
    request: hashQuietRequest(req),
    outputHash: options.outputHash ?? bytesOutputHash(options.output ?? toHex(`output of ${seq}`)),
    time: options.time ?? (await now()),
  };
  const signature = await signReceipt(options.key ?? operatorKey, domainOf(w, options.domain), r);
  return { receipt: r, signature };
}

const asStruct = (r: Receipt) => ({ ...r });
const asRequest = (q: QuietRequest) => ({ ...q });

/** Commit `receipts` (consecutive from the operator's next seq) as one batch; its fields and tree. */
async function commit(w: World, receipts: readonly Receipt[], uri = "https://operator.example/batches/0") {
  const batch = receiptBatch(receipts);
  const tx = await w.quiet.connect(w.operator).commitBatch(batch.firstSeq, batch.count, batch.root, uri);
  const mined = await tx.wait();
  const block = await ethers.provider.getBlock(mined!.blockNumber);
  const [, batchCount] = await w.quiet.head(w.operatorAddress);
  return {
    index: batchCount - 1n,
    fields: {
      root: batch.root,
      firstSeq: batch.firstSeq,
      count: batch.count,
      committedAt: BigInt(block!.timestamp),
    },
    tree: batch.tree,
    leaves: batch.leaves,
    gasUsed: mined!.gasUsed,
  };
}

describe("QuietMode", function () {
  this.timeout(180_000);

  describe("signed structures and the log", () => {
    it("agrees with the TypeScript definitions: type hashes, struct hashes and the domain", async () => {
      const w = await loadFixture(quietFixture);
      expect(await w.quiet.QUIET_REQUEST_TYPEHASH()).to.equal(QUIET_REQUEST_TYPEHASH);
      expect(await w.quiet.RECEIPT_TYPEHASH()).to.equal(RECEIPT_TYPEHASH);
      const { request: q } = await request(w, 7n);
      const { receipt: r } = await receipt(w, q, 42n);
      expect(await w.quiet.hashRequest(asRequest(q))).to.equal(hashQuietRequest(q));
      expect(await w.quiet.hashReceipt(asStruct(r))).to.equal(hashReceipt(r));
      const domain = domainOf(w);
      expect(await w.quiet.domainSeparator()).to.equal(
        ethers.TypedDataEncoder.hashDomain({ ...domain, chainId: domain.chainId }),
      );
      expect(await w.quiet.mode()).to.equal(QUIET_MODE_BIT);
      expect(await w.settlement.modeContract(QUIET_MODE_BIT)).to.equal(w.quietAddress);
    });

    it("refuses windows that let a payer leave before an operator can redeem, and a zero core", async () => {
      const w = await loadFixture(quietFixture);
      const core = await w.settlement.getAddress();
      const deploy = (args: unknown[]) => ethers.deployContract("QuietMode", args);
      const factory = await ethers.getContractFactory("QuietMode");
      for (const args of [
        [core, 0, 1, 1, 3, PENALTY, REWARD_BPS],
        [core, 1, 0, 1, 3, PENALTY, REWARD_BPS],
        [core, 1, 1, 0, 3, PENALTY, REWARD_BPS],
        [core, 1, 1, 1, 2, PENALTY, REWARD_BPS],
        [core, 1, 1, 31n * 24n * 3600n, 40n * 24n * 3600n, PENALTY, REWARD_BPS],
        [core, 1, 1, 1, 3, PENALTY, 10_001],
      ]) {
        await expect(deploy(args)).to.be.revertedWithCustomError(factory, "InvalidWindows");
      }
      await expect(
        deploy([ethers.ZeroAddress, 1, 1, 1, 3, PENALTY, REWARD_BPS]),
      ).to.be.revertedWithCustomError(factory, "ZeroAddress");
    });

    it("appends batches gap-free from the operator account, one slot each, and refuses anything else", async () => {
      const w = await loadFixture(quietFixture);
      const receipts: Receipt[] = [];
      for (let seq = 0n; seq < 5n; seq++)
        receipts.push((await receipt(w, (await request(w, seq)).request, seq)).receipt);
      const first = await commit(w, receipts.slice(0, 3));
      expect(await w.quiet.head(w.operatorAddress)).to.deep.equal([3n, 1n]);
      expect(await w.quiet.batchCommitment(w.operatorAddress, 0)).to.equal(
        keccak256(
          ethers.AbiCoder.defaultAbiCoder().encode(
            ["bytes32", "uint64", "uint32", "uint64"],
            [first.fields.root, 0n, 3, first.fields.committedAt],
          ) as Hex,
        ),
      );
      const q = w.quiet.connect(w.operator);
      await expect(q.commitBatch(0, 2, first.fields.root, ""))
        .to.be.revertedWithCustomError(w.quiet, "NotNextSeq")
        .withArgs(3, 0);
      await expect(q.commitBatch(4, 1, first.fields.root, ""))
        .to.be.revertedWithCustomError(w.quiet, "NotNextSeq")
        .withArgs(3, 4);
      await expect(q.commitBatch(3, 0, first.fields.root, ""))
        .to.be.revertedWithCustomError(w.quiet, "BadBatchSize")
        .withArgs(0);
      await expect(q.commitBatch(3, 65_537, first.fields.root, ""))
        .to.be.revertedWithCustomError(w.quiet, "BadBatchSize")
        .withArgs(65_537);
      const second = receiptBatch(receipts.slice(3));
      await expect(q.commitBatch(3, 2, second.root, "ipfs://batch-1"))
        .to.emit(w.quiet, "BatchCommitted")
        .withArgs(w.operatorAddress, 1, 3, 2, second.root, (await now()) + 1n, "ipfs://batch-1");
      // Anyone's log is their own: another account starts at 0.
      expect(await w.quiet.head(w.other.address)).to.deep.equal([0n, 0n]);
    });

    it("accepts a committed receipt on chain only once final, with its proof, in its batch, committed in time", async () => {
      const w = await loadFixture(quietFixture);
      const pairs = [];
      for (let seq = 0n; seq < 6n; seq++) {
        const { request: q } = await request(w, seq);
        pairs.push({ q, r: (await receipt(w, q, seq)).receipt });
      }
      const batch = await commit(
        w,
        pairs.map((p) => p.r),
      );
      const { q, r } = pairs[4]!;
      const proof = batch.tree.proof(4);
      const verify = (rr = r, qq = q, index = batch.index, fields = batch.fields, pr = proof) =>
        w.quiet.verifyReceipt(asStruct(rr), asRequest(qq), index, fields, pr);
      const finalAt = q.deadline + COMMIT_WINDOW + CHALLENGE_WINDOW;
      await expect(verify()).to.be.revertedWithCustomError(w.quiet, "NotFinal").withArgs(finalAt);
      await networkHelpers.time.increaseTo(finalAt + 1n);
      await verify(); // final
      const gas = await w.quiet.verifyReceipt.estimateGas(
        asStruct(r),
        asRequest(q),
        batch.index,
        batch.fields,
        proof,
      );
      console.log(`      verifyReceipt (6-receipt batch): ${gas} gas`);
      await expect(
        verify(r, q, batch.index, batch.fields, batch.tree.proof(3)),
      ).to.be.revertedWithCustomError(w.quiet, "InvalidLogProof");
      await expect(verify(r, q, batch.index, batch.fields, proof.slice(1))).to.be.revertedWithCustomError(
        w.quiet,
        "InvalidLogProof",
      );
      await expect(verify(r, q, 1n)).to.be.revertedWithCustomError(w.quiet, "UnknownBatch");
      await expect(verify(r, q, batch.index, { ...batch.fields, count: 7 })).to.be.revertedWithCustomError(
        w.quiet,
        "UnknownBatch",
      );
      await expect(verify({ ...r, seq: 9n }))
        .to.be.revertedWithCustomError(w.quiet, "SeqNotInBatch")
        .withArgs(9, 0, 6);
      await expect(verify(r, pairs[3]!.q)).to.be.revertedWithCustomError(w.quiet, "ReceiptRequestMismatch");
      await expect(verify({ ...r, outputHash: keccak256("0x01") })).to.be.revertedWithCustomError(
        w.quiet,
        "InvalidLogProof",
      );
      // A receipt answering a request whose deadline reaches past maxTtl is never valid.
      const far = (await request(w, 9n, { deadline: r.time + MAX_TTL + 1n })).request;
      await expect(verify({ ...r, request: hashQuietRequest(far) }, far)).to.be.revertedWithCustomError(
        w.quiet,
        "TtlTooLong",
      );
    });

    it("does not accept a receipt from a batch committed after its request's commit deadline", async () => {
      const w = await loadFixture(quietFixture);
      const { request: q } = await request(w, 0n);
      const { receipt: r } = await receipt(w, q, 0n);
      await networkHelpers.time.increaseTo(q.deadline + COMMIT_WINDOW + 1n);
      const batch = await commit(w, [r]);
      await networkHelpers.time.increaseTo(q.deadline + COMMIT_WINDOW + CHALLENGE_WINDOW + 1n);
      await expect(w.quiet.verifyReceipt(asStruct(r), asRequest(q), batch.index, batch.fields, []))
        .to.be.revertedWithCustomError(w.quiet, "BatchCommittedLate")
        .withArgs(batch.fields.committedAt, q.deadline + COMMIT_WINDOW);
    });

    it("costs under 100 gas per receipt to commit a batch of 1,024", async () => {
      const w = await loadFixture(quietFixture);
      const { request: q } = await request(w, 0n);
      const signed = await receipt(w, q, 0n);
      // The warm-up batch makes the operator's head non-zero, as it is in steady state.
      await commit(w, [signed.receipt]);
      const leaves = Array.from({ length: 1024 }, (_, i) => receiptLeaf(keccak256(toHex(`receipt ${i}`))));
      const tree = LogTree.fromLeaves(leaves);
      const tx = await w.quiet
        .connect(w.operator)
        .commitBatch(1, 1024, tree.root, "https://operator.example/batches/1");
      const gas = (await tx.wait())!.gasUsed;
      console.log(`      commitBatch of 1,024 receipts: ${gas} gas, ${Number(gas) / 1024} gas per receipt`);
      expect(gas).to.be.lessThan(1024n * 100n);
    });
  });

  describe("challenges", () => {
    /** The operator's stake and the challenger's ledger balance, to see a slash land. */
    const stakeOf = async (w: World) => (await w.operators.getOperator(w.operatorAddress)).stake;

    it("equivocation: two receipts for one seq, or for one request, slash once; an honest operator cannot be framed", async () => {
      const w = await loadFixture(quietFixture);
      const a = await request(w, 0n);
      const b = await request(w, 1n);
      const ra = await receipt(w, a.request, 0n);
      const rb = await receipt(w, b.request, 0n); // the same seq for another request: the cheat
      const before = await stakeOf(w);
      const challenge = (x = ra, qx = a.request, y = rb, qy = b.request, from = w.reporter) =>
        w.quiet
          .connect(from)
          .challengeEquivocation(
            asStruct(x.receipt),
            asRequest(qx),
            x.signature,
            asStruct(y.receipt),
            asRequest(qy),
            y.signature,
          );
      await expect(challenge()).to.emit(w.quiet, "OperatorChallenged");
      expect(await stakeOf(w)).to.equal(before - PENALTY);
      expect(await w.settlement.balances(w.reporter.address)).to.equal(
        (PENALTY * BigInt(REWARD_BPS)) / 10_000n,
      );
      await expect(challenge()).to.be.revertedWithCustomError(w.quiet, "ReceiptEvidenceUsed");

      // Two receipts (other seqs) for one request: equivocation too.
      const rc = await receipt(w, a.request, 5n);
      await expect(challenge(ra, a.request, rc, a.request)).to.emit(w.quiet, "OperatorChallenged");
      // The same receipt twice, or two receipts sharing neither seq nor request, are not.
      await expect(challenge(ra, a.request, ra, a.request)).to.be.revertedWithCustomError(
        w.quiet,
        "NotEquivocation",
      );
      const rd = await receipt(w, b.request, 6n);
      await expect(challenge(ra, a.request, rd, b.request)).to.be.revertedWithCustomError(
        w.quiet,
        "NotEquivocation",
      );

      // Fabricated: a stranger's key, or the operator's key signing for another deployment (replay), proves nothing.
      const forged = await receipt(w, b.request, 0n, { key: strangerKey, outputHash: keccak256("0x02") });
      await expect(challenge(ra, a.request, forged, b.request)).to.be.revertedWithCustomError(
        w.quiet,
        "InvalidEvidence",
      );
      const otherDeployment = await receipt(w, b.request, 0n, {
        domain: "0x000000000000000000000000000000000000dEaD",
        outputHash: keccak256("0x03"),
      });
      await expect(challenge(ra, a.request, otherDeployment, b.request)).to.be.revertedWithCustomError(
        w.quiet,
        "InvalidEvidence",
      );
      // A receipt paired with another request, or across operators.
      await expect(challenge(ra, b.request, rb, b.request)).to.be.revertedWithCustomError(
        w.quiet,
        "ReceiptRequestMismatch",
      );
      await expect(
        challenge(
          ra,
          a.request,
          { ...rb, receipt: { ...rb.receipt, operator: w.other.address as Address } },
          b.request,
        ),
      ).to.be.revertedWithCustomError(w.quiet, "OperatorMismatch");
      await expect(
        challenge(ra, a.request, { ...rb, signature: "0x1234" }, b.request),
      ).to.be.revertedWithCustomError(w.quiet, "InvalidSignature");

      // After the challenge deadline, evidence is closed.
      const late = await receipt(w, b.request, 0n, { outputHash: keccak256("0x04") });
      await networkHelpers.time.increaseTo(b.request.deadline + COMMIT_WINDOW + CHALLENGE_WINDOW + 1n);
      await expect(challenge(rd, b.request, late, b.request)).to.be.revertedWithCustomError(
        w.quiet,
        "ChallengeClosed",
      );
    });

    it("a retired key counts only for receipts dated before its retirement; a challenge that slashes nothing keeps its evidence", async () => {
      const w = await loadFixture(quietFixture);
      const a = await request(w, 0n);
      const b = await request(w, 1n);
      const before = await receipt(w, a.request, 0n);
      await rotateSigner(w, w.operator, new ethers.Wallet(SIGNER_KEYS[1]));
      const rotatedAt = await now();
      // Dated after the rotation: the old key (leaked, say) can frame nobody.
      const forged = await receipt(w, b.request, 0n, { time: rotatedAt + 1n });
      const challenge = (x = before, y = forged) =>
        w.quiet
          .connect(w.reporter)
          .challengeEquivocation(
            asStruct(x.receipt),
            asRequest(a.request),
            x.signature,
            asStruct(y.receipt),
            asRequest(b.request),
            y.signature,
          );
      await expect(challenge()).to.be.revertedWithCustomError(w.quiet, "KeyRetiredBeforeReceipt");
      // Dated before it: still the operator's evidence (within the request's challenge deadline).
      const earlier = await receipt(w, b.request, 0n, { time: rotatedAt - 5n });
      await expect(challenge(before, earlier)).to.emit(w.quiet, "OperatorChallenged"); // 1,000 → 400 OPG staked
      // Two more cheats with the new key: the second drains the stake, the third finds nothing to take.
      const newKey = privateKeyToAccount(SIGNER_KEYS[1]);
      const equivocate = async (seq: bigint) => {
        const x = await receipt(w, a.request, seq, { key: newKey });
        const y = await receipt(w, b.request, seq, { key: newKey });
        return () => challenge(x, y);
      };
      await expect((await equivocate(1n))()).to.emit(w.quiet, "OperatorChallenged"); // 400 → 0
      expect((await w.operators.getOperator(w.operatorAddress)).stake).to.equal(0n);
      // No stake left: the challenge reverts and the evidence stays usable.
      const third = await equivocate(2n);
      await expect(third()).to.be.revertedWithCustomError(w.quiet, "NothingToSlash");
      await w.token.connect(w.operator).approve(await w.operators.getAddress(), PENALTY);
      await w.operators.connect(w.operator).stake(PENALTY);
      await expect(third()).to.emit(w.quiet, "OperatorChallenged");
    });

    it("omission: a signed receipt that is not the committed leaf slashes; the committed receipt itself does not", async () => {
      const w = await loadFixture(quietFixture);
      const pairs: { q: QuietRequest; receipt: Receipt; signature: Hex }[] = [];
      for (let seq = 0n; seq < 4n; seq++) {
        const { request: q } = await request(w, seq);
        pairs.push({ q, ...(await receipt(w, q, seq)) });
      }
      // The cheat: the payer of seq 2 holds a receipt with one output, the log commits another.
      const committed = [...pairs.map((p) => p.receipt)];
      committed[2] = { ...committed[2]!, outputHash: keccak256("0xbad") };
      const batch = await commit(w, committed);
      const challenge = (
        p = pairs[2]!,
        leaf = batch.leaves[2]!,
        proof = batch.tree.proof(2),
        index = batch.index,
        fields = batch.fields,
      ) =>
        w.quiet
          .connect(w.reporter)
          .challengeOmission(asStruct(p.receipt), asRequest(p.q), p.signature, index, fields, leaf, proof);
      // Honest parts of the log: a committed receipt and its own leaf.
      await expect(challenge(pairs[1], batch.leaves[1], batch.tree.proof(1))).to.be.revertedWithCustomError(
        w.quiet,
        "NotOmitted",
      );
      // Adversarial challengers: a wrong proof, another batch, a receipt out of the batch.
      await expect(challenge(pairs[2], batch.leaves[2], batch.tree.proof(1))).to.be.revertedWithCustomError(
        w.quiet,
        "InvalidLogProof",
      );
      await expect(challenge(pairs[2], batch.leaves[3], batch.tree.proof(3))).to.be.revertedWithCustomError(
        w.quiet,
        "InvalidLogProof",
      );
      await expect(
        challenge(pairs[2], batch.leaves[2], batch.tree.proof(2), 1n),
      ).to.be.revertedWithCustomError(w.quiet, "UnknownBatch");
      const outside = await request(w, 9n);
      const r9 = await receipt(w, outside.request, 9n);
      await expect(challenge({ q: outside.request, ...r9 })).to.be.revertedWithCustomError(
        w.quiet,
        "SeqNotInBatch",
      );
      // The cheat is caught, once.
      await expect(challenge()).to.emit(w.quiet, "OperatorChallenged");
      await expect(challenge()).to.be.revertedWithCustomError(w.quiet, "ReceiptEvidenceUsed");
    });

    it("omission: a batch committed late, or a receipt never committed, slashes after the commit deadline only", async () => {
      const w = await loadFixture(quietFixture);
      const a = await request(w, 0n);
      const ra = await receipt(w, a.request, 0n);
      const b = await request(w, 1n);
      const rb = await receipt(w, b.request, 1n);
      const dueBy = a.request.deadline + COMMIT_WINDOW;
      const uncommitted = (x = rb, q = b.request) =>
        w.quiet.connect(w.reporter).challengeUncommitted(asStruct(x.receipt), asRequest(q), x.signature);
      await expect(uncommitted()).to.be.revertedWithCustomError(w.quiet, "NotUncommitted");
      // The operator commits seq 0 in time, then nothing more.
      const batch = await commit(w, [ra.receipt]);
      await expect(
        w.quiet
          .connect(w.reporter)
          .challengeLate(asStruct(ra.receipt), asRequest(a.request), ra.signature, batch.index, batch.fields),
      ).to.be.revertedWithCustomError(w.quiet, "NotLate");
      await networkHelpers.time.increaseTo(dueBy + 1n);
      await expect(uncommitted(ra, a.request)).to.be.revertedWithCustomError(w.quiet, "NotUncommitted"); // committed
      await expect(uncommitted()).to.emit(w.quiet, "OperatorChallenged"); // seq 1 never committed
      // Committing it now is late, and the same evidence slashes once.
      const lateBatch = await commit(w, [rb.receipt]);
      await expect(
        w.quiet
          .connect(w.reporter)
          .challengeLate(
            asStruct(rb.receipt),
            asRequest(b.request),
            rb.signature,
            lateBatch.index,
            lateBatch.fields,
          ),
      ).to.be.revertedWithCustomError(w.quiet, "ReceiptEvidenceUsed");
      const c = await request(w, 2n);
      const rc = await receipt(w, c.request, 2n);
      await networkHelpers.time.increaseTo(c.request.deadline + COMMIT_WINDOW + 1n);
      const lateC = await commit(w, [rc.receipt]);
      await expect(
        w.quiet
          .connect(w.reporter)
          .challengeLate(asStruct(rc.receipt), asRequest(c.request), rc.signature, lateC.index, lateC.fields),
      ).to.emit(w.quiet, "OperatorChallenged");
    });
  });

  describe("channels", () => {
    /** The payer allows quiet mode and funds its channel with the operator. */
    async function funded(w: World, amount = 20n * OPG) {
      await w.settlement.connect(w.requester).approveMode(QUIET_MODE_BIT, amount);
      await w.quiet.connect(w.requester).fund(w.operatorAddress, amount);
    }
    const quietBalance = async (w: World) => w.settlement.balances(w.quietAddress);

    it("funds within the payer's allowance, and gives funds back only after the notice period", async () => {
      const w = await loadFixture(quietFixture);
      await expect(w.quiet.connect(w.requester).fund(w.operatorAddress, OPG)).to.be.revertedWithCustomError(
        w.settlement,
        "InsufficientModeAllowance",
      );
      await expect(w.quiet.connect(w.requester).fund(ethers.ZeroAddress, OPG)).to.be.revertedWithCustomError(
        w.quiet,
        "ZeroAddress",
      );
      await expect(w.quiet.connect(w.requester).fund(w.operatorAddress, 0)).to.be.revertedWithCustomError(
        w.quiet,
        "InvalidAmount",
      );
      const ledger = await w.settlement.balances(w.payerAddress);
      await funded(w, 5n * OPG);
      expect(await w.quiet.channel(w.payerAddress, w.operatorAddress)).to.deep.equal([5n * OPG, 0n]);
      expect(await quietBalance(w)).to.equal(5n * OPG);
      expect(await w.settlement.balances(w.payerAddress)).to.equal(ledger - 5n * OPG);

      await expect(w.quiet.connect(w.requester).withdrawChannel(w.operatorAddress))
        .to.be.revertedWithCustomError(w.quiet, "RefundNotDue")
        .withArgs(0);
      await expect(w.quiet.connect(w.requester).requestRefund(w.operatorAddress)).to.emit(
        w.quiet,
        "RefundRequested",
      );
      const [, refundAt] = await w.quiet.channel(w.payerAddress, w.operatorAddress);
      expect(refundAt).to.equal((await now()) + NOTICE);
      await expect(w.quiet.connect(w.requester).withdrawChannel(w.operatorAddress))
        .to.be.revertedWithCustomError(w.quiet, "RefundNotDue")
        .withArgs(refundAt);
      await networkHelpers.time.increaseTo(refundAt);
      await expect(w.quiet.connect(w.requester).withdrawChannel(w.operatorAddress))
        .to.emit(w.quiet, "ChannelWithdrawn")
        .withArgs(w.payerAddress, w.operatorAddress, 5n * OPG);
      expect(await w.settlement.balances(w.payerAddress)).to.equal(ledger);
      expect(await quietBalance(w)).to.equal(0n);
    });

    it("redeems the latest voucher after its challenge deadline, split like a request's fee, never twice, never more than signed", async () => {
      const w = await loadFixture(quietFixture);
      await funded(w, 50n * OPG);
      const vouchers = [];
      for (let i = 0n; i < 3n; i++) vouchers.push(await request(w, i));
      const latest = vouchers[2]!;
      const redeem = (list = [latest], from = w.operator) =>
        w.quiet
          .connect(from)
          .redeem(list.map((v) => ({ request: asRequest(v.request), signature: v.signature })));
      const redeemableAt = latest.request.deadline + COMMIT_WINDOW + CHALLENGE_WINDOW;
      await expect(redeem()).to.be.revertedWithCustomError(w.quiet, "NotFinal").withArgs(redeemableAt);
      await networkHelpers.time.increaseTo(redeemableAt + 1n);
      await expect(redeem([latest], w.other)).to.be.revertedWithCustomError(w.quiet, "NotAnOperator");
      const forAnother = await request(w, 0n, {
        operator: w.other.address as Address,
        deadline: latest.request.deadline,
      });
      await expect(redeem([forAnother])).to.be.revertedWithCustomError(w.quiet, "NotYourVoucher");
      const forged = { ...latest, request: { ...latest.request, cumulative: 100n * OPG } };
      await expect(redeem([forged])).to.be.revertedWithCustomError(w.quiet, "InvalidPayerSignature");

      const payout = await w.settlement.balances(w.payout.address);
      const owner = await w.settlement.balances(w.modelOwner.address);
      const total = 3n * MODEL_FEE;
      await expect(redeem())
        .to.emit(w.quiet, "VoucherRedeemed")
        .withArgs(w.payerAddress, w.operatorAddress, w.quietModelId, total, total, 0);
      const royalty = (total * BigInt(ROYALTY_BPS)) / 10_000n;
      const protocol = (total * BigInt(PROTOCOL_FEE_BPS)) / 10_000n;
      expect(await w.settlement.balances(w.modelOwner.address)).to.equal(owner + royalty);
      expect(await w.settlement.balances(w.payout.address)).to.equal(payout + total - royalty - protocol);
      expect(await w.quiet.subChannel(w.payerAddress, w.operatorAddress, w.quietModelId)).to.deep.equal([
        total,
        0n,
      ]);
      // Again, or an older voucher: nothing more.
      const before = await quietBalance(w);
      await redeem([latest, vouchers[0]!]);
      expect(await quietBalance(w)).to.equal(before);
      expect(before).to.equal(50n * OPG - total);
      const [funds] = await w.quiet.channel(w.payerAddress, w.operatorAddress);
      expect(funds).to.equal(before);
    });

    it("caps a redemption by the channel's funds, and refuses a model that does not allow quiet mode", async () => {
      const w = await loadFixture(quietFixture);
      await funded(w, MODEL_FEE + 1n);
      const v = await request(w, 1n); // cumulative 2 fees, the channel holds 1 fee + 1 wei
      await networkHelpers.time.increaseTo(v.request.deadline + COMMIT_WINDOW + CHALLENGE_WINDOW + 1n);
      await w.quiet.connect(w.operator).redeem([{ request: asRequest(v.request), signature: v.signature }]);
      expect(await w.quiet.channel(w.payerAddress, w.operatorAddress)).to.deep.equal([0n, 0n]);
      expect(await quietBalance(w)).to.equal(0n);

      await funded(w, MODEL_FEE);
      const other = await request(w, 0n, { modelId: w.modelId }); // the fixture's model allows signature mode only
      await networkHelpers.time.increaseTo(other.request.deadline + COMMIT_WINDOW + CHALLENGE_WINDOW + 1n);
      await expect(
        w.quiet
          .connect(w.operator)
          .redeem([{ request: asRequest(other.request), signature: other.signature }]),
      ).to.be.revertedWithCustomError(w.quiet, "QuietModeNotAllowed");
      await expect(w.quiet.connect(w.other).redeem([])).to.be.revertedWithCustomError(
        w.quiet,
        "NotAnOperator",
      );
      const many = Array.from({ length: 257 }, () => ({
        request: asRequest(other.request),
        signature: other.signature,
      }));
      await expect(w.quiet.connect(w.operator).redeem(many)).to.be.revertedWithCustomError(
        w.quiet,
        "TooManyVouchers",
      );
    });
  });

  describe("wrong output (real Groth16 proofs)", () => {
    const iris = loadIris();

    async function zkWorld() {
      const w = await quietFixture();
      const verifier = (await (await ethers.deployContract("IrisMlpVerifier")).getAddress()) as Address;
      const registration = await irisRegistration({
        fee: MODEL_FEE,
        royaltyBps: ROYALTY_BPS,
        zkVerifier: verifier,
        name: "iris-quiet",
      });
      const zkModelId = await registerModel(w.models, w.modelOwner, {
        ...registration.spec,
        modes: 2 | QUIET_MODE_BIT,
      });
      return { ...w, zkModelId, quantized: registration.quantized };
    }

    it("slashes, strikes and refunds a receipt whose output the committed circuit contradicts; an honest receipt stands", async () => {
      const w = await loadFixture(zkWorld);
      const features = iris.features[0]!;
      const quantizedInput = quantizeInput(features, w.quantized);
      const inputHash = fieldToBytes32(await inputCommitment(quantizedInput, w.quantized.params));
      const truth = BigInt(fixedPointForward(w.quantized, quantizedInput).label);
      await w.settlement.connect(w.requester).approveMode(QUIET_MODE_BIT, 10n * OPG);
      await w.quiet.connect(w.requester).fund(w.operatorAddress, 10n * OPG);
      const honest = await request(w, 0n, { modelId: w.zkModelId, inputHash });
      const cheat = await request(w, 1n, { modelId: w.zkModelId, inputHash });
      const rHonest = await receipt(w, honest.request, 0n, { outputHash: zkOutputHash(truth) });
      const rCheat = await receipt(w, cheat.request, 1n, { outputHash: zkOutputHash((truth + 1n) % 3n) });

      const proofFor = async (seq: bigint, challenger: Address) => {
        const binding = await w.quiet.quietBinding(w.operatorAddress, seq, challenger);
        const proven = await prove(circuitInput(w.quantized, quantizedInput, binding));
        return settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
      };
      const challenge = (
        r: typeof rHonest,
        q: QuietRequest,
        output: bigint,
        proof: Awaited<ReturnType<typeof proofFor>>["proof"],
        from = w.reporter,
      ) =>
        w.quiet.connect(from).challengeOutput(asStruct(r.receipt), asRequest(q), r.signature, output, proof);

      const forHonest = await proofFor(0n, w.reporter.address as Address);
      expect(forHonest.output).to.equal(truth);
      await expect(
        challenge(rHonest, honest.request, forHonest.output, forHonest.proof),
      ).to.be.revertedWithCustomError(w.quiet, "OutputMatches");
      // Claiming another output with the honest receipt's proof: the verifier refuses it.
      await expect(
        challenge(rHonest, honest.request, (truth + 1n) % 3n, forHonest.proof),
      ).to.be.revertedWithCustomError(w.quiet, "InvalidProof");

      const forCheat = await proofFor(1n, w.reporter.address as Address);
      // Copied from the mempool by someone else: bound to the reporter, so it fails for the copier.
      await expect(
        challenge(rCheat, cheat.request, forCheat.output, forCheat.proof, w.other),
      ).to.be.revertedWithCustomError(w.quiet, "InvalidProof");
      const stake = (await w.operators.getOperator(w.operatorAddress)).stake;
      const tx = challenge(rCheat, cheat.request, forCheat.output, forCheat.proof);
      await expect(tx)
        .to.emit(w.quiet, "ReceiptStruck")
        .withArgs(w.operatorAddress, 1n, w.reporter.address, PENALTY);
      expect((await w.operators.getOperator(w.operatorAddress)).stake).to.equal(stake - PENALTY);
      expect(await w.quiet.isStruck(w.operatorAddress, 1n)).to.equal(true);
      expect(await w.quiet.subChannel(w.payerAddress, w.operatorAddress, w.zkModelId)).to.deep.equal([
        0n,
        MODEL_FEE,
      ]);
      await expect(
        challenge(rCheat, cheat.request, forCheat.output, forCheat.proof),
      ).to.be.revertedWithCustomError(w.quiet, "ReceiptEvidenceUsed");

      // The log holds both; the struck one is refused on chain even once final, and the payer pays for one.
      const batch = await commit(w, [rHonest.receipt, rCheat.receipt]);
      await networkHelpers.time.increaseTo(cheat.request.deadline + COMMIT_WINDOW + CHALLENGE_WINDOW + 1n);
      await w.quiet.verifyReceipt(
        asStruct(rHonest.receipt),
        asRequest(honest.request),
        batch.index,
        batch.fields,
        batch.tree.proof(0),
      );
      await expect(
        w.quiet.verifyReceipt(
          asStruct(rCheat.receipt),
          asRequest(cheat.request),
          batch.index,
          batch.fields,
          batch.tree.proof(1),
        ),
      ).to.be.revertedWithCustomError(w.quiet, "ReceiptIsStruck");
      await expect(
        w.quiet
          .connect(w.operator)
          .redeem([{ request: asRequest(cheat.request), signature: cheat.signature }]),
      )
        .to.emit(w.quiet, "VoucherRedeemed")
        .withArgs(w.payerAddress, w.operatorAddress, w.zkModelId, 2n * MODEL_FEE, MODEL_FEE, MODEL_FEE);
      const [funds] = await w.quiet.channel(w.payerAddress, w.operatorAddress);
      expect(funds).to.equal(10n * OPG - MODEL_FEE);
    });

    it("needs a model with a circuit", async () => {
      const w = await loadFixture(zkWorld);
      const q = await request(w, 0n);
      const r = await receipt(w, q.request, 0n);
      const zero: [bigint, bigint] = [0n, 0n];
      const proof = { a: zero, b: [zero, zero] as [[bigint, bigint], [bigint, bigint]], c: zero };
      await expect(
        w.quiet
          .connect(w.reporter)
          .challengeOutput(asStruct(r.receipt), asRequest(q.request), r.signature, 1n, proof),
      ).to.be.revertedWithCustomError(w.quiet, "NoZkCircuit");
    });
  });
});
