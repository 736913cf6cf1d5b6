/**
 * A real Groth16 proof for one Iris sample with the kept artifacts (circuits/build/): it verifies
 * off chain with the kept verification key and on chain with the generated IrisMlpVerifier, its
 * public signals are the ones src/zk predicts, and it fails for any tampered public signal.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { network } from "hardhat";
import { loadIris } from "../src/model/iris.js";
import { SNARK_SCALAR_FIELD, zkBinding, ZK_PUBLIC_SIGNALS } from "../src/protocol/zk.js";
import {
  buildZkInference,
  IRIS_ZK_PARAMS,
  loadVerificationKey,
  prove,
  releaseZk,
  quantizeOnnx,
  toSolidityCalldata,
  verifyOffchain,
  type Groth16VerificationKey,
  type ProvePhase,
  type ZkInferenceInput,
  type ZkProof,
} from "../src/zk/index.js";

const MODEL_PATH = fileURLToPath(new URL("../models/iris-mlp.onnx", import.meta.url));
const SUBMITTER = "0x70997970c51812dc3a010c7d01b20aa0b3dc79c8";
const REQUEST_ID = 42n;
/** What the proof is bound to besides the request and submitter: a chain and a `ZkMode` contract. */
const BINDING = { chainId: 31337n, zkMode: "0x5fbdb2315678afecb367f032d93f642f64180aa3" } as const;

const { ethers } = await network.create();

describe("zk prover: Iris MLP", function () {
  this.timeout(120_000);
  let vkey: Groth16VerificationKey;
  let zk: ZkInferenceInput;
  let proof: ZkProof;
  const phases: ProvePhase[] = [];

  before(async function () {
    vkey = await loadVerificationKey();
    const model = quantizeOnnx(new Uint8Array(await readFile(MODEL_PATH)), IRIS_ZK_PARAMS);
    const sample = loadIris().features[100]!; // a virginica
    zk = await buildZkInference(model, sample, { ...BINDING, requestId: REQUEST_ID, submitter: SUBMITTER });
    proof = await prove(zk.input, { onProgress: (p) => phases.push(p.phase) });
  });

  // snarkjs keeps bn128 worker threads alive; without this the test process never exits.
  after(async function () {
    await releaseZk();
  });

  it("proves with progress and the predicted public signals", function () {
    expect(phases).to.deep.equal(["witness", "proving", "done"]);
    expect(proof.publicSignals.map(BigInt)).to.deep.equal([...zk.publicSignals]);
    expect(zk.publicSignals[0]).to.equal(2n);
    expect(zk.publicSignals[3]).to.equal(
      zkBinding({ ...BINDING, requestId: REQUEST_ID, submitter: SUBMITTER }),
    );
    // Every part of the binding matters: another chain, zk mode contract, request or submitter gives another signal.
    const others = [
      { ...BINDING, chainId: 1n, requestId: REQUEST_ID, submitter: SUBMITTER },
      { ...BINDING, zkMode: SUBMITTER, requestId: REQUEST_ID, submitter: SUBMITTER },
      { ...BINDING, requestId: REQUEST_ID + 1n, submitter: SUBMITTER },
      { ...BINDING, requestId: REQUEST_ID, submitter: BINDING.zkMode },
    ] as const;
    for (const other of others) expect(zkBinding(other)).to.not.equal(zk.publicSignals[3]);
  });

  it("verifies off chain and fails for every tampered public signal", async function () {
    expect(await verifyOffchain(vkey, proof.publicSignals, proof.proof)).to.equal(true);
    for (let i = 0; i < ZK_PUBLIC_SIGNALS; i++) {
      const tampered = proof.publicSignals.map(BigInt);
      tampered[i] = (tampered[i]! + 1n) % SNARK_SCALAR_FIELD;
      expect(await verifyOffchain(vkey, tampered, proof.proof), `signal ${i}`).to.equal(false);
    }
  });

  it("verifies on chain with the generated IrisMlpVerifier", async function () {
    const verifier = await ethers.deployContract("IrisMlpVerifier");
    const { pA, pB, pC, pubSignals } = toSolidityCalldata(proof.proof, proof.publicSignals);
    expect(pB[0]).to.deep.equal([BigInt(proof.proof.pi_b[0][1]), BigInt(proof.proof.pi_b[0][0])]);
    const verify = verifier.getFunction("verifyProof");
    expect(await verify.staticCall(pA, pB, pC, pubSignals)).to.equal(true);
    // Whole-transaction gas of a verification (measured 238,786 with the optimizer settings of hardhat.config.ts).
    expect(await verify.estimateGas(pA, pB, pC, pubSignals)).to.be.below(260_000n);
    const other: typeof pubSignals = [
      pubSignals[0],
      pubSignals[1],
      pubSignals[2],
      zkBinding({
        ...BINDING,
        requestId: REQUEST_ID,
        submitter: "0x1111111111111111111111111111111111111111",
      }),
    ];
    expect(await verify.staticCall(pA, pB, pC, other)).to.equal(false);
    const swapped: typeof pB = [
      [pB[0][1], pB[0][0]],
      [pB[1][1], pB[1][0]],
    ];
    expect(await verify.staticCall(pA, swapped, pC, pubSignals)).to.equal(false);
  });
});
