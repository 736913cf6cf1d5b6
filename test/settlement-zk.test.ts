import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { keccak256, type Address, type Hex } from "viem";
import { loadIris } from "../src/model/iris.js";
import { sha256Hex } from "../src/model/hash.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../src/model/runtime.js";
import {
  fieldToBytes32,
  SNARK_SCALAR_FIELD,
  splitFee,
  VerificationMode,
  zkBinding,
  zkOutputBytes,
  type InferenceRequest,
} from "../src/protocol/index.js";
import {
  buildZkInference,
  inputCommitment,
  IRIS_ZK_PARAMS,
  prove,
  quantizeInput,
  quantizeOnnx,
  toSolidityCalldata,
  weightCommitment,
  type QuantizedMlp,
} from "../src/zk/index.js";
import "./helpers/release-zk.js";
import {
  ethers,
  MODEL_FEE,
  modelSpec,
  networkHelpers,
  openPrepaid,
  PROTOCOL_FEE_BPS,
  protocolFixture,
  registerModel,
  ROYALTY_BPS,
  signResult,
  type Protocol,
} from "./helpers/fixture.js";

const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);
const STATUS_FULFILLED = 2;
const iris = loadIris();
const onnx = new Uint8Array(await readFile(new URL("../models/iris-mlp.onnx", import.meta.url)));
const quantized = quantizeOnnx(onnx, IRIS_ZK_PARAMS);

interface ZkWorld extends Protocol {
  zkModelId: Hex;
  verifier: Address;
}

async function zkFixture(): Promise<ZkWorld> {
  const p = await protocolFixture();
  const verifier = await ethers.deployContract("IrisMlpVerifier");
  const zkModelId = await registerModel(
    p.models,
    p.modelOwner,
    modelSpec({
      name: "iris-mlp-zk",
      fileHash: sha256Hex(onnx),
      runtimeHash: runtimeHash(DEFAULT_RUNTIME),
      zkCommitment: fieldToBytes32(await weightCommitment(quantized)),
      zkVerifier: (await verifier.getAddress()) as Address,
      modes: VerificationMode.Signature | VerificationMode.Zk,
    }),
  );
  return { ...p, zkModelId, verifier: (await verifier.getAddress()) as Address };
}

async function commitInput(features: readonly number[], model: QuantizedMlp = quantized): Promise<Hex> {
  return fieldToBytes32(await inputCommitment(quantizeInput(features, model), model.params));
}

async function openZk(p: ZkWorld, sample = 0, overrides: Parameters<typeof openPrepaid>[1] = {}) {
  return openPrepaid(p, {
    modelId: p.zkModelId,
    mode: VerificationMode.Zk,
    inputHash: await commitInput(iris.features[sample]!),
    ...overrides,
  });
}

/** Prove `features` under `model` for (requestId, submitter) and return the on-chain arguments. */
async function proofFor(
  features: readonly number[],
  requestId: bigint,
  submitter: Address,
  model = quantized,
) {
  const zk = await buildZkInference(model, features, requestId, submitter);
  const { proof, publicSignals } = await prove(zk.input);
  const calldata = toSolidityCalldata(proof, publicSignals);
  return {
    output: calldata.pubSignals[0],
    proof: { a: calldata.pA, b: calldata.pB, c: calldata.pC },
    label: zk.result.label,
  };
}

type ProofArgs = Awaited<ReturnType<typeof proofFor>>;

function fulfil(
  p: ZkWorld,
  from: typeof p.operator,
  request: InferenceRequest,
  requestId: bigint,
  args: ProofArgs,
) {
  return p.settlement.connect(from).fulfillZk(request, requestId, args.output, {
    a: [...args.proof.a],
    b: [[...args.proof.b[0]], [...args.proof.b[1]]],
    c: [...args.proof.c],
  });
}

