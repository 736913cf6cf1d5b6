/**
 * The compiled Iris circuit (circuits/build/iris_mlp.wasm) against the TypeScript fixed-point
 * reference and commitments: every Iris sample, crafted accumulators at the floor-division
 * boundaries (also negative), extreme and random weights, and out-of-range values.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { loadIris } from "../src/model/iris.js";
import { SNARK_SCALAR_FIELD, zkBinding } from "../src/protocol/zk.js";
import {
  buildZkInference,
  calculateWitness,
  loadWitnessCalculator,
  circuitInput,
  fixedPointForward,
  floorDiv,
  fromField,
  inputCommitment,
  IRIS_ZK_ARTIFACTS,
  IRIS_ZK_PARAMS,
  IRIS_ZK_SIZES,
  packValues,
  poseidonChain,
  quantizeOnnx,
  quantizeValue,
  readSymbols,
  weightCommitment,
  type FixedPointResult,
  type WitnessCalculator,
  type QuantizedLayer,
  type QuantizedMlp,
} from "../src/zk/index.js";
import { mulberry32 } from "../src/model/prng.js";

const MODEL_PATH = fileURLToPath(new URL("../models/iris-mlp.onnx", import.meta.url));
const SUBMITTER = "0x70997970c51812dc3a010c7d01b20aa0b3dc79c8";
/** What a proof is bound to besides the request and submitter: a chain and a `ZkMode` contract (any will do here). */
const BINDING = { chainId: 31337n, zkMode: "0x5fbdb2315678afecb367f032d93f642f64180aa3" } as const;
const { fracBits: F, actBits: A } = IRIS_ZK_PARAMS;
const SCALE = 1n << BigInt(F);

/** A model of the Iris shape with chosen integer weights (row-major) and biases. */
function modelOf(layers: { weight: bigint[]; bias: bigint[] }[]): QuantizedMlp {
  return {
    params: IRIS_ZK_PARAMS,
    sizes: IRIS_ZK_SIZES,
    layers: layers.map((layer, l): QuantizedLayer => ({
      inSize: IRIS_ZK_SIZES[l] as number,
      outSize: IRIS_ZK_SIZES[l + 1] as number,
      weight: layer.weight,
      bias: layer.bias,
    })),
  };
}

function zeros(n: number): bigint[] {
  return new Array<bigint>(n).fill(0n);
}

function randomInts(random: () => number, n: number, bound: number): bigint[] {
  return Array.from({ length: n }, () => BigInt(Math.floor(random() * (2 * bound + 1)) - bound));
}

async function expectRejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, "expected a rejection").to.be.instanceOf(Error);
  expect((error as Error).message).to.match(pattern);
}

