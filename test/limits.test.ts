/**
 * `src/protocol/limits.ts` mirrors `contracts/libraries/ProtocolLimits.sol`. Each value is checked against the
 * deployed contracts: through their public getter where there is one, and always by behaviour at the boundary (the
 * limit works, one past it reverts with the named error), so neither side can drift.
 */
import { expect } from "chai";
import type { Address, Hex } from "viem";
import { fieldToBytes32, ProtocolLimits, splitFee, VerificationMode } from "../src/protocol/index.js";
import {
  bindTestMode,
  codeHashOf,
  deployProtocol,
  ethers,
  fulfilSigned,
  MODEL_FEE,
  modelSpec,
  networkHelpers,
  OPG,
  openPrepaid,
  protocolFixture,
  registerModel,
  reportEquivocation,
  requestParams,
  setNextRequestId,
  signResult,
  twoResults,
} from "./helpers/fixture.js";

const { time } = networkHelpers;
const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);
const L = ProtocolLimits;
const { Signature: SIG, Zk: ZK } = VerificationMode;

/** Every limit this file checks; the first test fails when `ProtocolLimits` gains one without a check here. */
const CHECKED = new Set<keyof typeof ProtocolLimits>();
function checks(name: keyof typeof ProtocolLimits) {
  CHECKED.add(name);
  return name;
}

/** The fixture plus a bound TestMode and a zk model whose (pure) verifier accepts anything. */
async function limitsFixture() {
  const p = await protocolFixture();
  const mode = await bindTestMode(p);
  const acceptAll = await ethers.deployContract("AcceptAllVerifier");
  const verifier = (await acceptAll.getAddress()) as Address;
  const zkModelId = await registerModel(
    p.models,
    p.modelOwner,
    modelSpec({
      name: "zk-accept-all",
      modes: SIG | ZK,
      zkCommitment: fieldToBytes32(1n),
      zkVerifier: verifier,
      zkVerifierCodeHash: await codeHashOf(verifier),
    }),
  );
  return { p, mode, zkModelId };
}

