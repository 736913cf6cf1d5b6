/**
 * The commitments exactly as `circuits/mlp.circom` computes them:
 *
 *   offset:  u = v + 2^(B-1)                (B-bit signed value -> B-bit unsigned)
 *   pack:    P_j = sum_k u_{j*PER+k} * 2^(B*k), k = 0..PER-1 (little end first; the last element
 *            holds the remainder, its upper bits zero)
 *   chain:   m = number of packed elements; m <= 16: C = Poseidon(P_0..P_{m-1});
 *            otherwise h = Poseidon(P_0..P_15), then h = Poseidon(h, next up to 15 elements) until
 *            all are absorbed, C = h.
 *
 * weightCommitment = chain(pack(weights and biases in circuit order; see flattenParams)),
 * inputCommitment  = chain(pack(quantized input)). Poseidon is circomlib's (circomlibjs buildPoseidon).
 */
import { buildPoseidon, type Poseidon } from "circomlibjs";
import { SNARK_SCALAR_FIELD } from "../protocol/zk.js";
import type { ZkCircuitParams } from "./params.js";
import { checkRange, flattenParams, type QuantizedMlp } from "./quantize.js";

let poseidonPromise: Promise<Poseidon> | undefined;

function poseidon(): Promise<Poseidon> {
  poseidonPromise ??= buildPoseidon();
  return poseidonPromise;
}

/** circomlib Poseidon of 1..16 field elements. */
export async function poseidonHash(inputs: readonly bigint[]): Promise<bigint> {
  if (inputs.length < 1 || inputs.length > 16)
    throw new RangeError(`Poseidon takes 1..16 inputs, got ${inputs.length}`);
  for (const x of inputs) {
    if (x < 0n || x >= SNARK_SCALAR_FIELD) throw new RangeError(`${x} is not a field element`);
  }
  const p = await poseidon();
  return p.F.toObject(p(inputs));
}

/** Offsets signed B-bit values to unsigned and packs PER per field element. */
export function packValues(values: readonly bigint[], params: ZkCircuitParams): bigint[] {
  const B = BigInt(params.valueBits);
  const offset = 1n << (B - 1n);
  const packed: bigint[] = [];
  values.forEach((v, i) => {
    checkRange(v, params, `value ${i}`);
    const j = Math.floor(i / params.packPer);
    const k = BigInt(i % params.packPer);
    packed[j] = (packed[j] ?? 0n) + ((v + offset) << (B * k));
  });
  return packed;
}

/** The Poseidon chain over packed elements (see the module comment). */
export async function poseidonChain(elements: readonly bigint[]): Promise<bigint> {
  if (elements.length === 0) throw new RangeError("nothing to hash");
  let h = await poseidonHash(elements.slice(0, 16));
  for (let next = 16; next < elements.length; next += 15) {
    h = await poseidonHash([h, ...elements.slice(next, next + 15)]);
  }
  return h;
}

/** The circuit's `weightCommitment` for a quantized model: the model version's zkCommitment. */
export async function weightCommitment(model: QuantizedMlp): Promise<bigint> {
  return poseidonChain(packValues(flattenParams(model), model.params));
}

/** The circuit's `inputCommitment` for a quantized input: the request's inputHash. */
export async function inputCommitment(input: readonly bigint[], params: ZkCircuitParams): Promise<bigint> {
  return poseidonChain(packValues(input, params));
}
