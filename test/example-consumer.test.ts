import { expect } from "chai";
import fc from "fast-check";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { irisRegistration, IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { argmax, encodeFeatures, encodeFloat32LE, toDataUri } from "../src/model/encoding.js";
import { inferBytes } from "../src/model/infer.js";
import { loadIris } from "../src/model/iris.js";
import { loadModel } from "../src/model/onnx-runtime.js";
import { fieldToBytes32, splitFee, VerificationMode, zkOutputBytes } from "../src/protocol/index.js";
import {
  buildZkInference,
  inputCommitment,
  prove,
  quantizeInput,
  settlementProof,
  toSolidityCalldata,
  type QuantizedMlp,
} from "../src/zk/index.js";
import type { IrisGatedAllowlist } from "../typechain-types/index.js";
import "./helpers/release-zk.js";
import {
  connection,
  ethers,
  fulfilSigned as submitSigned,
  MODEL_FEE,
  networkHelpers,
  openedFrom,
  openPrepaid,
  PROTOCOL_FEE_BPS,
  protocolFixture,
  registerModel,
  ROYALTY_BPS,
  signResult,
  type OpenedRequest,
  type Protocol,
} from "./helpers/fixture.js";

const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);
const STATUS = { None: 0, Pending: 1, Fulfilled: 2, FulfilledCallbackFailed: 3, Refunded: 4 } as const;
const SETOSA = 0;
const BOTH_MODES = VerificationMode.Signature | VerificationMode.Zk;
const TTL = 3600n;
const NO_CLASS = 2n ** 256n - 1n;
const iris = loadIris();
// Dataset rows: 0 is a setosa, 60 a versicolor, 120 a virginica.
const SAMPLE = { setosa: 0, versicolor: 60, virginica: 120 } as const;
const model = await loadModel(IRIS_MODEL_PATH);

interface World extends Protocol {
  irisModelId: Hex;
  quantized: QuantizedMlp;
  gate: IrisGatedAllowlist;
  gateAddress: Address;
  applicant: HardhatEthersSigner;
}

async function deployGate(
  p: Protocol,
  modelId: Hex,
  modes: number = BOTH_MODES,
  acceptedClass = SETOSA,
  ttl = TTL,
) {
  return ethers.deployContract("IrisGatedAllowlist", [
    await p.settlement.getAddress(),
    modelId,
    modes,
    acceptedClass,
    ttl,
  ]);
}

/** The protocol, the real Iris model registered with its zk verifier, and a gate accepting setosa in both modes. */
async function gateFixture(): Promise<World> {
  const p = await protocolFixture();
  const verifier = await ethers.deployContract("IrisMlpVerifier");
  const registration = await irisRegistration({
    fee: MODEL_FEE,
    royaltyBps: ROYALTY_BPS,
    zkVerifier: (await verifier.getAddress()) as Address,
    name: "iris-mlp-zk",
  });
  const irisModelId = await registerModel(p.models, p.modelOwner, registration.spec);
  const gate = await deployGate(p, irisModelId);
  const gateAddress = (await gate.getAddress()) as Address;
  // Applicants approve the gate (not settlement): the gate is the requester and pays settlement.
  for (const account of [p.requester, p.other]) {
    await p.token.connect(account).approve(gateAddress, ethers.MaxUint256);
  }
  return { ...p, irisModelId, quantized: registration.quantized, gate, gateAddress, applicant: p.requester };
}

/** What an applicant commits to for `mode`: the input hash and the input URI. */
async function commitment(w: World, features: readonly number[], mode: number) {
  const bytes = encodeFeatures(features);
  const inputHash =
    mode === VerificationMode.Zk
      ? fieldToBytes32(await inputCommitment(quantizeInput(features, w.quantized), w.quantized.params))
      : keccak256(bytes);
  return { inputHash, inputUri: toDataUri(bytes) };
}

