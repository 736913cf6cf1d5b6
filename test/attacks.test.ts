/**
 * Issue #8: every hole of the old design, attacked exactly as an attacker would. Each test names the custom error the
 * attack now hits and checks that it changed nothing; a comment says what the old (pre-split) contracts did with the
 * same transaction.
 */
import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import { irisRegistration, IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { encodeFeatures, toDataUri } from "../src/model/encoding.js";
import { inferBytes } from "../src/model/infer.js";
import { loadIris } from "../src/model/iris.js";
import { loadModel } from "../src/model/onnx-runtime.js";
import { signSignerBindingWithEthers } from "../src/ethers/index.js";
import {
  fieldToBytes32,
  hashRequest,
  operatorRegistryDomain,
  ProtocolLimits,
  resultDigest,
  resultMessage,
  signatureModeDomain,
  splitFee,
  VerificationMode,
  type InferenceRequest,
} from "../src/protocol/index.js";
import {
  bindTestMode,
  codeHashOf,
  deployVerifier,
  ethers,
  fulfilSigned,
  impersonate,
  MIN_STAKE,
  MODEL_FEE,
  modelSpec,
  networkHelpers,
  OPG,
  openedFrom,
  openPrepaid,
  PENALTY,
  PROTOCOL_FEE_BPS,
  protocolFixture,
  recoveredSigner,
  registerModel,
  registerOperator,
  reportEquivocation,
  requestParams,
  rotateSigner,
  ROYALTY_BPS,
  setNextRequestId,
  SIGNER_KEYS,
  signerProof,
  signResult,
  STATUS,
  TEST_MODE_BIT,
  twoResults,
  UNBONDING_DELAY,
  ZERO_ADDRESS,
  type Protocol,
  type SignedResult,
} from "./helpers/fixture.js";

const { time } = networkHelpers;
const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);
const { Signature: SIG, Zk: ZK } = VerificationMode;
const ZK_COMMITMENT = fieldToBytes32(12345n);
/** A proof of nothing: what an attacker submits when it hopes the verifier accepts anything. */
const GARBAGE_PROOF = {
  a: [1n, 2n] as [bigint, bigint],
  b: [
    [3n, 4n],
    [5n, 6n],
  ] as [[bigint, bigint], [bigint, bigint]],
  c: [7n, 8n] as [bigint, bigint],
};

/** Everything an attack could have moved: a request's status, the ledger, fees, what is owed, the stake. */
async function snapshotState(p: Protocol, requestIds: readonly bigint[] = []) {
  return {
    statuses: await Promise.all(requestIds.map((id) => p.settlement.requestStatus(id))),
    balances: await Promise.all(
      [p.payout, p.modelOwner, p.requester, p.reporter, p.other, p.operator].map((a) =>
        p.settlement.balances(a.address),
      ),
    ),
    protocolFees: await p.settlement.protocolFees(),
    totalOwed: await p.settlement.totalOwed(),
    held: await p.token.balanceOf(await p.settlement.getAddress()),
    operator: await p.operators.getOperator(p.operator.address),
  };
}

