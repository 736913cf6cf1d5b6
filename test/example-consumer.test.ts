import { expect } from "chai";
import fc from "fast-check";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { irisRegistration, IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { argmax, encodeFeatures, encodeFloat32LE, toDataUri } from "../src/model/encoding.js";
import { inferBytes } from "../src/model/infer.js";
import { loadIris } from "../src/model/iris.js";
import { loadModel } from "../src/model/onnx-runtime.js";
import { privateKeyToAccount } from "viem/accounts";
import { testAccountKey } from "../src/devnet/accounts.js";
import {
  fieldToBytes32,
  hashQuietRequest,
  QUIET_MODE_BIT,
  quietModeDomain,
  receiptBatch,
  signQuietRequest,
  signReceipt,
  splitFee,
  VerificationMode,
  zkOutputBytes,
  type QuietRequest,
  type Receipt,
} from "../src/protocol/index.js";
import {
  buildZkInference,
  circuitInput,
  fixedPointForward,
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
  OPG,
  openedFrom,
  openPrepaid,
  PROTOCOL_FEE_BPS,
  protocolFixture,
  QUIET_WINDOWS,
  registerModel,
  ROYALTY_BPS,
  SIGNER_KEYS,
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

/**
 * The quiet path: an applicant admitted at once from a final quiet receipt of its own (`admitQuiet`), with the real
 * model's outputs (the circuit's fixed-point class for the zk-circuit version, float32 logits for the other) and a
 * real Groth16 proof striking a cheat.
 */
describe("Example consumer: IrisGatedAllowlist quiet path (admitQuiet)", function () {
  this.timeout(180_000);
  const operatorKey = privateKeyToAccount(SIGNER_KEYS[0]);
  const payerKeys = {
    requester: privateKeyToAccount(testAccountKey(5)),
    other: privateKeyToAccount(testAccountKey(6)),
  };
  const { commitWindow, challengeWindow } = QUIET_WINDOWS;

  interface QuietWorld extends Protocol {
    quantized: QuantizedMlp;
    zkModelId: Hex;
    plainModelId: Hex;
    /** Accepts setosa, zk or quiet, on the zk-circuit version. */
    gate: IrisGatedAllowlist;
    /** Accepts setosa, quiet only, on the version without a circuit. */
    plainGate: IrisGatedAllowlist;
    quietAddress: Address;
  }

  async function quietGateFixture(): Promise<QuietWorld> {
    const p = await protocolFixture();
    const verifier = await ethers.deployContract("IrisMlpVerifier");
    const zk = await irisRegistration({
      fee: MODEL_FEE,
      royaltyBps: ROYALTY_BPS,
      zkVerifier: (await verifier.getAddress()) as Address,
      name: "iris-quiet-zk",
    });
    const zkModelId = await registerModel(p.models, p.modelOwner, {
      ...zk.spec,
      modes: VerificationMode.Zk | QUIET_MODE_BIT,
    });
    const plain = await irisRegistration({ fee: MODEL_FEE, royaltyBps: ROYALTY_BPS, name: "iris-quiet" });
    const plainModelId = await registerModel(p.models, p.modelOwner, {
      ...plain.spec,
      modes: VerificationMode.Signature | QUIET_MODE_BIT,
    });
    const gate = await deployGate(p, zkModelId, VerificationMode.Zk | QUIET_MODE_BIT);
    const plainGate = await deployGate(p, plainModelId, QUIET_MODE_BIT);
    // Stake enough that one proven cheat (600 OPG) leaves the operator eligible.
    await p.token.connect(p.operator).approve(await p.operators.getAddress(), 1_000n * OPG);
    await p.operators.connect(p.operator).stake(1_000n * OPG);
    return {
      ...p,
      quantized: zk.quantized,
      zkModelId,
      plainModelId,
      gate,
      plainGate,
      quietAddress: (await p.quietMode.getAddress()) as Address,
    };
  }

  const now = async () => BigInt(await networkHelpers.time.latest());

  /** A request `payer` signed for `sample`'s measurements under `modelId` (index `index` of its sub-channel). */
  async function signedRequest(
    w: QuietWorld,
    modelId: Hex,
    sample: number,
    payer: keyof typeof payerKeys = "requester",
    overrides: Partial<QuietRequest> = {},
  ): Promise<QuietRequest> {
    const features = iris.features[sample]!;
    const inputHash =
      modelId === w.zkModelId
        ? fieldToBytes32(await inputCommitment(quantizeInput(features, w.quantized), w.quantized.params))
        : keccak256(encodeFeatures(features));
    const request: QuietRequest = {
      payer: payerKeys[payer].address,
      operator: w.operator.address as Address,
      modelId,
      inputHash,
      fee: MODEL_FEE,
      cumulative: MODEL_FEE,
      index: 0n,
      deadline: (await now()) + 300n,
      ...overrides,
    };
    await signQuietRequest(payerKeys[payer], quietModeDomain(w.chainId, w.quietAddress), request);
    return request;
  }

  /** The honest output for `sample` under `modelId`: the circuit's class, or the real model's float32 logits. */
  async function honestOutput(w: QuietWorld, modelId: Hex, sample: number): Promise<Hex> {
    const features = iris.features[sample]!;
    if (modelId !== w.zkModelId) return toHex(await inferBytes(model, encodeFeatures(features)));
    return zkOutputBytes(BigInt(fixedPointForward(w.quantized, quantizeInput(features, w.quantized)).label));
  }

  /** The operator's signed receipt for `request` at `seq`, claiming `output`. */
  async function operatorReceipt(w: QuietWorld, request: QuietRequest, seq: bigint, output: Hex) {
    const receipt: Receipt = {
      operator: request.operator,
      seq,
      request: hashQuietRequest(request),
      outputHash: keccak256(output),
      time: await now(),
    };
    const signature = await signReceipt(operatorKey, quietModeDomain(w.chainId, w.quietAddress), receipt);
    return { receipt, signature, output };
  }

  /** Commit `receipts` as the next batch of their operator (sent from `from`, the operator by default). */
  async function commit(w: QuietWorld, receipts: readonly Receipt[], from = w.operator) {
    const batch = receiptBatch(receipts);
    const mined = await (
      await w.quietMode
        .connect(from)
        .commitBatch(batch.firstSeq, batch.count, batch.root, "https://op.example/b")
    ).wait();
    const block = await ethers.provider.getBlock(mined!.blockNumber);
    const [, batchCount] = await w.quietMode.head(from.address);
    return {
      index: batchCount - 1n,
      fields: {
        root: batch.root,
        firstSeq: batch.firstSeq,
        count: batch.count,
        committedAt: BigInt(block!.timestamp),
      },
      proof: (i: number) => batch.tree.proof(i),
    };
  }

  /** Past every deadline's challenge window among `requests`. */
  async function finalize(requests: readonly QuietRequest[]) {
    const last = requests.reduce((max, r) => (r.deadline > max ? r.deadline : max), 0n);
    await networkHelpers.time.increaseTo(last + commitWindow + challengeWindow + 1n);
  }

  /**
   * A final log of the operator: the applicant's setosa (seq 0), the other account's setosa (1), the applicant's
   * versicolor (2) and an undecodable output (3), on the zk-circuit version.
   */
  async function finalLogFixture() {
    const w = await quietGateFixture();
    const requests = [
      await signedRequest(w, w.zkModelId, SAMPLE.setosa),
      await signedRequest(w, w.zkModelId, SAMPLE.setosa, "other"),
      await signedRequest(w, w.zkModelId, SAMPLE.versicolor, "requester", {
        index: 1n,
        cumulative: 2n * MODEL_FEE,
      }),
      await signedRequest(w, w.zkModelId, SAMPLE.virginica, "requester", {
        index: 2n,
        cumulative: 3n * MODEL_FEE,
      }),
    ];
    const outputs = [
      await honestOutput(w, w.zkModelId, SAMPLE.setosa),
      await honestOutput(w, w.zkModelId, SAMPLE.setosa),
      await honestOutput(w, w.zkModelId, SAMPLE.versicolor),
      zkOutputBytes(7n),
    ];
    const receipts = await Promise.all(requests.map((r, i) => operatorReceipt(w, r, BigInt(i), outputs[i]!)));
    const batch = await commit(
      w,
      receipts.map((r) => r.receipt),
    );
    await finalize(requests);
    const admit = (
      i: number,
      from: HardhatEthersSigner = w.requester,
      changes: Partial<{
        output: Hex;
        request: QuietRequest;
        proof: Hex[];
        batchIndex: bigint;
        fields: typeof batch.fields;
      }> = {},
    ) =>
      w.gate
        .connect(from)
        .admitQuiet(
          { ...receipts[i]!.receipt },
          { ...(changes.request ?? requests[i]!) },
          changes.batchIndex ?? batch.index,
          changes.fields ?? batch.fields,
          changes.proof ?? batch.proof(i),
          changes.output ?? receipts[i]!.output,
        );
    return { ...w, requests, receipts, batch, admit };
  }

  it("admits the applicant from its own final receipt (the circuit's class), once; gas measured", async () => {
    const w = await loadFixture(finalLogFixture);
    expect(await w.gate.quietMode()).to.equal(w.quietAddress);
    expect(await w.gate.quietOutputIsClass()).to.equal(true);
    const tx = w.admit(0);
    await expect(tx).to.emit(w.gate, "AdmittedQuiet").withArgs(w.requester.address, w.operator.address, 0n);
    expect(await w.gate.isAdmitted(w.requester.address)).to.equal(true);
    const gasUsed = (await (await tx).wait())!.gasUsed;
    console.log(
      `      admitQuiet gas: ${gasUsed} (whole transaction; ${gasUsed - 21_000n} without the intrinsic 21,000)`,
    );
    // Replaying the same receipt: already admitted.
    await expect(w.admit(0))
      .to.be.revertedWithCustomError(w.gate, "AlreadyAdmitted")
      .withArgs(w.requester.address);
    // The other account is admitted from its own receipt, independently.
    await expect(w.admit(1, w.other))
      .to.emit(w.gate, "AdmittedQuiet")
      .withArgs(w.other.address, w.operator.address, 1n);
    // Nothing moved: no fee, no request, nothing pending.
    expect(await w.token.balanceOf(await w.gate.getAddress())).to.equal(0n);
    expect(await w.gate.pendingRequestOf(w.requester.address)).to.equal(0n);
  });

  it("accepts a receipt only from the request's payer: not another account's, not for another account", async () => {
    const w = await loadFixture(finalLogFixture);
    // The other account submits the applicant's receipt (front-running or replay for itself).
    await expect(w.admit(0, w.other))
      .to.be.revertedWithCustomError(w.gate, "NotYourRequest")
      .withArgs(w.requester.address, w.other.address);
    // The applicant submits the other account's receipt.
    await expect(w.admit(1, w.requester))
      .to.be.revertedWithCustomError(w.gate, "NotYourRequest")
      .withArgs(w.other.address, w.requester.address);
    // A request rewritten to name the applicant: no longer the request the receipt answers.
    await expect(
      w.admit(1, w.requester, { request: { ...w.requests[1]!, payer: w.requester.address as Address } }),
    ).to.be.revertedWithCustomError(w.quietMode, "ReceiptRequestMismatch");
    expect(await w.gate.isAdmitted(w.requester.address)).to.equal(false);
    expect(await w.gate.isAdmitted(w.other.address)).to.equal(false);
  });

  it("refuses another output than the receipt's, another class, and an undecodable output; records nothing", async () => {
    const w = await loadFixture(finalLogFixture);
    const setosa = zkOutputBytes(0n);
    // The versicolor receipt with a setosa output: not the committed output.
    await expect(w.admit(2, w.requester, { output: setosa }))
      .to.be.revertedWithCustomError(w.gate, "OutputMismatch")
      .withArgs(w.receipts[2]!.receipt.outputHash, keccak256(setosa));
    await expect(w.admit(2)).to.be.revertedWithCustomError(w.gate, "ClassNotAccepted").withArgs(1n);
    await expect(w.admit(3)).to.be.revertedWithCustomError(w.gate, "ClassNotAccepted").withArgs(NO_CLASS);
    expect(await w.gate.isAdmitted(w.requester.address)).to.equal(false);
    // A rejection records nothing: the applicant's setosa receipt still admits it.
    await expect(w.admit(0)).to.emit(w.gate, "AdmittedQuiet");
  });

  it("refuses a receipt for another model version, even one the same operator committed", async () => {
    const w = await loadFixture(quietGateFixture);
    const request = await signedRequest(w, w.plainModelId, SAMPLE.setosa);
    const r = await operatorReceipt(w, request, 0n, await honestOutput(w, w.plainModelId, SAMPLE.setosa));
    const batch = await commit(w, [r.receipt]);
    await finalize([request]);
    await expect(
      w.gate
        .connect(w.requester)
        .admitQuiet(r.receipt, request, batch.index, batch.fields, batch.proof(0), r.output),
    )
      .to.be.revertedWithCustomError(w.gate, "WrongModel")
      .withArgs(w.zkModelId, w.plainModelId);
    // The gate on that version (no circuit: 3 float32 logits) admits with it.
    expect(await w.plainGate.quietOutputIsClass()).to.equal(false);
    await expect(
      w.plainGate
        .connect(w.requester)
        .admitQuiet(r.receipt, request, batch.index, batch.fields, batch.proof(0), r.output),
    )
      .to.emit(w.plainGate, "AdmittedQuiet")
      .withArgs(w.requester.address, w.operator.address, 0n);
  });

  it("refuses a receipt before its challenge window ends, a late batch, wrong batch fields and a wrong proof", async () => {
    const w = await loadFixture(quietGateFixture);
    const request = await signedRequest(w, w.zkModelId, SAMPLE.setosa);
    const r = await operatorReceipt(w, request, 0n, await honestOutput(w, w.zkModelId, SAMPLE.setosa));
    const other = await signedRequest(w, w.zkModelId, SAMPLE.setosa, "other");
    const r1 = await operatorReceipt(w, other, 1n, await honestOutput(w, w.zkModelId, SAMPLE.setosa));
    const batch = await commit(w, [r.receipt, r1.receipt]);
    const admit = (fields = batch.fields, proof = batch.proof(0), index = batch.index) =>
      w.gate.connect(w.requester).admitQuiet(r.receipt, request, index, fields, proof, r.output);
    const finalAt = request.deadline + commitWindow + challengeWindow;
    await expect(admit()).to.be.revertedWithCustomError(w.quietMode, "NotFinal").withArgs(finalAt);
    // Mined at the challenge deadline's last second: still open to challenges, so not final.
    await networkHelpers.time.setNextBlockTimestamp(finalAt);
    await expect(admit()).to.be.revertedWithCustomError(w.quietMode, "NotFinal").withArgs(finalAt);
    await expect(admit({ ...batch.fields, committedAt: batch.fields.committedAt + 1n }))
      .to.be.revertedWithCustomError(w.quietMode, "UnknownBatch")
      .withArgs(w.operator.address, batch.index);
    await expect(admit(batch.fields, batch.proof(0), batch.index + 1n)).to.be.revertedWithCustomError(
      w.quietMode,
      "UnknownBatch",
    );
    await expect(admit(batch.fields, batch.proof(1))).to.be.revertedWithCustomError(
      w.quietMode,
      "InvalidLogProof",
    );
    await expect(admit(batch.fields, [])).to.be.revertedWithCustomError(w.quietMode, "InvalidLogProof");
    await networkHelpers.time.increaseTo(finalAt + 1n);
    await expect(admit()).to.emit(w.gate, "AdmittedQuiet");

    // A receipt committed after its commit deadline never becomes acceptable (it is an omission).
    const late = await signedRequest(w, w.zkModelId, SAMPLE.setosa, "other", {
      index: 1n,
      cumulative: 2n * MODEL_FEE,
    });
    const rLate = await operatorReceipt(w, late, 2n, await honestOutput(w, w.zkModelId, SAMPLE.setosa));
    await networkHelpers.time.increaseTo(late.deadline + commitWindow + 1n);
    const lateBatch = await commit(w, [rLate.receipt]);
    await finalize([late]);
    await expect(
      w.gate
        .connect(w.other)
        .admitQuiet(rLate.receipt, late, lateBatch.index, lateBatch.fields, lateBatch.proof(0), rLate.output),
    ).to.be.revertedWithCustomError(w.quietMode, "BatchCommittedLate");
  });

  it("refuses a receipt struck by a proven wrong output (real Groth16 proof), even once past its window", async () => {
    const w = await loadFixture(quietGateFixture);
    // The cheat: the operator claims setosa for a versicolor's measurements.
    const request = await signedRequest(w, w.zkModelId, SAMPLE.versicolor);
    const claimed = zkOutputBytes(BigInt(SETOSA));
    expect(await honestOutput(w, w.zkModelId, SAMPLE.versicolor)).to.not.equal(claimed);
    const r = await operatorReceipt(w, request, 0n, claimed);
    const quantizedInput = quantizeInput(iris.features[SAMPLE.versicolor]!, w.quantized);
    const binding = await w.quietMode.quietBinding(w.operator.address, 0n, w.reporter.address);
    const proven = await prove(circuitInput(w.quantized, quantizedInput, binding));
    const { output, proof } = settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
    await expect(
      w.quietMode.connect(w.reporter).challengeOutput(r.receipt, request, r.signature, output, proof),
    ).to.emit(w.quietMode, "ReceiptStruck");
    const batch = await commit(w, [r.receipt]);
    await finalize([request]);
    expect(await w.operators.isEligible(w.operator.address)).to.equal(true);
    await expect(
      w.gate
        .connect(w.requester)
        .admitQuiet(r.receipt, request, batch.index, batch.fields, batch.proof(0), claimed),
    )
      .to.be.revertedWithCustomError(w.quietMode, "ReceiptIsStruck")
      .withArgs(w.operator.address, 0n);
    expect(await w.gate.isAdmitted(w.requester.address)).to.equal(false);
  });

  it("refuses receipts of an account that is not an eligible operator: never registered, or slashed below the minimum", async () => {
    const w = await loadFixture(quietGateFixture);
    // Anyone can keep a log in QuietMode: a stranger fabricates a setosa "receipt" for the applicant and commits it.
    const request = await signedRequest(w, w.zkModelId, SAMPLE.virginica, "requester", {
      operator: w.other.address as Address,
    });
    const fake = await operatorReceipt(w, request, 0n, zkOutputBytes(BigInt(SETOSA)));
    const batch = await commit(w, [fake.receipt], w.other);
    await finalize([request]);
    await expect(
      w.gate
        .connect(w.requester)
        .admitQuiet(fake.receipt, request, batch.index, batch.fields, batch.proof(0), fake.output),
    )
      .to.be.revertedWithCustomError(w.gate, "OperatorNotEligible")
      .withArgs(w.other.address);

    // The real operator, once its stake is below the minimum, no longer vouches for its receipts here.
    const honest = await signedRequest(w, w.zkModelId, SAMPLE.setosa);
    const r = await operatorReceipt(w, honest, 0n, await honestOutput(w, w.zkModelId, SAMPLE.setosa));
    const real = await commit(w, [r.receipt]);
    await finalize([honest]);
    const stake = (await w.operators.getOperator(w.operator.address)).stake;
    await w.operators.connect(w.operator).unbond(stake);
    const admit = () =>
      w.gate
        .connect(w.requester)
        .admitQuiet(r.receipt, honest, real.index, real.fields, real.proof(0), r.output);
    await expect(admit())
      .to.be.revertedWithCustomError(w.gate, "OperatorNotEligible")
      .withArgs(w.operator.address);
    await w.token.connect(w.operator).approve(await w.operators.getAddress(), stake);
    await w.operators.connect(w.operator).stake(stake);
    await expect(admit()).to.emit(w.gate, "AdmittedQuiet");
  });

  it("is off unless QUIET is accepted; applications cannot ask for QUIET; QUIET needs a live quiet-mode contract", async () => {
    const w = await loadFixture(finalLogFixture);
    const zkOnly = await deployGate(w, w.zkModelId, VerificationMode.Zk);
    expect(await zkOnly.quietMode()).to.equal(ethers.ZeroAddress);
    await expect(
      zkOnly
        .connect(w.requester)
        .admitQuiet(
          w.receipts[0]!.receipt,
          w.requests[0]!,
          w.batch.index,
          w.batch.fields,
          w.batch.proof(0),
          w.receipts[0]!.output,
        ),
    )
      .to.be.revertedWithCustomError(zkOnly, "ModeNotAccepted")
      .withArgs(QUIET_MODE_BIT, VerificationMode.Zk);
    // Quiet results come as receipts, never as settlement requests.
    await expect(w.gate.connect(w.requester).submitApplication(w.requests[0]!.inputHash, QUIET_MODE_BIT, ""))
      .to.be.revertedWithCustomError(w.gate, "ModeNotAccepted")
      .withArgs(QUIET_MODE_BIT, VerificationMode.Zk | QUIET_MODE_BIT);
    // A model that does not allow quiet mode cannot back a quiet gate.
    const factory = await ethers.getContractFactory("IrisGatedAllowlist");
    await expect(deployGate(w, w.modelId, QUIET_MODE_BIT)).to.be.revertedWithCustomError(
      factory,
      "InvalidConfig",
    );
    // Once governance retires quiet mode, no new quiet gate (a deployed one keeps the contract it was built with).
    await w.settlement.connect(w.governance).retireMode(QUIET_MODE_BIT);
    await expect(deployGate(w, w.zkModelId, QUIET_MODE_BIT)).to.be.revertedWithCustomError(
      factory,
      "InvalidConfig",
    );
  });
});