/** Apply through the gate and return the settlement request it opened. */
async function apply(
  w: World,
  sample: number,
  mode: number,
  from: HardhatEthersSigner = w.applicant,
): Promise<OpenedRequest> {
  const { inputHash, inputUri } = await commitment(w, iris.features[sample]!, mode);
  const tx = await w.gate.connect(from).submitApplication(inputHash, mode, inputUri);
  return openedFrom(w.settlement, await tx.wait());
}

/** An operator's real zk proof for `sample`, submitted by `operator`. */
async function fulfilZk(w: World, opened: OpenedRequest, sample: number) {
  const zk = await buildZkInference(w.quantized, iris.features[sample]!, {
    chainId: w.chainId,
    zkMode: (await w.zkMode.getAddress()) as Address,
    requestId: opened.requestId,
    submitter: w.operator.address as Address,
  });
  const { proof, publicSignals } = await prove(zk.input);
  const { output, proof: args } = settlementProof(toSolidityCalldata(proof, publicSignals));
  return w.zkMode.connect(w.operator).fulfillZk(opened.request, opened.requestId, output, args);
}

/** An operator runs the real model on the input and signs the logits (or any `output` given). */
async function fulfilSigned(w: World, opened: OpenedRequest, sample: number, output?: Hex) {
  const logits = output ?? toHex(await inferBytes(model, encodeFeatures(iris.features[sample]!)));
  return submitSigned(w, opened, await signResult(w, opened.requestId, opened.request, { output: logits }));
}

/** Call `onInferenceResult` as the settlement contract itself (impersonated). */
async function asSettlement(w: World) {
  const address = await w.settlement.getAddress();
  await networkHelpers.impersonateAccount(address);
  await networkHelpers.setBalance(address, 10n ** 18n);
  return ethers.getSigner(address);
}

interface StructLog {
  depth: number;
  gas: number;
  gasCost: number;
  op: string;
}

/**
 * Gas used inside the callback frame of a settlement transaction, from its opcode trace. The transaction goes to a
 * mode contract (depth 1), whose one CALL is to the core (depth 2); the core makes exactly one CALL (the callback;
 * its registry, verifier and ecrecover reads are STATICCALLs), and the frame it opens runs at depth 3 from that
 * CALL's successor to the step before control returns to depth 2.
 */
async function callbackGasUsed(txHash: string): Promise<{ used: number; given: number }> {
  const trace = (await connection.provider.request({
    method: "debug_traceTransaction",
    params: [txHash, { disableStorage: true, disableMemory: true, disableStack: true }],
  })) as { structLogs: StructLog[] };
  const logs = trace.structLogs;
  const modeCalls = logs.filter((log) => log.depth === 1 && log.op === "CALL");
  expect(modeCalls, "the mode makes exactly one CALL (to the core)").to.have.length(1);
  const calls = logs.flatMap((log, i) => (log.depth === 2 && log.op === "CALL" ? [i] : []));
  expect(calls, "the core makes exactly one CALL (the callback)").to.have.length(1);
  const start = calls[0]! + 1;
  let end = start;
  while (logs[end + 1] !== undefined && logs[end + 1]!.depth === 3) end++;
  expect(logs[start]!.depth).to.equal(3);
  const last = logs[end]!;
  expect(last.op, "the callback frame ends normally").to.be.oneOf(["STOP", "RETURN"]);
  return { given: logs[start]!.gas, used: logs[start]!.gas - (last.gas - last.gasCost) };
}

