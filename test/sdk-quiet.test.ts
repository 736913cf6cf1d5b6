/**
 * Quiet mode through the SDK (docs/quiet.md), on a real Hardhat JSON-RPC node with the protocol deployed by the
 * Ignition module (QuietMode with the default windows: 1 h commit, 1 day challenge, 1 h maxTtl, 26 h notice): a payer
 * funds a channel and signs vouchers, the operator's key signs receipts, the payer verifies them (and rejects every
 * kind of bad one), the operator commits and redeems, anyone verifies on chain and challenges a cheat.
 */
import { expect } from "chai";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { protocolBytecode } from "../src/abi/bytecode.js";
import { readFile } from "node:fs/promises";
import { irisMlpVerifierAbi, quietModeAbi } from "../src/abi/index.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { loadIris } from "../src/model/iris.js";
import type { KeySigner } from "../src/modes/types.js";
import {
  decodeProtocolError,
  hashQuietRequest,
  hashReceipt,
  OpgError,
  PROTOCOL_DEFAULTS,
  receiptLeaf,
  recoverQuietRequestSigner,
  VerificationMode,
  fieldToBytes32,
  zkOutputBytes,
  zkOutputHash,
  type OpgClient,
  type QuietRequest,
  type Receipt,
  type SignedQuietReceipt,
  type SignedQuietRequest,
} from "../src/sdk/index.js";
import {
  circuitInput,
  fixedPointForward,
  inputCommitment,
  IRIS_ZK_PARAMS,
  prove,
  quantizeInput,
  quantizeOnnx,
  settlementProof,
  toSolidityCalldata,
} from "../src/zk/index.js";
import "./helpers/release-zk.js";
import {
  OPERATOR_SIGNING_KEY,
  OPG,
  rejection,
  startTestChain,
  type TestChain,
} from "./helpers/sdk-fixture.js";

async function opgRejection(promise: Promise<unknown>, code: OpgError["code"]): Promise<OpgError> {
  const error = await rejection(promise);
  if (!(error instanceof OpgError)) throw new Error(`expected an OpgError, got ${String(error)}`);
  expect(error.code, error.message).to.equal(code);
  return error;
}

async function protocolRejection(promise: Promise<unknown>): Promise<string | undefined> {
  return decodeProtocolError(await rejection(promise))?.name;
}

const QUIET_FEE = OPG;
const COMMIT_WINDOW = Number(PROTOCOL_DEFAULTS.quietCommitWindow);
const CHALLENGE_WINDOW = Number(PROTOCOL_DEFAULTS.quietChallengeWindow);
const MAX_TTL = PROTOCOL_DEFAULTS.quietMaxTtl;
const NOTICE = Number(PROTOCOL_DEFAULTS.quietNoticePeriod);
const PENALTY = PROTOCOL_DEFAULTS.quietPenalty;
/** Output bytes standing for the model's float32 scores. */
const OUTPUT: Hex = "0x0000803f0000000000000000";