describe("zk circuit: Iris MLP", function () {
  this.timeout(120_000);
  let symbols: Map<string, number>;
  let iris: QuantizedMlp;
  let calculator: WitnessCalculator;

  before(async function () {
    calculator = await loadWitnessCalculator(IRIS_ZK_ARTIFACTS.wasm);
    symbols = await readSymbols(IRIS_ZK_ARTIFACTS.sym);
    iris = quantizeOnnx(new Uint8Array(await readFile(MODEL_PATH)), IRIS_ZK_PARAMS);
  });

  function signal(witness: readonly bigint[], name: string): bigint {
    const index = symbols.get(name);
    if (index === undefined) throw new Error(`signal ${name} is not in the witness`);
    return witness[index] as bigint;
  }

  /**
   * Checks the witness's internal values against the reference: per neuron, every bit of the
   * decomposition s = acc + 2^(A+F) = (q + 2^A) * 2^F + r that survives in the witness (--O2
   * eliminates some, which the linear constraint then fixes), the ReLU outputs of hidden layers, and
   * the four public signals.
   */
  function expectWitnessMatches(
    witness: readonly bigint[],
    ref: FixedPointResult,
    expected: readonly bigint[],
  ): void {
    let checked = 0;
    let total = 0;
    ref.layers.forEach((layer, l) => {
      layer.q.forEach((q, o) => {
        const r = layer.remainder[o] as bigint;
        expect(r, "remainder range").to.be.within(0n, SCALE - 1n);
        const s = ((q + (1n << BigInt(A))) << BigInt(F)) + r;
        expect(s, "decomposed value").to.equal((layer.acc[o] as bigint) + (1n << BigInt(A + F)));
        for (let k = 0; k <= A + F; k++) {
          total++;
          const index = symbols.get(`main.layer[${l}].bits[${o}].out[${k}]`);
          if (index === undefined) continue;
          checked++;
          expect(witness[index], `layer ${l} neuron ${o} bit ${k}`).to.equal((s >> BigInt(k)) & 1n);
        }
        if (l < ref.layers.length - 1) {
          expect(fromField(signal(witness, `main.layer[${l}].y[${o}]`)), `layer ${l} y[${o}]`).to.equal(
            layer.y[o],
          );
        }
      });
    });
    expect(checked, "decomposition bits present in the witness").to.be.greaterThan(total * 0.9);
    expect(witness.slice(1, 5), "public signals").to.deep.equal([...expected]);
  }

  async function runBoth(model: QuantizedMlp, x: bigint[]): Promise<FixedPointResult> {
    const ref = fixedPointForward(model, x);
    const binding = zkBinding({ ...BINDING, requestId: 7n, submitter: SUBMITTER });
    const expected = [
      BigInt(ref.label),
      await weightCommitment(model),
      await inputCommitment(x, model.params),
      binding,
    ];
    const witness = calculator.calculate(circuitInput(model, x, binding));
    expectWitnessMatches(witness, ref, expected);
    return ref;
  }

  it("matches the fixed-point reference and commitments on all 150 Iris samples", async function () {
    const { features } = loadIris();
    for (const [n, sample] of features.entries()) {
      const zk = await buildZkInference(iris, sample, {
        ...BINDING,
        requestId: BigInt(n),
        submitter: SUBMITTER,
      });
      const witness = calculator.calculate(zk.input);
      expectWitnessMatches(witness, zk.result, zk.publicSignals);
    }
  });

  it("floors exactly at the boundaries, also for negative accumulators", async function () {
    // Input x = [1, 2^F, 2^F - 1, 3]; neuron o of layer 0 picks its accumulator with its weights.
    const x = [1n, SCALE, SCALE - 1n, 3n];
    const rows: [bigint[], bigint, bigint][] = [
      // [weights, bias, expected accumulator]
      [[-1n, 0n, 0n, 0n], 0n, -1n],
      [[0n, -1n, 0n, 0n], 0n, -SCALE],
      [[0n, 0n, 1n, 0n], 0n, SCALE - 1n],
      [[0n, 1n, 0n, 0n], 0n, SCALE],
      [[-1n, -1n, 0n, 0n], 0n, -SCALE - 1n],
      [[0n, 0n, 0n, 0n], 0n, 0n],
      [[1n, 0n, 0n, 0n], -1n, 1n - SCALE],
      [[0n, 0n, -1n, 0n], 0n, 1n - SCALE],
      [[-1n, -1n, 1n, 0n], 0n, -2n],
      [[0n, 2n, 0n, 0n], -2n, 0n],
      [[1n, 0n, 0n, 0n], 0n, 1n],
      [[0n, -2n, 1n, 0n], 0n, -SCALE - 1n],
      [[1n, 0n, 0n, -1n], 0n, -2n],
      [[0n, 0n, 2n, 0n], 0n, 2n * SCALE - 2n],
      [[0n, 0n, -2n, 1n], 0n, -2n * SCALE + 5n],
      [[0n, -3n, 0n, 0n], 0n, -3n * SCALE],
    ];
    // Layer 1 passes hidden neuron o to neuron o (weights 2^F = 1.0); layer 2 sums pairs with sign.
    const l1w = zeros(8 * 16);
    for (let o = 0; o < 8; o++) l1w[o * 16 + o] = SCALE;
    const l2w = zeros(3 * 8);
    l2w[0] = -SCALE;
    l2w[1 * 8 + 2] = SCALE;
    l2w[2 * 8 + 3] = 1n;
    const model = modelOf([
      { weight: rows.flatMap(([w]) => w), bias: rows.map(([, b]) => b) },
      { weight: l1w, bias: [-1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] },
      { weight: l2w, bias: [0n, -1n, 0n] },
    ]);
    const ref = await runBoth(model, x);
    const layer0 = ref.layers[0]!;
    rows.forEach(([, , acc], o) => {
      expect(layer0.acc[o], `accumulator ${o}`).to.equal(acc);
      expect(layer0.q[o], `quotient ${o}`).to.equal(floorDiv(acc, SCALE));
    });
    expect(layer0.q.slice(0, 5)).to.deep.equal([-1n, -1n, 0n, 1n, -2n]);
    expect(layer0.remainder.slice(0, 5)).to.deep.equal([SCALE - 1n, 0n, SCALE - 1n, 0n, SCALE - 1n]);
  });

  it("breaks argmax ties toward the first class, like encoding.argmax", async function () {
    const model = modelOf([
      { weight: zeros(64), bias: zeros(16) },
      { weight: zeros(128), bias: zeros(8) },
      { weight: zeros(24), bias: [5n, 7n, 7n] },
    ]);
    expect((await runBoth(model, [0n, 0n, 0n, 0n])).label).to.equal(1);
    const allEqual = modelOf([
      { weight: zeros(64), bias: zeros(16) },
      { weight: zeros(128), bias: zeros(8) },
      { weight: zeros(24), bias: [-3n, -3n, -3n] },
    ]);
    expect((await runBoth(allEqual, [0n, 0n, 0n, 0n])).label).to.equal(0);
  });

  it("handles extreme 16-bit weights and inputs and random models", async function () {
    const max = (1n << 15n) - 1n;
    const min = -(1n << 15n);
    const extreme = modelOf([
      {
        weight: [...new Array<bigint>(32).fill(max), ...new Array<bigint>(32).fill(min)],
        bias: new Array<bigint>(16).fill(min),
      },
      { weight: zeros(128).map((_, k) => (k % 17 === 0 ? 1n : 0n)), bias: new Array<bigint>(8).fill(max) },
      { weight: zeros(24).map((_, k) => (k % 3 === 0 ? -1n : 1n)), bias: [min, max, 0n] },
    ]);
    await runBoth(extreme, [max, max, max, min]);
    const random = mulberry32(2024);
    for (let t = 0; t < 6; t++) {
      const model = modelOf([
        { weight: randomInts(random, 64, 1024), bias: randomInts(random, 16, 32767) },
        { weight: randomInts(random, 128, 1024), bias: randomInts(random, 8, 32767) },
        { weight: randomInts(random, 24, 1024), bias: randomInts(random, 3, 32767) },
      ]);
      await runBoth(model, randomInts(random, 4, 8192));
    }
  });

  it("computes the commitments as documented (pack 15 x 16 bit, Poseidon chain)", async function () {
    const packed = packValues([-32768n, 0n, 32767n], IRIS_ZK_PARAMS);
    expect(packed).to.deep.equal([0n + (32768n << 16n) + (65535n << 32n)]);
    // 243 Iris parameters -> 17 packed elements -> Poseidon(16) then Poseidon(h, last).
    const flat = iris.layers.flatMap((l) => [...l.weight, ...l.bias]);
    expect(flat).to.have.length(243);
    expect(packValues(flat, IRIS_ZK_PARAMS)).to.have.length(17);
    expect(await weightCommitment(iris)).to.equal(await poseidonChain(packValues(flat, IRIS_ZK_PARAMS)));
    expect(quantizeValue(-0.00048828125, IRIS_ZK_PARAMS)).to.equal(-1n); // -0.5 / 2^10: half away from zero
    expect(quantizeValue(0.00048828125, IRIS_ZK_PARAMS)).to.equal(1n);
    expect(quantizeValue(-0.0004, IRIS_ZK_PARAMS)).to.equal(0n);
  });

  it("gives the same witness as snarkjs's own witness calculation", async function () {
    const zk = await buildZkInference(iris, [6.3, 2.5, 4.9, 1.5], {
      ...BINDING,
      requestId: 3n,
      submitter: SUBMITTER,
    });
    expect(calculator.calculate(zk.input)).to.deep.equal(await calculateWitness(zk.input));
  });

  it("rejects out-of-range inputs, weights and activations in the witness calculator", async function () {
    const binding = zkBinding({ ...BINDING, requestId: 1n, submitter: SUBMITTER });
    const base = circuitInput(iris, [5222n, 3584n, 1434n, 205n], binding);
    const tooBig = { ...base, x: [(1n << 15n).toString(), ...base.x.slice(1)] };
    await expectRejects(calculateWitness(tooBig), /Assert Failed|Error in template/);
    const tooNegative = {
      ...base,
      x: [(SNARK_SCALAR_FIELD - (1n << 15n) - 1n).toString(), ...base.x.slice(1)],
    };
    await expectRejects(
      Promise.resolve().then(() => calculator.calculate(tooNegative)),
      /Assert Failed|Error in template/,
    );
    const badWeight = { ...base, weights: [(1n << 16n).toString(), ...base.weights.slice(1)] };
    await expectRejects(
      Promise.resolve().then(() => calculator.calculate(badWeight)),
      /Assert Failed|Error in template/,
    );
    // Activations beyond 2^A: a chain of gains of 32 overflows layer 2.
    const big = (1n << 15n) - 1n;
    const overflow = modelOf([
      { weight: new Array<bigint>(64).fill(big), bias: zeros(16) },
      { weight: new Array<bigint>(128).fill(big), bias: zeros(8) },
      { weight: new Array<bigint>(24).fill(big), bias: zeros(3) },
    ]);
    const x = [big, big, big, big];
    expect(() => fixedPointForward(overflow, x)).to.throw(/outside the circuit's range/);
    await expectRejects(
      calculateWitness(circuitInput(overflow, x, binding)),
      /Assert Failed|Error in template/,
    );
    expect(() => quantizeValue(32, IRIS_ZK_PARAMS, "w")).to.throw(/does not fit 16 signed bits/);
  });
});
