/**
 * The circuit's input object for one inference, and the public signals a proof of it will carry:
 * `[out, weightCommitment, inputCommitment, binding]` (src/protocol/zk.ts).
 */
import { zkBinding, type ZkBindingInput } from "../protocol/zk.js";
import { inputCommitment, weightCommitment } from "./commitment.js";
import { toField } from "./field.js";
import { flattenParams, quantizeInput, type QuantizedMlp } from "./quantize.js";
import { fixedPointForward, type FixedPointResult } from "./reference.js";

/** Signal values as decimal strings of field elements (negatives as p - |x|). */
export interface MlpCircuitInput {
  readonly weights: string[];
  readonly x: string[];
  readonly binding: string;
  readonly [signal: string]: string | string[];
}

export type PublicSignals = readonly [
  output: bigint,
  weightCommitment: bigint,
  inputCommitment: bigint,
  binding: bigint,
];

export interface ZkInferenceInput {
  readonly input: MlpCircuitInput;
  /** What the proof's public signals will be. */
  readonly publicSignals: PublicSignals;
  /** The fixed-point reference pass (the circuit computes the same). */
  readonly result: FixedPointResult;
  readonly quantizedInput: readonly bigint[];
}

/** The circuit input for already-quantized values. */
export function circuitInput(
  model: QuantizedMlp,
  quantizedInput: readonly bigint[],
  binding: bigint,
): MlpCircuitInput {
  return {
    weights: flattenParams(model).map((v) => toField(v).toString()),
    x: quantizedInput.map((v) => toField(v).toString()),
    binding: toField(binding).toString(),
  };
}

/**
 * Quantizes `features` (floats, e.g. Iris measurements in cm), runs the fixed-point reference, and
 * builds the witness input and the expected public signals for the proof's binding (chain, zk mode contract,
 * request and submitter).
 */
export async function buildZkInference(
  model: QuantizedMlp,
  features: ArrayLike<number>,
  bindTo: ZkBindingInput,
): Promise<ZkInferenceInput> {
  const quantizedInput = quantizeInput(features, model);
  const result = fixedPointForward(model, quantizedInput);
  const binding = zkBinding(bindTo);
  const publicSignals: PublicSignals = [
    BigInt(result.label),
    await weightCommitment(model),
    await inputCommitment(quantizedInput, model.params),
    binding,
  ];
  return { input: circuitInput(model, quantizedInput, binding), publicSignals, result, quantizedInput };
}