describe("sdk: quiet mode", function () {
  this.timeout(180_000);
  let chain: TestChain;
  let payer: OpgClient;
  let operator: OpgClient;
  let challenger: OpgClient;
  let operatorAddress: Address;
  let payerAddress: Address;
  const key = privateKeyToAccount(OPERATOR_SIGNING_KEY);
  /** A version of Iris allowing signature and quiet mode (no zk circuit). */
  let quietModel: Hex;
  /** A version of Iris with its zk circuit, allowing signature, zk and quiet mode. */
  let zkQuietModel: Hex;

  const now = async () => (await payer.publicClient.getBlock()).timestamp;

  /** The payer's voucher `index` in the quiet model's sub-channel (fee 1 OPG each). */
  async function voucher(index: bigint, overrides: Partial<QuietRequest> = {}) {
    return payer.signQuietVoucher({
      operator: operatorAddress,
      modelId: overrides.modelId ?? quietModel,
      inputHash: overrides.inputHash ?? keccak256(toHex(`input ${index}`)),
      fee: QUIET_FEE,
      cumulative: overrides.cumulative ?? QUIET_FEE * (index + 1n),
      index,
      deadline: overrides.deadline ?? (await now()) + 600n,
    });
  }

  /** The operator key's receipt `seq` for `request`. */
  async function receiptFor(
    request: QuietRequest,
    seq: bigint,
    output: Hex = OUTPUT,
    signer: KeySigner = key,
    outputHash: Hex = keccak256(output),
  ): Promise<SignedQuietReceipt> {
    const receipt: Receipt = {
      operator: request.operator,
      seq,
      request: hashQuietRequest(request),
      outputHash,
      time: await now(),
    };
    const signature = await operator.signQuietReceipt({ signer, receipt });
    return { receipt, request, signature };
  }

  before(async () => {
    chain = await startTestChain();
    payer = chain.clientFor(4);
    operator = chain.clientFor(2);
    challenger = chain.clientFor(5);
    operatorAddress = operator.account()!.address;
    payerAddress = payer.account()!.address;
    const owner = chain.clientFor(1);
    const iris = await owner.getModel({ modelId: chain.irisModelId });
    ({ modelId: quietModel } = await owner.registerModel({
      name: "iris-quiet",
      fileHash: iris.fileHash,
      runtimeHash: iris.runtimeHash,
      uri: "models/iris-mlp.onnx",
      fee: QUIET_FEE,
      royaltyBps: 500,
      modes: VerificationMode.Signature | VerificationMode.Quiet,
    }));
    const hash = await owner.walletClient!.deployContract({
      abi: irisMlpVerifierAbi,
      bytecode: protocolBytecode.irisMlpVerifier,
      account: owner.account()!,
      chain: owner.walletClient!.chain,
    });
    const { contractAddress } = await owner.publicClient.waitForTransactionReceipt({ hash });
    const zk = await irisRegistration({
      fee: QUIET_FEE,
      royaltyBps: 500,
      zkVerifier: getAddress(contractAddress!),
      name: "iris-quiet-zk",
    });
    ({ modelId: zkQuietModel } = await owner.registerModel({
      ...zk.spec,
      modes: VerificationMode.Signature | VerificationMode.Zk | VerificationMode.Quiet,
    }));
  });
  after(async () => {
    await chain.close();
  });

  it("reads the deployment's quiet mode once: its contract, windows and domain", async () => {
    const quiet = await payer.getQuietMode();
    expect(quiet.address).to.equal(await payer.getModeContract({ mode: VerificationMode.Quiet }));
    expect(quiet).to.include({
      commitWindow: BigInt(COMMIT_WINDOW),
      challengeWindow: BigInt(CHALLENGE_WINDOW),
      maxTtl: MAX_TTL,
      noticePeriod: BigInt(NOTICE),
      penalty: PENALTY,
    });
    expect(quiet.domain).to.deep.include({
      chainId: BigInt(chain.chainId),
      verifyingContract: quiet.address,
    });
    expect(await payer.getQuietMode()).to.equal(quiet); // the cached object itself
  });

  it("funds a channel, approving the mode only when its allowance is short", async () => {
    await payer.deposit({ amount: 100n * OPG });
    expect(await payer.getModeAllowance({ mode: VerificationMode.Quiet })).to.equal(0n);
    const first = await payer.fundChannel({ operator: operatorAddress, amount: 10n * OPG });
    expect(first.approval?.gasUsed).to.be.a("bigint");
    expect(first.funds).to.equal(10n * OPG);
    expect(await payer.getModeAllowance({ mode: VerificationMode.Quiet })).to.equal(0n); // pulled it all

    await payer.approveMode({ mode: VerificationMode.Quiet, amount: 50n * OPG });
    const second = await payer.fundChannel({ operator: operatorAddress, amount: 5n * OPG });
    expect(second.approval).to.equal(undefined);
    expect(second.funds).to.equal(15n * OPG);
    expect(await payer.getChannel({ operator: operatorAddress })).to.deep.equal({
      funds: 15n * OPG,
      refundAt: 0n,
    });
    expect(await operator.getChannel({ payer: payerAddress, operator: operatorAddress })).to.deep.equal({
      funds: 15n * OPG,
      refundAt: 0n,
    });
    expect(await payer.getBalance()).to.equal(85n * OPG);
    await opgRejection(payer.fundChannel({ operator: operatorAddress, amount: 0n }), "BadInput");
  });

  it("signs a voucher as the payer and a receipt with the operator's key, and verifies the answer", async () => {
    const { request, signature } = await voucher(0n);
    expect(request).to.include({ payer: payerAddress, operator: operatorAddress, cumulative: QUIET_FEE });
    const { domain } = await payer.getQuietMode();
    expect(await recoverQuietRequestSigner(domain, request, signature)).to.equal(payerAddress);

    const signed = await receiptFor(request, 0n);
    expect(await payer.verifyQuietReceipt({ ...signed, output: OUTPUT })).to.deep.equal(signed.receipt);
    expect(
      await payer.verifyQuietReceipt({
        ...signed,
        output: new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0]),
      }),
    ).to.deep.equal(signed.receipt);

    // A zk-circuit model's output is its class: a 32-byte word or a bigint.
    const zkRequest = (await voucher(0n, { modelId: zkQuietModel, inputHash: toHex(5n, { size: 32 }) }))
      .request;
    const word = zkOutputBytes(2n);
    const zkSigned = await receiptFor(zkRequest, 1n, word);
    expect(await payer.verifyQuietReceipt({ ...zkSigned, output: word })).to.deep.equal(zkSigned.receipt);
    expect(await payer.verifyQuietReceipt({ ...zkSigned, output: 2n })).to.deep.equal(zkSigned.receipt);
    const short = await opgRejection(
      payer.verifyQuietReceipt({ ...zkSigned, output: OUTPUT }),
      "ReceiptRejected",
    );
    expect(short.message).to.match(/class as a 32-byte word/);
    const classless = await opgRejection(
      payer.verifyQuietReceipt({ ...signed, output: 2n }),
      "ReceiptRejected",
    );
    expect(classless.message).to.match(/no zk circuit/);

    // Refused before anything is signed.
    await opgRejection(payer.signQuietVoucher({ ...request, cumulative: 0n, index: 0n }), "BadInput");
    await opgRejection(
      payer.signQuietVoucher({ ...request, fee: 2n ** 96n, cumulative: 2n ** 96n }),
      "BadInput",
    );
  });

  it("rejects a receipt for another request, another operator, another output, a stranger's key, or a deadline beyond maxTtl", async () => {
    const { request } = await voucher(0n);
    const signed = await receiptFor(request, 0n);
    const rejected = async (params: Parameters<OpgClient["verifyQuietReceipt"]>[0], message: RegExp) => {
      const error = await opgRejection(payer.verifyQuietReceipt(params), "ReceiptRejected");
      expect(error.message).to.match(message);
    };

    const other = (await voucher(1n)).request;
    await rejected({ ...signed, request: other, output: OUTPUT }, /answers request .* not this one/);
    await rejected(
      { ...signed, request: { ...request, operator: payerAddress }, output: OUTPUT },
      /answers request/,
    );
    const byOther = { ...signed.receipt, operator: payerAddress };
    await rejected(
      { ...signed, receipt: byOther, output: OUTPUT },
      /is by operator .* but the request names/,
    );
    await rejected({ ...signed, output: "0x00" }, /output hash .* is not the output's/);

    await rejected(
      { ...signed, receipt: { ...signed.receipt, seq: 2n ** 64n }, output: OUTPUT },
      /the receipt is malformed/,
    );

    const stranger = privateKeyToAccount(`0x${"5a".repeat(32)}`);
    const forged = await receiptFor(request, 0n, OUTPUT, stranger);
    await rejected(
      { ...forged, output: OUTPUT },
      new RegExp(`signed by ${stranger.address}, not by the operator's current key`),
    );
    await rejected({ ...signed, signature: "0x1234", output: OUTPUT }, /signature is malformed/);

    const time = await now();
    const far = (await voucher(0n, { deadline: time + MAX_TTL + 1n })).request;
    const farSigned = await receiptFor(far, 0n);
    await rejected({ ...farSigned, output: OUTPUT }, /more than the mode's maxTtl \(3600 s\)/);
    const edge = (await voucher(0n, { deadline: (await now()) + MAX_TTL })).request;
    const edgeSigned = await receiptFor(edge, 0n);
    expect(await payer.verifyQuietReceipt({ ...edgeSigned, output: OUTPUT })).to.deep.equal(
      edgeSigned.receipt,
    );
  });

  it("rejects a receipt for a model that does not allow quiet mode, or from an unknown model", async () => {
    const iris = (await voucher(0n, { modelId: chain.irisModelId })).request;
    const signed = await receiptFor(iris, 0n);
    const error = await opgRejection(
      payer.verifyQuietReceipt({ ...signed, output: OUTPUT }),
      "ReceiptRejected",
    );
    expect(error.message).to.match(/does not allow quiet mode \(mode flags 1\)/);
    const unknown = (await voucher(0n, { modelId: keccak256("0x01") })).request;
    const unknownSigned = await receiptFor(unknown, 0n);
    const e2 = await opgRejection(
      payer.verifyQuietReceipt({ ...unknownSigned, output: OUTPUT }),
      "ReceiptRejected",
    );
    expect(e2.message).to.match(/is not registered/);
  });

  it("rejects a receipt by a retired key after rotateSigner, and any receipt of an operator that unbonded its stake", async () => {
    // A second operator (account 7), so the main one keeps its key and stake.
    const second = chain.clientFor(7);
    const secondAddress = second.account()!.address;
    await chain.clientFor(0).transferToken({ to: secondAddress, amount: 2_000n * OPG });
    const oldKey = privateKeyToAccount(`0x${"c1".repeat(32)}`);
    const newKey = privateKeyToAccount(`0x${"c2".repeat(32)}`);
    await second.registerOperator({ signer: oldKey, payout: secondAddress, amount: 1_000n * OPG });
    const request = (
      await payer.signQuietVoucher({
        operator: secondAddress,
        modelId: quietModel,
        inputHash: keccak256("0x02"),
        fee: QUIET_FEE,
        cumulative: QUIET_FEE,
        index: 0n,
        deadline: (await now()) + 600n,
      })
    ).request;
    const before = await receiptFor(request, 0n, OUTPUT, oldKey);
    expect(await payer.verifyQuietReceipt({ ...before, output: OUTPUT })).to.deep.equal(before.receipt);

    await second.rotateSigner({ signer: newKey });
    const retired = await opgRejection(
      payer.verifyQuietReceipt({ ...before, output: OUTPUT }),
      "ReceiptRejected",
    );
    expect(retired.message).to.match(new RegExp(`not by the operator's current key ${newKey.address}`));
    const after = await receiptFor(request, 0n, OUTPUT, newKey);
    expect(await payer.verifyQuietReceipt({ ...after, output: OUTPUT })).to.deep.equal(after.receipt);

    await second.unbond({ amount: 1_000n * OPG });
    expect((await second.getOperator()).eligible).to.equal(false);
    const unstaked = await opgRejection(
      payer.verifyQuietReceipt({ ...after, output: OUTPUT }),
      "ReceiptRejected",
    );
    expect(unstaked.message).to.match(/not eligible/);
  });

  describe("the log, payment and challenges", () => {
    let served: SignedQuietReceipt[];
    let vouchers: SignedQuietRequest[];
    let committed: Awaited<ReturnType<OpgClient["commitReceiptBatch"]>>;

    it("commits a batch of 3 receipts from the head of the log, and refuses one that does not start there", async () => {
      vouchers = [];
      served = [];
      for (const index of [0n, 1n, 2n]) {
        vouchers.push(await voucher(index));
        served.push(await receiptFor(vouchers[vouchers.length - 1]!.request, index));
      }
      const receipts = served.map((s) => s.receipt);
      const nonce = await operator.publicClient.getTransactionCount({ address: operatorAddress });

      const gap = await opgRejection(
        operator.commitReceiptBatch({ receipts: receipts.slice(1), dataUri: "" }),
        "BadInput",
      );
      expect(gap.message).to.match(/starts at seq 1, but the log's next sequence number is 0/);
      const notMine = await opgRejection(payer.commitReceiptBatch({ receipts, dataUri: "" }), "BadInput");
      expect(notMine.message).to.match(/only that account commits them/);
      await opgRejection(
        operator.commitReceiptBatch({ receipts: [receipts[0]!, receipts[2]!], dataUri: "" }),
        "BadInput",
      );
      expect(await operator.publicClient.getTransactionCount({ address: operatorAddress })).to.equal(nonce);

      committed = await operator.commitReceiptBatch({
        receipts,
        dataUri: "https://operator.example/batches/0",
      });
      expect(committed).to.include({ batchIndex: 0n, firstSeq: 0n, count: 3 });
      const block = await operator.publicClient.getBlock({ blockNumber: committed.blockNumber });
      expect(committed.committedAt).to.equal(block.timestamp);
      expect(committed.root).to.equal(committed.tree.root);
      expect(await payer.getLogHead({ operator: operatorAddress })).to.deep.equal({
        nextSeq: 3n,
        batchCount: 1n,
      });
      await opgRejection(operator.commitReceiptBatch({ receipts, dataUri: "" }), "BadInput"); // 0 is past now
    });

    it("is not final on chain before the challenge window closes", async () => {
      const name = await protocolRejection(
        payer.verifyReceiptOnChain({
          receipt: served[0]!.receipt,
          request: served[0]!.request,
          batchIndex: committed.batchIndex,
          batch: committed,
          proof: committed.tree.proof(0),
        }),
      );
      expect(name).to.equal("NotFinal");
    });

    it("slashes equivocation (two receipts for one seq) and omission (a receipt that is not the committed leaf)", async () => {
      await operator.stake({ amount: 1_000n * OPG }); // 2,000 staked: each cheat takes the 1,000 penalty
      const stakeOf = async () => (await operator.getOperator()).stake;
      expect(await stakeOf()).to.equal(2_000n * OPG);

      // seq 0 signed again, for another request.
      const fork0 = await receiptFor((await voucher(0n, { inputHash: keccak256("0xf0") })).request, 0n);
      const equivocation = await challenger.challengeEquivocation({ a: served[0]!, b: fork0 });
      expect(equivocation.slashed).to.equal(PENALTY);
      expect(await stakeOf()).to.equal(1_000n * OPG);
      expect(await protocolRejection(challenger.challengeEquivocation({ a: served[0]!, b: fork0 }))).to.equal(
        "ReceiptEvidenceUsed",
      );

      // seq 1 signed for another request; the batch committed the honest receipt there.
      const fork1 = await receiptFor((await voucher(1n, { inputHash: keccak256("0xf1") })).request, 1n);
      const omission = await challenger.challengeOmission({
        ...fork1,
        batchIndex: committed.batchIndex,
        batch: committed,
        committedLeaf: committed.tree.leaf(1),
        proof: committed.tree.proof(1),
      });
      expect(omission.slashed).to.equal(PENALTY);
      expect(await stakeOf()).to.equal(0n);
      // The committed receipt itself is no omission.
      expect(
        await protocolRejection(
          challenger.challengeOmission({
            ...served[1]!,
            batchIndex: committed.batchIndex,
            batch: committed,
            committedLeaf: receiptLeaf(hashReceipt(served[1]!.receipt)),
            proof: committed.tree.proof(1),
          }),
        ),
      ).to.equal("NotOmitted");
    });

    it("slashes a receipt committed late, and one never committed, once the commit deadline has passed", async () => {
      await operator.stake({ amount: 2_000n * OPG });
      const late = await receiptFor((await voucher(3n)).request, 3n);
      const never = await receiptFor((await voucher(4n)).request, 4n);
      expect(await protocolRejection(challenger.challengeUncommitted(never))).to.equal("NotUncommitted");

      await chain.timeTravel(600 + COMMIT_WINDOW + 1);
      const batch = await operator.commitReceiptBatch({ receipts: [late.receipt], dataUri: "" });
      expect(batch).to.include({ batchIndex: 1n, firstSeq: 3n, count: 1 });
      const lateResult = await challenger.challengeLate({ ...late, batchIndex: batch.batchIndex, batch });
      expect(lateResult.slashed).to.equal(PENALTY);
      const neverResult = await challenger.challengeUncommitted(never);
      expect(neverResult.slashed).to.equal(PENALTY);
      expect((await operator.getOperator()).stake).to.equal(0n);
    });

    it("accepts the committed receipts on chain once final, and redeems the latest voucher from the channel", async () => {
      await chain.timeTravel(CHALLENGE_WINDOW);
      for (const [i, s] of served.entries()) {
        const ok = await payer.verifyReceiptOnChain({
          receipt: s.receipt,
          request: s.request,
          batchIndex: committed.batchIndex,
          batch: committed,
          proof: committed.tree.proof(i),
        });
        expect(ok).to.equal(true);
      }
      const wrongProof = await protocolRejection(
        payer.verifyReceiptOnChain({
          receipt: served[0]!.receipt,
          request: served[0]!.request,
          batchIndex: committed.batchIndex,
          batch: committed,
          proof: committed.tree.proof(1),
        }),
      );
      expect(wrongProof).to.equal("InvalidLogProof");

      // A voucher is the payer's to sign, the operator's to redeem.
      const latest = served[2]!;
      const voucher2 = vouchers[2]!;
      expect(await protocolRejection(challenger.redeemVouchers({ vouchers: [voucher2] }))).to.equal(
        "NotAnOperator",
      );

      const before = await payer.getChannel({ operator: operatorAddress });
      const redeemed = await operator.redeemVouchers({ vouchers: [voucher2] });
      expect(redeemed.total).to.equal(3n * QUIET_FEE);
      expect(redeemed.redeemed).to.deep.equal([
        {
          payer: payerAddress,
          modelId: quietModel,
          cumulative: 3n * QUIET_FEE,
          paid: 3n * QUIET_FEE,
          refundApplied: 0n,
        },
      ]);
      const afterRedeem = await payer.getChannel({ operator: operatorAddress });
      expect(before.funds - afterRedeem.funds).to.equal(latest.request.cumulative);
      expect(await payer.getSubChannel({ operator: operatorAddress, modelId: quietModel })).to.deep.equal({
        claimed: 3n * QUIET_FEE,
        credit: 0n,
      });
      // Redeeming it again pays nothing.
      const again = await operator.redeemVouchers({ vouchers: [voucher2] });
      expect(again.total).to.equal(0n);
      expect(again.redeemed).to.deep.equal([]);
    });

    it("refunds the rest of the channel after the notice period", async () => {
      const { funds } = await payer.getChannel({ operator: operatorAddress });
      expect(funds).to.equal(12n * OPG);
      const requested = await payer.requestChannelRefund({ operator: operatorAddress });
      const block = await payer.publicClient.getBlock({ blockNumber: requested.blockNumber });
      expect(requested.refundAt).to.equal(block.timestamp + BigInt(NOTICE));
      expect(await payer.getChannel({ operator: operatorAddress })).to.deep.equal({
        funds,
        refundAt: requested.refundAt,
      });
      expect(await protocolRejection(payer.withdrawChannel({ operator: operatorAddress }))).to.equal(
        "RefundNotDue",
      );

      await chain.timeTravel(NOTICE);
      const balance = await payer.getBalance();
      const withdrawn = await payer.withdrawChannel({ operator: operatorAddress });
      expect(withdrawn.amount).to.equal(funds);
      expect(await payer.getBalance()).to.equal(balance + funds);
      expect(await payer.getChannel({ operator: operatorAddress })).to.deep.equal({
        funds: 0n,
        refundAt: 0n,
      });
    });
  });
  // Last: it slashes the operator, which the log tests above must not see.
  describe("a wrong output", () => {
    it("challenges a wrong output of a zk-circuit model with a Groth16 proof bound to the challenger", async () => {
      const iris = loadIris();
      const quantized = quantizeOnnx(new Uint8Array(await readFile(IRIS_MODEL_PATH)), IRIS_ZK_PARAMS);
      const q = quantizeInput(iris.features[100]!, quantized);
      const inputHash = fieldToBytes32(await inputCommitment(q, quantized.params));
      const truth = BigInt(fixedPointForward(quantized, q).label);
      const { request } = await voucher(0n, { modelId: zkQuietModel, inputHash });
      const { seq } = await operator
        .getLogHead({ operator: operatorAddress })
        .then((h) => ({ seq: h.nextSeq + 7n }));
      const wrong = (truth + 1n) % 3n;
      const evidence = await receiptFor(request, seq, zkOutputBytes(wrong), key, zkOutputHash(wrong));
      const honest = await receiptFor(request, seq + 1n, zkOutputBytes(truth), key, zkOutputHash(truth));
      const quietMode = (await challenger.getQuietMode()).address;
      const proofFor = async (receiptSeq: bigint, by: Address) => {
        const binding = await challenger.publicClient.readContract({
          address: quietMode,
          abi: quietModeAbi,
          functionName: "quietBinding",
          args: [operatorAddress, receiptSeq, by],
        });
        const proven = await prove(circuitInput(quantized, q, binding));
        return settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
      };
      const challengerAddress = challenger.account()!.address;

      const forHonest = await proofFor(seq + 1n, challengerAddress);
      expect(
        await protocolRejection(
          challenger.challengeOutput({ ...honest, output: forHonest.output, proof: forHonest.proof }),
        ),
      ).to.equal("OutputMatches");

      const proven = await proofFor(seq, challengerAddress);
      expect(proven.output).to.equal(truth);
      // A proof copied from the challenger's transaction is bound to the challenger: useless to anyone else.
      expect(
        await protocolRejection(
          payer.challengeOutput({ ...evidence, output: proven.output, proof: proven.proof }),
        ),
      ).to.equal("InvalidProof");
      const stake = (await challenger.getOperator({ operator: operatorAddress })).stake;
      const result = await challenger.challengeOutput({
        ...evidence,
        output: proven.output,
        proof: proven.proof,
      });
      // The penalty, or what stake is left (the operator unbonded above): a wrong output is struck even with nothing to take.
      const { penalty } = await challenger.getQuietMode();
      expect(result.slashed).to.equal(stake < penalty ? stake : penalty);
      expect((await challenger.getOperator({ operator: operatorAddress })).stake).to.equal(
        stake - result.slashed,
      );
      expect(
        await challenger.publicClient.readContract({
          address: quietMode,
          abi: quietModeAbi,
          functionName: "isStruck",
          args: [operatorAddress, seq],
        }),
      ).to.equal(true);
      expect(
        await protocolRejection(
          challenger.challengeOutput({ ...evidence, output: proven.output, proof: proven.proof }),
        ),
      ).to.equal("ReceiptEvidenceUsed");
    });
  });
});
