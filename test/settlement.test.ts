import { expect } from "chai";
import fc from "fast-check";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { Signature } from "ethers";
import { hashDomain, keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import { signPermit } from "../src/ethers/index.js";
import {
  fieldToBytes32,
  hashRequest,
  ProtocolLimits,
  resultDigest,
  resultMessage,
  signatureModeDomain,
  SNARK_SCALAR_FIELD,
  splitFee,
  VerificationMode,
} from "../src/protocol/index.js";
import {
  bindTestMode,
  DEFAULT_OUTPUT,
  deployProtocol,
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
  owedFromParts,
  PENALTY,
  PROTOCOL_FEE_BPS,
  protocolFixture,
  recoveredSigner,
  registerModel,
  registerOperator,
  reportEquivocation,
  requestParams,
  REWARD_BPS,
  rotateSigner,
  ROYALTY_BPS,
  SIGNER_KEYS,
  signResult,
  STATUS,
  TEST_MODE_BIT,
  twoResults,
  ZERO_ADDRESS,
  ZERO_HASH,
  type Protocol,
} from "./helpers/fixture.js";

const { time } = networkHelpers;
const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const EVIDENCE_WINDOW = ProtocolLimits.EVIDENCE_WINDOW;
const { Signature: SIG, Zk: ZK } = VerificationMode;

/** The fixture plus a zk-capable model (a real pure verifier, signature and zk allowed). */
async function zkModelFixture() {
  const p = await protocolFixture();
  const verifier = await deployVerifier();
  const zkModelId = await registerModel(
    p.models,
    p.modelOwner,
    modelSpec({
      name: "zk-capable",
      modes: SIG | ZK,
      zkCommitment: fieldToBytes32(BigInt(keccak256(toHex("weights"))) % SNARK_SCALAR_FIELD),
      ...verifier,
    }),
  );
  return { ...p, zkModelId };
}

/** The fixture plus a `TestMode` bound to bit 4 and a model that allows it. */
async function testModeFixture() {
  const p = await protocolFixture();
  const mode = await bindTestMode(p);
  const anyModeModel = await registerModel(
    p.models,
    p.modelOwner,
    modelSpec({ name: "test-mode-model", modes: SIG | TEST_MODE_BIT }),
  );
  return { p, mode, modeAddress: (await mode.getAddress()) as Address, anyModeModel };
}

function result(p: Protocol, output: Hex = DEFAULT_OUTPUT) {
  return { operator: p.operator.address as Address, outputHash: keccak256(output), output, outputUri: "" };
}

describe("InferenceSettlement (core) and SignatureMode", () => {
  describe("deployment", () => {
    it("wires token, registries, treasury, fee and both modes, and starts ids at 1", async () => {
      const p = await loadFixture(protocolFixture);
      expect(await p.settlement.token()).to.equal(await p.token.getAddress());
      expect(await p.settlement.models()).to.equal(await p.models.getAddress());
      expect(await p.settlement.operators()).to.equal(await p.operators.getAddress());
      expect(await p.settlement.treasury()).to.equal(p.treasury.address);
      expect(await p.settlement.protocolFeeBps()).to.equal(PROTOCOL_FEE_BPS);
      expect(await p.settlement.nextRequestId()).to.equal(1n);
      expect(await p.settlement.owner()).to.equal(p.governance.address);
      expect(await p.settlement.openModes()).to.equal(BigInt(SIG | ZK | VerificationMode.Quiet));
      expect(await p.settlement.modeContract(SIG)).to.equal(await p.signatureMode.getAddress());
      expect(await p.settlement.modeContract(ZK)).to.equal(await p.zkMode.getAddress());
      expect(await p.settlement.modeContract(TEST_MODE_BIT)).to.equal(ZERO_ADDRESS);
      expect(await p.signatureMode.mode()).to.equal(BigInt(SIG));
      expect(await p.signatureMode.settlement()).to.equal(await p.settlement.getAddress());
      expect(await p.signatureMode.operators()).to.equal(await p.operators.getAddress());
      expect(await p.signatureMode.owner()).to.equal(p.governance.address);
      expect(await p.signatureMode.equivocationPenalty()).to.equal(PENALTY);
      expect(await p.signatureMode.reporterRewardBps()).to.equal(BigInt(REWARD_BPS));
      expect(await p.zkMode.mode()).to.equal(BigInt(ZK));
      expect(await p.zkMode.settlement()).to.equal(await p.settlement.getAddress());
      expect(await p.zkMode.models()).to.equal(await p.models.getAddress());
      expect(await p.settlement.totalOwed()).to.equal(1_000n * OPG);
    });

    it("refuses zero addresses, a protocol fee above 20% and a reporter share above 100%", async () => {
      const p = await loadFixture(protocolFixture);
      const [token, models, operators] = await Promise.all([
        p.token.getAddress(),
        p.models.getAddress(),
        p.operators.getAddress(),
      ]);
      const deploy = (args: string[], fee = 0) =>
        ethers.deployContract("InferenceSettlement", [
          ...args,
          p.governance.address,
          p.treasury.address,
          fee,
        ]);
      for (const args of [
        [ZERO_ADDRESS, models, operators],
        [token, ZERO_ADDRESS, operators],
        [token, models, ZERO_ADDRESS],
      ]) {
        await expect(deploy(args)).to.be.revertedWithCustomError(p.settlement, "ZeroAddress");
      }
      await expect(
        ethers.deployContract("InferenceSettlement", [
          token,
          models,
          operators,
          p.governance.address,
          ZERO_ADDRESS,
          0,
        ]),
      ).to.be.revertedWithCustomError(p.settlement, "ZeroAddress");
      await expect(deploy([token, models, operators], 2_001))
        .to.be.revertedWithCustomError(p.settlement, "ProtocolFeeTooHigh")
        .withArgs(2_001, 2_000);
      const settlement = await p.settlement.getAddress();
      await expect(
        ethers.deployContract("SignatureMode", [ZERO_ADDRESS, p.governance.address, 0n, 0]),
      ).to.be.revertedWithCustomError(p.signatureMode, "ZeroAddress");
      await expect(ethers.deployContract("SignatureMode", [settlement, p.governance.address, 0n, 10_001]))
        .to.be.revertedWithCustomError(p.signatureMode, "RewardTooHigh")
        .withArgs(10_001);
      await expect(ethers.deployContract("ZkMode", [ZERO_ADDRESS])).to.be.revertedWithCustomError(
        p.zkMode,
        "ZeroAddress",
      );
    });

    it("exposes the EIP-712 domain and result digest the TypeScript definitions use", async () => {
      const p = await loadFixture(protocolFixture);
      const domain = signatureModeDomain(p.chainId, (await p.signatureMode.getAddress()) as Address);
      expect(await p.signatureMode.domainSeparator()).to.equal(
        hashDomain({
          domain,
          types: {
            EIP712Domain: [
              { name: "name", type: "string" },
              { name: "version", type: "string" },
              { name: "chainId", type: "uint256" },
              { name: "verifyingContract", type: "address" },
            ],
          },
        }),
      );
      const { requestId, request } = await openPrepaid(p);
      expect(await p.settlement.hashRequest(request)).to.equal(hashRequest(request));
      for (const options of [{}, { output: "0x" as Hex, outputUri: "ipfs://out", outputHash: ZERO_HASH }]) {
        const signed = await signResult(p, requestId, request, options);
        expect(
          await p.signatureMode.resultDigest(
            requestId,
            hashRequest(request),
            signed.claim,
            p.operator.address,
          ),
        ).to.equal(resultDigest(domain, signed.message));
      }
      expect(await p.signatureMode.RESULT_TYPEHASH()).to.equal(
        keccak256(
          toHex(
            "InferenceResult(uint256 requestId,bytes32 requestHash,bytes32 outputHash,bytes output," +
              "string outputUri,address operator)",
          ),
        ),
      );
    });
  });

  describe("ledger", () => {
    it("deposits for self and for another account, counting them as owed", async () => {
      const p = await loadFixture(protocolFixture);
      const settlementAddress = await p.settlement.getAddress();
      await p.token.connect(p.other).approve(settlementAddress, 30n * OPG);
      await expect(p.settlement.connect(p.other).deposit(10n * OPG))
        .to.emit(p.settlement, "Deposited")
        .withArgs(p.other.address, p.other.address, 10n * OPG);
      await expect(p.settlement.connect(p.other).depositFor(p.reporter.address, 20n * OPG))
        .to.emit(p.settlement, "Deposited")
        .withArgs(p.reporter.address, p.other.address, 20n * OPG);
      expect(await p.settlement.balances(p.other.address)).to.equal(10n * OPG);
      expect(await p.settlement.balances(p.reporter.address)).to.equal(20n * OPG);
      expect(await p.settlement.totalOwed()).to.equal(1_030n * OPG);
      expect(await p.token.balanceOf(settlementAddress)).to.equal(1_030n * OPG);
    });

    it("rejects zero deposits and zero accounts", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.connect(p.requester).deposit(0)).to.be.revertedWithCustomError(
        p.settlement,
        "InvalidAmount",
      );
      await expect(
        p.settlement.connect(p.requester).depositFor(ZERO_ADDRESS, 1),
      ).to.be.revertedWithCustomError(p.settlement, "ZeroAddress");
    });

    it("deposits with a permit, and tolerates the permit being front-run", async () => {
      const p = await loadFixture(protocolFixture);
      const settlementAddress = await p.settlement.getAddress();
      const deadline = BigInt(await time.latest()) + 3600n;
      const permit = await signPermit(p.token, p.other, settlementAddress, 5n * OPG, deadline);
      await p.settlement.connect(p.other).depositWithPermit(5n * OPG, permit);
      expect(await p.settlement.balances(p.other.address)).to.equal(5n * OPG);

      const second = await signPermit(p.token, p.other, settlementAddress, 7n * OPG, deadline);
      // An observer submits the permit first; the deposit must still go through.
      await p.token
        .connect(p.reporter)
        .permit(
          p.other.address,
          settlementAddress,
          second.value,
          second.deadline,
          second.v,
          second.r,
          second.s,
        );
      await p.settlement.connect(p.other).depositWithPermit(7n * OPG, second);
      expect(await p.settlement.balances(p.other.address)).to.equal(12n * OPG);
    });

    it("fails a deposit whose permit is invalid and for which no allowance exists", async () => {
      const p = await loadFixture(protocolFixture);
      const deadline = BigInt(await time.latest()) + 3600n;
      const permit = await signPermit(p.token, p.other, await p.settlement.getAddress(), 5n * OPG, deadline);
      await expect(
        p.settlement.connect(p.other).depositWithPermit(5n * OPG, { ...permit, s: permit.r }),
      ).to.be.revertedWithCustomError(p.token, "ERC20InsufficientAllowance");
    });

    it("withdraws to any address and rejects bad withdrawals", async () => {
      const p = await loadFixture(protocolFixture);
      const before = await p.token.balanceOf(p.other.address);
      await expect(p.settlement.connect(p.requester).withdraw(p.other.address, 100n * OPG))
        .to.emit(p.settlement, "Withdrawn")
        .withArgs(p.requester.address, p.other.address, 100n * OPG);
      expect(await p.token.balanceOf(p.other.address)).to.equal(before + 100n * OPG);
      expect(await p.settlement.balances(p.requester.address)).to.equal(900n * OPG);
      expect(await p.settlement.totalOwed()).to.equal(900n * OPG);
      await expect(p.settlement.connect(p.requester).withdraw(ZERO_ADDRESS, 1)).to.be.revertedWithCustomError(
        p.settlement,
        "ZeroAddress",
      );
      await expect(
        p.settlement.connect(p.requester).withdraw(p.other.address, 0),
      ).to.be.revertedWithCustomError(p.settlement, "InvalidAmount");
      await expect(p.settlement.connect(p.requester).withdraw(p.other.address, 901n * OPG))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientBalance")
        .withArgs(900n * OPG, 901n * OPG);
    });

    it("moves ledger balance between accounts without changing what is owed", async () => {
      const p = await loadFixture(protocolFixture);
      const owed = await p.settlement.totalOwed();
      await expect(p.settlement.connect(p.requester).transferBalance(p.other.address, 40n * OPG))
        .to.emit(p.settlement, "BalanceTransferred")
        .withArgs(p.requester.address, p.other.address, 40n * OPG);
      expect(await p.settlement.balances(p.requester.address)).to.equal(960n * OPG);
      expect(await p.settlement.balances(p.other.address)).to.equal(40n * OPG);
      // To oneself: a no-op that still checks the balance.
      await p.settlement.connect(p.other).transferBalance(p.other.address, 40n * OPG);
      expect(await p.settlement.balances(p.other.address)).to.equal(40n * OPG);
      expect(await p.settlement.totalOwed()).to.equal(owed);
      await expect(
        p.settlement.connect(p.requester).transferBalance(ZERO_ADDRESS, 1n),
      ).to.be.revertedWithCustomError(p.settlement, "ZeroAddress");
      await expect(
        p.settlement.connect(p.requester).transferBalance(p.other.address, 0n),
      ).to.be.revertedWithCustomError(p.settlement, "InvalidAmount");
      await expect(p.settlement.connect(p.other).transferBalance(p.requester.address, 40n * OPG + 1n))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientBalance")
        .withArgs(40n * OPG, 40n * OPG + 1n);
      // The recipient can spend it: open a request with the transferred balance.
      await p.settlement.connect(p.other).transferBalance(p.reporter.address, MODEL_FEE);
      await expect(p.settlement.connect(p.reporter).openRequest(await requestParams(p))).to.emit(
        p.settlement,
        "RequestOpened",
      );
    });

    it("sets a mode allowance per account and single mode bit", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, 5n))
        .to.emit(p.settlement, "ModeAllowanceSet")
        .withArgs(p.requester.address, TEST_MODE_BIT, 5n);
      expect(await p.settlement.modeAllowance(p.requester.address, TEST_MODE_BIT)).to.equal(5n);
      expect(await p.settlement.modeAllowance(p.requester.address, SIG)).to.equal(0n);
      expect(await p.settlement.modeAllowance(p.other.address, TEST_MODE_BIT)).to.equal(0n);
      await p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, 0n);
      expect(await p.settlement.modeAllowance(p.requester.address, TEST_MODE_BIT)).to.equal(0n);
      for (const mode of [0, 3, 6, 0xff]) {
        await expect(p.settlement.connect(p.requester).approveMode(mode, 1n))
          .to.be.revertedWithCustomError(p.settlement, "InvalidMode")
          .withArgs(mode);
      }
    });
  });

  describe("opening requests", () => {
    it("commits the request as one hash, debits the fee and emits everything needed to fulfil it", async () => {
      const p = await loadFixture(protocolFixture);
      const params = await requestParams(p, { inputUri: "data:application/octet-stream;base64,AAAA" });
      const tx = p.settlement.connect(p.requester).openRequest(params);
      await expect(tx).to.emit(p.settlement, "RequestOpened");
      const { requestId, request, inputUri } = openedFrom(p.settlement, await (await tx).wait());
      expect(requestId).to.equal(1n);
      expect(inputUri).to.equal(params.inputUri);
      expect(request).to.deep.equal({
        requester: p.requester.address,
        fee: MODEL_FEE,
        modelOwner: p.modelOwner.address,
        royaltyBps: ROYALTY_BPS,
        protocolFeeBps: PROTOCOL_FEE_BPS,
        mode: SIG,
        deadline: params.deadline,
        modelId: p.modelId,
        inputHash: params.inputHash,
        operator: ZERO_ADDRESS,
        callback: ZERO_ADDRESS,
        callbackGasLimit: 0,
      });
      expect(await p.settlement.hashRequest(request)).to.equal(hashRequest(request));
      expect(await p.settlement.isCommitted(requestId, hashRequest(request))).to.equal(true);
      expect(await p.settlement.isCommitted(requestId, hashRequest({ ...request, fee: 0n }))).to.equal(false);
      expect(await p.settlement.isCommitted(requestId + 1n, hashRequest(request))).to.equal(false);
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Pending);
      expect(await p.settlement.balances(p.requester.address)).to.equal(1_000n * OPG - MODEL_FEE);
      expect(await p.settlement.nextRequestId()).to.equal(2n);
      // The fee moved from a balance to a pending request: still owed.
      expect(await p.settlement.totalOwed()).to.equal(1_000n * OPG);
    });

    it("pays by transferFrom", async () => {
      const p = await loadFixture(protocolFixture);
      const held = await p.token.balanceOf(await p.settlement.getAddress());
      await p.settlement.connect(p.requester).openRequestWithTransfer(await requestParams(p));
      expect(await p.token.balanceOf(await p.settlement.getAddress())).to.equal(held + MODEL_FEE);
      expect(await p.settlement.balances(p.requester.address)).to.equal(1_000n * OPG);
      expect(await p.settlement.totalOwed()).to.equal(held + MODEL_FEE);
    });

    it("fails transferFrom without allowance and leaves nothing behind", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.connect(p.other).openRequestWithTransfer(await requestParams(p)))
        .to.be.revertedWithCustomError(p.token, "ERC20InsufficientAllowance")
        .withArgs(await p.settlement.getAddress(), 0, MODEL_FEE);
      expect(await p.settlement.requestStatus(1)).to.equal(STATUS.None);
      expect(await p.settlement.nextRequestId()).to.equal(1n);
    });

    it("pays with a permit in the same transaction, even when the permit was front-run", async () => {
      const p = await loadFixture(protocolFixture);
      const settlementAddress = await p.settlement.getAddress();
      const deadline = BigInt(await time.latest()) + 3600n;
      const permit = await signPermit(p.token, p.other, settlementAddress, MODEL_FEE, deadline);
      const { requestId } = openedFrom(
        p.settlement,
        await (
          await p.settlement.connect(p.other).openRequestWithPermit(await requestParams(p), permit)
        ).wait(),
      );
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Pending);

      const frontRun = await signPermit(p.token, p.other, settlementAddress, MODEL_FEE, deadline);
      await p.token
        .connect(p.reporter)
        .permit(
          p.other.address,
          settlementAddress,
          frontRun.value,
          frontRun.deadline,
          frontRun.v,
          frontRun.r,
          frontRun.s,
        );
      await expect(
        p.settlement.connect(p.other).openRequestWithPermit(await requestParams(p), frontRun),
      ).to.emit(p.settlement, "RequestOpened");
      expect(await p.token.allowance(p.other.address, settlementAddress)).to.equal(0n);
    });

    it("rejects an insufficient prepaid balance", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.connect(p.other).openRequest(await requestParams(p)))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientBalance")
        .withArgs(0, MODEL_FEE);
    });

    it("rejects a fee above the requester's maximum (price raised before inclusion)", async () => {
      const p = await loadFixture(protocolFixture);
      await p.models.connect(p.modelOwner).setTerms(p.modelId, MODEL_FEE + 1n, ROYALTY_BPS);
      await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p)))
        .to.be.revertedWithCustomError(p.settlement, "FeeAboveMax")
        .withArgs(MODEL_FEE + 1n, MODEL_FEE);
    });

    it("rejects deadlines in the past, now, and beyond 30 days", async () => {
      const p = await loadFixture(protocolFixture);
      const now = BigInt(await time.latest());
      const ttl = await p.settlement.MAX_REQUEST_TTL();
      // Each attempt is mined at a timestamp set in advance, so the boundaries are exact whatever the wall clock does.
      let at = now;
      for (const offset of [-1n, 0n /* the block's own timestamp */, ttl + 1n]) {
        at += 5n;
        const params = await requestParams(p, { deadline: at + offset });
        await time.setNextBlockTimestamp(at);
        await expect(p.settlement.connect(p.requester).openRequest(params))
          .to.be.revertedWithCustomError(p.settlement, "InvalidDeadline")
          .withArgs(at + offset, at + ttl);
      }
      at += 5n;
      const params = await requestParams(p, { deadline: at + ttl });
      await time.setNextBlockTimestamp(at);
      await expect(p.settlement.connect(p.requester).openRequest(params)).to.emit(
        p.settlement,
        "RequestOpened",
      );
    });

    it("rejects a mode that is not one bit, and a bit no live mode contract is bound to", async () => {
      const p = await loadFixture(protocolFixture);
      for (const mode of [0, 3, 6, 0xff]) {
        await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p, { mode })))
          .to.be.revertedWithCustomError(p.settlement, "InvalidMode")
          .withArgs(mode);
      }
      for (const mode of [TEST_MODE_BIT, 8, 128]) {
        await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p, { mode })))
          .to.be.revertedWithCustomError(p.settlement, "ModeNotOpen")
          .withArgs(mode);
      }
    });

    it("rejects a mode the model does not allow, and a zk input outside the field", async () => {
      const p = await loadFixture(zkModelFixture);
      await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p, { mode: ZK })))
        .to.be.revertedWithCustomError(p.models, "ModeNotAllowed")
        .withArgs(p.modelId, ZK, SIG);
      const outside: Hex = `0x${SNARK_SCALAR_FIELD.toString(16).padStart(64, "0")}`;
      await expect(
        p.settlement
          .connect(p.requester)
          .openRequest(await requestParams(p, { modelId: p.zkModelId, mode: ZK, inputHash: outside })),
      )
        .to.be.revertedWithCustomError(p.models, "InputNotInField")
        .withArgs(outside);
      // The same hash is a fine input for a signature request of the same model.
      await expect(
        p.settlement
          .connect(p.requester)
          .openRequest(await requestParams(p, { modelId: p.zkModelId, mode: SIG, inputHash: outside })),
      ).to.emit(p.settlement, "RequestOpened");
    });

    it("rejects inconsistent callback settings", async () => {
      const p = await loadFixture(protocolFixture);
      const max = Number(await p.settlement.MAX_CALLBACK_GAS());
      const consumer = p.other.address as Address;
      const cases: [Address, number][] = [
        [ZERO_ADDRESS, 1],
        [consumer, 0],
        [consumer, max + 1],
      ];
      for (const [callback, callbackGasLimit] of cases) {
        await expect(
          p.settlement
            .connect(p.requester)
            .openRequest(await requestParams(p, { callback, callbackGasLimit })),
        )
          .to.be.revertedWithCustomError(p.settlement, "InvalidCallback")
          .withArgs(callback, callbackGasLimit, max);
      }
    });

    it("rejects unknown, deprecated and revoked models", async () => {
      const p = await loadFixture(protocolFixture);
      const unknown = keccak256(toHex("no such model"));
      await expect(
        p.settlement.connect(p.requester).openRequest(await requestParams(p, { modelId: unknown })),
      )
        .to.be.revertedWithCustomError(p.models, "UnknownModel")
        .withArgs(unknown);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 2);
      await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p)))
        .to.be.revertedWithCustomError(p.models, "ModelNotActive")
        .withArgs(p.modelId, 2);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 3);
      await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p)))
        .to.be.revertedWithCustomError(p.models, "ModelNotActive")
        .withArgs(p.modelId, 3);
    });

    it("enforces a minimum-balance token gate", async () => {
      const p = await loadFixture(protocolFixture);
      await p.models.connect(p.modelOwner).setGate(p.modelId, 1, 50_000n * OPG);
      await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p))).to.emit(
        p.settlement,
        "RequestOpened",
      );
      const poor = p.other;
      await p.token
        .connect(poor)
        .transfer(p.governance.address, (await p.token.balanceOf(poor.address)) - 10n * OPG);
      await p.token.connect(poor).approve(await p.settlement.getAddress(), MODEL_FEE);
      await expect(p.settlement.connect(poor).openRequestWithTransfer(await requestParams(p)))
        .to.be.revertedWithCustomError(p.models, "BalanceBelowGate")
        .withArgs(poor.address, 10n * OPG, 50_000n * OPG);
    });

    it("enforces an allowlist gate", async () => {
      const p = await loadFixture(protocolFixture);
      await p.models.connect(p.modelOwner).setGate(p.modelId, 2, 0);
      await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p)))
        .to.be.revertedWithCustomError(p.models, "NotAllowlisted")
        .withArgs(p.requester.address);
      const { familyId } = await p.models.getModel(p.modelId);
      await p.models.connect(p.modelOwner).setAllowed(familyId, [p.requester.address], true);
      await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p))).to.emit(
        p.settlement,
        "RequestOpened",
      );
    });
  });

  describe("signed fulfilment", () => {
    it("settles: credits operator payout, royalty and protocol, emits the result, marks it fulfilled", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const signed = await signResult(p, opened.requestId, opened.request, { outputUri: "ipfs://out" });
      // Anyone may relay a signed result; the payout comes from the registry.
      await expect(fulfilSigned(p, opened, signed, p.other))
        .to.emit(p.settlement, "RequestFulfilled")
        .withArgs(
          opened.requestId,
          p.operator.address,
          p.payout.address,
          p.signer.address,
          signed.result.outputHash,
          signed.result.output,
          "ipfs://out",
        );
      const split = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS);
      expect(split).to.deep.equal({ royalty: OPG, protocol: OPG / 2n, operator: (85n * OPG) / 10n });
      expect(await p.settlement.balances(p.payout.address)).to.equal(split.operator);
      expect(await p.settlement.balances(p.modelOwner.address)).to.equal(split.royalty);
      expect(await p.settlement.protocolFees()).to.equal(split.protocol);
      expect(await p.settlement.protocolFeesOf(SIG)).to.equal(split.protocol);
      expect(await p.settlement.protocolFeesOf(ZK)).to.equal(0n);
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Fulfilled);
      // The commitment survives settlement (evidence about the request stays checkable).
      expect(await p.settlement.isCommitted(opened.requestId, hashRequest(opened.request))).to.equal(true);
      expect(await p.settlement.totalOwed()).to.equal(1_000n * OPG);
    });

    it("accepts an output given only by hash and URI", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const outputHash = keccak256(toHex("large output stored elsewhere"));
      const signed = await signResult(p, opened.requestId, opened.request, {
        output: "0x",
        outputHash,
        outputUri: "ipfs://big",
      });
      await expect(fulfilSigned(p, opened, signed))
        .to.emit(p.settlement, "RequestFulfilled")
        .withArgs(
          opened.requestId,
          p.operator.address,
          p.payout.address,
          p.signer.address,
          outputHash,
          "0x",
          "ipfs://big",
        );
    });

    it("settles a free model without credits", async () => {
      const p = await loadFixture(protocolFixture);
      const free = await registerModel(p.models, p.modelOwner, modelSpec({ name: "free", fee: 0n }));
      const opened = await openPrepaid(p, { modelId: free });
      await fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request));
      expect(await p.settlement.balances(p.payout.address)).to.equal(0n);
      expect(await p.settlement.protocolFees()).to.equal(0n);
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Fulfilled);
    });

    it("keeps the terms a request was opened with when fee, royalty or protocol fee change", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      await p.models.connect(p.modelOwner).setTerms(p.modelId, 1n, 8_000);
      await p.settlement.connect(p.governance).setProtocolFee(2_000);
      await fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request));
      const split = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS);
      expect(await p.settlement.balances(p.modelOwner.address)).to.equal(split.royalty);
      expect(await p.settlement.protocolFees()).to.equal(split.protocol);
    });

    it("refuses a second fulfilment", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const signed = await signResult(p, opened.requestId, opened.request);
      await fulfilSigned(p, opened, signed);
      await expect(fulfilSigned(p, opened, signed))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(opened.requestId, STATUS.Fulfilled);
    });

    it("refuses an unknown request and request data that differ from the commitment", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      // The operator's own signature over a request id never opened.
      const unknown = { requestId: 99n, request: opened.request };
      await expect(fulfilSigned(p, unknown, await signResult(p, 99n, opened.request)))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(99n, STATUS.None);
      for (const tampered of [
        { ...opened.request, fee: opened.request.fee - 1n },
        { ...opened.request, royaltyBps: 0 },
        { ...opened.request, modelOwner: p.other.address as Address },
        { ...opened.request, deadline: opened.request.deadline + 1n },
        { ...opened.request, callback: p.other.address as Address },
      ]) {
        // Even signed by the operator over the tampered content, the core refuses what was never committed.
        const forged = { requestId: opened.requestId, request: tampered };
        await expect(fulfilSigned(p, forged, await signResult(p, opened.requestId, tampered)))
          .to.be.revertedWithCustomError(p.settlement, "RequestMismatch")
          .withArgs(opened.requestId);
        // A real signature does not carry over to tampered request data: the digest binds the request's hash.
        const honest = await signResult(p, opened.requestId, opened.request);
        const message = resultMessage(opened.requestId, tampered, honest.result);
        await expect(fulfilSigned(p, forged, honest))
          .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
          .withArgs(p.operator.address, await recoveredSigner(p, message, honest.signature));
      }
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Pending);
    });

    it("refuses fulfilment after the deadline, and accepts it in the deadline's own second", async () => {
      const p = await loadFixture(protocolFixture);
      const late = await openPrepaid(p);
      const onTime = await openPrepaid(p, { deadline: late.request.deadline });
      const signedLate = await signResult(p, late.requestId, late.request);
      const signedOnTime = await signResult(p, onTime.requestId, onTime.request);
      await time.setNextBlockTimestamp(onTime.request.deadline);
      await expect(fulfilSigned(p, onTime, signedOnTime)).to.emit(p.settlement, "RequestFulfilled");
      await expect(fulfilSigned(p, late, signedLate))
        .to.be.revertedWithCustomError(p.settlement, "RequestExpired")
        .withArgs(late.requestId, late.request.deadline);
    });

    it("refuses a signature on a request that requires a zk proof: only the zk mode contract may settle it", async () => {
      const p = await loadFixture(zkModelFixture);
      const opened = await openPrepaid(p, { modelId: p.zkModelId, mode: ZK, inputHash: fieldToBytes32(42n) });
      const signed = await signResult(p, opened.requestId, opened.request);
      await expect(fulfilSigned(p, opened, signed))
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(opened.requestId, ZK, await p.signatureMode.getAddress());
    });

    it("reserves a request for its assigned operator", async () => {
      const p = await loadFixture(protocolFixture);
      const reserved = await openPrepaid(p, { operator: p.other.address as Address });
      await expect(fulfilSigned(p, reserved, await signResult(p, reserved.requestId, reserved.request)))
        .to.be.revertedWithCustomError(p.settlement, "OperatorNotAssigned")
        .withArgs(reserved.requestId, p.other.address);
      const assigned = await openPrepaid(p, { operator: p.operator.address as Address });
      await expect(
        fulfilSigned(p, assigned, await signResult(p, assigned.requestId, assigned.request)),
      ).to.emit(p.settlement, "RequestFulfilled");
    });

    it("refuses inline output that does not hash to the signed output hash", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      // The operator itself signed an inconsistent result: the signature is valid, the result is not.
      const output = toHex("forged output");
      const outputHash = keccak256(DEFAULT_OUTPUT);
      const signed = await signResult(p, opened.requestId, opened.request, { output, outputHash });
      await expect(fulfilSigned(p, opened, signed))
        .to.be.revertedWithCustomError(p.settlement, "OutputHashMismatch")
        .withArgs(outputHash, keccak256(output));
    });

    it("binds every result field: a relayer cannot change output bytes, output hash, URI or operator", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const signed = await signResult(p, opened.requestId, opened.request, { outputUri: "ipfs://honest" });
      const other = toHex(new Uint8Array([9, 9, 9, 9]));
      for (const changed of [
        { ...signed.result, output: "0x" as Hex },
        { ...signed.result, outputUri: "ipfs://relayer" },
        { ...signed.result, output: other, outputHash: keccak256(other) },
        { ...signed.result, output: "0x" as Hex, outputHash: keccak256(other) },
      ]) {
        const message = resultMessage(opened.requestId, opened.request, changed);
        await expect(fulfilSigned(p, opened, { ...signed, result: changed }))
          .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
          .withArgs(p.operator.address, await recoveredSigner(p, message, signed.signature));
      }
      // Naming another operator: the recovered key is not that operator's either.
      await registerOperator(p, p.other, new ethers.Wallet(SIGNER_KEYS[1]), p.other.address);
      const asOther = { ...signed.result, operator: p.other.address as Address };
      await expect(fulfilSigned(p, opened, { ...signed, result: asOther }))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(
          p.other.address,
          await recoveredSigner(
            p,
            resultMessage(opened.requestId, opened.request, asOther),
            signed.signature,
          ),
        );
      await expect(fulfilSigned(p, opened, signed)).to.emit(p.settlement, "RequestFulfilled");
    });

    it("refuses malformed, zero and malleable (high-s) signatures", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const signed = await signResult(p, opened.requestId, opened.request);
      const sig = Signature.from(signed.signature);
      const highS = SECP256K1_N - BigInt(sig.s);
      const flippedV = sig.v === 27 ? 28 : 27;
      const malleable = (sig.r + toHex(highS, { size: 32 }).slice(2) + flippedV.toString(16)) as Hex;
      // The malleable twin is a valid ECDSA signature of the same digest: only the low-s rule rejects it.
      const digest = (await p.signatureMode.resultDigest(
        opened.requestId,
        hashRequest(opened.request),
        signed.claim,
        p.operator.address,
      )) as Hex;
      expect(await recoverAddress({ hash: digest, signature: malleable })).to.equal(p.signer.address);
      // In compact form the high s spills into the v bit, so it cannot even be expressed: another key recovers,
      // or none.
      const vsHigh = toHex((highS & ((1n << 255n) - 1n)) | (BigInt(flippedV - 27) << 255n), { size: 32 });
      await expect(fulfilSigned(p, opened, { ...signed, vs: vsHigh })).to.be.revert(ethers);
      await expect(
        fulfilSigned(p, opened, { ...signed, r: ZERO_HASH, vs: ZERO_HASH }),
      ).to.be.revertedWithCustomError(p.signatureMode, "InvalidSignature");
      await expect(fulfilSigned(p, opened, { ...signed, r: ZERO_HASH })).to.be.revertedWithCustomError(
        p.signatureMode,
        "InvalidSignature",
      );
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Pending);
      await expect(fulfilSigned(p, opened, signed)).to.emit(p.settlement, "RequestFulfilled");
    });

    it("refuses replay of a signature on another request", async () => {
      const p = await loadFixture(protocolFixture);
      const first = await openPrepaid(p);
      const second = await openPrepaid(p);
      expect(second.request.inputHash).to.equal(first.request.inputHash);
      const signed = await signResult(p, first.requestId, first.request);
      await expect(fulfilSigned(p, second, signed))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(
          p.operator.address,
          await recoveredSigner(
            p,
            resultMessage(second.requestId, second.request, signed.result),
            signed.signature,
          ),
        );
    });

    it("refuses a signature made for another chain id or another SignatureMode contract", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      for (const options of [
        { chainId: p.chainId + 1n },
        { verifyingContract: (await p.settlement.getAddress()) as Address },
      ]) {
        const signed = await signResult(p, opened.requestId, opened.request, options);
        await expect(fulfilSigned(p, opened, signed))
          .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
          .withArgs(p.operator.address, await recoveredSigner(p, signed.message, signed.signature));
      }
    });

    it("refuses a signature made for another deployment with the same request id and content", async () => {
      const p = await loadFixture(protocolFixture);
      // A second, complete deployment on the same chain, where the same operator is registered with the same key.
      const q = await deployProtocol();
      const q2 = { ...q, signer: p.signer, modelId: p.modelId };
      const modelId = await registerModel(q.models, q.modelOwner, modelSpec());
      expect(modelId).to.equal(p.modelId);
      await registerOperator(q, q.operator, p.signer, q.payout.address);
      const here = await openPrepaid(p);
      await q.token.connect(q.requester).approve(await q.settlement.getAddress(), MODEL_FEE);
      const there = openedFrom(
        q.settlement,
        await (
          await q.settlement.connect(q.requester).openRequestWithTransfer(await requestParams(q2))
        ).wait(),
      );
      expect(there.requestId).to.equal(here.requestId);
      const signedHere = await signResult(p, here.requestId, here.request);
      await expect(fulfilSigned(q2, there, signedHere)).to.be.revertedWithCustomError(
        q.operators,
        "SignerMismatch",
      );
      await expect(fulfilSigned(q2, there, await signResult(q2, there.requestId, there.request))).to.emit(
        q.settlement,
        "RequestFulfilled",
      );
    });

    it("refuses unregistered keys and unregistered operators", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const stranger = new ethers.Wallet(SIGNER_KEYS[1]);
      await expect(
        fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request, { signer: stranger })),
      )
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(p.operator.address, stranger.address);
      const asStranger = await signResult(p, opened.requestId, opened.request, {
        signer: stranger,
        operator: p.other.address as Address,
      });
      await expect(fulfilSigned(p, opened, asStranger))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
    });

    it("refuses a rotated-out key and accepts the new one", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const next = new ethers.Wallet(SIGNER_KEYS[1]);
      const old = await signResult(p, opened.requestId, opened.request);
      await rotateSigner(p, p.operator, next);
      await expect(fulfilSigned(p, opened, old))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(p.operator.address, p.signer.address);
      await expect(
        fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request, { signer: next })),
      )
        .to.emit(p.settlement, "RequestFulfilled")
        .withArgs(
          opened.requestId,
          p.operator.address,
          p.payout.address,
          next.address,
          anyValue,
          anyValue,
          "",
        );
    });

    it("refuses an under-staked operator (minimum raised by governance) and an unbonding one", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const signed = await signResult(p, opened.requestId, opened.request);
      await p.operators.connect(p.governance).setMinStake(MIN_STAKE + 1n);
      await expect(fulfilSigned(p, opened, signed))
        .to.be.revertedWithCustomError(p.operators, "StakeBelowMinimum")
        .withArgs(p.operator.address, MIN_STAKE, MIN_STAKE + 1n);
      await p.operators.connect(p.governance).setMinStake(MIN_STAKE);
      await p.operators.connect(p.operator).unbond(1n);
      await expect(fulfilSigned(p, opened, signed))
        .to.be.revertedWithCustomError(p.operators, "StakeBelowMinimum")
        .withArgs(p.operator.address, MIN_STAKE - 1n, MIN_STAKE);
    });

    it("still fulfils pending requests of a deprecated model, but not of a revoked one", async () => {
      const p = await loadFixture(protocolFixture);
      const a = await openPrepaid(p);
      const b = await openPrepaid(p);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 2);
      await expect(fulfilSigned(p, a, await signResult(p, a.requestId, a.request))).to.emit(
        p.settlement,
        "RequestFulfilled",
      );
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 3);
      await expect(fulfilSigned(p, b, await signResult(p, b.requestId, b.request)))
        .to.be.revertedWithCustomError(p.settlement, "ModelRevoked")
        .withArgs(p.modelId);
    });

    it("refuses settle from anyone but the request's live mode contract", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const settle = (from: typeof p.other) =>
        p.settlement
          .connect(from)
          .settle(opened.request, opened.requestId, result(p), p.payout.address, p.signer.address);
      for (const caller of [p.other, p.operator, p.governance]) {
        await expect(settle(caller))
          .to.be.revertedWithCustomError(p.settlement, "WrongMode")
          .withArgs(opened.requestId, SIG, caller.address);
      }
      // Not even the zk mode contract, for a signature request.
      const zkMode = await impersonate(await p.zkMode.getAddress());
      await expect(settle(zkMode))
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(opened.requestId, SIG, await p.zkMode.getAddress());
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Pending);
    });
  });

  describe("refunds", () => {
    it("refunds an expired request to its requester's balance; anyone may trigger it", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await expect(p.settlement.connect(p.other).refund(request, requestId))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotExpired")
        .withArgs(requestId, request.deadline);
      await time.setNextBlockTimestamp(request.deadline);
      await expect(p.settlement.connect(p.other).refund(request, requestId)).to.be.revertedWithCustomError(
        p.settlement,
        "RequestNotExpired",
      );
      await networkHelpers.mine(); // the rejected call was never mined: use up the deadline's timestamp
      await expect(p.settlement.connect(p.other).refund(request, requestId))
        .to.emit(p.settlement, "RequestRefunded")
        .withArgs(requestId, p.requester.address, MODEL_FEE);
      expect(await p.settlement.balances(p.requester.address)).to.equal(1_000n * OPG);
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Refunded);
      expect(await p.settlement.isCommitted(requestId, hashRequest(request))).to.equal(true);
      expect(await p.settlement.totalOwed()).to.equal(1_000n * OPG);
    });

    it("refunds at once when the model is revoked", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 3);
      await expect(p.settlement.refund(request, requestId))
        .to.emit(p.settlement, "RequestRefunded")
        .withArgs(requestId, p.requester.address, MODEL_FEE);
    });

    it("refunds at once when the request's mode is retired", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await p.settlement.connect(p.governance).retireMode(SIG);
      await expect(p.settlement.refund(request, requestId))
        .to.emit(p.settlement, "RequestRefunded")
        .withArgs(requestId, p.requester.address, MODEL_FEE);
    });

    it("does not refund before the deadline for a deprecated model", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 2);
      await expect(p.settlement.refund(request, requestId)).to.be.revertedWithCustomError(
        p.settlement,
        "RequestNotExpired",
      );
    });

    it("refuses refund after fulfilment, a double refund, and fulfilment after refund", async () => {
      const p = await loadFixture(protocolFixture);
      const a = await openPrepaid(p);
      const b = await openPrepaid(p);
      await fulfilSigned(p, a, await signResult(p, a.requestId, a.request));
      await time.increaseTo(b.request.deadline + 1n);
      await expect(p.settlement.refund(a.request, a.requestId))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(a.requestId, STATUS.Fulfilled);
      await p.settlement.refund(b.request, b.requestId);
      await expect(p.settlement.refund(b.request, b.requestId))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(b.requestId, STATUS.Refunded);
      await expect(fulfilSigned(p, b, await signResult(p, b.requestId, b.request)))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(b.requestId, STATUS.Refunded);
      await expect(p.settlement.refund(b.request, 99n))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(99n, STATUS.None);
    });

    it("refuses request data that differ from the commitment", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await time.increaseTo(request.deadline + 1n);
      await expect(p.settlement.refund({ ...request, requester: p.other.address as Address }, requestId))
        .to.be.revertedWithCustomError(p.settlement, "RequestMismatch")
        .withArgs(requestId);
    });
  });

  describe("callbacks", () => {
    const LIMIT = 200_000;
    async function withConsumer() {
      const p = await protocolFixture();
      const consumer = await ethers.deployContract("TestConsumer");
      return { p, consumer, consumerAddress: (await consumer.getAddress()) as Address };
    }

    async function openFor(p: Protocol, consumer: Address, limit = LIMIT) {
      return openPrepaid(p, { callback: consumer, callbackGasLimit: limit });
    }

    it("delivers the verified result to the consumer", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      const opened = await openFor(p, consumerAddress);
      const signed = await signResult(p, opened.requestId, opened.request);
      await expect(fulfilSigned(p, opened, signed)).to.emit(consumer, "ResultReceived");
      expect(await consumer.lastRequestId()).to.equal(opened.requestId);
      expect(await consumer.lastOutputHash()).to.equal(signed.result.outputHash);
      expect(await consumer.lastOutput()).to.equal(signed.result.output);
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Fulfilled);
    });

    it("records a reverting consumer without blocking settlement", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      await consumer.setBehaviour(1);
      const opened = await openFor(p, consumerAddress);
      await expect(fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request)))
        .to.emit(p.settlement, "CallbackFailed")
        .withArgs(opened.requestId);
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.FulfilledCallbackFailed);
      expect(await p.settlement.isCommitted(opened.requestId, hashRequest(opened.request))).to.equal(true);
      expect(await p.settlement.balances(p.payout.address)).to.equal(
        splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS).operator,
      );
    });

    it("bounds a gas-burning consumer to its limit", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      const plain = await openPrepaid(p);
      const baseline = (await (
        await fulfilSigned(p, plain, await signResult(p, plain.requestId, plain.request))
      ).wait())!.gasUsed;
      await consumer.setBehaviour(2);
      const opened = await openFor(p, consumerAddress);
      const tx = fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request));
      await expect(tx).to.emit(p.settlement, "CallbackFailed");
      const used = (await (await tx).wait())!.gasUsed;
      expect(used).to.be.greaterThan(BigInt(LIMIT));
      expect(used).to.be.lessThan(baseline + BigInt(LIMIT) + 25_000n);
    });

    it("does not pay for a consumer's huge return data", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      await consumer.setBehaviour(3);
      const opened = await openFor(p, consumerAddress, 300_000);
      const receipt = await (
        await fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request))
      ).wait();
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Fulfilled);
      // Copying 200 kB of return data would cost the caller ~100k gas more than the callee's own memory.
      expect(receipt!.gasUsed).to.be.lessThan(250_000n);
    });

    it("gives the callback its full limit or reverts the whole fulfilment", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      await consumer.setBehaviour(2);
      const opened = await openFor(p, consumerAddress, 1_000_000);
      const signed = await signResult(p, opened.requestId, opened.request);
      // Enough for everything except the callback's full million: the relayer cannot starve it.
      await expect(
        p.signatureMode.fulfillSigned(opened.request, opened.requestId, signed.result, signed.r, signed.vs, {
          gasLimit: 600_000,
        }),
      ).to.be.revertedWithCustomError(p.settlement, "InsufficientGasForCallback");
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Pending);
    });

    it("records a callback target without code as failed", async () => {
      const { p } = await loadFixture(withConsumer);
      const opened = await openFor(p, p.other.address as Address);
      await expect(fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request))).to.emit(
        p.settlement,
        "CallbackFailed",
      );
    });

    it("stops a consumer re-entering to fulfil, settle or refund the same request; settlement happens once", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      const opened = await openFor(p, consumerAddress);
      const signed = await signResult(p, opened.requestId, opened.request);
      await consumer.setBehaviour(4);
      const { request, requestId } = opened;
      for (const [target, data] of [
        [
          await p.signatureMode.getAddress(),
          p.signatureMode.interface.encodeFunctionData("fulfillSigned", [
            request,
            requestId,
            signed.result,
            signed.r,
            signed.vs,
          ]),
        ],
        [
          await p.settlement.getAddress(),
          p.settlement.interface.encodeFunctionData("settle", [
            request,
            requestId,
            signed.result,
            consumerAddress,
            p.signer.address,
          ]),
        ],
        [
          await p.settlement.getAddress(),
          p.settlement.interface.encodeFunctionData("refund", [request, requestId]),
        ],
      ] as const) {
        const snapshot = await networkHelpers.takeSnapshot();
        await consumer.setReentry(target, data);
        const tx = fulfilSigned(p, opened, signed);
        await expect(tx).to.emit(p.settlement, "CallbackFailed").withArgs(requestId);
        await expect(tx).not.to.emit(consumer, "ReentrySucceeded");
        expect(await p.settlement.balances(p.payout.address)).to.equal(
          splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS).operator,
        );
        expect(await p.settlement.balances(consumerAddress)).to.equal(0n);
        expect(await p.settlement.balances(p.requester.address)).to.equal(1_000n * OPG - MODEL_FEE);
        await snapshot.restore();
      }
    });

    it("lets a consumer open a follow-up request from its callback (legitimate re-entry)", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      await p.settlement.connect(p.requester).depositFor(consumerAddress, 100n * OPG);
      const followUp = await requestParams(p);
      await consumer.setReentry(
        await p.settlement.getAddress(),
        p.settlement.interface.encodeFunctionData("openRequest", [followUp]),
      );
      await consumer.setBehaviour(4);
      const opened = await openFor(p, consumerAddress, 400_000);
      await expect(fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request))).to.emit(
        consumer,
        "ReentrySucceeded",
      );
      expect(await p.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Fulfilled);
      expect(await p.settlement.requestStatus(opened.requestId + 1n)).to.equal(STATUS.Pending);
      expect(await p.settlement.balances(consumerAddress)).to.equal(100n * OPG - MODEL_FEE);
    });
  });

  describe("equivocation", () => {
    const REWARD = (PENALTY * BigInt(REWARD_BPS)) / 10_000n;

    it("slashes an operator that signed two different results for one real request", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const evidence = await twoResults(p, opened.requestId, opened.request);
      const registryHeld = await p.token.balanceOf(await p.operators.getAddress());
      const owed = await p.settlement.totalOwed();
      await (await reportEquivocation(p, opened, evidence)).wait();
      const record = await p.operators.getOperator(p.operator.address);
      expect(record.stake).to.equal(MIN_STAKE - PENALTY);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(false);
      expect(await p.settlement.balances(p.reporter.address)).to.equal(REWARD);
      expect(await p.settlement.protocolFeesOf(SIG)).to.equal(PENALTY - REWARD);
      expect(await p.settlement.protocolFees()).to.equal(PENALTY - REWARD);
      expect(await p.token.balanceOf(await p.operators.getAddress())).to.equal(registryHeld - PENALTY);
      expect(await p.settlement.totalOwed()).to.equal(owed + PENALTY);
      expect(await p.token.balanceOf(await p.settlement.getAddress())).to.equal(owed + PENALTY);
    });

    it("emits the slash from the mode, the core and the registry", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const evidence = await twoResults(p, opened.requestId, opened.request);
      expect(
        await p.signatureMode
          .connect(p.reporter)
          .reportEquivocation.staticCall(
            opened.request,
            opened.requestId,
            p.operator.address,
            evidence[0].claim,
            evidence[0].signature,
            evidence[1].claim,
            evidence[1].signature,
          ),
      ).to.equal(PENALTY);
      const tx = reportEquivocation(p, opened, evidence);
      await expect(tx)
        .to.emit(p.signatureMode, "EquivocationSlashed")
        .withArgs(p.operator.address, opened.requestId, p.reporter.address, PENALTY);
      await expect(tx)
        .to.emit(p.settlement, "OperatorSlashed")
        .withArgs(SIG, p.operator.address, p.reporter.address, PENALTY, REWARD);
      await expect(tx)
        .to.emit(p.operators, "Slashed")
        .withArgs(p.operator.address, PENALTY, await p.settlement.getAddress());
    });

    it("counts evidence about settled and refunded requests, not only pending ones", async () => {
      const p = await loadFixture(protocolFixture);
      const settled = await openPrepaid(p);
      const refunded = await openPrepaid(p);
      const a = await twoResults(p, settled.requestId, settled.request);
      const b = await twoResults(p, refunded.requestId, refunded.request);
      await fulfilSigned(p, settled, a[0]);
      await time.increaseTo(refunded.request.deadline + 1n);
      await p.settlement.refund(refunded.request, refunded.requestId);
      await p.token.connect(p.operator).approve(await p.operators.getAddress(), MIN_STAKE);
      await p.operators.connect(p.operator).stake(MIN_STAKE);
      await expect(reportEquivocation(p, settled, a)).to.emit(p.signatureMode, "EquivocationSlashed");
      await expect(reportEquivocation(p, refunded, b)).to.emit(p.signatureMode, "EquivocationSlashed");
      expect((await p.operators.getOperator(p.operator.address)).stake).to.equal(
        2n * MIN_STAKE - 2n * PENALTY,
      );
    });

    it("uses the same evidence only once per request and operator", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const [a, b] = await twoResults(p, opened.requestId, opened.request);
      await reportEquivocation(p, opened, [a, b]);
      const c = await signResult(p, opened.requestId, opened.request, { output: toHex("class 1") });
      for (const pair of [
        [b, a],
        [a, c],
      ] as const) {
        await expect(reportEquivocation(p, opened, pair))
          .to.be.revertedWithCustomError(p.signatureMode, "EvidenceAlreadyUsed")
          .withArgs(opened.requestId, p.operator.address);
      }
    });

    it("refuses two results with the same output hash, even with different bytes or URIs", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const a = await signResult(p, opened.requestId, opened.request);
      const b = await signResult(p, opened.requestId, opened.request, {
        output: "0x",
        outputHash: a.result.outputHash,
        outputUri: "ipfs://same-output",
      });
      for (const pair of [
        [a, a],
        [a, b],
      ] as const) {
        await expect(reportEquivocation(p, opened, pair)).to.be.revertedWithCustomError(
          p.signatureMode,
          "NotEquivocation",
        );
      }
    });

    it("refuses evidence not signed by a key of the accused operator, and malformed signatures", async () => {
      const p = await loadFixture(protocolFixture);
      const stranger = new ethers.Wallet(SIGNER_KEYS[2]);
      const opened = await openPrepaid(p);
      const [a, b] = await twoResults(p, opened.requestId, opened.request);
      const [, forged] = await twoResults(p, opened.requestId, opened.request, { signer: stranger });
      await expect(reportEquivocation(p, opened, [a, forged]))
        .to.be.revertedWithCustomError(p.signatureMode, "InvalidEvidence")
        .withArgs(stranger.address);
      // A real key of another operator, accusing this one.
      const otherKey = new ethers.Wallet(SIGNER_KEYS[1]);
      await registerOperator(p, p.other, otherKey, p.other.address);
      const [, byOther] = await twoResults(p, opened.requestId, opened.request, { signer: otherKey });
      await expect(reportEquivocation(p, opened, [a, byOther]))
        .to.be.revertedWithCustomError(p.signatureMode, "InvalidEvidence")
        .withArgs(otherKey.address);
      // The accused operator's evidence presented against another operator.
      await expect(
        reportEquivocation(p, opened, [a, b], { operator: p.other.address }),
      ).to.be.revertedWithCustomError(p.signatureMode, "InvalidEvidence");
      const sig = Signature.from(b.signature);
      const highS = (sig.r +
        toHex(SECP256K1_N - BigInt(sig.s), { size: 32 }).slice(2) +
        (sig.v === 27 ? "1c" : "1b")) as Hex;
      const malformed: Hex[] = ["0x1234", `0x${"00".repeat(65)}`, highS, `${b.signature}00`];
      for (const bad of malformed) {
        await expect(
          reportEquivocation(p, opened, [a, { ...b, signature: bad }]),
        ).to.be.revertedWithCustomError(p.signatureMode, "InvalidSignature");
      }
      expect((await p.operators.getOperator(p.operator.address)).stake).to.equal(MIN_STAKE);
    });

    it("refuses evidence about a request that was never opened with that id and content", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const fabricated = { ...opened.request, inputHash: keccak256(toHex("never asked")) };
      const evidence = await twoResults(p, opened.requestId, fabricated);
      await expect(reportEquivocation(p, { requestId: opened.requestId, request: fabricated }, evidence))
        .to.be.revertedWithCustomError(p.signatureMode, "UnknownRequest")
        .withArgs(opened.requestId, hashRequest(fabricated));
      const future = await twoResults(p, 1_000n, opened.request);
      await expect(reportEquivocation(p, { requestId: 1_000n, request: opened.request }, future))
        .to.be.revertedWithCustomError(p.signatureMode, "UnknownRequest")
        .withArgs(1_000n, hashRequest(opened.request));
    });

    it("accepts evidence until the deadline plus the evidence window, inclusive", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const evidence = await twoResults(p, opened.requestId, opened.request);
      const closedAt = opened.request.deadline + EVIDENCE_WINDOW;
      const snapshot = await networkHelpers.takeSnapshot();
      await time.setNextBlockTimestamp(closedAt);
      await expect(reportEquivocation(p, opened, evidence)).to.emit(p.signatureMode, "EquivocationSlashed");
      await snapshot.restore();
      await time.setNextBlockTimestamp(closedAt + 1n);
      await expect(reportEquivocation(p, opened, evidence))
        .to.be.revertedWithCustomError(p.signatureMode, "EvidenceExpired")
        .withArgs(opened.requestId, closedAt);
    });

    it("counts a retired key only for requests opened before its retirement", async () => {
      const p = await loadFixture(protocolFixture);
      const before = await openPrepaid(p);
      const next = new ethers.Wallet(SIGNER_KEYS[1]);
      await rotateSigner(p, p.operator, next);
      const retired = await p.operators.signerRecord(p.signer.address);
      expect(retired.operator).to.equal(p.operator.address);
      expect(retired.retiredAtRequest).to.equal(before.requestId + 1n);
      const after = await openPrepaid(p);
      await expect(reportEquivocation(p, after, await twoResults(p, after.requestId, after.request)))
        .to.be.revertedWithCustomError(p.signatureMode, "KeyRetiredBeforeRequest")
        .withArgs(p.signer.address, after.requestId);
      // One result by the retired key, one by the current key, for a request opened before the rotation.
      const [a] = await twoResults(p, before.requestId, before.request);
      const [, b] = await twoResults(p, before.requestId, before.request, { signer: next });
      await expect(reportEquivocation(p, before, [a, b])).to.emit(p.signatureMode, "EquivocationSlashed");
    });

    it("reaches unbonding stake after the operator rotated its key away and unbonded", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const evidence = await twoResults(p, opened.requestId, opened.request);
      await rotateSigner(p, p.operator, new ethers.Wallet(SIGNER_KEYS[1]));
      await p.operators.connect(p.operator).unbond(MIN_STAKE);
      await reportEquivocation(p, opened, evidence);
      const record = await p.operators.getOperator(p.operator.address);
      expect(record.stake).to.equal(0n);
      expect(record.unbonding).to.equal(MIN_STAKE - PENALTY);
    });

    it("refuses a report that slashes nothing and keeps the evidence usable", async () => {
      const p = await loadFixture(protocolFixture);
      const opened = await openPrepaid(p);
      const evidence = await twoResults(p, opened.requestId, opened.request);
      await p.signatureMode.connect(p.governance).setSlashParams(0n, REWARD_BPS);
      await expect(reportEquivocation(p, opened, evidence))
        .to.be.revertedWithCustomError(p.signatureMode, "NothingToSlash")
        .withArgs(p.operator.address);
      await p.signatureMode.connect(p.governance).setSlashParams(PENALTY, REWARD_BPS);
      await expect(reportEquivocation(p, opened, evidence))
        .to.emit(p.signatureMode, "EquivocationSlashed")
        .withArgs(p.operator.address, opened.requestId, p.reporter.address, PENALTY);
    });

    it("splits the slash by the reporter share: all to protocol fees at 0, all to the reporter at 100%", async () => {
      const p = await loadFixture(protocolFixture);
      for (const [bps, reporter] of [
        [0, 0n],
        [10_000, PENALTY],
      ] as const) {
        const snapshot = await networkHelpers.takeSnapshot();
        await p.signatureMode.connect(p.governance).setSlashParams(PENALTY, bps);
        const opened = await openPrepaid(p);
        await reportEquivocation(p, opened, await twoResults(p, opened.requestId, opened.request));
        expect(await p.settlement.balances(p.reporter.address)).to.equal(reporter);
        expect(await p.settlement.protocolFees()).to.equal(PENALTY - reporter);
        await snapshot.restore();
      }
    });
  });

  describe("governance and protocol fees", () => {
    it("collects protocol fees of every mode to the treasury; anyone may trigger it", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.collectProtocolFees()).to.be.revertedWithCustomError(
        p.settlement,
        "NothingToCollect",
      );
      const opened = await openPrepaid(p);
      await fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request));
      const slashed = await openPrepaid(p);
      await reportEquivocation(p, slashed, await twoResults(p, slashed.requestId, slashed.request));
      const fees = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS).protocol;
      const fromSlash = PENALTY - (PENALTY * BigInt(REWARD_BPS)) / 10_000n;
      const owed = await p.settlement.totalOwed();
      await expect(p.settlement.connect(p.other).collectProtocolFees())
        .to.emit(p.settlement, "ProtocolFeesCollected")
        .withArgs(p.treasury.address, fees + fromSlash);
      expect(await p.token.balanceOf(p.treasury.address)).to.equal(fees + fromSlash);
      expect(await p.settlement.protocolFees()).to.equal(0n);
      expect(await p.settlement.protocolFeesOf(SIG)).to.equal(0n);
      expect(await p.settlement.totalOwed()).to.equal(owed - fees - fromSlash);
    });

    it("sends collected fees to the treasury in force, and charges new requests the fee in force", async () => {
      const p = await loadFixture(protocolFixture);
      await p.settlement.connect(p.governance).setTreasury(p.other.address);
      await p.settlement.connect(p.governance).setProtocolFee(1_000);
      const opened = await openPrepaid(p);
      expect(opened.request.protocolFeeBps).to.equal(1_000);
      await fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request));
      const before = await p.token.balanceOf(p.other.address);
      await p.settlement.collectProtocolFees();
      expect(await p.token.balanceOf(p.other.address)).to.equal(
        before + splitFee(MODEL_FEE, ROYALTY_BPS, 1_000).protocol,
      );
      expect(await p.token.balanceOf(p.treasury.address)).to.equal(0n);
    });

    it("lets only governance set the fee, the treasury and the slashing parameters, within bounds", async () => {
      const p = await loadFixture(protocolFixture);
      const gov = p.settlement.connect(p.governance);
      await expect(gov.setProtocolFee(2_000)).to.emit(p.settlement, "ProtocolFeeSet").withArgs(2_000);
      await expect(gov.setProtocolFee(2_001))
        .to.be.revertedWithCustomError(p.settlement, "ProtocolFeeTooHigh")
        .withArgs(2_001, 2_000);
      await expect(gov.setTreasury(p.other.address))
        .to.emit(p.settlement, "TreasurySet")
        .withArgs(p.other.address);
      await expect(gov.setTreasury(ZERO_ADDRESS)).to.be.revertedWithCustomError(p.settlement, "ZeroAddress");
      const mode = p.signatureMode.connect(p.governance);
      await expect(mode.setSlashParams(5n, 10_000))
        .to.emit(p.signatureMode, "SlashParamsSet")
        .withArgs(5n, 10_000);
      await expect(mode.setSlashParams(5n, 10_001))
        .to.be.revertedWithCustomError(p.signatureMode, "RewardTooHigh")
        .withArgs(10_001);
      expect(await p.signatureMode.equivocationPenalty()).to.equal(5n);
      for (const call of [
        p.settlement.connect(p.other).setProtocolFee(1),
        p.settlement.connect(p.other).setTreasury(p.other.address),
        p.settlement.connect(p.other).bindMode(TEST_MODE_BIT, p.other.address),
        p.settlement.connect(p.other).retireMode(SIG),
        p.settlement.connect(p.other).sweep(p.token, p.other.address),
      ]) {
        await expect(call)
          .to.be.revertedWithCustomError(p.settlement, "OwnableUnauthorizedAccount")
          .withArgs(p.other.address);
      }
      await expect(p.signatureMode.connect(p.other).setSlashParams(1n, 1))
        .to.be.revertedWithCustomError(p.signatureMode, "OwnableUnauthorizedAccount")
        .withArgs(p.other.address);
    });

    it("refuses to renounce governance of the core and of the signature mode", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.connect(p.governance).renounceOwnership()).to.be.revertedWithCustomError(
        p.settlement,
        "RenounceDisabled",
      );
      await expect(p.signatureMode.connect(p.governance).renounceOwnership()).to.be.revertedWithCustomError(
        p.signatureMode,
        "RenounceDisabled",
      );
      expect(await p.settlement.owner()).to.equal(p.governance.address);
      expect(await p.signatureMode.owner()).to.equal(p.governance.address);
    });

    it("hands governance over in two steps", async () => {
      const p = await loadFixture(protocolFixture);
      for (const contract of [p.settlement, p.signatureMode] as const) {
        await contract.connect(p.governance).transferOwnership(p.other.address);
        expect(await contract.owner()).to.equal(p.governance.address);
        await expect(contract.connect(p.reporter).acceptOwnership())
          .to.be.revertedWithCustomError(contract, "OwnableUnauthorizedAccount")
          .withArgs(p.reporter.address);
        await contract.connect(p.other).acceptOwnership();
        expect(await contract.owner()).to.equal(p.other.address);
      }
    });

    it("binds a mode contract once per bit, only one that declares that bit and this settlement", async () => {
      const p = await loadFixture(protocolFixture);
      const gov = p.settlement.connect(p.governance);
      const settlementAddress = await p.settlement.getAddress();
      const good = await ethers.deployContract("TestMode", [settlementAddress, TEST_MODE_BIT]);
      for (const mode of [0, 3, 12]) {
        await expect(gov.bindMode(mode, await good.getAddress()))
          .to.be.revertedWithCustomError(p.settlement, "InvalidMode")
          .withArgs(mode);
      }
      await expect(gov.bindMode(TEST_MODE_BIT, ZERO_ADDRESS)).to.be.revertedWithCustomError(
        p.settlement,
        "ZeroAddress",
      );
      const otherSettlement = await ethers.deployContract("TestMode", [p.other.address, TEST_MODE_BIT]);
      const otherBit = await ethers.deployContract("TestMode", [settlementAddress, 16]);
      for (const target of [
        p.other.address, // no code
        await p.token.getAddress(), // no mode()
        await otherSettlement.getAddress(), // another settlement
        await otherBit.getAddress(), // another bit
        await p.zkMode.getAddress(), // declares zk; and bound already
      ]) {
        await expect(gov.bindMode(TEST_MODE_BIT, target))
          .to.be.revertedWithCustomError(p.settlement, "ModeContractMismatch")
          .withArgs(target, TEST_MODE_BIT);
      }
      // A contract already bound cannot take a second bit, even one it would declare.
      const sigAddress = await p.signatureMode.getAddress();
      await expect(gov.bindMode(SIG, sigAddress))
        .to.be.revertedWithCustomError(p.settlement, "ModeAlreadyBound")
        .withArgs(SIG);
      await expect(gov.bindMode(TEST_MODE_BIT, await good.getAddress()))
        .to.emit(p.settlement, "ModeBound")
        .withArgs(TEST_MODE_BIT, await good.getAddress());
      expect(await p.settlement.openModes()).to.equal(
        BigInt(SIG | ZK | VerificationMode.Quiet | TEST_MODE_BIT),
      );
      expect(await p.settlement.modeContract(TEST_MODE_BIT)).to.equal(await good.getAddress());
      const again = await ethers.deployContract("TestMode", [settlementAddress, TEST_MODE_BIT]);
      await expect(gov.bindMode(TEST_MODE_BIT, await again.getAddress()))
        .to.be.revertedWithCustomError(p.settlement, "ModeAlreadyBound")
        .withArgs(TEST_MODE_BIT);
    });

    it("retires a mode for good: no new requests, no settlement, pending requests refundable at once", async () => {
      const p = await loadFixture(protocolFixture);
      const pending = await openPrepaid(p);
      const signed = await signResult(p, pending.requestId, pending.request);
      const sigAddress = await p.signatureMode.getAddress();
      await expect(p.settlement.connect(p.governance).retireMode(SIG))
        .to.emit(p.settlement, "ModeRetired")
        .withArgs(SIG, sigAddress);
      expect(await p.settlement.openModes()).to.equal(BigInt(ZK | VerificationMode.Quiet));
      expect(await p.settlement.modeContract(SIG)).to.equal(ZERO_ADDRESS);
      await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p)))
        .to.be.revertedWithCustomError(p.settlement, "ModeNotOpen")
        .withArgs(SIG);
      await expect(fulfilSigned(p, pending, signed))
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(pending.requestId, SIG, sigAddress);
      await expect(p.settlement.refund(pending.request, pending.requestId)).to.emit(
        p.settlement,
        "RequestRefunded",
      );
      // Retired is final: the bit is never re-bound, and cannot be retired twice.
      await expect(p.settlement.connect(p.governance).retireMode(SIG))
        .to.be.revertedWithCustomError(p.settlement, "ModeNotOpen")
        .withArgs(SIG);
      await expect(p.settlement.connect(p.governance).retireMode(TEST_MODE_BIT))
        .to.be.revertedWithCustomError(p.settlement, "ModeNotOpen")
        .withArgs(TEST_MODE_BIT);
      const replacement = await ethers.deployContract("SignatureMode", [
        await p.settlement.getAddress(),
        p.governance.address,
        PENALTY,
        REWARD_BPS,
      ]);
      await expect(p.settlement.connect(p.governance).bindMode(SIG, await replacement.getAddress()))
        .to.be.revertedWithCustomError(p.settlement, "ModeAlreadyBound")
        .withArgs(SIG);
      // Evidence needs a live mode to slash through: a retired mode cannot slash any more.
      await expect(
        reportEquivocation(p, pending, await twoResults(p, pending.requestId, pending.request)),
      ).to.be.revertedWithCustomError(p.settlement, "NotModeContract");
    });

    it("sweeps exactly the OPG above what is owed, and any other token whole", async () => {
      const p = await loadFixture(protocolFixture);
      const settlementAddress = await p.settlement.getAddress();
      const gov = p.settlement.connect(p.governance);
      await expect(gov.sweep(p.token, p.treasury.address))
        .to.be.revertedWithCustomError(p.settlement, "NothingToSweep")
        .withArgs(await p.token.getAddress());
      await p.token.connect(p.other).transfer(settlementAddress, 7n * OPG);
      await expect(gov.sweep(p.token, ZERO_ADDRESS)).to.be.revertedWithCustomError(
        p.settlement,
        "ZeroAddress",
      );
      await expect(gov.sweep(p.token, p.treasury.address))
        .to.emit(p.settlement, "Swept")
        .withArgs(await p.token.getAddress(), p.treasury.address, 7n * OPG);
      expect(await p.token.balanceOf(settlementAddress)).to.equal(await p.settlement.totalOwed());
      const stray = await ethers.deployContract("OPGToken", [p.other.address, 5n]);
      await stray.connect(p.other).transfer(settlementAddress, 5n);
      await expect(gov.sweep(stray, p.treasury.address))
        .to.emit(p.settlement, "Swept")
        .withArgs(await stray.getAddress(), p.treasury.address, 5n);
      await expect(gov.sweep(stray, p.treasury.address))
        .to.be.revertedWithCustomError(p.settlement, "NothingToSweep")
        .withArgs(await stray.getAddress());
    });
  });

  describe("mode hooks (TestMode on bit 4)", () => {
    it("settles requests of its own bit only, with the core's own checks", async () => {
      const { p, mode, anyModeModel } = await loadFixture(testModeFixture);
      const own = await openPrepaid(p, { modelId: anyModeModel, mode: TEST_MODE_BIT });
      const sig = await openPrepaid(p, { modelId: anyModeModel, mode: SIG });
      await expect(mode.settle(sig.request, sig.requestId, result(p), p.payout.address, ZERO_ADDRESS))
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(sig.requestId, SIG, await mode.getAddress());
      await expect(
        mode.settle(own.request, own.requestId, result(p), ZERO_ADDRESS, ZERO_ADDRESS),
      ).to.be.revertedWithCustomError(p.settlement, "ZeroAddress");
      await expect(
        mode.settle({ ...own.request, fee: 0n }, own.requestId, result(p), p.payout.address, ZERO_ADDRESS),
      )
        .to.be.revertedWithCustomError(p.settlement, "RequestMismatch")
        .withArgs(own.requestId);
      await expect(mode.settle(own.request, own.requestId, result(p), p.payout.address, ZERO_ADDRESS))
        .to.emit(p.settlement, "RequestFulfilled")
        .withArgs(own.requestId, p.operator.address, p.payout.address, ZERO_ADDRESS, anyValue, anyValue, "");
      expect(await p.settlement.protocolFeesOf(TEST_MODE_BIT)).to.equal(
        splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS).protocol,
      );
      // Whatever a mode does, the core settles a request once.
      await expect(mode.settle(own.request, own.requestId, result(p), p.payout.address, ZERO_ADDRESS))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(own.requestId, STATUS.Fulfilled);
    });

    it("pulls a payer's balance only within the allowance it gave that mode", async () => {
      const { p, mode, modeAddress } = await loadFixture(testModeFixture);
      await expect(mode.pull(p.requester.address, 1n))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientModeAllowance")
        .withArgs(0n, 1n);
      // An allowance to another mode bit does not count.
      await p.settlement.connect(p.requester).approveMode(SIG, ethers.MaxUint256);
      await expect(mode.pull(p.requester.address, 1n))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientModeAllowance")
        .withArgs(0n, 1n);
      await p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, 30n * OPG);
      await expect(mode.pull(p.requester.address, 30n * OPG + 1n))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientModeAllowance")
        .withArgs(30n * OPG, 30n * OPG + 1n);
      await expect(mode.pull(p.requester.address, 0n)).to.be.revertedWithCustomError(
        p.settlement,
        "InvalidAmount",
      );
      await expect(mode.pull(p.requester.address, 20n * OPG))
        .to.emit(p.settlement, "BalanceTransferred")
        .withArgs(p.requester.address, modeAddress, 20n * OPG);
      expect(await p.settlement.modeAllowance(p.requester.address, TEST_MODE_BIT)).to.equal(10n * OPG);
      expect(await p.settlement.balances(modeAddress)).to.equal(20n * OPG);
      expect(await p.settlement.balances(p.requester.address)).to.equal(980n * OPG);
      // An allowance above the balance: the balance is the limit.
      await p.settlement.connect(p.other).approveMode(TEST_MODE_BIT, ethers.MaxUint256);
      await expect(mode.pull(p.other.address, 1n))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientBalance")
        .withArgs(0n, 1n);
      // An unlimited allowance is never decremented.
      await p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, ethers.MaxUint256);
      await mode.pull(p.requester.address, 5n * OPG);
      expect(await p.settlement.modeAllowance(p.requester.address, TEST_MODE_BIT)).to.equal(
        ethers.MaxUint256,
      );
      // The mode refunds a payer from its own balance like any account.
      await mode.transferBalance(p.requester.address, 25n * OPG);
      expect(await p.settlement.balances(p.requester.address)).to.equal(1_000n * OPG);
      expect(await p.settlement.totalOwed()).to.equal(1_000n * OPG);
    });

    it("pays a fee out of its own balance, split exactly: royalty, protocol and the rest to the payout", async () => {
      const { p, mode, modeAddress } = await loadFixture(testModeFixture);
      await p.settlement.connect(p.requester).transferBalance(modeAddress, 500n * OPG);
      await expect(mode.payFee(0n, p.modelOwner.address, 0, p.payout.address)).to.be.revertedWithCustomError(
        p.settlement,
        "InvalidAmount",
      );
      await expect(mode.payFee(1n, p.modelOwner.address, 8_001, p.payout.address))
        .to.be.revertedWithCustomError(p.settlement, "InvalidBps")
        .withArgs(8_001);
      await expect(mode.payFee(1n, p.modelOwner.address, 0, ZERO_ADDRESS)).to.be.revertedWithCustomError(
        p.settlement,
        "ZeroAddress",
      );
      await expect(mode.payFee(1n, ZERO_ADDRESS, 1, p.payout.address)).to.be.revertedWithCustomError(
        p.settlement,
        "ZeroAddress",
      );
      await expect(mode.payFee(500n * OPG + 1n, ZERO_ADDRESS, 0, p.payout.address))
        .to.be.revertedWithCustomError(p.settlement, "InsufficientBalance")
        .withArgs(500n * OPG, 500n * OPG + 1n);
      // No royalty: the model owner may be zero.
      await mode.payFee(1n, ZERO_ADDRESS, 0, p.payout.address);
      await fc.assert(
        fc.asyncProperty(
          fc.bigInt({ min: 1n, max: 10n * OPG }),
          fc.integer({ min: 0, max: 8_000 }),
          fc.integer({ min: 0, max: 2_000 }),
          async (fee, royaltyBps, protocolBps) => {
            await p.settlement.connect(p.governance).setProtocolFee(protocolBps);
            const before = await Promise.all([
              p.settlement.balances(p.payout.address),
              p.settlement.balances(p.modelOwner.address),
              p.settlement.protocolFeesOf(TEST_MODE_BIT),
              p.settlement.balances(modeAddress),
              p.settlement.totalOwed(),
            ]);
            await expect(mode.payFee(fee, p.modelOwner.address, royaltyBps, p.payout.address))
              .to.emit(p.settlement, "FeePaid")
              .withArgs(
                TEST_MODE_BIT,
                p.payout.address,
                p.modelOwner.address,
                fee,
                (fee * BigInt(royaltyBps)) / 10_000n,
              );
            const after = await Promise.all([
              p.settlement.balances(p.payout.address),
              p.settlement.balances(p.modelOwner.address),
              p.settlement.protocolFeesOf(TEST_MODE_BIT),
              p.settlement.balances(modeAddress),
              p.settlement.totalOwed(),
            ]);
            const split = splitFee(fee, royaltyBps, protocolBps);
            expect(after[0] - before[0]).to.equal(split.operator);
            expect(after[1] - before[1]).to.equal(split.royalty);
            expect(after[2] - before[2]).to.equal(split.protocol);
            expect(before[3] - after[3]).to.equal(fee);
            expect(split.operator + split.royalty + split.protocol).to.equal(fee);
            expect(after[4]).to.equal(before[4]);
          },
        ),
        { numRuns: 15 },
      );
    });

    it("slashes through the core, crediting the beneficiary's share and protocol fees", async () => {
      const { p, mode } = await loadFixture(testModeFixture);
      await expect(mode.slash(p.operator.address, 1n, p.reporter.address, 10_001))
        .to.be.revertedWithCustomError(p.settlement, "InvalidBps")
        .withArgs(10_001);
      await expect(mode.slash(p.operator.address, 1n, ZERO_ADDRESS, 1)).to.be.revertedWithCustomError(
        p.settlement,
        "ZeroAddress",
      );
      await expect(mode.slash(p.other.address, 1n, p.reporter.address, 0))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
      const owed = await p.settlement.totalOwed();
      await expect(mode.slash(p.operator.address, 100n * OPG, ZERO_ADDRESS, 0))
        .to.emit(p.settlement, "OperatorSlashed")
        .withArgs(TEST_MODE_BIT, p.operator.address, ZERO_ADDRESS, 100n * OPG, 0n);
      await mode.slash(p.operator.address, 10_000n * OPG, p.reporter.address, 1_000);
      // Capped at what is left: 900, of which 10% to the beneficiary.
      expect(await p.settlement.balances(p.reporter.address)).to.equal(90n * OPG);
      expect(await p.settlement.protocolFeesOf(TEST_MODE_BIT)).to.equal(910n * OPG);
      expect(await p.settlement.totalOwed()).to.equal(owed + MIN_STAKE);
      expect(await p.token.balanceOf(await p.settlement.getAddress())).to.equal(owed + MIN_STAKE);
      // Nothing left: a zero slash, recorded but harmless.
      expect(await mode.slash.staticCall(p.operator.address, 1n, p.reporter.address, 0)).to.equal(0n);
    });

    it("refuses every hook to accounts that are not live mode contracts", async () => {
      const { p, mode, anyModeModel } = await loadFixture(testModeFixture);
      await p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, ethers.MaxUint256);
      // An EOA calling the core directly.
      const core = p.settlement.connect(p.other);
      await expect(core.pull(p.requester.address, 1n))
        .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
        .withArgs(p.other.address);
      await expect(core.payFee(1n, ZERO_ADDRESS, 0, p.payout.address))
        .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
        .withArgs(p.other.address);
      await expect(core.slash(p.operator.address, 1n, p.reporter.address, 0))
        .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
        .withArgs(p.other.address);
      // A mode contract nobody bound (it declares a free bit and this settlement).
      const unbound = await ethers.deployContract("TestMode", [await p.settlement.getAddress(), 8]);
      const unboundAddress = await unbound.getAddress();
      await expect(unbound.pull(p.requester.address, 1n))
        .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
        .withArgs(unboundAddress);
      await expect(unbound.payFee(1n, ZERO_ADDRESS, 0, p.payout.address))
        .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
        .withArgs(unboundAddress);
      await expect(unbound.slash(p.operator.address, 1n, p.reporter.address, 0))
        .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
        .withArgs(unboundAddress);
      // A retired mode loses every hook at once.
      const pending = await openPrepaid(p, { modelId: anyModeModel, mode: TEST_MODE_BIT });
      await p.settlement.connect(p.governance).retireMode(TEST_MODE_BIT);
      const modeAddress = await mode.getAddress();
      await expect(mode.pull(p.requester.address, 1n))
        .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
        .withArgs(modeAddress);
      await expect(mode.slash(p.operator.address, 1n, p.reporter.address, 0))
        .to.be.revertedWithCustomError(p.settlement, "NotModeContract")
        .withArgs(modeAddress);
      await expect(mode.settle(pending.request, pending.requestId, result(p), p.payout.address, ZERO_ADDRESS))
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(pending.requestId, TEST_MODE_BIT, modeAddress);
      await expect(p.settlement.refund(pending.request, pending.requestId)).to.emit(
        p.settlement,
        "RequestRefunded",
      );
      expect((await p.operators.getOperator(p.operator.address)).stake).to.equal(MIN_STAKE);
    });

    it("keeps token balance equal to totalOwed and totalOwed equal to its parts through every hook", async () => {
      const { p, mode, modeAddress, anyModeModel } = await loadFixture(testModeFixture);
      const accounts = [
        p.requester.address,
        p.payout.address,
        p.modelOwner.address,
        p.reporter.address,
        modeAddress,
      ];
      const pending: Awaited<ReturnType<typeof openPrepaid>>[] = [];
      const check = async () => {
        const owed = await p.settlement.totalOwed();
        expect(await owedFromParts(p, accounts, pending)).to.equal(owed);
        expect(await p.token.balanceOf(await p.settlement.getAddress())).to.equal(owed);
      };
      await check();
      pending.push(await openPrepaid(p, { modelId: anyModeModel, mode: TEST_MODE_BIT }));
      pending.push(await openPrepaid(p, { modelId: anyModeModel, mode: TEST_MODE_BIT }));
      await check();
      const settled = pending.shift()!;
      await mode.settle(settled.request, settled.requestId, result(p), p.payout.address, ZERO_ADDRESS);
      await check();
      await p.settlement.connect(p.requester).approveMode(TEST_MODE_BIT, 50n * OPG);
      await mode.pull(p.requester.address, 50n * OPG);
      await check();
      await mode.payFee(33n * OPG + 7n, p.modelOwner.address, 1_234, p.payout.address);
      await check();
      await mode.slash(p.operator.address, 123n * OPG, p.reporter.address, 3_333);
      await check();
      await p.settlement.collectProtocolFees();
      await check();
      await p.settlement
        .connect(p.payout)
        .withdraw(p.payout.address, await p.settlement.balances(p.payout.address));
      await check();
    });
  });

  describe("fee split property", () => {
    it("credits exactly the fee, split as the TypeScript reference says, for random fees and shares", async () => {
      const p = await loadFixture(protocolFixture);
      const gov = p.settlement.connect(p.governance);
      await fc.assert(
        fc.asyncProperty(
          fc.bigInt({ min: 0n, max: 1_000n * OPG }),
          fc.integer({ min: 0, max: 8_000 }),
          fc.integer({ min: 0, max: 2_000 }),
          async (fee, royaltyBps, protocolBps) => {
            await p.models.connect(p.modelOwner).setTerms(p.modelId, fee, royaltyBps);
            await gov.setProtocolFee(protocolBps);
            const before = await Promise.all([
              p.settlement.balances(p.payout.address),
              p.settlement.balances(p.modelOwner.address),
              p.settlement.protocolFees(),
            ]);
            const params = await requestParams(p, { maxFee: fee });
            const opened = openedFrom(
              p.settlement,
              await (await p.settlement.connect(p.requester).openRequestWithTransfer(params)).wait(),
            );
            await fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request));
            const after = await Promise.all([
              p.settlement.balances(p.payout.address),
              p.settlement.balances(p.modelOwner.address),
              p.settlement.protocolFees(),
            ]);
            const credited = after.map((v, i) => v - before[i]!);
            const split = splitFee(fee, royaltyBps, protocolBps);
            expect(credited).to.deep.equal([split.operator, split.royalty, split.protocol]);
            expect(credited[0]! + credited[1]! + credited[2]!).to.equal(fee);
          },
        ),
        { numRuns: 40 },
      );
    });

    it("never loses dust in the TypeScript reference (pure property over the full uint96 range)", () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 0n, max: 2n ** 96n - 1n }),
          fc.integer({ min: 0, max: 8_000 }),
          fc.integer({ min: 0, max: 2_000 }),
          (fee, r, q) => {
            const split = splitFee(fee, r, q);
            return split.operator >= 0n && split.royalty + split.protocol + split.operator === fee;
          },
        ),
        { numRuns: 2_000 },
      );
    });
  });
});
