import { expect } from "chai";
import { keccak256, type Address, type Hex } from "viem";
import { irisRegistration } from "../src/devnet/iris.js";
import { loadIris } from "../src/model/iris.js";
import {
  fieldToBytes32,
  hashRequest,
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
  prove,
  quantizeInput,
  settlementProof,
  toSolidityCalldata,
  weightCommitment,
  type QuantizedMlp,
} from "../src/zk/index.js";
import "./helpers/release-zk.js";
import {
  codeHashOf,
  ethers,
  fulfilSigned,
  MODEL_FEE,
  networkHelpers,
  openPrepaid,
  PROTOCOL_FEE_BPS,
  protocolFixture,
  registerModel,
  ROYALTY_BPS,
  signResult,
  STATUS,
  type Protocol,
} from "./helpers/fixture.js";

const loadFixture = networkHelpers.loadFixture.bind(networkHelpers);
const iris = loadIris();
const { Signature: SIG, Zk: ZK } = VerificationMode;

interface ZkWorld extends Protocol {
  zkModelId: Hex;
  verifier: Address;
  quantized: QuantizedMlp;
  zkModeAddress: Address;
}

/** The protocol with the real Iris model registered with its Groth16 verifier (both modes allowed). */
async function zkFixture(): Promise<ZkWorld> {
  const p = await protocolFixture();
  const verifier = (await (await ethers.deployContract("IrisMlpVerifier")).getAddress()) as Address;
  const registration = await irisRegistration({
    fee: MODEL_FEE,
    royaltyBps: ROYALTY_BPS,
    zkVerifier: verifier,
    name: "iris-mlp-zk",
  });
  expect(registration.spec.zkVerifierCodeHash).to.equal(await codeHashOf(verifier));
  const zkModelId = await registerModel(p.models, p.modelOwner, registration.spec);
  return {
    ...p,
    zkModelId,
    verifier,
    quantized: registration.quantized,
    zkModeAddress: (await p.zkMode.getAddress()) as Address,
  };
}

async function commitInput(w: ZkWorld, features: readonly number[]): Promise<Hex> {
  return fieldToBytes32(await inputCommitment(quantizeInput(features, w.quantized), w.quantized.params));
}

async function openZk(w: ZkWorld, sample = 0, overrides: Parameters<typeof openPrepaid>[1] = {}) {
  return openPrepaid(w, {
    modelId: w.zkModelId,
    mode: ZK,
    inputHash: await commitInput(w, iris.features[sample]!),
    ...overrides,
  });
}

/**
 * Prove `features` under `model`, bound to (chain, zk mode, requestId, submitter), and return the `fulfillZk`
 * arguments. `bind` overrides what the proof is bound to (another chain or zk mode contract).
 */
async function proofFor(
  w: ZkWorld,
  features: readonly number[],
  requestId: bigint,
  submitter: Address,
  options: { model?: QuantizedMlp; chainId?: bigint; zkMode?: Address } = {},
) {
  const zk = await buildZkInference(options.model ?? w.quantized, features, {
    chainId: options.chainId ?? w.chainId,
    zkMode: options.zkMode ?? w.zkModeAddress,
    requestId,
    submitter,
  });
  const { proof, publicSignals } = await prove(zk.input);
  return { ...settlementProof(toSolidityCalldata(proof, publicSignals)), label: zk.result.label };
}

type ProofArgs = Awaited<ReturnType<typeof proofFor>>;

function fulfil(
  w: ZkWorld,
  from: typeof w.operator,
  opened: { request: InferenceRequest; requestId: bigint },
  args: Pick<ProofArgs, "output" | "proof">,
) {
  return w.zkMode.connect(from).fulfillZk(opened.request, opened.requestId, args.output, args.proof);
}