describe("Protocol limits (src/protocol/limits.ts) against the deployed contracts", () => {
  const names = Object.keys(ProtocolLimits) as (keyof typeof ProtocolLimits)[];

  it(`${checks("MAX_REQUEST_TTL")}: the core's getter, and a deadline exactly that far is the furthest`, async () => {
    const { p } = await loadFixture(limitsFixture);
    expect(await p.settlement.MAX_REQUEST_TTL()).to.equal(L.MAX_REQUEST_TTL);
    const now = BigInt(await time.latest());
    await time.setNextBlockTimestamp(now + 10n);
    const latest = now + 10n + L.MAX_REQUEST_TTL;
    await expect(
      p.settlement.connect(p.requester).openRequest(await requestParams(p, { deadline: latest + 1n })),
    )
      .to.be.revertedWithCustomError(p.settlement, "InvalidDeadline")
      .withArgs(latest + 1n, latest);
    await time.setNextBlockTimestamp(now + 10n);
    await expect(
      p.settlement.connect(p.requester).openRequest(await requestParams(p, { deadline: latest })),
    ).to.emit(p.settlement, "RequestOpened");
  });

  it(`${checks("MAX_CALLBACK_GAS")}: the core's getter, and the highest callback gas limit accepted`, async () => {
    const { p } = await loadFixture(limitsFixture);
    expect(await p.settlement.MAX_CALLBACK_GAS()).to.equal(BigInt(L.MAX_CALLBACK_GAS));
    const callback = p.other.address as Address;
    await expect(
      p.settlement
        .connect(p.requester)
        .openRequest(await requestParams(p, { callback, callbackGasLimit: L.MAX_CALLBACK_GAS + 1 })),
    )
      .to.be.revertedWithCustomError(p.settlement, "InvalidCallback")
      .withArgs(callback, L.MAX_CALLBACK_GAS + 1, L.MAX_CALLBACK_GAS);
    await expect(
      p.settlement
        .connect(p.requester)
        .openRequest(await requestParams(p, { callback, callbackGasLimit: L.MAX_CALLBACK_GAS })),
    ).to.emit(p.settlement, "RequestOpened");
  });

  it(`${checks("MAX_NAME_LENGTH")}: the registry's getter, and the longest family name (in bytes)`, async () => {
    const p = await loadFixture(deployProtocol);
    expect(await p.models.MAX_NAME_LENGTH()).to.equal(BigInt(L.MAX_NAME_LENGTH));
    await expect(
      p.models.connect(p.modelOwner).registerModel(modelSpec({ name: "a".repeat(L.MAX_NAME_LENGTH + 1) })),
    ).to.be.revertedWithCustomError(p.models, "InvalidName");
    await registerModel(p.models, p.modelOwner, modelSpec({ name: "a".repeat(L.MAX_NAME_LENGTH) }));
  });

  it(`${checks("MAX_ALLOWLIST_BATCH")}: the registry's getter, and the largest allowlist update`, async () => {
    const p = await loadFixture(deployProtocol);
    expect(await p.models.MAX_ALLOWLIST_BATCH()).to.equal(BigInt(L.MAX_ALLOWLIST_BATCH));
    await registerModel(p.models, p.modelOwner, modelSpec());
    const familyId = await p.models.computeFamilyId(p.modelOwner.address, "iris-mlp");
    const accounts = Array.from(
      { length: L.MAX_ALLOWLIST_BATCH + 1 },
      (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}`,
    );
    await expect(p.models.connect(p.modelOwner).setAllowed(familyId, accounts, true))
      .to.be.revertedWithCustomError(p.models, "BatchTooLarge")
      .withArgs(L.MAX_ALLOWLIST_BATCH + 1, L.MAX_ALLOWLIST_BATCH);
    await p.models.connect(p.modelOwner).setAllowed(familyId, accounts.slice(0, L.MAX_ALLOWLIST_BATCH), true);
  });

  it(`${checks("MAX_UNBONDING_DELAY")}: the operator registry's getter, and the longest delay governance can set`, async () => {
    const p = await loadFixture(deployProtocol);
    expect(await p.operators.MAX_UNBONDING_DELAY()).to.equal(L.MAX_UNBONDING_DELAY);
    await expect(p.operators.connect(p.governance).setUnbondingDelay(L.MAX_UNBONDING_DELAY + 1n))
      .to.be.revertedWithCustomError(p.operators, "UnbondingDelayTooLong")
      .withArgs(L.MAX_UNBONDING_DELAY + 1n, L.MAX_UNBONDING_DELAY);
    await expect(p.operators.connect(p.governance).setUnbondingDelay(L.MAX_UNBONDING_DELAY))
      .to.emit(p.operators, "UnbondingDelaySet")
      .withArgs(L.MAX_UNBONDING_DELAY);
  });

  it(`${checks("MAX_PROTOCOL_FEE_BPS")}: setProtocolFee(MAX) works, MAX + 1 is ProtocolFeeTooHigh`, async () => {
    const { p } = await loadFixture(limitsFixture);
    await expect(p.settlement.connect(p.governance).setProtocolFee(L.MAX_PROTOCOL_FEE_BPS + 1))
      .to.be.revertedWithCustomError(p.settlement, "ProtocolFeeTooHigh")
      .withArgs(L.MAX_PROTOCOL_FEE_BPS + 1, L.MAX_PROTOCOL_FEE_BPS);
    await expect(p.settlement.connect(p.governance).setProtocolFee(L.MAX_PROTOCOL_FEE_BPS))
      .to.emit(p.settlement, "ProtocolFeeSet")
      .withArgs(L.MAX_PROTOCOL_FEE_BPS);
    // The constructor holds the same bound.
    await expect(
      ethers.deployContract("InferenceSettlement", [
        await p.token.getAddress(),
        await p.models.getAddress(),
        await p.operators.getAddress(),
        p.governance.address,
        p.treasury.address,
        L.MAX_PROTOCOL_FEE_BPS + 1,
      ]),
    ).to.be.revertedWithCustomError(p.settlement, "ProtocolFeeTooHigh");
  });

  it(`${checks("MAX_ROYALTY_BPS")}: a royalty of MAX works (registry and fee hook), MAX + 1 is refused`, async () => {
    const { p, mode } = await loadFixture(limitsFixture);
    expect(L.MAX_ROYALTY_BPS + L.MAX_PROTOCOL_FEE_BPS).to.equal(L.BPS);
    await expect(p.models.connect(p.modelOwner).setTerms(p.modelId, MODEL_FEE, L.MAX_ROYALTY_BPS + 1))
      .to.be.revertedWithCustomError(p.models, "RoyaltyTooHigh")
      .withArgs(L.MAX_ROYALTY_BPS + 1, L.MAX_ROYALTY_BPS);
    await expect(
      p.models
        .connect(p.modelOwner)
        .registerModel(modelSpec({ name: "greedy", royaltyBps: L.MAX_ROYALTY_BPS + 1 })),
    )
      .to.be.revertedWithCustomError(p.models, "RoyaltyTooHigh")
      .withArgs(L.MAX_ROYALTY_BPS + 1, L.MAX_ROYALTY_BPS);
    await p.models.connect(p.modelOwner).setTerms(p.modelId, MODEL_FEE, L.MAX_ROYALTY_BPS);
    await p.settlement.connect(p.requester).transferBalance(await mode.getAddress(), 2n * OPG);
    await expect(mode.payFee(OPG, p.modelOwner.address, L.MAX_ROYALTY_BPS + 1, p.payout.address))
      .to.be.revertedWithCustomError(p.settlement, "InvalidBps")
      .withArgs(L.MAX_ROYALTY_BPS + 1);
    // At both caps the operator's share is exactly zero, never negative.
    await p.settlement.connect(p.governance).setProtocolFee(L.MAX_PROTOCOL_FEE_BPS);
    await mode.payFee(OPG, p.modelOwner.address, L.MAX_ROYALTY_BPS, p.payout.address);
    expect(await p.settlement.balances(p.payout.address)).to.equal(0n);
    expect(await p.settlement.balances(p.modelOwner.address)).to.equal((OPG * 8_000n) / 10_000n);
  });

  it(`${checks("BPS")}: shares are out of 10 000 (reporter share, slash hook, fee split)`, async () => {
    const { p, mode } = await loadFixture(limitsFixture);
    await expect(p.signatureMode.connect(p.governance).setSlashParams(1n, L.BPS + 1))
      .to.be.revertedWithCustomError(p.signatureMode, "RewardTooHigh")
      .withArgs(L.BPS + 1);
    await expect(p.signatureMode.connect(p.governance).setSlashParams(1n, L.BPS))
      .to.emit(p.signatureMode, "SlashParamsSet")
      .withArgs(1n, L.BPS);
    // One basis point of a fee of exactly BPS base units is one unit: the denominator is BPS.
    await p.models.connect(p.modelOwner).setTerms(p.modelId, BigInt(L.BPS), 1);
    await p.settlement.connect(p.governance).setProtocolFee(1);
    const before = await p.settlement.balances(p.modelOwner.address);
    const opened = await openPrepaid(p, { maxFee: BigInt(L.BPS) });
    await fulfilSigned(p, opened, await signResult(p, opened.requestId, opened.request));
    expect(await p.settlement.balances(p.modelOwner.address)).to.equal(before + 1n);
    expect(splitFee(BigInt(L.BPS), 1, 1)).to.deep.equal({
      royalty: 1n,
      protocol: 1n,
      operator: BigInt(L.BPS) - 2n,
    });
    expect(await p.settlement.protocolFeesOf(SIG)).to.equal(1n);
    await expect(mode.slash(p.operator.address, 1n, p.reporter.address, L.BPS + 1))
      .to.be.revertedWithCustomError(p.settlement, "InvalidBps")
      .withArgs(L.BPS + 1);
    // A whole share: the beneficiary gets everything.
    await mode.slash(p.operator.address, 3n, p.reporter.address, L.BPS);
    expect(await p.settlement.balances(p.reporter.address)).to.equal(3n);
  });

  it(`${checks("SNARK_SCALAR_FIELD")}: the largest field element passes every zk check, the modulus fails each`, async () => {
    const { p, zkModelId } = await loadFixture(limitsFixture);
    const largest = fieldToBytes32(L.SNARK_SCALAR_FIELD - 1n);
    const modulus: Hex = `0x${L.SNARK_SCALAR_FIELD.toString(16).padStart(64, "0")}`;
    // Weight commitment, at registration.
    const zkVerifier = (await p.models.getModel(zkModelId)).zkVerifier as Address;
    const zkVerifierCodeHash = await codeHashOf(zkVerifier);
    const spec = (zkCommitment: Hex, name: string) =>
      modelSpec({ name, modes: ZK, zkCommitment, zkVerifier, zkVerifierCodeHash });
    await expect(p.models.connect(p.modelOwner).registerModel(spec(modulus, "too-big")))
      .to.be.revertedWithCustomError(p.models, "InvalidZkCommitment")
      .withArgs(modulus);
    await registerModel(p.models, p.modelOwner, spec(largest, "largest"));
    // Input commitment, when a zk request opens.
    await expect(
      p.settlement
        .connect(p.requester)
        .openRequest(await requestParams(p, { modelId: zkModelId, mode: ZK, inputHash: modulus })),
    )
      .to.be.revertedWithCustomError(p.models, "InputNotInField")
      .withArgs(modulus);
    const opened = await openPrepaid(p, { modelId: zkModelId, mode: ZK, inputHash: largest });
    // Output, at fulfilment (the model's verifier accepts any proof, so only the field check decides).
    const proof = {
      a: [0n, 0n] as [bigint, bigint],
      b: [
        [0n, 0n],
        [0n, 0n],
      ] as [[bigint, bigint], [bigint, bigint]],
      c: [0n, 0n] as [bigint, bigint],
    };
    await expect(
      p.zkMode.connect(p.operator).fulfillZk(opened.request, opened.requestId, L.SNARK_SCALAR_FIELD, proof),
    )
      .to.be.revertedWithCustomError(p.zkMode, "PublicSignalOutOfField")
      .withArgs(0, L.SNARK_SCALAR_FIELD);
    await expect(
      p.zkMode
        .connect(p.operator)
        .fulfillZk(opened.request, opened.requestId, L.SNARK_SCALAR_FIELD - 1n, proof),
    ).to.emit(p.settlement, "RequestFulfilled");
  });

  it(`${checks("EVIDENCE_WINDOW")}: evidence at deadline + window is accepted, one second later EvidenceExpired`, async () => {
    const { p } = await loadFixture(limitsFixture);
    const opened = await openPrepaid(p);
    const evidence = await twoResults(p, opened.requestId, opened.request);
    const closedAt = opened.request.deadline + L.EVIDENCE_WINDOW;
    const snapshot = await networkHelpers.takeSnapshot();
    await time.setNextBlockTimestamp(closedAt + 1n);
    await expect(reportEquivocation(p, opened, evidence))
      .to.be.revertedWithCustomError(p.signatureMode, "EvidenceExpired")
      .withArgs(opened.requestId, closedAt);
    await snapshot.restore();
    await time.setNextBlockTimestamp(closedAt);
    await expect(reportEquivocation(p, opened, evidence)).to.emit(p.signatureMode, "EquivocationSlashed");
  });

  it(`${checks("MAX_REQUEST_ID")}: a counter at the last id opens it, then RequestIdsExhausted`, async () => {
    const { p } = await loadFixture(limitsFixture);
    expect(L.MAX_REQUEST_ID).to.equal(2n ** 64n - 2n);
    await setNextRequestId(p, L.MAX_REQUEST_ID);
    const last = await openPrepaid(p);
    expect(last.requestId).to.equal(L.MAX_REQUEST_ID);
    await expect(
      p.settlement.connect(p.requester).openRequest(await requestParams(p)),
    ).to.be.revertedWithCustomError(p.settlement, "RequestIdsExhausted");
    expect(await p.settlement.nextRequestId()).to.equal(L.MAX_REQUEST_ID + 1n);
  });

  it("checks every limit ProtocolLimits defines", () => {
    expect([...CHECKED].sort()).to.deep.equal([...names].sort());
  });
});
