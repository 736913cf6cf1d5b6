/**
 * The circuit's arithmetic in BigInt, step for step: per layer and neuron
 *   acc = sum_i w[o][i] * x[i] + b[o] * 2^F        (scale 2^2F)
 *   q   = floor(acc / 2^F), r = acc - q * 2^F     (scale 2^F, 0 <= r < 2^F, also for acc < 0)
 *   y   = max(q, 0) between layers, q after the last
 * and the class is the index of the first maximum of the last layer's q. A q outside
 * [-2^A, 2^A) has no witness in the circuit and throws here.
 */
import { floorDiv } from "./field.js";
import { checkRange, type QuantizedMlp } from "./quantize.js";

export interface LayerTrace {
  readonly acc: readonly bigint[];
  readonly q: readonly bigint[];
  readonly remainder: readonly bigint[];
  /** The layer's output as the next layer sees it (after ReLU, except for the last layer). */
  readonly y: readonly bigint[];
}

export interface FixedPointResult {
  readonly layers: readonly LayerTrace[];
  /** The last layer's q (logits at scale 2^F). */
  readonly logits: readonly bigint[];
  /** argmax of `logits`, first maximum wins. */
  readonly label: number;
}

export function argmaxBigint(values: readonly bigint[]): number {
  if (values.length === 0) throw new RangeError("argmax of an empty array");
  let best = 0;
  values.forEach((v, i) => {
    if (v > (values[best] as bigint)) best = i;
  });
  return best;
}

export function fixedPointForward(model: QuantizedMlp, input: readonly bigint[]): FixedPointResult {
  const { fracBits, actBits } = model.params;
  const scale = 1n << BigInt(fracBits);
  const bound = 1n << BigInt(actBits);
  if (input.length !== model.sizes[0])
    throw new RangeError(`expected ${model.sizes[0]} inputs, got ${input.length}`);
  input.forEach((x, i) => {
    checkRange(x, model.params, `input[${i}]`);
  });
  let x: readonly bigint[] = input;
  const traces: LayerTrace[] = [];
  model.layers.forEach((layer, l) => {
    const last = l === model.layers.length - 1;
    const acc: bigint[] = [];
    const q: bigint[] = [];
    const remainder: bigint[] = [];
    const y: bigint[] = [];
    for (let o = 0; o < layer.outSize; o++) {
      let sum = (layer.bias[o] as bigint) * scale;
      for (let i = 0; i < layer.inSize; i++)
        sum += (layer.weight[o * layer.inSize + i] as bigint) * (x[i] as bigint);
      const quotient = floorDiv(sum, scale);
      if (quotient < -bound || quotient >= bound) {
        throw new RangeError(
          `layer ${l} neuron ${o}: output ${quotient} / 2^${fracBits} is outside the circuit's range ±2^${actBits}`,
        );
      }
      acc.push(sum);
      q.push(quotient);
      remainder.push(sum - quotient * scale);
      y.push(!last && quotient < 0n ? 0n : quotient);
    }
    traces.push({ acc, q, remainder, y });
    x = y;
  });
  const logits = x;
  return { layers: traces, logits, label: argmaxBigint(logits) };
}