describe("ZkMode (real Groth16 proofs, kept setup artifacts)", function () {
  this.timeout(120_000);

  it("settles a valid proof exactly like the signature path: same split, events and status", async () => {
    const w = await loadFixture(zkFixture);
    const opened = await openZk(w);
    const args = await proofFor(w, iris.features[0]!, opened.requestId, w.operator.address as Address);
    expect(args.label).to.equal(iris.labels[0]);
    const output = zkOutputBytes(args.output);
    await expect(fulfil(w, w.operator, opened, args))
      .to.emit(w.settlement, "RequestFulfilled")
      .withArgs(
        opened.requestId,
        w.operator.address,
        w.operator.address,
        ethers.ZeroAddress,
        keccak256(output),
        output,
        "",
      );
    const split = splitFee(MODEL_FEE, ROYALTY_BPS, PROTOCOL_FEE_BPS);
    expect(await w.settlement.balances(w.operator.address)).to.equal(split.operator);
    expect(await w.settlement.balances(w.modelOwner.address)).to.equal(split.royalty);
    expect(await w.settlement.protocolFeesOf(ZK)).to.equal(split.protocol);
    expect(await w.settlement.protocolFeesOf(SIG)).to.equal(0n);
    expect(await w.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Fulfilled);
    // Anyone can settle with a proof: no stake is needed, the proof carries the trust.
    const second = await openZk(w, 60);
    const byStranger = await proofFor(w, iris.features[60]!, second.requestId, w.reporter.address as Address);
    await expect(fulfil(w, w.reporter, second, byStranger)).to.emit(w.settlement, "RequestFulfilled");
    expect(await w.settlement.balances(w.reporter.address)).to.equal(split.operator);
    expect(await w.token.balanceOf(await w.settlement.getAddress())).to.equal(await w.settlement.totalOwed());
  });

  it("delivers the zk result to a callback consumer", async () => {
    const w = await loadFixture(zkFixture);
    const consumer = await ethers.deployContract("TestConsumer");
    const opened = await openZk(w, 120, {
      callback: (await consumer.getAddress()) as Address,
      callbackGasLimit: 200_000,
    });
    const args = await proofFor(w, iris.features[120]!, opened.requestId, w.operator.address as Address);
    await fulfil(w, w.operator, opened, args);
    expect(await consumer.lastOutput()).to.equal(zkOutputBytes(args.output));
    expect(await consumer.lastRequestId()).to.equal(opened.requestId);
  });

  it("rejects a proof for another request, submitter, output or input; the honest proof still settles", async () => {
    const w = await loadFixture(zkFixture);
    const a = await openZk(w, 0);
    const b = await openZk(w, 0); // same input, another request
    const args = await proofFor(w, iris.features[0]!, a.requestId, w.operator.address as Address);
    // Another request: the binding differs.
    await expect(fulfil(w, w.operator, b, args)).to.be.revertedWithCustomError(w.zkMode, "InvalidProof");
    // Another submitter (a copy from the mempool): the binding differs.
    await expect(fulfil(w, w.other, a, args)).to.be.revertedWithCustomError(w.zkMode, "InvalidProof");
    // Another output than the one proven.
    await expect(
      fulfil(w, w.operator, a, { ...args, output: (args.output + 1n) % 3n }),
    ).to.be.revertedWithCustomError(w.zkMode, "InvalidProof");
    // Another input: a valid proof, for this request and submitter, of a different sample.
    const other = await proofFor(w, iris.features[100]!, a.requestId, w.operator.address as Address);
    await expect(fulfil(w, w.operator, a, other)).to.be.revertedWithCustomError(w.zkMode, "InvalidProof");
    // Nothing was consumed.
    await expect(fulfil(w, w.operator, a, args)).to.emit(w.settlement, "RequestFulfilled");
  });

  it("rejects a proof bound to another chain or another zk mode contract (same request id and submitter)", async () => {
    const w = await loadFixture(zkFixture);
    const opened = await openZk(w, 0);
    const submitter = w.operator.address as Address;
    for (const bind of [{ chainId: w.chainId + 1n }, { zkMode: w.verifier }]) {
      const args = await proofFor(w, iris.features[0]!, opened.requestId, submitter, bind);
      await expect(fulfil(w, w.operator, opened, args)).to.be.revertedWithCustomError(
        w.zkMode,
        "InvalidProof",
      );
    }
    expect(await w.settlement.requestStatus(opened.requestId)).to.equal(STATUS.Pending);
  });

  it("rejects a proof made with other weights (another model)", async () => {
    const w = await loadFixture(zkFixture);
    const opened = await openZk(w, 0);
    const [first, ...rest] = w.quantized.layers;
    const tampered: QuantizedMlp = {
      ...w.quantized,
      layers: [{ ...first!, bias: first!.bias.map((b, i) => (i === 0 ? b + 1n : b)) }, ...rest],
    };
    expect(await weightCommitment(tampered)).to.not.equal(await weightCommitment(w.quantized));
    const args = await proofFor(w, iris.features[0]!, opened.requestId, w.operator.address as Address, {
      model: tampered,
    });
    await expect(fulfil(w, w.operator, opened, args)).to.be.revertedWithCustomError(w.zkMode, "InvalidProof");
  });

  it("rejects a tampered proof and an output at or above the field modulus", async () => {
    const w = await loadFixture(zkFixture);
    const opened = await openZk(w, 0);
    const args = await proofFor(w, iris.features[0]!, opened.requestId, w.operator.address as Address);
    const tamperedA = {
      ...args,
      proof: { ...args.proof, a: [args.proof.a[0], args.proof.a[1] + 1n] as [bigint, bigint] },
    };
    await expect(fulfil(w, w.operator, opened, tamperedA)).to.be.revertedWithCustomError(
      w.zkMode,
      "InvalidProof",
    );
    const swappedC = {
      ...args,
      proof: { ...args.proof, c: [args.proof.c[1], args.proof.c[0]] as [bigint, bigint] },
    };
    await expect(fulfil(w, w.operator, opened, swappedC)).to.be.revertedWithCustomError(
      w.zkMode,
      "InvalidProof",
    );
    for (const output of [SNARK_SCALAR_FIELD, SNARK_SCALAR_FIELD + args.output, 2n ** 256n - 1n]) {
      await expect(fulfil(w, w.operator, opened, { ...args, output }))
        .to.be.revertedWithCustomError(w.zkMode, "PublicSignalOutOfField")
        .withArgs(0, output);
    }
    await expect(fulfil(w, w.operator, opened, args)).to.emit(w.settlement, "RequestFulfilled");
  });

  it("refuses a zk request whose input commitment is not a field element", async () => {
    const w = await loadFixture(zkFixture);
    const inputHash: Hex = `0x${SNARK_SCALAR_FIELD.toString(16)}`;
    await expect(openZk(w, 0, { inputHash }))
      .to.be.revertedWithCustomError(w.models, "InputNotInField")
      .withArgs(inputHash);
  });

  it("refuses a proof on a request that requires a signature, and a signature on one that requires a proof", async () => {
    const w = await loadFixture(zkFixture);
    // A signature request whose input hash happens to be the sample's Poseidon commitment: a valid proof exists.
    const signed = await openPrepaid(w, {
      modelId: w.zkModelId,
      inputHash: await commitInput(w, iris.features[0]!),
    });
    const args = await proofFor(w, iris.features[0]!, signed.requestId, w.operator.address as Address);
    await expect(fulfil(w, w.operator, signed, args))
      .to.be.revertedWithCustomError(w.settlement, "WrongMode")
      .withArgs(signed.requestId, SIG, w.zkModeAddress);
    const zk = await openZk(w, 0);
    await expect(fulfilSigned(w, zk, await signResult(w, zk.requestId, zk.request)))
      .to.be.revertedWithCustomError(w.settlement, "WrongMode")
      .withArgs(zk.requestId, ZK, await w.signatureMode.getAddress());
    expect(await w.settlement.requestStatus(signed.requestId)).to.equal(STATUS.Pending);
    expect(await w.settlement.requestStatus(zk.requestId)).to.equal(STATUS.Pending);
  });

  it("honours operator assignment, revocation, deadline and single settlement", async () => {
    const w = await loadFixture(zkFixture);
    const assigned = await openZk(w, 0, { operator: w.other.address as Address });
    const args = await proofFor(w, iris.features[0]!, assigned.requestId, w.operator.address as Address);
    await expect(fulfil(w, w.operator, assigned, args))
      .to.be.revertedWithCustomError(w.settlement, "OperatorNotAssigned")
      .withArgs(assigned.requestId, w.other.address);

    const open = await openZk(w, 0);
    const good = await proofFor(w, iris.features[0]!, open.requestId, w.operator.address as Address);
    // Calldata that is not the committed request.
    await expect(fulfil(w, w.operator, { ...open, request: { ...open.request, fee: 0n } }, good))
      .to.be.revertedWithCustomError(w.settlement, "RequestMismatch")
      .withArgs(open.requestId);
    await fulfil(w, w.operator, open, good);
    await expect(fulfil(w, w.operator, open, good))
      .to.be.revertedWithCustomError(w.settlement, "RequestNotPending")
      .withArgs(open.requestId, STATUS.Fulfilled);

    const late = await openZk(w, 0);
    const lateArgs = await proofFor(w, iris.features[0]!, late.requestId, w.operator.address as Address);
    const revokedToo = await openZk(w, 0);
    const revokedArgs = await proofFor(
      w,
      iris.features[0]!,
      revokedToo.requestId,
      w.operator.address as Address,
    );
    await w.models.connect(w.modelOwner).setStatus(w.zkModelId, 3);
    await expect(fulfil(w, w.operator, revokedToo, revokedArgs))
      .to.be.revertedWithCustomError(w.settlement, "ModelRevoked")
      .withArgs(w.zkModelId);
    await networkHelpers.time.increaseTo(late.request.deadline + 1n);
    await expect(fulfil(w, w.operator, late, lateArgs))
      .to.be.revertedWithCustomError(w.settlement, "RequestExpired")
      .withArgs(late.requestId, late.request.deadline);
  });

  it("checks the verifier's code against the pinned hash before every proof", async () => {
    const w = await loadFixture(zkFixture);
    const opened = await openZk(w, 0);
    const args = await proofFor(w, iris.features[0]!, opened.requestId, w.operator.address as Address);
    const original = await ethers.provider.getCode(w.verifier);
    const pinned = await codeHashOf(w.verifier);
    expect((await w.models.zkBindingOf(w.zkModelId))[2]).to.equal(pinned);
    // Any change to the code, even one that keeps it a working verifier (its metadata byte flipped).
    const bytes = ethers.getBytes(original);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await networkHelpers.setCode(w.verifier, ethers.hexlify(bytes));
    await expect(fulfil(w, w.operator, opened, args))
      .to.be.revertedWithCustomError(w.zkMode, "VerifierCodeChanged")
      .withArgs(w.verifier, pinned, await codeHashOf(w.verifier));
    await networkHelpers.setCode(w.verifier, original);
    await expect(fulfil(w, w.operator, opened, args)).to.emit(w.settlement, "RequestFulfilled");
    expect(await w.settlement.isCommitted(opened.requestId, hashRequest(opened.request))).to.equal(true);
  });

  it("computes the binding exactly as the TypeScript definition", async () => {
    const w = await loadFixture(zkFixture);
    for (const [requestId, who] of [
      [1n, w.operator.address],
      [2n ** 64n, w.other.address],
    ] as const) {
      expect(await w.zkMode.zkBinding(requestId, who)).to.equal(
        zkBinding({ chainId: w.chainId, zkMode: w.zkModeAddress, requestId, submitter: who as Address }),
      );
    }
    expect(
      zkBinding({
        chainId: w.chainId,
        zkMode: w.zkModeAddress,
        requestId: 1n,
        submitter: w.operator.address as Address,
      }),
    ).to.be.below(2n ** 253n);
  });
});
