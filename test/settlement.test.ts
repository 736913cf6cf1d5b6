import { expect } from "chai";
import fc from "fast-check";
import { Signature, verifyTypedData } from "ethers";
import { hashDomain, keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import { signPermit } from "../src/ethers/index.js";
import {
  fieldToBytes32,
  hashRequest,
  resultDigest,
  SNARK_SCALAR_FIELD,
  resultTypesForEthers,
  settlementDomain,
  splitFee,
  VerificationMode,
  type InferenceRequest,
} from "../src/protocol/index.js";
import {
  ethers,
  MIN_STAKE,
  MODEL_FEE,
  modelSpec,
  networkHelpers,
  OPG,
  openedFrom,
  openPrepaid,
  PROTOCOL_FEE_BPS,
  protocolFixture,
  registerModel,
  requestParams,
  ROYALTY_BPS,
  SIGNER_KEYS,
  signResult,
  ZERO_ADDRESS,
  type Protocol,
} from "./helpers/fixture.js";

const { time } = networkHelpers;
const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);
const STATUS = { None: 0, Pending: 1, Fulfilled: 2, FulfilledCallbackFailed: 3, Refunded: 4 } as const;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The address the contract will recover from `signature` over the result, under this deployment's domain. */
async function recoveredSigner(
  p: Protocol,
  requestId: bigint,
  request: InferenceRequest,
  outputHash: Hex,
  signature: string,
) {
  const domain = settlementDomain(p.chainId, (await p.settlement.getAddress()) as Address);
  return verifyTypedData(
    domain,
    resultTypesForEthers(),
    {
      requestId,
      modelId: request.modelId,
      inputHash: request.inputHash,
      outputHash,
      operator: p.operator.address,
    },
    signature,
  );
}