describe("Attacks (issue #8): each hole of the old design, now closed", () => {
  describe("1. A relayer rewrites a signed result copied from the mempool", () => {
    it("strips the inline output and posts its own URI: SignerMismatch; the honest result still settles", async () => {
      // Old: the signature covered (requestId, modelId, inputHash, outputHash, operator) only, so the relayer's copy
      // with `output = 0x` and its own `outputUri` settled; consumers got no output and a URI the relayer controls.
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const signed = await signResult(p, opened.requestId, opened.request, { outputUri: "ipfs://operator" });
      const before = await snapshotState(p, [opened.requestId]);
      for (const rewritten of [
        { ...signed.result, output: "0x" as Hex, outputUri: "https://relayer.example/out" },
        { ...signed.result, output: "0x" as Hex },
        { ...signed.result, outputUri: "" },
      ]) {
        const seen = resultMessage(opened.requestId, opened.request, rewritten);
        await expect(fulfilSigned(p, opened, { ...signed, result: rewritten }, p.other))
          .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
          .withArgs(p.operator.address, await recoveredSigner(p, seen, signed.signature));
      }
      expect(await snapshotState(p, [opened.requestId])).to.deep.equal(before);
      await expect(fulfilSigned(p, opened, signed, p.other))
        .to.emit(p.settlement, "RequestFulfilled")
        .withArgs(
          opened.requestId,
          p.operator.address,
          p.payout.address,
          p.signer.address,
          signed.result.outputHash,
          signed.result.output,
          "ipfs://operator",
        );
    });

    it("changes the output hash, the operator, or moves the result to another request: SignerMismatch", async () => {
      // Old: output hash and operator were signed already (these failed before too); another request with the same
      // id, model and input (a re-opened id, see hole 3) accepted the result, since the rest of the request was not.
      const p = await loadFixture(protocolFixture);
      const relayerKey = new ethers.Wallet(SIGNER_KEYS[1]);
      await registerOperator(p, p.other, relayerKey, p.other.address);
      const opened = await openPrepaid(p);
      const second = await openPrepaid(p);
      const signed = await signResult(p, opened.requestId, opened.request);
      const before = await snapshotState(p, [opened.requestId, second.requestId]);
      const otherOutput = toHex("relayer's output");
      const attempts: [{ requestId: bigint; request: InferenceRequest }, SignedResult["result"], string][] = [
        [
          opened,
          { ...signed.result, outputHash: keccak256(otherOutput), output: otherOutput },
          p.operator.address,
        ],
        [opened, { ...signed.result, outputHash: keccak256(otherOutput), output: "0x" }, p.operator.address],
        [opened, { ...signed.result, operator: p.other.address as Address }, p.other.address],
        [second, signed.result, p.operator.address],
      ];
      for (const [target, rewritten, accused] of attempts) {
        const seen = resultMessage(target.requestId, target.request, rewritten);
        await expect(fulfilSigned(p, target, { ...signed, result: rewritten }, p.other))
          .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
          .withArgs(accused, await recoveredSigner(p, seen, signed.signature));
      }
      expect(await snapshotState(p, [opened.requestId, second.requestId])).to.deep.equal(before);
      await expect(fulfilSigned(p, opened, signed)).to.emit(p.settlement, "RequestFulfilled");
    });

    it("cannot make IrisGatedAllowlist reject an applicant: the honest submission admits them afterwards", async () => {
      // Old: the stripped copy settled first; the gate decoded the empty output as NO_CLASS and rejected the applicant,
      // who had paid the fee for a correct (setosa) classification.
      const p = await loadFixture(protocolFixture);
      const iris = loadIris();
      const registration = await irisRegistration({ fee: MODEL_FEE, royaltyBps: ROYALTY_BPS });
      const irisModelId = await registerModel(p.models, p.modelOwner, registration.spec);
      const gate = await ethers.deployContract("IrisGatedAllowlist", [
        await p.settlement.getAddress(),
        irisModelId,
        SIG,
        0, // setosa
        3600n,
      ]);
      const applicant = p.requester;
      await p.token.connect(applicant).approve(await gate.getAddress(), MODEL_FEE);
      const features = iris.features[0]!; // a setosa
      const bytes = encodeFeatures(features);
      const opened = openedFrom(
        p.settlement,
        await (
          await gate.connect(applicant).submitApplication(keccak256(bytes), SIG, toDataUri(bytes))
        ).wait(),
      );
      const logits = toHex(await inferBytes(await loadModel(IRIS_MODEL_PATH), bytes));
      const signed = await signResult(p, opened.requestId, opened.request, { output: logits });
      const stripped = { ...signed.result, output: "0x" as Hex, outputUri: "ipfs://relayer" };
      await expect(fulfilSigned(p, opened, { ...signed, result: stripped }, p.other))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(
          p.operator.address,
          await recoveredSigner(
            p,
            resultMessage(opened.requestId, opened.request, stripped),
            signed.signature,
          ),
        );
      expect(await gate.pendingRequestOf(applicant.address)).to.equal(opened.requestId);
      expect(await gate.isAdmitted(applicant.address)).to.equal(false);
      await expect(fulfilSigned(p, opened, signed))
        .to.emit(gate, "ApplicationDecided")
        .withArgs(opened.requestId, applicant.address, true, 0);
      expect(await gate.isAdmitted(applicant.address)).to.equal(true);
    });
  });

  describe("2. A leaked, rotated-out signing key", () => {
    /** The fixture with one request opened before the operator rotated its key, and the new key. */
    async function rotatedFixture() {
      const p = await protocolFixture();
      const before = await openPrepaid(p, { deadline: BigInt(await time.latest()) + 3600n });
      const current = new ethers.Wallet(SIGNER_KEYS[1]);
      await rotateSigner(p, p.operator, current);
      return { p, before, current, leaked: p.signer };
    }

    it("(a) signs two results for fabricated request ids: UnknownRequest, the stake is untouched", async () => {
      // Old: `reportEquivocation(requestId, operator, claimA, sigA, claimB, sigB)` took any request id and any key
      // ever registered to the operator; a thief holding a discarded key slashed the operator at will.
      const { p, before } = await loadFixture(rotatedFixture);
      const stake = await snapshotState(p);
      for (const [requestId, request] of [
        [424_242n, before.request], // an id never opened
        [before.requestId, { ...before.request, inputHash: keccak256(toHex("fabricated")) }], // a real id, other content
      ] as const) {
        const evidence = await twoResults(p, requestId, request, { signer: p.signer });
        await expect(reportEquivocation(p, { requestId, request }, evidence))
          .to.be.revertedWithCustomError(p.signatureMode, "UnknownRequest")
          .withArgs(requestId, hashRequest(request));
      }
      expect(await snapshotState(p)).to.deep.equal(stake);
    });

    it("(b) signs two results for a real request opened after the rotation: KeyRetiredBeforeRequest", async () => {
      // Old: any key ever registered to the operator counted, so the leaked key's two signatures over a request it
      // could never have served slashed the operator.
      const { p, leaked } = await loadFixture(rotatedFixture);
      const retiredAtRequest = (await p.operators.signerRecord(leaked.address)).retiredAtRequest;
      const after = await openPrepaid(p);
      expect(after.requestId).to.equal(retiredAtRequest);
      const stake = await snapshotState(p, [after.requestId]);
      const evidence = await twoResults(p, after.requestId, after.request, { signer: leaked });
      await expect(reportEquivocation(p, after, evidence))
        .to.be.revertedWithCustomError(p.signatureMode, "KeyRetiredBeforeRequest")
        .withArgs(leaked.address, retiredAtRequest);
      expect(await snapshotState(p, [after.requestId])).to.deep.equal(stake);
    });

    it("(c) signs for a real request opened before the rotation, after deadline + 7 days: EvidenceExpired", async () => {
      // Old: evidence never expired, so a key leaked years after its retirement still slashed.
      const { p, before, leaked } = await loadFixture(rotatedFixture);
      const closedAt = before.request.deadline + ProtocolLimits.EVIDENCE_WINDOW;
      await time.increaseTo(closedAt);
      const stake = await snapshotState(p, [before.requestId]);
      const evidence = await twoResults(p, before.requestId, before.request, { signer: leaked });
      await expect(reportEquivocation(p, before, evidence))
        .to.be.revertedWithCustomError(p.signatureMode, "EvidenceExpired")
        .withArgs(before.requestId, closedAt);
      expect(await snapshotState(p, [before.requestId])).to.deep.equal(stake);
    });

    it("still slashes real equivocation: by the current key, and by the retired key within its window", async () => {
      // The property is bounded, not removed.
      const { p, before, current, leaked } = await loadFixture(rotatedFixture);
      const after = await openPrepaid(p);
      await expect(
        reportEquivocation(
          p,
          after,
          await twoResults(p, after.requestId, after.request, { signer: current }),
        ),
      )
        .to.emit(p.signatureMode, "EquivocationSlashed")
        .withArgs(p.operator.address, after.requestId, p.reporter.address, PENALTY);
      await expect(
        reportEquivocation(
          p,
          before,
          await twoResults(p, before.requestId, before.request, { signer: leaked }),
        ),
      )
        .to.emit(p.signatureMode, "EquivocationSlashed")
        .withArgs(p.operator.address, before.requestId, p.reporter.address, MIN_STAKE - PENALTY);
      expect((await p.operators.getOperator(p.operator.address)).stake).to.equal(0n);
    });
  });

  describe("3. A reorg re-opens a request id with other content", () => {
    /** Open request #N with `first`, have the operator sign; reorg it away; open #N with `second`, sign honestly. */
    async function reorg(
      p: Protocol,
      first: Parameters<typeof openPrepaid>[1],
      second: typeof first,
      from = p.requester,
    ) {
      const snapshot = await networkHelpers.takeSnapshot();
      const dropped = await openPrepaid(p, first);
      const stale = await signResult(p, dropped.requestId, dropped.request, { output: toHex("class 0") });
      await snapshot.restore(); // the block with the first request is reorged out
      const reopened = await openPrepaid(p, second, from);
      expect(reopened.requestId).to.equal(dropped.requestId);
      const honest = await signResult(p, reopened.requestId, reopened.request, { output: toHex("class 2") });
      return { dropped, stale, reopened, honest };
    }

    it("the dropped request's signature is no evidence against the honest operator: UnknownRequest", async () => {
      // Old: the two signatures (same id, different input hashes, different outputs) were equivocation, and the
      // honest operator was slashed for a reorg it did not cause.
      const p = await loadFixture(protocolFixture);
      const { dropped, stale, reopened, honest } = await reorg(
        p,
        { inputHash: keccak256(toHex("input A")) },
        { inputHash: keccak256(toHex("input B")) },
      );
      const before = await snapshotState(p, [reopened.requestId]);
      await expect(reportEquivocation(p, dropped, [stale, honest]))
        .to.be.revertedWithCustomError(p.signatureMode, "UnknownRequest")
        .withArgs(dropped.requestId, hashRequest(dropped.request));
      // Presented against the live request, the stale signature is not the operator's.
      const domain = signatureModeDomain(p.chainId, (await p.signatureMode.getAddress()) as Address);
      const staleUnderLive = await recoverAddress({
        hash: resultDigest(domain, resultMessage(reopened.requestId, reopened.request, stale.result)),
        signature: stale.signature,
      });
      await expect(reportEquivocation(p, reopened, [stale, honest]))
        .to.be.revertedWithCustomError(p.signatureMode, "InvalidEvidence")
        .withArgs(staleUnderLive);
      expect(await snapshotState(p, [reopened.requestId])).to.deep.equal(before);
    });

    it("the dropped request's signed result cannot settle the new request: SignerMismatch / RequestMismatch", async () => {
      // Old: with the same model and input but another requester, fee or callback, the stale result settled the new
      // request: the digest did not bind them.
      const p = await loadFixture(protocolFixture);
      await p.token.connect(p.other).approve(await p.settlement.getAddress(), ethers.MaxUint256);
      await p.settlement.connect(p.other).deposit(100n * OPG);
      const { dropped, stale, reopened, honest } = await reorg(p, {}, {}, p.other);
      expect(reopened.request.inputHash).to.equal(dropped.request.inputHash);
      expect(reopened.request.requester).to.not.equal(dropped.request.requester);
      const before = await snapshotState(p, [reopened.requestId]);
      await expect(fulfilSigned(p, reopened, stale, p.other))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(
          p.operator.address,
          await recoveredSigner(
            p,
            resultMessage(reopened.requestId, reopened.request, stale.result),
            stale.signature,
          ),
        );
      await expect(fulfilSigned(p, dropped, stale, p.other))
        .to.be.revertedWithCustomError(p.settlement, "RequestMismatch")
        .withArgs(dropped.requestId);
      expect(await snapshotState(p, [reopened.requestId])).to.deep.equal(before);
      await expect(fulfilSigned(p, reopened, honest)).to.emit(p.settlement, "RequestFulfilled");
    });
  });

  describe("4a. A report that slashes nothing", () => {
    it("with no penalty set: NothingToSlash, and the same evidence slashes once a penalty is set", async () => {
      // Old: the zero slash went through and marked the evidence used, so it could never slash later.
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const evidence = await twoResults(p, opened.requestId, opened.request);
      await p.signatureMode.connect(p.governance).setSlashParams(0n, 0);
      const before = await snapshotState(p, [opened.requestId]);
      await expect(reportEquivocation(p, opened, evidence))
        .to.be.revertedWithCustomError(p.signatureMode, "NothingToSlash")
        .withArgs(p.operator.address);
      expect(await snapshotState(p, [opened.requestId])).to.deep.equal(before);
      await p.signatureMode.connect(p.governance).setSlashParams(PENALTY, 0);
      await expect(reportEquivocation(p, opened, evidence))
        .to.emit(p.signatureMode, "EquivocationSlashed")
        .withArgs(p.operator.address, opened.requestId, p.reporter.address, PENALTY);
    });

    it("an operator that withdrew everything reports itself: NothingToSlash; after re-staking it is slashed", async () => {
      // Old: the operator burned the evidence against itself while it had no stake (a zero slash consumed it), then
      // staked again and served with impunity: the real report later hit EvidenceAlreadyUsed.
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p, { deadline: BigInt(await time.latest()) + 10n * 86_400n });
      const evidence = await twoResults(p, opened.requestId, opened.request);
      await p.operators.connect(p.operator).unbond(MIN_STAKE);
      await time.increase(UNBONDING_DELAY);
      await p.operators.connect(p.operator).withdrawUnbonded(p.operator.address);
      await expect(reportEquivocation(p, opened, evidence, { from: p.operator }))
        .to.be.revertedWithCustomError(p.signatureMode, "NothingToSlash")
        .withArgs(p.operator.address);
      expect(await p.settlement.balances(p.operator.address)).to.equal(0n);
      await restake(p, MIN_STAKE);
      await expect(reportEquivocation(p, opened, evidence))
        .to.emit(p.signatureMode, "EquivocationSlashed")
        .withArgs(p.operator.address, opened.requestId, p.reporter.address, PENALTY);
    });

    async function restake(p: Protocol, amount: bigint) {
      await p.token.connect(p.operator).approve(await p.operators.getAddress(), amount);
      await p.operators.connect(p.operator).stake(amount);
    }
  });

  describe("4b. A zk verifier whose answers can change after registration", () => {
    async function zkSpec(zkVerifier: string, zkVerifierCodeHash?: Hex, name = "zk-model") {
      return modelSpec({
        name,
        modes: ZK,
        zkCommitment: ZK_COMMITMENT,
        zkVerifier: zkVerifier as Address,
        zkVerifierCodeHash: zkVerifierCodeHash ?? (await codeHashOf(zkVerifier)),
      });
    }

    /** `VerifierNotPure(verifier, offset, opcode)` whose offset really holds that opcode in the verifier's code. */
    async function expectNotPure(p: Protocol, verifier: string, opcodes: readonly number[]) {
      const spec = await zkSpec(verifier);
      let failure: unknown;
      try {
        await p.models.connect(p.modelOwner).registerModel.staticCall(spec);
      } catch (error) {
        failure = error;
      }
      await expect(p.models.connect(p.modelOwner).registerModel(spec)).to.be.revertedWithCustomError(
        p.models,
        "VerifierNotPure",
      );
      const data = (failure as { data?: string }).data ?? "0x";
      const decoded = p.models.interface.parseError(data);
      expect(decoded?.name).to.equal("VerifierNotPure");
      const [address, offset, opcode] = decoded!.args as unknown as [string, bigint, bigint];
      expect(address).to.equal(ethers.getAddress(verifier));
      expect(opcodes).to.include(Number(opcode));
      const code = ethers.getBytes(await ethers.provider.getCode(verifier));
      expect(code[Number(offset)]).to.equal(Number(opcode));
    }

    it("an upgradeable proxy (OpenZeppelin transparent proxy) is refused: VerifierNotPure", async () => {
      // Old: the registry pinned only the proxy's address; its admin upgraded it to an accept-all implementation
      // and every proof for the model passed.
      const p = await loadFixture(protocolFixture);
      const honest = await ethers.deployContract("IrisMlpVerifier");
      const init = honest.interface.encodeFunctionData("verifyProof", [
        [0n, 0n],
        [
          [0n, 0n],
          [0n, 0n],
        ],
        [0n, 0n],
        [0n, 0n, 0n, 0n],
      ]);
      const proxy = await ethers.deployContract("UpgradeableVerifierProxy", [
        await honest.getAddress(),
        p.modelOwner.address,
        init,
      ]);
      await expectNotPure(p, await proxy.getAddress(), [0x54, 0xf4]); // SLOAD of the implementation, DELEGATECALL
    });

    it("a minimal (EIP-1167) delegating clone is refused: VerifierNotPure at its DELEGATECALL", async () => {
      // Old: accepted; a clone of a verifier behind a mutable implementation behaves like a proxy.
      const p = await loadFixture(protocolFixture);
      const { zkVerifier } = await deployVerifier();
      const clone = ethers.getAddress(keccak256(toHex("clone")).slice(0, 42));
      await networkHelpers.setCode(
        clone,
        `0x363d3d373d3d3d363d73${zkVerifier.slice(2)}5af43d82803e903d91602b57fd5bf3`,
      );
      await expectNotPure(p, clone, [0xf4]);
    });

    it("a verifier with a switch in its own storage is refused: VerifierNotPure", async () => {
      // Old: accepted; its owner flipped `acceptAll` after consumers started trusting the model.
      const p = await loadFixture(protocolFixture);
      const switchVerifier = await ethers.deployContract("SwitchVerifier");
      await expectNotPure(p, await switchVerifier.getAddress(), [0x54, 0x55]);
    });

    it("an EIP-7702 delegated account (a switch verifier's code on the account's storage): VerifierNotPure", async () => {
      // Old: accepted (no purity check). Before the PureBytecode fix in this change, accepted too: the scan saw only
      // the 23-byte designator `0xef0100 || delegate`, whose hash stays pinned while the account flips the
      // delegate's switch in its own storage and every proof passes.
      const p = await loadFixture(protocolFixture);
      const delegate = await ethers.deployContract("SwitchVerifier");
      const account = ethers.getAddress(keccak256(toHex("delegated account")).slice(0, 42));
      await networkHelpers.setCode(account, `0xef0100${(await delegate.getAddress()).slice(2)}`);
      await expectNotPure(p, account, [0xef]);
    });

    it("a registered pure verifier whose code is replaced afterwards: fulfillZk reverts VerifierCodeChanged", async () => {
      // Old: only the address was pinned; with new code behind it (a metamorphic contract, simulated here with
      // hardhat_setCode) a garbage proof settled any output.
      const p = await loadFixture(protocolFixture);
      const { zkVerifier, zkVerifierCodeHash } = await deployVerifier();
      const modelId = await registerModel(p.models, p.modelOwner, await zkSpec(zkVerifier));
      const opened = await openPrepaid(p, { modelId, mode: ZK, inputHash: fieldToBytes32(42n) });
      const original = await ethers.provider.getCode(zkVerifier);
      const acceptAll = await ethers.deployContract("AcceptAllVerifier");
      await networkHelpers.setCode(zkVerifier, await ethers.provider.getCode(await acceptAll.getAddress()));
      const before = await snapshotState(p, [opened.requestId]);
      await expect(p.zkMode.connect(p.other).fulfillZk(opened.request, opened.requestId, 1n, GARBAGE_PROOF))
        .to.be.revertedWithCustomError(p.zkMode, "VerifierCodeChanged")
        .withArgs(zkVerifier, zkVerifierCodeHash, await codeHashOf(await acceptAll.getAddress()));
      expect(await snapshotState(p, [opened.requestId])).to.deep.equal(before);
      // With its own code back, the verifier judges the garbage proof on its merits.
      await networkHelpers.setCode(zkVerifier, original);
      await expect(
        p.zkMode.connect(p.other).fulfillZk(opened.request, opened.requestId, 1n, GARBAGE_PROOF),
      ).to.be.revertedWithCustomError(p.zkMode, "InvalidProof");
    });

    it("a stated code hash that is not the verifier's: VerifierCodeHashMismatch", async () => {
      // Old: there was no code hash; the model id named an address, whatever code it held.
      const p = await loadFixture(protocolFixture);
      const { zkVerifierCodeHash: honestHash } = await deployVerifier();
      const acceptAll = await ethers.deployContract("AcceptAllVerifier");
      const address = await acceptAll.getAddress();
      // The owner claims the audited Iris verifier's code hash for an accept-all contract.
      await expect(p.models.connect(p.modelOwner).registerModel(await zkSpec(address, honestHash)))
        .to.be.revertedWithCustomError(p.models, "VerifierCodeHashMismatch")
        .withArgs(address, honestHash, await codeHashOf(address));
    });

    // A verifier without state of its own that asks a stateful contract (or a STATICCALL-forwarding proxy to an
    // upgradeable implementation) would keep its code hash while its answers change: `PureBytecode` accepts a
    // STATICCALL only to an address it proves is a constant precompile.
    it("a verifier that STATICCALLs a contract with a switch is refused: VerifierNotPure", async () => {
      const p = await loadFixture(protocolFixture);
      const oracle = await ethers.deployContract("SwitchVerifier");
      const verifier = await ethers.deployContract("StaticcallSwitchVerifier", [await oracle.getAddress()]);
      await expectNotPure(p, await verifier.getAddress(), [0xfa]);
    });
  });

  describe("4c. Front-running a signing key's registration", () => {
    async function victimFixture() {
      const p = await protocolFixture();
      const victim = p.other;
      const victimKey = new ethers.Wallet(SIGNER_KEYS[1]);
      const attacker = p.reporter;
      const attackerKey = new ethers.Wallet(SIGNER_KEYS[2]);
      await p.token.connect(victim).approve(await p.operators.getAddress(), MIN_STAKE);
      return { p, victim, victimKey, attacker, attackerKey };
    }

    /** The key the registry recovers from `proof` for `operator` claiming `signer`. */
    async function recovered(p: Protocol, operator: string, signer: string, proof: Hex) {
      return recoverAddress({
        hash: (await p.operators.signerBindingDigest(operator, signer)) as Hex,
        signature: proof,
      });
    }

    it("copying the victim's proof from the mempool: SignerProofInvalid; the victim then registers", async () => {
      // Old: `register(signer, payout, amount)` took any address as the key: the attacker claimed the victim's key
      // first, and the victim's own registration failed with SignerAlreadyUsed.
      const { p, victim, victimKey, attacker } = await loadFixture(victimFixture);
      const proof = await signerProof(p, victimKey, victim.address);
      await expect(p.operators.connect(attacker).register(victimKey.address, attacker.address, 0n, proof))
        .to.be.revertedWithCustomError(p.operators, "SignerProofInvalid")
        .withArgs(victimKey.address, await recovered(p, attacker.address, victimKey.address, proof));
      expect(await p.operators.operatorOfSigner(victimKey.address)).to.equal(ZERO_ADDRESS);
      await expect(p.operators.connect(victim).register(victimKey.address, victim.address, MIN_STAKE, proof))
        .to.emit(p.operators, "OperatorRegistered")
        .withArgs(victim.address, victimKey.address, victim.address);
    });

    it("claiming the key with a proof by another key, or none: SignerProofInvalid / InvalidSignature", async () => {
      // Old: no proof was asked for at all.
      const { p, victim, victimKey, attacker, attackerKey } = await loadFixture(victimFixture);
      const ownProof = await signerProof(p, attackerKey, attacker.address);
      // The attacker's key signs a binding of the victim's key to the attacker.
      const forged = await signSignerBindingWithEthers(
        attackerKey,
        operatorRegistryDomain(p.chainId, (await p.operators.getAddress()) as Address),
        { operator: attacker.address as Address, signer: victimKey.address as Address },
      );
      expect(await recovered(p, attacker.address, victimKey.address, forged)).to.equal(attackerKey.address);
      for (const proof of [ownProof, forged]) {
        await expect(p.operators.connect(attacker).register(victimKey.address, attacker.address, 0n, proof))
          .to.be.revertedWithCustomError(p.operators, "SignerProofInvalid")
          .withArgs(victimKey.address, await recovered(p, attacker.address, victimKey.address, proof));
      }
      for (const proof of ["0x" as Hex, `0x${"00".repeat(65)}`]) {
        await expect(
          p.operators.connect(attacker).register(victimKey.address, attacker.address, 0n, proof),
        ).to.be.revertedWithCustomError(p.operators, "InvalidSignature");
      }
      // An operator already registered tries to rotate onto the victim's key with the victim's proof.
      await registerOperator(p, attacker, attackerKey, attacker.address, 0n);
      const victimProof = await signerProof(p, victimKey, victim.address);
      await expect(p.operators.connect(attacker).rotateSigner(victimKey.address, victimProof))
        .to.be.revertedWithCustomError(p.operators, "SignerProofInvalid")
        .withArgs(victimKey.address, await recovered(p, attacker.address, victimKey.address, victimProof));
      await expect(
        p.operators.connect(victim).register(victimKey.address, victim.address, MIN_STAKE, victimProof),
      ).to.emit(p.operators, "OperatorRegistered");
    });

    it("replaying a proof made for another operator, chain id or registry: SignerProofInvalid", async () => {
      // Old: no proof existed to replay; the key was simply claimed.
      const { p, victim, victimKey, attacker } = await loadFixture(victimFixture);
      const otherRegistry = await ethers.deployContract("OperatorRegistry", [
        await p.token.getAddress(),
        p.governance.address,
        MIN_STAKE,
        UNBONDING_DELAY,
      ]);
      const proofs = [
        await signerProof(p, victimKey, attacker.address, { chainId: p.chainId + 1n }),
        await signerProof(p, victimKey, attacker.address, {
          registry: (await otherRegistry.getAddress()) as Address,
        }),
        await signerProof(p, victimKey, p.operator.address),
      ];
      for (const proof of proofs) {
        await expect(p.operators.connect(attacker).register(victimKey.address, attacker.address, 0n, proof))
          .to.be.revertedWithCustomError(p.operators, "SignerProofInvalid")
          .withArgs(victimKey.address, await recovered(p, attacker.address, victimKey.address, proof));
      }
      expect(await p.operators.operatorOfSigner(victimKey.address)).to.equal(ZERO_ADDRESS);
      const proof = await signerProof(p, victimKey, victim.address);
      await expect(
        p.operators.connect(victim).register(victimKey.address, victim.address, MIN_STAKE, proof),
      ).to.emit(p.operators, "OperatorRegistered");
      expect(await p.operators.operatorOfSigner(victimKey.address)).to.equal(victim.address);
    });
  });

  describe("4d. OPG sent to the core by mistake", () => {
    it("governance sweeps exactly the excess; every owed token stays withdrawable", async () => {
      // Old: a plain `transfer` to the contract was stuck forever (nothing tracked what was owed).
      const p = await loadFixture(protocolFixture);
      const core = await p.settlement.getAddress();
      const settled = await openPrepaid(p);
      await fulfilSigned(p, settled, await signResult(p, settled.requestId, settled.request));
      const pending = await openPrepaid(p);
      const owed = await p.settlement.totalOwed();
      expect(await p.token.balanceOf(core)).to.equal(owed);
      await expect(p.settlement.connect(p.governance).sweep(p.token, p.treasury.address))
        .to.be.revertedWithCustomError(p.settlement, "NothingToSweep")
        .withArgs(await p.token.getAddress());

      await p.token.connect(p.other).transfer(core, 50n * OPG); // the mistake
      for (const who of [p.other, p.operator, p.treasury]) {
        await expect(p.settlement.connect(who).sweep(p.token, who.address))
          .to.be.revertedWithCustomError(p.settlement, "OwnableUnauthorizedAccount")
          .withArgs(who.address);
      }
      await expect(p.settlement.connect(p.governance).sweep(p.token, p.other.address))
        .to.emit(p.settlement, "Swept")
        .withArgs(await p.token.getAddress(), p.other.address, 50n * OPG);
      expect(await p.token.balanceOf(core)).to.equal(owed);
      await expect(p.settlement.connect(p.governance).sweep(p.token, p.other.address))
        .to.be.revertedWithCustomError(p.settlement, "NothingToSweep")
        .withArgs(await p.token.getAddress());

      // Everything owed still comes out: ledger balances, the pending fee (refunded), protocol fees.
      await time.increaseTo(pending.request.deadline + 1n);
      await p.settlement.refund(pending.request, pending.requestId);
      await p.settlement.collectProtocolFees();
      for (const who of [p.requester, p.payout, p.modelOwner]) {
        await p.settlement.connect(who).withdraw(who.address, await p.settlement.balances(who.address));
      }
      expect(await p.settlement.totalOwed()).to.equal(0n);
      expect(await p.token.balanceOf(core)).to.equal(0n);
      expect(await p.token.balanceOf(p.treasury.address)).to.equal(
        splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS).protocol,
      );
    });

    it("another ERC-20 sent by mistake is swept whole", async () => {
      // Old: stuck forever.
      const p = await loadFixture(protocolFixture);
      const core = await p.settlement.getAddress();
      const other = await ethers.deployContract("OPGToken", [p.other.address, 1_000n]);
      await other.connect(p.other).transfer(core, 1_000n);
      const opgBefore = await p.token.balanceOf(core);
      await expect(p.settlement.connect(p.other).sweep(other, p.other.address))
        .to.be.revertedWithCustomError(p.settlement, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
      await expect(p.settlement.connect(p.governance).sweep(other, p.other.address))
        .to.emit(p.settlement, "Swept")
        .withArgs(await other.getAddress(), p.other.address, 1_000n);
      expect(await other.balanceOf(p.other.address)).to.equal(1_000n);
      expect(await p.token.balanceOf(core)).to.equal(opgBefore);
      await expect(p.settlement.connect(p.governance).sweep(other, p.other.address))
        .to.be.revertedWithCustomError(p.settlement, "NothingToSweep")
        .withArgs(await other.getAddress());
    });
  });

  describe("4e. Request ids wrapping around", () => {
    it("the counter stops at 2^64 − 2: RequestIdsExhausted, earlier requests unaffected", async () => {
      // Old: `nextRequestId = uint64(requestId + 1)` wrapped to 0, and the next requests overwrote the commitments of
      // requests 0, 1, …: a pending request's escrow could be re-pointed at another request's content.
      const p = await loadFixture(protocolFixture);
      const first = await openPrepaid(p);
      expect(first.requestId).to.equal(1n);
      await setNextRequestId(p, ProtocolLimits.MAX_REQUEST_ID - 1n);
      const beforeLast = await openPrepaid(p);
      const last = await openPrepaid(p);
      expect(beforeLast.requestId).to.equal(ProtocolLimits.MAX_REQUEST_ID - 1n);
      expect(last.requestId).to.equal(ProtocolLimits.MAX_REQUEST_ID);
      const before = await snapshotState(p, [first.requestId, last.requestId]);
      for (const open of [
        async () => p.settlement.connect(p.requester).openRequest(await requestParams(p)),
        async () => p.settlement.connect(p.requester).openRequestWithTransfer(await requestParams(p)),
      ]) {
        await expect(open()).to.be.revertedWithCustomError(p.settlement, "RequestIdsExhausted");
      }
      expect(await p.settlement.nextRequestId()).to.equal(2n ** 64n - 1n);
      expect(await snapshotState(p, [first.requestId, last.requestId])).to.deep.equal(before);
      expect(await p.settlement.requestStatus(0n)).to.equal(STATUS.None);
      // The old requests are intact and settle.
      expect(await p.settlement.isCommitted(first.requestId, hashRequest(first.request))).to.equal(true);
      await expect(fulfilSigned(p, first, await signResult(p, first.requestId, first.request))).to.emit(
        p.settlement,
        "RequestFulfilled",
      );
      await expect(fulfilSigned(p, last, await signResult(p, last.requestId, last.request))).to.emit(
        p.settlement,
        "RequestFulfilled",
      );
    });
  });

  describe("5. Mode isolation", () => {
    /** A model allowing signature, zk (with a pure accept-all verifier) and the test bit, and a bound TestMode. */
    async function modesFixture() {
      const p = await protocolFixture();
      const acceptAll = await ethers.deployContract("AcceptAllVerifier");
      const verifier = await acceptAll.getAddress();
      const modelId = await registerModel(
        p.models,
        p.modelOwner,
        modelSpec({
          name: "every-mode",
          modes: SIG | ZK | TEST_MODE_BIT,
          zkCommitment: ZK_COMMITMENT,
          zkVerifier: verifier as Address,
          zkVerifierCodeHash: await codeHashOf(verifier),
        }),
      );
      const testMode = await bindTestMode(p);
      const open = (mode: number) => openPrepaid(p, { modelId, mode, inputHash: fieldToBytes32(7n) });
      return { p, testMode, open };
    }

    function result(p: Protocol) {
      const output = toHex("out");
      return {
        operator: p.operator.address as Address,
        outputHash: keccak256(output),
        output,
        outputUri: "",
      };
    }

    it("a zk request cannot be settled with a signature, nor a signature request with a proof: WrongMode", async () => {
      // Old: one contract checked the mode per entry point; here each mode is a contract and the core checks that
      // the caller is the one bound to the request's bit. The zk model's verifier accepts anything, so only the core
      // stands between the wrong mode and settlement.
      const { p, open } = await loadFixture(modesFixture);
      const zkRequest = await open(ZK);
      const sigRequest = await open(SIG);
      const before = await snapshotState(p, [zkRequest.requestId, sigRequest.requestId]);
      await expect(fulfilSigned(p, zkRequest, await signResult(p, zkRequest.requestId, zkRequest.request)))
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(zkRequest.requestId, ZK, await p.signatureMode.getAddress());
      await expect(
        p.zkMode.connect(p.operator).fulfillZk(sigRequest.request, sigRequest.requestId, 1n, GARBAGE_PROOF),
      )
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(sigRequest.requestId, SIG, await p.zkMode.getAddress());
      expect(await snapshotState(p, [zkRequest.requestId, sigRequest.requestId])).to.deep.equal(before);
    });

    it("an EOA, an unbound contract or another bound mode calling the hooks: WrongMode / NotModeContract", async () => {
      // Old: there were no hooks; they are the new surface the split opened, so each is shut to everyone else.
      const { p, testMode, open } = await loadFixture(modesFixture);
      const sigRequest = await open(SIG);
      await p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, ethers.MaxUint256);
      const before = await snapshotState(p, [sigRequest.requestId]);
      const unbound = await ethers.deployContract("TestMode", [await p.settlement.getAddress(), 8]);
      const callers: [string, HardhatEthersSigner][] = [
        [p.other.address, p.other],
        [await unbound.getAddress(), await impersonate(await unbound.getAddress())],
        [await testMode.getAddress(), await impersonate(await testMode.getAddress())],
      ];
      for (const [address, from] of callers) {
        const core = p.settlement.connect(from);
        await expect(core.settle(sigRequest.request, sigRequest.requestId, result(p), address, ZERO_ADDRESS))
          .to.be.revertedWithCustomError(p.settlement, "WrongMode")
          .withArgs(sigRequest.requestId, SIG, address);
        if (address === (await testMode.getAddress())) continue; // a bound mode may use the ledger hooks
        await expect(core.pull(p.requester.address, 1n))
          .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
          .withArgs(address);
        await expect(core.payFee(1n, ZERO_ADDRESS, 0, address))
          .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
          .withArgs(address);
        await expect(core.slash(p.operator.address, MIN_STAKE, address, 10_000))
          .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
          .withArgs(address);
      }
      expect(await snapshotState(p, [sigRequest.requestId])).to.deep.equal(before);
    });

    it("only the core slashes in the registry: NotSettlement for everyone else, modes included", async () => {
      // Old: the registry's slasher was the god contract; now no mode contract may call the registry directly.
      const { p, testMode } = await loadFixture(modesFixture);
      const callers = [
        p.other,
        p.governance,
        await impersonate(await p.signatureMode.getAddress()),
        await impersonate(await testMode.getAddress()),
      ];
      for (const caller of callers) {
        await expect(p.operators.connect(caller).slash(p.operator.address, MIN_STAKE, caller.address))
          .to.be.revertedWithCustomError(p.operators, "NotSettlement")
          .withArgs(caller.address);
      }
      expect((await p.operators.getOperator(p.operator.address)).stake).to.equal(MIN_STAKE);
    });

    it("a retired mode cannot settle; its pending requests refund at once and no new ones open", async () => {
      const { p, open } = await loadFixture(modesFixture);
      const zkRequest = await open(ZK);
      await p.settlement.connect(p.governance).retireMode(ZK);
      await expect(
        p.zkMode.connect(p.operator).fulfillZk(zkRequest.request, zkRequest.requestId, 1n, GARBAGE_PROOF),
      )
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(zkRequest.requestId, ZK, await p.zkMode.getAddress());
      await expect(open(ZK)).to.be.revertedWithCustomError(p.settlement, "ModeNotOpen").withArgs(ZK);
      await expect(p.settlement.connect(p.other).refund(zkRequest.request, zkRequest.requestId))
        .to.emit(p.settlement, "RequestRefunded")
        .withArgs(zkRequest.requestId, p.requester.address, MODEL_FEE);
    });

    it("binding twice, or binding a contract that declares another bit or settlement: refused", async () => {
      // Old: no modes to bind. A re-bound bit would let a new contract settle requests committed to the old one.
      const { p } = await loadFixture(modesFixture);
      const gov = p.settlement.connect(p.governance);
      const core = await p.settlement.getAddress();
      const fresh = await ethers.deployContract("ZkMode", [core]);
      await expect(gov.bindMode(ZK, await fresh.getAddress()))
        .to.be.revertedWithCustomError(p.settlement, "ModeAlreadyBound")
        .withArgs(ZK);
      const otherBit = await ethers.deployContract("TestMode", [core, 16]);
      await expect(gov.bindMode(32, await otherBit.getAddress()))
        .to.be.revertedWithCustomError(p.settlement, "ModeContractMismatch")
        .withArgs(await otherBit.getAddress(), 32);
      const foreign = await ethers.deployContract("TestMode", [p.other.address, 32]);
      await expect(gov.bindMode(32, await foreign.getAddress()))
        .to.be.revertedWithCustomError(p.settlement, "ModeContractMismatch")
        .withArgs(await foreign.getAddress(), 32);
      // A zk mode for another core declares zk and that core: refused on a free bit as on its own.
      await expect(gov.bindMode(32, await fresh.getAddress()))
        .to.be.revertedWithCustomError(p.settlement, "ModeContractMismatch")
        .withArgs(await fresh.getAddress(), 32);
    });

    it("a bound mode cannot pull beyond a payer's allowance, and pays fees split exactly", async () => {
      // Old: no modes could move ledger funds; the allowance is what keeps a (buggy or hostile) mode to what payers
      // granted it.
      const { p, testMode } = await loadFixture(modesFixture);
      const modeAddress = await testMode.getAddress();
      const before = await snapshotState(p);
      await expect(testMode.pull(p.requester.address, 1_000n * OPG))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientModeAllowance")
        .withArgs(0n, 1_000n * OPG);
      await p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, 3n * OPG);
      await expect(testMode.pull(p.requester.address, 3n * OPG + 1n))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientModeAllowance")
        .withArgs(3n * OPG, 3n * OPG + 1n);
      // Its own balance is all it can move.
      await expect(testMode.transferBalance(p.other.address, 1n))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientBalance")
        .withArgs(0n, 1n);
      expect(await snapshotState(p)).to.deep.equal(before);
      await testMode.pull(p.requester.address, 3n * OPG);
      const fee = 3n * OPG;
      const royaltyBps = 3_333;
      await testMode.payFee(fee, p.modelOwner.address, royaltyBps, p.payout.address);
      const split = splitFee(fee, royaltyBps, PROTOCOL_FEE_BPS);
      expect(await p.settlement.balances(p.payout.address)).to.equal(split.operator);
      expect(await p.settlement.balances(p.modelOwner.address)).to.equal(split.royalty);
      expect(await p.settlement.protocolFeesOf(TEST_MODE_BIT)).to.equal(split.protocol);
      expect(split.operator + split.royalty + split.protocol).to.equal(fee);
      expect(await p.settlement.balances(modeAddress)).to.equal(0n);
      expect(await p.settlement.totalOwed()).to.equal(before.totalOwed);
    });
  });
});