describe("Example consumer: IrisGatedAllowlist (real zk proofs and signed model outputs)", function () {
  this.timeout(120_000);

  it("admits a setosa on a real zk proof: full cycle, fee split, nothing left in the gate", async () => {
    const w = await loadFixture(gateFixture);
    const before = await w.token.balanceOf(w.applicant.address);
    const opened = await apply(w, SAMPLE.setosa, VerificationMode.Zk);
    const submitGas = opened.receipt.gasUsed;
    expect(opened.request.requester).to.equal(w.gateAddress);
    expect(opened.request.callback).to.equal(w.gateAddress);
    expect(opened.request.callbackGasLimit).to.equal(Number(await w.gate.CALLBACK_GAS_LIMIT()));
    expect(opened.request.fee).to.equal(MODEL_FEE);
    expect(await w.gate.pendingRequestOf(w.applicant.address)).to.equal(opened.requestId);
    // The fee went straight through to settlement: no tokens or allowance stay with the gate.
    expect(await w.token.balanceOf(w.applicant.address)).to.equal(before - MODEL_FEE);
    expect(await w.token.balanceOf(w.gateAddress)).to.equal(0n);
    expect(await w.token.allowance(w.gateAddress, await w.settlement.getAddress())).to.equal(0n);

    const tx = fulfilZk(w, opened, SAMPLE.setosa);
    await expect(tx)
      .to.emit(w.gate, "ApplicationDecided")
      .withArgs(opened.requestId, w.applicant.address, true, SETOSA);
    await expect(tx).to.not.emit(w.settlement, "CallbackFailed");
    const fulfilled = await (await tx).wait();
    const callback = await callbackGasUsed(fulfilled!.hash);
    console.log(
      `      gas: submitApplication ${submitGas}, fulfillZk ${fulfilled!.gasUsed} (callback ${callback.used}), ` +
        `cycle ${submitGas + fulfilled!.gasUsed}`,
    );
    expect(callback.given).to.equal(opened.request.callbackGasLimit);
    expect(callback.used * 1.5).to.be.at.most(callback.given);
    expect(await w.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Fulfilled);
    expect(await w.gate.isAdmitted(w.applicant.address)).to.equal(true);
    expect(await w.gate.pendingRequestOf(w.applicant.address)).to.equal(0n);
    expect((await w.gate.applications(opened.requestId)).applicant).to.equal(ethers.ZeroAddress);
    const split = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS);
    expect(await w.settlement.balances(w.operator.address)).to.equal(split.operator);
    expect(await w.settlement.balances(w.gateAddress)).to.equal(0n);

    // Admitted is final: a second application is refused.
    const { inputHash, inputUri } = await commitment(w, iris.features[SAMPLE.setosa]!, VerificationMode.Zk);
    await expect(w.gate.connect(w.applicant).submitApplication(inputHash, VerificationMode.Zk, inputUri))
      .to.be.revertedWithCustomError(w.gate, "AlreadyAdmitted")
      .withArgs(w.applicant.address);
  });

  it("rejects a versicolor on a real zk proof; the applicant may apply again", async () => {
    const w = await loadFixture(gateFixture);
    const opened = await apply(w, SAMPLE.versicolor, VerificationMode.Zk);
    await expect(fulfilZk(w, opened, SAMPLE.versicolor))
      .to.emit(w.gate, "ApplicationDecided")
      .withArgs(opened.requestId, w.applicant.address, false, 1);
    expect(await w.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Fulfilled);
    expect(await w.gate.isAdmitted(w.applicant.address)).to.equal(false);
    expect(await w.gate.pendingRequestOf(w.applicant.address)).to.equal(0n);
    const again = await apply(w, SAMPLE.setosa, VerificationMode.Signature);
    expect(await w.gate.pendingRequestOf(w.applicant.address)).to.equal(again.requestId);
  });

  it("decides signed results from the real model's float32 logits; undecodable outputs reject", async () => {
    const w = await loadFixture(gateFixture);
    const setosa = await apply(w, SAMPLE.setosa, VerificationMode.Signature);
    const virginica = await apply(w, SAMPLE.virginica, VerificationMode.Signature, w.other);
    await expect(fulfilSigned(w, setosa, SAMPLE.setosa))
      .to.emit(w.gate, "ApplicationDecided")
      .withArgs(setosa.requestId, w.applicant.address, true, SETOSA);
    await expect(fulfilSigned(w, virginica, SAMPLE.virginica))
      .to.emit(w.gate, "ApplicationDecided")
      .withArgs(virginica.requestId, w.other.address, false, 2);
    expect(await w.gate.isAdmitted(w.applicant.address)).to.equal(true);
    expect(await w.gate.isAdmitted(w.other.address)).to.equal(false);

    // A signature-mode output is decoded as logits even when it looks like a zk output (decode by the mode
    // asked for, never by shape); an empty output (the operator posted only a URI) rejects as well.
    for (const output of [zkOutputBytes(0n), "0x" as Hex, toHex(encodeFloat32LE([9, 1]))]) {
      const opened = await apply(w, SAMPLE.setosa, VerificationMode.Signature, w.other);
      await expect(fulfilSigned(w, opened, SAMPLE.setosa, output))
        .to.emit(w.gate, "ApplicationDecided")
        .withArgs(opened.requestId, w.other.address, false, NO_CLASS);
    }
  });

  it("decodes float32 little-endian argmax exactly like the TypeScript argmax", async () => {
    const w = await loadFixture(gateFixture);
    const f32 = (v: number[]) => toHex(encodeFloat32LE(v));
    const bits = (words: number[]) => {
      const bytes = new Uint8Array(words.length * 4);
      const view = new DataView(bytes.buffer);
      words.forEach((word, i) => {
        view.setUint32(i * 4, word, true);
      });
      return toHex(bytes);
    };
    const sig = VerificationMode.Signature;
    const cases: [Hex, bigint][] = [
      [f32([-1, -2, -3]), 0n],
      [f32([-3, -2, -1]), 2n],
      [f32([-0.5, 0.25, 0.125]), 1n],
      [f32([-0, 0, -0]), 0n], // -0 equals +0: the first maximum wins
      [f32([1e-45, 0, -1e-45]), 0n], // subnormals
      [f32([3.4e38, -3.4e38, 3.3e38]), 0n],
      [f32([2, 2, 1]), 0n],
      [bits([0x7fc00000, 0, 0]), NO_CLASS], // NaN
      [bits([0, 0x7f800000, 0]), NO_CLASS], // +infinity
      [bits([0, 0, 0xff800000]), NO_CLASS], // -infinity
      [f32([1, 2, 3, 4]), NO_CLASS],
      [f32([1, 2]), NO_CLASS],
    ];
    for (const [output, expected] of cases) {
      expect(await w.gate.decodeClass(sig, output), output).to.equal(expected);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }),
        async (logits) => {
          const output = encodeFloat32LE(logits);
          expect(await w.gate.decodeClass(sig, toHex(output))).to.equal(BigInt(argmax(logits)));
        },
      ),
      { numRuns: 100 },
    );
    // A zk output is abi.encode(uint256 class) with class in 0..2.
    const zk = VerificationMode.Zk;
    expect(await w.gate.decodeClass(zk, zkOutputBytes(2n))).to.equal(2n);
    expect(await w.gate.decodeClass(zk, zkOutputBytes(3n))).to.equal(NO_CLASS);
    expect(await w.gate.decodeClass(zk, f32([9, 0, 0]))).to.equal(NO_CLASS);
  });

  it("accepts results only from settlement, only for its own requests, only for the trusted model", async () => {
    const w = await loadFixture(gateFixture);
    const opened = await apply(w, SAMPLE.setosa, VerificationMode.Zk);
    const { requestId, request } = opened;
    const output = zkOutputBytes(0n);
    const hash = keccak256(output);
    // Not from settlement.
    await expect(
      w.gate
        .connect(w.applicant)
        .onInferenceResult(requestId, w.irisModelId, request.inputHash, hash, output),
    )
      .to.be.revertedWithCustomError(w.gate, "NotSettlement")
      .withArgs(w.applicant.address);
    const settlement = await asSettlement(w);
    // Unknown request id.
    await expect(
      w.gate
        .connect(settlement)
        .onInferenceResult(requestId + 1n, w.irisModelId, request.inputHash, hash, output),
    )
      .to.be.revertedWithCustomError(w.gate, "UnknownApplication")
      .withArgs(requestId + 1n);
    // Wrong model id, for a pending application.
    await expect(
      w.gate.connect(settlement).onInferenceResult(requestId, w.modelId, request.inputHash, hash, output),
    )
      .to.be.revertedWithCustomError(w.gate, "WrongModel")
      .withArgs(w.irisModelId, w.modelId);
    await networkHelpers.stopImpersonatingAccount(await settlement.getAddress());
    expect(await w.gate.isAdmitted(w.applicant.address)).to.equal(false);
    expect(await w.gate.pendingRequestOf(w.applicant.address)).to.equal(requestId);

    // Anyone can name the gate as the callback of their own request: settlement delivers it, the gate refuses it,
    // settlement records the failure and settles anyway, and no one is admitted.
    const foreign = await openPrepaid(w, {
      modelId: w.irisModelId,
      callback: w.gateAddress,
      callbackGasLimit: 100_000,
    });
    await expect(fulfilSigned(w, foreign, SAMPLE.setosa))
      .to.emit(w.settlement, "CallbackFailed")
      .withArgs(foreign.requestId)
      .and.not.to.emit(w.gate, "ApplicationDecided");
    expect(await w.settlement.requestStatus(foreign.requestId)).to.equal(STATUS.FulfilledCallbackFailed);
    expect(await w.gate.isAdmitted(w.requester.address)).to.equal(false);
  });

  it("refunds an unanswered application to its applicant after the deadline (or at once on revocation)", async () => {
    const w = await loadFixture(gateFixture);
    const opened = await apply(w, SAMPLE.setosa, VerificationMode.Signature);
    const { requestId, request } = opened;
    const before = await w.token.balanceOf(w.applicant.address);
    await expect(w.gate.connect(w.other).reclaim(requestId, request))
      .to.be.revertedWithCustomError(w.settlement, "RequestNotExpired")
      .withArgs(requestId, request.deadline);
    await networkHelpers.time.increaseTo(request.deadline + 1n);
    // Too late for a result now; anyone may trigger the refund, and it goes to the applicant.
    await expect(fulfilSigned(w, opened, SAMPLE.setosa)).to.be.revertedWithCustomError(
      w.settlement,
      "RequestExpired",
    );
    const tx = w.gate.connect(w.other).reclaim(requestId, request);
    await expect(tx).to.emit(w.gate, "FeeReclaimed").withArgs(requestId, w.applicant.address, MODEL_FEE);
    await expect(tx).to.emit(w.settlement, "RequestRefunded").withArgs(requestId, w.gateAddress, MODEL_FEE);
    await expect(tx)
      .to.emit(w.settlement, "Withdrawn")
      .withArgs(w.gateAddress, w.applicant.address, MODEL_FEE);
    expect(await w.token.balanceOf(w.applicant.address)).to.equal(before + MODEL_FEE);
    expect(await w.settlement.balances(w.gateAddress)).to.equal(0n);
    expect(await w.gate.pendingRequestOf(w.applicant.address)).to.equal(0n);
    await expect(w.gate.reclaim(requestId, request))
      .to.be.revertedWithCustomError(w.gate, "UnknownApplication")
      .withArgs(requestId);

    // Refunded directly on settlement by someone else: the gate still forwards it.
    const second = await apply(w, SAMPLE.setosa, VerificationMode.Signature);
    await networkHelpers.time.increaseTo(second.request.deadline + 1n);
    await w.settlement.connect(w.other).refund(second.request, second.requestId);
    expect(await w.settlement.balances(w.gateAddress)).to.equal(MODEL_FEE);
    await expect(w.gate.reclaim(second.requestId, second.request)).to.emit(w.gate, "FeeReclaimed");
    expect(await w.settlement.balances(w.gateAddress)).to.equal(0n);

    // A revoked model makes the request refundable at once.
    const third = await apply(w, SAMPLE.setosa, VerificationMode.Zk);
    await w.models.connect(w.modelOwner).setStatus(w.irisModelId, 3);
    await expect(w.gate.reclaim(third.requestId, third.request))
      .to.emit(w.gate, "FeeReclaimed")
      .withArgs(third.requestId, w.applicant.address, MODEL_FEE);
    expect(await w.token.balanceOf(w.applicant.address)).to.equal(before + MODEL_FEE);

    // A decided application has nothing to reclaim.
    const w2 = await loadFixture(gateFixture);
    const decided = await apply(w2, SAMPLE.virginica, VerificationMode.Signature);
    await fulfilSigned(w2, decided, SAMPLE.virginica);
    await expect(w2.gate.reclaim(decided.requestId, decided.request))
      .to.be.revertedWithCustomError(w2.gate, "UnknownApplication")
      .withArgs(decided.requestId);
  });

  it("lets a failed callback be discarded, and nothing else", async () => {
    const w = await loadFixture(gateFixture);
    const opened = await apply(w, SAMPLE.setosa, VerificationMode.Signature);
    await expect(w.gate.discard(opened.requestId))
      .to.be.revertedWithCustomError(w.gate, "CallbackNotFailed")
      .withArgs(opened.requestId, STATUS.Pending);
    // Simulate a callback that runs out of gas (say after a gas repricing): swap in code that loops forever.
    const code = await ethers.provider.getCode(w.gateAddress);
    await networkHelpers.setCode(w.gateAddress, "0x5b600056"); // JUMPDEST PUSH1 0 JUMP
    await expect(fulfilSigned(w, opened, SAMPLE.setosa))
      .to.emit(w.settlement, "CallbackFailed")
      .withArgs(opened.requestId);
    await networkHelpers.setCode(w.gateAddress, code);
    expect(await w.gate.pendingRequestOf(w.applicant.address)).to.equal(opened.requestId);
    await expect(w.gate.reclaim(opened.requestId, opened.request))
      .to.be.revertedWithCustomError(w.gate, "NotRefunded")
      .withArgs(opened.requestId, STATUS.FulfilledCallbackFailed);
    await expect(w.gate.connect(w.other).discard(opened.requestId))
      .to.emit(w.gate, "ApplicationDiscarded")
      .withArgs(opened.requestId, w.applicant.address);
    expect(await w.gate.pendingRequestOf(w.applicant.address)).to.equal(0n);
    await expect(w.gate.discard(opened.requestId))
      .to.be.revertedWithCustomError(w.gate, "UnknownApplication")
      .withArgs(opened.requestId);
    // The applicant can apply again.
    await apply(w, SAMPLE.setosa, VerificationMode.Signature);
  });

  it("gives the callback a fixed gas limit that covers its costliest path with a 1.5x margin", async () => {
    const w = await loadFixture(gateFixture);
    const limit = Number(await w.gate.CALLBACK_GAS_LIMIT());
    const measured: Record<string, number> = {};
    // Costliest paths: decoding float32 logits, and admitting (a fresh storage slot); rejection for comparison.
    for (const [name, sample, from] of [
      ["signature, admitted", SAMPLE.setosa, w.applicant],
      ["signature, rejected", SAMPLE.virginica, w.other],
    ] as const) {
      const opened = await apply(w, sample, VerificationMode.Signature, from);
      const receipt = await (await fulfilSigned(w, opened, sample)).wait();
      const { used, given } = await callbackGasUsed(receipt!.hash);
      expect(given).to.equal(limit); // exactly the limit, whatever gas the fulfiller sent
      measured[name] = used;
    }
    const worst = Math.max(...Object.values(measured));
    console.log(`      callback gas: ${JSON.stringify(measured)}; limit ${limit}`);
    expect(worst).to.be.greaterThan(10_000); // the measurement sees the storage writes
    expect(limit).to.be.at.least(Math.ceil(worst * 1.5));
    expect(limit, "a limit far above the measurement is a guess, not a measurement").to.be.at.most(worst * 3);
  });

  it("checks its configuration and the applications it takes", async () => {
    const w = await loadFixture(gateFixture);
    const settlementAddress = await w.settlement.getAddress();
    const factory = await ethers.getContractFactory("IrisGatedAllowlist");
    // The fixture's other model allows signatures only: a gate accepting zk on it is refused.
    for (const args of [
      [w.modelId, VerificationMode.Zk, SETOSA, TTL],
      [w.irisModelId, 0, SETOSA, TTL],
      [w.irisModelId, 4, SETOSA, TTL],
      [w.irisModelId, BOTH_MODES, 3, TTL],
      [w.irisModelId, BOTH_MODES, SETOSA, 0n],
      [w.irisModelId, BOTH_MODES, SETOSA, 30n * 86_400n + 1n],
    ] as const) {
      await expect(deployGate(w, args[0], args[1], args[2], args[3])).to.be.revertedWithCustomError(
        factory,
        "InvalidConfig",
      );
    }
    await expect(deployGate(w, keccak256(toHex("no such model")))).to.be.revertedWithCustomError(
      w.models,
      "UnknownModel",
    );
    await expect(
      factory.deploy(ethers.ZeroAddress, w.irisModelId, BOTH_MODES, SETOSA, TTL),
    ).to.be.revertedWithCustomError(factory, "InvalidConfig");
    expect(await w.gate.settlement()).to.equal(settlementAddress);
    expect(await w.gate.token()).to.equal(await w.token.getAddress());

    // A zk-only gate refuses signature applications.
    const zkOnly = await deployGate(w, w.irisModelId, VerificationMode.Zk);
    const { inputHash, inputUri } = await commitment(w, iris.features[0]!, VerificationMode.Signature);
    for (const mode of [VerificationMode.Signature, 3, 0]) {
      await expect(zkOnly.connect(w.applicant).submitApplication(inputHash, mode, inputUri))
        .to.be.revertedWithCustomError(zkOnly, "ModeNotAccepted")
        .withArgs(mode, VerificationMode.Zk);
    }
    // One pending application at a time.
    const opened = await apply(w, SAMPLE.setosa, VerificationMode.Signature);
    await expect(
      w.gate.connect(w.applicant).submitApplication(inputHash, VerificationMode.Signature, inputUri),
    )
      .to.be.revertedWithCustomError(w.gate, "ApplicationPending")
      .withArgs(w.applicant.address, opened.requestId);
    // No allowance for the gate: the fee cannot be pulled and nothing is opened.
    await w.token.connect(w.other).approve(w.gateAddress, 0);
    await expect(
      w.gate.connect(w.other).submitApplication(inputHash, VerificationMode.Signature, inputUri),
    ).to.be.revertedWithCustomError(w.token, "ERC20InsufficientAllowance");
    // The gate pays what the version charges at application time (read and paid in one transaction); the
    // applicant's approval to the gate is the cap.
    await w.models.connect(w.modelOwner).setTerms(w.irisModelId, MODEL_FEE * 2n, ROYALTY_BPS);
    await w.token.connect(w.other).approve(w.gateAddress, MODEL_FEE * 2n);
    const pricier = await apply(w, SAMPLE.setosa, VerificationMode.Signature, w.other);
    expect(pricier.request.fee).to.equal(MODEL_FEE * 2n);
    expect((await w.gate.applications(pricier.requestId)).fee).to.equal(MODEL_FEE * 2n);
  });
});