describe("InferenceSettlement: zk path (real Groth16 proofs, kept setup artifacts)", function () {
  this.timeout(120_000);

  it("settles a valid proof exactly like the signature path: same split, events and status", async () => {
    const p = await loadFixture(zkFixture);
    const { requestId, request } = await openZk(p);
    const args = await proofFor(iris.features[0]!, requestId, p.operator.address as Address);
    expect(args.label).to.equal(iris.labels[0]);
    const output = zkOutputBytes(args.output);
    await expect(fulfil(p, p.operator, request, requestId, args))
      .to.emit(p.settlement, "RequestFulfilled")
      .withArgs(
        requestId,
        p.operator.address,
        p.operator.address,
        ethers.ZeroAddress,
        keccak256(output),
        output,
        "",
      );
    const split = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS);
    expect(await p.settlement.balances(p.operator.address)).to.equal(split.operator);
    expect(await p.settlement.balances(p.modelOwner.address)).to.equal(split.royalty);
    expect(await p.settlement.protocolFees()).to.equal(split.protocol);
    expect(await p.settlement.requestStatus(requestId)).to.equal(STATUS_FULFILLED);
    // Anyone can settle with a proof: no stake is needed, the proof carries the trust.
    const second = await openZk(p, 60);
    const byStranger = await proofFor(iris.features[60]!, second.requestId, p.reporter.address as Address);
    await expect(fulfil(p, p.reporter, second.request, second.requestId, byStranger)).to.emit(
      p.settlement,
      "RequestFulfilled",
    );
    expect(await p.settlement.balances(p.reporter.address)).to.equal(split.operator);
  });

  it("delivers the zk result to a callback consumer", async () => {
    const p = await loadFixture(zkFixture);
    const consumer = await ethers.deployContract("TestConsumer");
    const { requestId, request } = await openZk(p, 120, {
      callback: (await consumer.getAddress()) as Address,
      callbackGasLimit: 200_000,
    });
    const args = await proofFor(iris.features[120]!, requestId, p.operator.address as Address);
    await fulfil(p, p.operator, request, requestId, args);
    expect(await consumer.lastOutput()).to.equal(zkOutputBytes(args.output));
    expect(await consumer.lastRequestId()).to.equal(requestId);
  });

  it("rejects a proof for another input, another request, another submitter, another output", async () => {
    const p = await loadFixture(zkFixture);
    const a = await openZk(p, 0);
    const b = await openZk(p, 0); // same input, another request
    const args = await proofFor(iris.features[0]!, a.requestId, p.operator.address as Address);
    // Another request: the binding differs.
    await expect(fulfil(p, p.operator, b.request, b.requestId, args)).to.be.revertedWithCustomError(
      p.settlement,
      "InvalidProof",
    );
    // Another submitter (a copy from the mempool): the binding differs.
    await expect(fulfil(p, p.other, a.request, a.requestId, args)).to.be.revertedWithCustomError(
      p.settlement,
      "InvalidProof",
    );
    // Another output than the one proven.
    await expect(
      fulfil(p, p.operator, a.request, a.requestId, { ...args, output: (args.output + 1n) % 3n }),
    ).to.be.revertedWithCustomError(p.settlement, "InvalidProof");
    // Another input: a valid proof, for this request and submitter, of a different sample.
    const other = await proofFor(iris.features[100]!, a.requestId, p.operator.address as Address);
    await expect(fulfil(p, p.operator, a.request, a.requestId, other)).to.be.revertedWithCustomError(
      p.settlement,
      "InvalidProof",
    );
    // The honest proof still works afterwards: nothing was consumed.
    await expect(fulfil(p, p.operator, a.request, a.requestId, args)).to.emit(
      p.settlement,
      "RequestFulfilled",
    );
  });

  it("rejects a proof made with other weights (another model)", async () => {
    const p = await loadFixture(zkFixture);
    const { requestId, request } = await openZk(p, 0);
    const [first, ...rest] = quantized.layers;
    const tampered: QuantizedMlp = {
      ...quantized,
      layers: [{ ...first!, bias: first!.bias.map((b, i) => (i === 0 ? b + 1n : b)) }, ...rest],
    };
    expect(await weightCommitment(tampered)).to.not.equal(await weightCommitment(quantized));
    const args = await proofFor(iris.features[0]!, requestId, p.operator.address as Address, tampered);
    await expect(fulfil(p, p.operator, request, requestId, args)).to.be.revertedWithCustomError(
      p.settlement,
      "InvalidProof",
    );
  });

  it("rejects a tampered proof and an output at or above the field modulus", async () => {
    const p = await loadFixture(zkFixture);
    const { requestId, request } = await openZk(p, 0);
    const args = await proofFor(iris.features[0]!, requestId, p.operator.address as Address);
    const tamperedA = {
      ...args,
      proof: { ...args.proof, a: [args.proof.a[0], args.proof.a[1] + 1n] as [bigint, bigint] },
    };
    await expect(fulfil(p, p.operator, request, requestId, tamperedA)).to.be.revertedWithCustomError(
      p.settlement,
      "InvalidProof",
    );
    const swappedC = {
      ...args,
      proof: { ...args.proof, c: [args.proof.c[1], args.proof.c[0]] as [bigint, bigint] },
    };
    await expect(fulfil(p, p.operator, request, requestId, swappedC)).to.be.revertedWithCustomError(
      p.settlement,
      "InvalidProof",
    );
    for (const output of [SNARK_SCALAR_FIELD, SNARK_SCALAR_FIELD + args.output, 2n ** 256n - 1n]) {
      await expect(fulfil(p, p.operator, request, requestId, { ...args, output }))
        .to.be.revertedWithCustomError(p.settlement, "PublicSignalOutOfField")
        .withArgs(0, output);
    }
  });

  it("refuses a zk-mode request whose input commitment is not a field element", async () => {
    const p = await loadFixture(zkFixture);
    const inputHash: Hex = `0x${SNARK_SCALAR_FIELD.toString(16)}`;
    await expect(openZk(p, 0, { inputHash }))
      .to.be.revertedWithCustomError(p.settlement, "InputNotInField")
      .withArgs(inputHash);
  });

  it("refuses a proof on a request that requires a signature, and a signature on one that requires a proof", async () => {
    const p = await loadFixture(zkFixture);
    const signed = await openPrepaid(p, {
      modelId: p.zkModelId,
      inputHash: await commitInput(iris.features[0]!),
    });
    const args = await proofFor(iris.features[0]!, signed.requestId, p.operator.address as Address);
    await expect(fulfil(p, p.operator, signed.request, signed.requestId, args))
      .to.be.revertedWithCustomError(p.settlement, "WrongMode")
      .withArgs(signed.requestId, VerificationMode.Signature);
    const zk = await openZk(p, 0);
    const { result, signature } = await signResult(p, zk.requestId, zk.request);
    await expect(p.settlement.fulfillSigned(zk.request, zk.requestId, result, signature))
      .to.be.revertedWithCustomError(p.settlement, "WrongMode")
      .withArgs(zk.requestId, VerificationMode.Zk);
  });

  it("honours operator assignment, revocation, deadline and single settlement", async () => {
    const p = await loadFixture(zkFixture);
    const assigned = await openZk(p, 0, { operator: p.other.address as Address });
    const args = await proofFor(iris.features[0]!, assigned.requestId, p.operator.address as Address);
    await expect(fulfil(p, p.operator, assigned.request, assigned.requestId, args))
      .to.be.revertedWithCustomError(p.settlement, "OperatorNotAssigned")
      .withArgs(assigned.requestId, p.other.address);

    const open = await openZk(p, 0);
    const good = await proofFor(iris.features[0]!, open.requestId, p.operator.address as Address);
    await fulfil(p, p.operator, open.request, open.requestId, good);
    await expect(fulfil(p, p.operator, open.request, open.requestId, good))
      .to.be.revertedWithCustomError(p.settlement, "RequestNotPending")
      .withArgs(open.requestId, STATUS_FULFILLED);

    const late = await openZk(p, 0);
    const lateArgs = await proofFor(iris.features[0]!, late.requestId, p.operator.address as Address);
    const revokedToo = await openZk(p, 0);
    const revokedArgs = await proofFor(
      iris.features[0]!,
      revokedToo.requestId,
      p.operator.address as Address,
    );
    await p.models.connect(p.modelOwner).setStatus(p.zkModelId, 3);
    await expect(fulfil(p, p.operator, revokedToo.request, revokedToo.requestId, revokedArgs))
      .to.be.revertedWithCustomError(p.settlement, "ModelRevoked")
      .withArgs(p.zkModelId);
    await networkHelpers.time.increaseTo(late.request.deadline + 1n);
    await expect(fulfil(p, p.operator, late.request, late.requestId, lateArgs))
      .to.be.revertedWithCustomError(p.settlement, "RequestExpired")
      .withArgs(late.requestId, late.request.deadline);
  });

  it("computes the binding exactly as the TypeScript definition", async () => {
    const p = await loadFixture(zkFixture);
    for (const [id, who] of [
      [1n, p.operator.address],
      [2n ** 64n, p.other.address],
    ] as const) {
      expect(await p.settlement.zkBinding(id, who)).to.equal(zkBinding(id, who as Address));
    }
  });
});