describe("InferenceSettlement", () => {
  describe("deployment", () => {
    it("wires token, registries, treasury and fee, and starts ids at 1", async () => {
      const p = await loadFixture(protocolFixture);
      expect(await p.settlement.token()).to.equal(await p.token.getAddress());
      expect(await p.settlement.models()).to.equal(await p.models.getAddress());
      expect(await p.settlement.operators()).to.equal(await p.operators.getAddress());
      expect(await p.settlement.treasury()).to.equal(p.treasury.address);
      expect(await p.settlement.protocolFeeBps()).to.equal(PROTOCOL_FEE_BPS);
      expect(await p.settlement.nextRequestId()).to.equal(1n);
      expect(await p.settlement.owner()).to.equal(p.governance.address);
    });

    it("rejects a zero treasury and a protocol fee above 20%", async () => {
      const p = await loadFixture(protocolFixture);
      const args = [
        await p.token.getAddress(),
        await p.models.getAddress(),
        await p.operators.getAddress(),
        p.governance.address,
      ];
      const factory = await ethers.getContractFactory("InferenceSettlement");
      await expect(
        factory.deploy(...(args as [string, string, string, string]), ZERO_ADDRESS, 0),
      ).to.be.revertedWithCustomError(p.settlement, "ZeroAddress");
      await expect(factory.deploy(...(args as [string, string, string, string]), p.treasury.address, 2_001))
        .to.be.revertedWithCustomError(p.settlement, "ProtocolFeeTooHigh")
        .withArgs(2_001, 2_000);
    });

    it("exposes the EIP-712 domain the TypeScript definition uses", async () => {
      const p = await loadFixture(protocolFixture);
      const domain = settlementDomain(p.chainId, (await p.settlement.getAddress()) as Address);
      expect(await p.settlement.domainSeparator()).to.equal(
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
      const message = {
        requestId: 7n,
        modelId: keccak256(toHex("m")),
        inputHash: keccak256(toHex("i")),
        outputHash: keccak256(toHex("o")),
        operator: p.operator.address as Address,
      };
      expect(
        await p.settlement.resultDigest(
          message.requestId,
          message.modelId,
          message.inputHash,
          message.outputHash,
          message.operator,
        ),
      ).to.equal(resultDigest(domain, message));
    });
  });

  describe("ledger", () => {
    it("deposits for self and for another account", async () => {
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
        mode: VerificationMode.Signature,
        deadline: params.deadline,
        modelId: p.modelId,
        inputHash: params.inputHash,
        operator: ZERO_ADDRESS,
        callback: ZERO_ADDRESS,
        callbackGasLimit: 0,
      });
      expect(await p.settlement.hashRequest(request)).to.equal(hashRequest(request));
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Pending);
      expect(await p.settlement.balances(p.requester.address)).to.equal(1_000n * OPG - MODEL_FEE);
      expect(await p.settlement.nextRequestId()).to.equal(2n);
    });

    it("pays by transferFrom", async () => {
      const p = await loadFixture(protocolFixture);
      const held = await p.token.balanceOf(await p.settlement.getAddress());
      await p.settlement.connect(p.requester).openRequestWithTransfer(await requestParams(p));
      expect(await p.token.balanceOf(await p.settlement.getAddress())).to.equal(held + MODEL_FEE);
      expect(await p.settlement.balances(p.requester.address)).to.equal(1_000n * OPG);
    });

    it("fails transferFrom without allowance and leaves nothing behind", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.connect(p.other).openRequestWithTransfer(await requestParams(p)))
        .to.be.revertedWithCustomError(p.token, "ERC20InsufficientAllowance")
        .withArgs(await p.settlement.getAddress(), 0, MODEL_FEE);
      expect(await p.settlement.requestStatus(1)).to.equal(STATUS.None);
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
      for (const deadline of [now - 1n, now + 1n /* = the next block's timestamp */, now + 2n + ttl]) {
        await expect(
          p.settlement.connect(p.requester).openRequest(await requestParams(p, { deadline })),
        ).to.be.revertedWithCustomError(p.settlement, "InvalidDeadline");
      }
      await time.setNextBlockTimestamp(now + 10n);
      await expect(
        p.settlement.connect(p.requester).openRequest(await requestParams(p, { deadline: now + 10n + ttl })),
      ).to.emit(p.settlement, "RequestOpened");
    });

    it("rejects a mode that is not exactly one known mode", async () => {
      const p = await loadFixture(protocolFixture);
      for (const mode of [0, 3, 4, 128]) {
        await expect(p.settlement.connect(p.requester).openRequest(await requestParams(p, { mode })))
          .to.be.revertedWithCustomError(p.settlement, "InvalidMode")
          .withArgs(mode);
      }
    });

    it("rejects a mode the model does not allow", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(
        p.settlement.connect(p.requester).openRequest(await requestParams(p, { mode: VerificationMode.Zk })),
      )
        .to.be.revertedWithCustomError(p.models, "ModeNotAllowed")
        .withArgs(p.modelId, VerificationMode.Zk, VerificationMode.Signature);
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
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request, { outputUri: "ipfs://out" });
      await expect(p.settlement.connect(p.other).fulfillSigned(request, requestId, result, signature))
        .to.emit(p.settlement, "RequestFulfilled")
        .withArgs(
          requestId,
          p.operator.address,
          p.payout.address,
          p.signer.address,
          result.outputHash,
          result.output,
          "ipfs://out",
        );
      const split = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS);
      expect(split).to.deep.equal({ royalty: OPG, protocol: OPG / 2n, operator: (85n * OPG) / 10n });
      expect(await p.settlement.balances(p.payout.address)).to.equal(split.operator);
      expect(await p.settlement.balances(p.modelOwner.address)).to.equal(split.royalty);
      expect(await p.settlement.protocolFees()).to.equal(split.protocol);
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Fulfilled);
    });

    it("accepts an output given only by hash and URI", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const outputHash = keccak256(toHex("large output stored elsewhere"));
      const { result, signature } = await signResult(p, requestId, request, {
        output: "0x",
        outputHash,
        outputUri: "ipfs://big",
      });
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.emit(p.settlement, "RequestFulfilled")
        .withArgs(
          requestId,
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
      const { requestId, request } = await openPrepaid(p, { modelId: free });
      const { result, signature } = await signResult(p, requestId, request);
      await p.settlement.fulfillSigned(request, requestId, result, signature);
      expect(await p.settlement.balances(p.payout.address)).to.equal(0n);
      expect(await p.settlement.protocolFees()).to.equal(0n);
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Fulfilled);
    });

    it("keeps the terms a request was opened with when fee, royalty or protocol fee change", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await p.models.connect(p.modelOwner).setTerms(p.modelId, 1n, 8_000);
      await p.settlement.connect(p.governance).setProtocolFee(2_000);
      const { result, signature } = await signResult(p, requestId, request);
      await p.settlement.fulfillSigned(request, requestId, result, signature);
      const split = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS);
      expect(await p.settlement.balances(p.modelOwner.address)).to.equal(split.royalty);
      expect(await p.settlement.protocolFees()).to.equal(split.protocol);
    });

    it("refuses a second fulfilment", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request);
      await p.settlement.fulfillSigned(request, requestId, result, signature);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(requestId, STATUS.Fulfilled);
    });

    it("refuses an unknown request and request data that differ from the commitment", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, 99n, result, signature))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(99n, STATUS.None);
      for (const tampered of [
        { ...request, fee: request.fee - 1n },
        { ...request, royaltyBps: 0 },
        { ...request, modelOwner: p.other.address as Address },
        { ...request, deadline: request.deadline + 1n },
        { ...request, callback: p.other.address as Address },
      ]) {
        await expect(p.settlement.fulfillSigned(tampered, requestId, result, signature))
          .to.be.revertedWithCustomError(p.settlement, "RequestMismatch")
          .withArgs(requestId);
      }
    });

    it("refuses fulfilment after the deadline", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request);
      await time.increaseTo(request.deadline + 1n);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.be.revertedWithCustomError(p.settlement, "RequestExpired")
        .withArgs(requestId, request.deadline);
    });

    it("accepts fulfilment in the deadline's own second", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request);
      await time.setNextBlockTimestamp(request.deadline);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature)).to.emit(
        p.settlement,
        "RequestFulfilled",
      );
    });

    it("refuses a signature on a request that requires a zk proof", async () => {
      const p = await loadFixture(protocolFixture);
      const zkModel = await registerModel(
        p.models,
        p.modelOwner,
        modelSpec({
          name: "zk-capable",
          modes: VerificationMode.Signature | VerificationMode.Zk,
          zkCommitment: fieldToBytes32(BigInt(keccak256(toHex("weights"))) % SNARK_SCALAR_FIELD),
          zkVerifier: (await p.token.getAddress()) as Address,
        }),
      );
      const { requestId, request } = await openPrepaid(p, {
        modelId: zkModel,
        mode: VerificationMode.Zk,
        inputHash: fieldToBytes32(42n),
      });
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.be.revertedWithCustomError(p.settlement, "WrongMode")
        .withArgs(requestId, VerificationMode.Zk);
    });

    it("reserves a request for its assigned operator", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p, { operator: p.other.address as Address });
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.be.revertedWithCustomError(p.settlement, "OperatorNotAssigned")
        .withArgs(requestId, p.other.address);
      const assigned = await openPrepaid(p, { operator: p.operator.address as Address });
      const ok = await signResult(p, assigned.requestId, assigned.request);
      await expect(
        p.settlement.fulfillSigned(assigned.request, assigned.requestId, ok.result, ok.signature),
      ).to.emit(p.settlement, "RequestFulfilled");
    });

    it("refuses inline output that does not hash to the signed output hash", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request);
      const output = toHex("forged output");
      await expect(p.settlement.fulfillSigned(request, requestId, { ...result, output }, signature))
        .to.be.revertedWithCustomError(p.settlement, "OutputHashMismatch")
        .withArgs(result.outputHash, keccak256(output));
    });

    it("refuses a forged result: the signature no longer recovers the operator's key", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request);
      const forgedOutput = toHex(new Uint8Array([9, 9, 9, 9]));
      const forged = { ...result, output: forgedOutput, outputHash: keccak256(forgedOutput) };
      await expect(p.settlement.fulfillSigned(request, requestId, forged, signature))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(
          p.operator.address,
          await recoveredSigner(p, requestId, request, forged.outputHash, signature),
        );
    });

    it("refuses malformed and malleable (high-s) signatures", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request);
      const sig = Signature.from(signature);
      const highS = toHex(SECP256K1_N - BigInt(sig.s), { size: 32 });
      const flippedV = sig.v === 27 ? 28 : 27;
      const malleable = (sig.r + highS.slice(2) + flippedV.toString(16)) as Hex;
      // The malleable twin is a valid ECDSA signature of the same digest: only the low-s rule rejects it.
      const digest = (await p.settlement.resultDigest(
        requestId,
        request.modelId,
        request.inputHash,
        result.outputHash,
        result.operator,
      )) as Hex;
      expect(await recoverAddress({ hash: digest, signature: malleable })).to.equal(p.signer.address);
      for (const bad of [
        malleable,
        signature.slice(0, 130) as Hex,
        `${signature}00` as Hex,
        `0x${"00".repeat(65)}`,
      ]) {
        await expect(
          p.settlement.fulfillSigned(request, requestId, result, bad),
        ).to.be.revertedWithCustomError(p.settlement, "InvalidSignature");
      }
    });

    it("refuses replay of a signature on another request", async () => {
      const p = await loadFixture(protocolFixture);
      const first = await openPrepaid(p);
      const second = await openPrepaid(p);
      expect(second.request.inputHash).to.equal(first.request.inputHash);
      const { result, signature } = await signResult(p, first.requestId, first.request);
      await expect(p.settlement.fulfillSigned(second.request, second.requestId, result, signature))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(
          p.operator.address,
          await recoveredSigner(p, second.requestId, second.request, result.outputHash, signature),
        );
    });

    it("refuses a signature made for another chain id", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request, { chainId: p.chainId + 1n });
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(
          p.operator.address,
          await recoveredSigner(p, requestId, request, result.outputHash, signature),
        );
    });

    it("refuses a signature made for another settlement deployment", async () => {
      const p = await loadFixture(protocolFixture);
      const other = await ethers.deployContract("InferenceSettlement", [
        await p.token.getAddress(),
        await p.models.getAddress(),
        await p.operators.getAddress(),
        p.governance.address,
        p.treasury.address,
        PROTOCOL_FEE_BPS,
      ]);
      await p.token.connect(p.requester).approve(await other.getAddress(), MODEL_FEE);
      const opened = openedFrom(
        other,
        await (await other.connect(p.requester).openRequestWithTransfer(await requestParams(p))).wait(),
      );
      expect(opened.requestId).to.equal(1n);
      // The same request id and content on the first deployment: sign there, submit here.
      const { result, signature } = await signResult(p, opened.requestId, opened.request);
      await expect(
        other.fulfillSigned(opened.request, opened.requestId, result, signature),
      ).to.be.revertedWithCustomError(p.operators, "SignerMismatch");
      const own = await signResult(p, opened.requestId, opened.request, {
        verifyingContract: (await other.getAddress()) as Address,
      });
      await expect(other.fulfillSigned(opened.request, opened.requestId, own.result, own.signature)).to.emit(
        other,
        "RequestFulfilled",
      );
    });

    it("refuses unregistered keys and unregistered operators", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const stranger = new ethers.Wallet(SIGNER_KEYS[1]);
      const byStranger = await signResult(p, requestId, request, { signer: stranger });
      await expect(p.settlement.fulfillSigned(request, requestId, byStranger.result, byStranger.signature))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(p.operator.address, stranger.address);
      const asStranger = await signResult(p, requestId, request, {
        signer: stranger,
        operator: p.other.address as Address,
      });
      await expect(p.settlement.fulfillSigned(request, requestId, asStranger.result, asStranger.signature))
        .to.be.revertedWithCustomError(p.operators, "UnknownOperator")
        .withArgs(p.other.address);
    });

    it("refuses a rotated-out key and accepts the new one", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      const next = new ethers.Wallet(SIGNER_KEYS[1]);
      await p.operators.connect(p.operator).rotateSigner(next.address);
      const old = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, old.result, old.signature))
        .to.be.revertedWithCustomError(p.operators, "SignerMismatch")
        .withArgs(p.operator.address, p.signer.address);
      const fresh = await signResult(p, requestId, request, { signer: next });
      await expect(p.settlement.fulfillSigned(request, requestId, fresh.result, fresh.signature)).to.emit(
        p.settlement,
        "RequestFulfilled",
      );
    });

    it("refuses an under-staked operator (minimum raised by governance)", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await p.operators.connect(p.governance).setMinStake(MIN_STAKE + 1n);
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.be.revertedWithCustomError(p.operators, "StakeBelowMinimum")
        .withArgs(p.operator.address, MIN_STAKE, MIN_STAKE + 1n);
    });

    it("refuses an unbonding operator", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await p.operators.connect(p.operator).unbond(MIN_STAKE);
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.be.revertedWithCustomError(p.operators, "StakeBelowMinimum")
        .withArgs(p.operator.address, 0, MIN_STAKE);
    });

    it("still fulfils pending requests of a deprecated model, but not of a revoked one", async () => {
      const p = await loadFixture(protocolFixture);
      const a = await openPrepaid(p);
      const b = await openPrepaid(p);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 2);
      const sa = await signResult(p, a.requestId, a.request);
      await expect(p.settlement.fulfillSigned(a.request, a.requestId, sa.result, sa.signature)).to.emit(
        p.settlement,
        "RequestFulfilled",
      );
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 3);
      const sb = await signResult(p, b.requestId, b.request);
      await expect(p.settlement.fulfillSigned(b.request, b.requestId, sb.result, sb.signature))
        .to.be.revertedWithCustomError(p.settlement, "ModelRevoked")
        .withArgs(p.modelId);
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
    });

    it("refunds at once when the model is revoked", async () => {
      const p = await loadFixture(protocolFixture);
      const { requestId, request } = await openPrepaid(p);
      await p.models.connect(p.modelOwner).setStatus(p.modelId, 3);
      await expect(p.settlement.refund(request, requestId)).to.emit(p.settlement, "RequestRefunded");
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
      const sa = await signResult(p, a.requestId, a.request);
      await p.settlement.fulfillSigned(a.request, a.requestId, sa.result, sa.signature);
      await time.increaseTo(b.request.deadline + 1n);
      await expect(p.settlement.refund(a.request, a.requestId))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(a.requestId, STATUS.Fulfilled);
      await p.settlement.refund(b.request, b.requestId);
      await expect(p.settlement.refund(b.request, b.requestId))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(b.requestId, STATUS.Refunded);
      const sb = await signResult(p, b.requestId, b.request);
      await expect(p.settlement.fulfillSigned(b.request, b.requestId, sb.result, sb.signature))
        .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
        .withArgs(b.requestId, STATUS.Refunded);
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
      const { requestId, request } = await openFor(p, consumerAddress);
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature)).to.emit(
        consumer,
        "ResultReceived",
      );
      expect(await consumer.lastRequestId()).to.equal(requestId);
      expect(await consumer.lastOutputHash()).to.equal(result.outputHash);
      expect(await consumer.lastOutput()).to.equal(result.output);
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Fulfilled);
    });

    it("records a reverting consumer without blocking settlement", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      await consumer.setBehaviour(1);
      const { requestId, request } = await openFor(p, consumerAddress);
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature))
        .to.emit(p.settlement, "CallbackFailed")
        .withArgs(requestId);
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.FulfilledCallbackFailed);
      expect(await p.settlement.balances(p.payout.address)).to.equal(
        splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS).operator,
      );
    });

    it("bounds a gas-burning consumer to its limit", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      const plain = await openPrepaid(p);
      const signedPlain = await signResult(p, plain.requestId, plain.request);
      const baseline = (await (
        await p.settlement.fulfillSigned(
          plain.request,
          plain.requestId,
          signedPlain.result,
          signedPlain.signature,
        )
      ).wait())!.gasUsed;
      await consumer.setBehaviour(2);
      const { requestId, request } = await openFor(p, consumerAddress);
      const { result, signature } = await signResult(p, requestId, request);
      const tx = p.settlement.fulfillSigned(request, requestId, result, signature);
      await expect(tx).to.emit(p.settlement, "CallbackFailed");
      const used = (await (await tx).wait())!.gasUsed;
      expect(used).to.be.greaterThan(BigInt(LIMIT));
      expect(used).to.be.lessThan(baseline + BigInt(LIMIT) + 25_000n);
    });

    it("does not pay for a consumer's huge return data", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      await consumer.setBehaviour(3);
      const { requestId, request } = await openFor(p, consumerAddress, 300_000);
      const { result, signature } = await signResult(p, requestId, request);
      const receipt = await (await p.settlement.fulfillSigned(request, requestId, result, signature)).wait();
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Fulfilled);
      // Copying 200 kB of return data would cost the caller ~100k gas more than the callee's own memory.
      expect(receipt!.gasUsed).to.be.lessThan(250_000n);
    });

    it("gives the callback its full limit or reverts the whole fulfilment", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      await consumer.setBehaviour(2);
      const { requestId, request } = await openFor(p, consumerAddress, 1_000_000);
      const { result, signature } = await signResult(p, requestId, request);
      // Enough for everything except the callback's full million: the operator cannot starve it.
      await expect(
        p.settlement.fulfillSigned(request, requestId, result, signature, { gasLimit: 600_000 }),
      ).to.be.revertedWithCustomError(p.settlement, "InsufficientGasForCallback");
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Pending);
    });

    it("records a callback target without code as failed", async () => {
      const { p } = await loadFixture(withConsumer);
      const { requestId, request } = await openFor(p, p.other.address as Address);
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature)).to.emit(
        p.settlement,
        "CallbackFailed",
      );
    });

    it("stops a consumer re-entering to fulfil or refund the same request; settlement happens once", async () => {
      const { p, consumer, consumerAddress } = await loadFixture(withConsumer);
      const { requestId, request } = await openFor(p, consumerAddress);
      const { result, signature } = await signResult(p, requestId, request);
      await consumer.setBehaviour(4);
      for (const data of [
        p.settlement.interface.encodeFunctionData("fulfillSigned", [request, requestId, result, signature]),
        p.settlement.interface.encodeFunctionData("refund", [request, requestId]),
      ]) {
        const snapshot = await networkHelpers.takeSnapshot();
        await consumer.setReentry(await p.settlement.getAddress(), data);
        const tx = p.settlement.fulfillSigned(request, requestId, result, signature);
        await expect(tx).to.emit(p.settlement, "CallbackFailed").withArgs(requestId);
        await expect(tx).not.to.emit(consumer, "ReentrySucceeded");
        expect(await p.settlement.balances(p.payout.address)).to.equal(
          splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS).operator,
        );
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
      const { requestId, request } = await openFor(p, consumerAddress, 400_000);
      const { result, signature } = await signResult(p, requestId, request);
      await expect(p.settlement.fulfillSigned(request, requestId, result, signature)).to.emit(
        consumer,
        "ReentrySucceeded",
      );
      expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS.Fulfilled);
      expect(await p.settlement.requestStatus(requestId + 1n)).to.equal(STATUS.Pending);
      expect(await p.settlement.balances(consumerAddress)).to.equal(100n * OPG - MODEL_FEE);
    });
  });

  describe("equivocation", () => {
    const PENALTY = 600n * OPG;
    async function withSlashing() {
      const p = await protocolFixture();
      await p.settlement.connect(p.governance).setSlashParams(PENALTY, 2_500);
      return p;
    }

    async function twoResults(p: Protocol, signer = p.signer) {
      const { requestId, request } = await openPrepaid(p);
      const claimA = {
        modelId: request.modelId,
        inputHash: request.inputHash,
        outputHash: keccak256(toHex("class 0")),
      };
      const claimB = { ...claimA, outputHash: keccak256(toHex("class 2")) };
      const a = await signResult(p, requestId, request, {
        outputHash: claimA.outputHash,
        output: "0x",
        signer,
      });
      const b = await signResult(p, requestId, request, {
        outputHash: claimB.outputHash,
        output: "0x",
        signer,
      });
      return { requestId, claimA, claimB, sigA: a.signature, sigB: b.signature };
    }

    it("slashes an operator that signed two different results for one request", async () => {
      const p = await loadFixture(withSlashing);
      const { requestId, claimA, claimB, sigA, sigB } = await twoResults(p);
      const registryHeld = await p.token.balanceOf(await p.operators.getAddress());
      await expect(
        p.settlement
          .connect(p.reporter)
          .reportEquivocation(requestId, p.operator.address, claimA, sigA, claimB, sigB),
      )
        .to.emit(p.settlement, "EquivocationSlashed")
        .withArgs(p.operator.address, requestId, p.reporter.address, PENALTY, PENALTY / 4n)
        .and.to.emit(p.operators, "Slashed")
        .withArgs(p.operator.address, PENALTY, await p.settlement.getAddress());
      expect((await p.operators.getOperator(p.operator.address)).stake).to.equal(MIN_STAKE - PENALTY);
      expect(await p.operators.isEligible(p.operator.address)).to.equal(false);
      expect(await p.settlement.balances(p.reporter.address)).to.equal(PENALTY / 4n);
      expect(await p.settlement.protocolFees()).to.equal(PENALTY - PENALTY / 4n);
      expect(await p.token.balanceOf(await p.operators.getAddress())).to.equal(registryHeld - PENALTY);
    });

    it("uses the same evidence only once", async () => {
      const p = await loadFixture(withSlashing);
      const { requestId, claimA, claimB, sigA, sigB } = await twoResults(p);
      await p.settlement.reportEquivocation(requestId, p.operator.address, claimA, sigA, claimB, sigB);
      await expect(p.settlement.reportEquivocation(requestId, p.operator.address, claimB, sigB, claimA, sigA))
        .to.be.revertedWithCustomError(p.settlement, "EvidenceAlreadyUsed")
        .withArgs(requestId, p.operator.address);
    });

    it("refuses two copies of the same result", async () => {
      const p = await loadFixture(withSlashing);
      const { requestId, claimA, sigA } = await twoResults(p);
      await expect(
        p.settlement.reportEquivocation(requestId, p.operator.address, claimA, sigA, claimA, sigA),
      ).to.be.revertedWithCustomError(p.settlement, "NotEquivocation");
    });

    it("refuses evidence signed by a key that is not the accused operator's", async () => {
      const p = await loadFixture(withSlashing);
      const stranger = new ethers.Wallet(SIGNER_KEYS[2]);
      const { requestId, claimA, claimB, sigA } = await twoResults(p);
      const forged = await twoResults(p, stranger);
      await expect(
        p.settlement.reportEquivocation(requestId, p.operator.address, claimA, sigA, claimB, forged.sigB),
      ).to.be.revertedWithCustomError(p.settlement, "InvalidEvidence");
      await expect(
        p.settlement.reportEquivocation(requestId, p.operator.address, claimA, sigA, claimB, "0x1234"),
      ).to.be.revertedWithCustomError(p.settlement, "InvalidSignature");
    });

    it("still slashes after the operator rotated the key away, and reaches unbonding stake", async () => {
      const p = await loadFixture(withSlashing);
      const { requestId, claimA, claimB, sigA, sigB } = await twoResults(p);
      await p.operators.connect(p.operator).rotateSigner(new ethers.Wallet(SIGNER_KEYS[1]).address);
      await p.operators.connect(p.operator).unbond(MIN_STAKE);
      await p.settlement.reportEquivocation(requestId, p.operator.address, claimA, sigA, claimB, sigB);
      const record = await p.operators.getOperator(p.operator.address);
      expect(record.stake).to.equal(0n);
      expect(record.unbonding).to.equal(MIN_STAKE - PENALTY);
    });
  });

  describe("governance and protocol fees", () => {
    it("collects protocol fees to the treasury; anyone may trigger it", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.collectProtocolFees()).to.be.revertedWithCustomError(
        p.settlement,
        "NothingToCollect",
      );
      const { requestId, request } = await openPrepaid(p);
      const { result, signature } = await signResult(p, requestId, request);
      await p.settlement.fulfillSigned(request, requestId, result, signature);
      const fees = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS).protocol;
      await expect(p.settlement.connect(p.other).collectProtocolFees())
        .to.emit(p.settlement, "ProtocolFeesCollected")
        .withArgs(p.treasury.address, fees);
      expect(await p.token.balanceOf(p.treasury.address)).to.equal(fees);
      expect(await p.settlement.protocolFees()).to.equal(0n);
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
      await expect(gov.setSlashParams(5n, 10_000))
        .to.emit(p.settlement, "SlashParamsSet")
        .withArgs(5n, 10_000);
      await expect(gov.setSlashParams(5n, 10_001))
        .to.be.revertedWithCustomError(p.settlement, "RewardTooHigh")
        .withArgs(10_001);
      for (const call of [
        p.settlement.connect(p.other).setProtocolFee(1),
        p.settlement.connect(p.other).setTreasury(p.other.address),
        p.settlement.connect(p.other).setSlashParams(1n, 1),
      ]) {
        await expect(call)
          .to.be.revertedWithCustomError(p.settlement, "OwnableUnauthorizedAccount")
          .withArgs(p.other.address);
      }
    });

    it("refuses to renounce governance", async () => {
      const p = await loadFixture(protocolFixture);
      await expect(p.settlement.connect(p.governance).renounceOwnership()).to.be.revertedWithCustomError(
        p.settlement,
        "RenounceDisabled",
      );
      expect(await p.settlement.owner()).to.equal(p.governance.address);
    });

    it("hands governance over in two steps", async () => {
      const p = await loadFixture(protocolFixture);
      await p.settlement.connect(p.governance).transferOwnership(p.other.address);
      expect(await p.settlement.owner()).to.equal(p.governance.address);
      await p.settlement.connect(p.other).acceptOwnership();
      expect(await p.settlement.owner()).to.equal(p.other.address);
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
            const { requestId, request } = openedFrom(
              p.settlement,
              await (await p.settlement.connect(p.requester).openRequestWithTransfer(params)).wait(),
            );
            const { result, signature } = await signResult(p, requestId, request);
            await p.settlement.fulfillSigned(request, requestId, result, signature);
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

  it("a deployment with no governance-set penalty slashes nothing but still burns the evidence", async () => {
    const p = await loadFixture(protocolFixture);
    const { requestId, request } = await openPrepaid(p);
    const claimA = {
      modelId: request.modelId,
      inputHash: request.inputHash,
      outputHash: keccak256(toHex("a")),
    };
    const claimB = { ...claimA, outputHash: keccak256(toHex("b")) };
    const a = await signResult(p, requestId, request, { outputHash: claimA.outputHash, output: "0x" });
    const b = await signResult(p, requestId, request, { outputHash: claimB.outputHash, output: "0x" });
    await expect(
      p.settlement.reportEquivocation(
        requestId,
        p.operator.address,
        claimA,
        a.signature,
        claimB,
        b.signature,
      ),
    )
      .to.emit(p.settlement, "EquivocationSlashed")
      .withArgs(p.operator.address, requestId, p.governance.address, 0, 0);
    expect((await p.operators.getOperator(p.operator.address)).stake).to.equal(MIN_STAKE);
  });
});
