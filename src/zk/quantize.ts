/**
 * Quantization of a dense ReLU network to the circuit's fixed point: a real value v becomes the
 * integer round(v * 2^F), rounding half away from zero, computed from v as a float32 (the value the
 * ONNX model and the protocol's float32 encodings carry). Every quantized weight, bias and input
 * must fit B signed bits, [-2^(B-1), 2^(B-1)); anything else is an error naming the value.
 */
import { readMlpOnnx } from "../model/onnx-mlp.js";
import { checkLayers, type DenseLayer } from "../model/mlp.js";
import { checkParams, MAX_LAYERS, MAX_PARAMS, MAX_WIDTH, type ZkCircuitParams } from "./params.js";

export interface QuantizedLayer {
  readonly inSize: number;
  readonly outSize: number;
  /** Row-major `[outSize][inSize]`, scale 2^F. */
  readonly weight: readonly bigint[];
  /** `[outSize]`, scale 2^F. */
  readonly bias: readonly bigint[];
}

export interface QuantizedMlp {
  readonly params: ZkCircuitParams;
  /** Layer widths, input first, e.g. `[4, 16, 8, 3]`: the circuit's SIZES. */
  readonly sizes: readonly number[];
  readonly layers: readonly QuantizedLayer[];
}

/** round(v * 2^F) half away from zero, range-checked to B signed bits. */
export function quantizeValue(value: number, params: ZkCircuitParams, what = "value"): bigint {
  if (!Number.isFinite(value)) throw new RangeError(`${what} is not finite: ${value}`);
  const scaled = Math.abs(Math.fround(value)) * 2 ** params.fracBits; // exact: a power-of-two scaling
  const magnitude = BigInt(Math.round(scaled)); // Math.round on |x| = half away from zero
  const q = value < 0 ? -magnitude : magnitude;
  checkRange(q, params, what);
  return q;
}

/** Throws unless q is a signed B-bit integer. */
export function checkRange(q: bigint, params: ZkCircuitParams, what = "value"): void {
  const half = 1n << BigInt(params.valueBits - 1);
  if (q < -half || q >= half) {
    const f = params.fracBits;
    throw new RangeError(
      `${what} = ${q} / 2^${f} does not fit ${params.valueBits} signed bits ` +
        `(|value| must be below ${Number(half) / 2 ** f} at F = ${f})`,
    );
  }
}

/** Throws unless the network is within the documented size limits of the generic circuit. */
export function checkShape(sizes: readonly number[]): void {
  const layers = sizes.length - 1;
  if (layers < 1 || layers > MAX_LAYERS)
    throw new RangeError(`${layers} dense layers; supported: 1..${MAX_LAYERS}`);
  sizes.forEach((width, i) => {
    if (!Number.isInteger(width) || width < 1 || width > MAX_WIDTH) {
      throw new RangeError(`layer width ${i} is ${width}; supported: 1..${MAX_WIDTH}`);
    }
  });
  let params = 0;
  for (let l = 0; l < layers; l++) params += (sizes[l + 1] as number) * ((sizes[l] as number) + 1);
  if (params > MAX_PARAMS)
    throw new RangeError(`${params} weights and biases; supported: up to ${MAX_PARAMS}`);
}

/** Quantizes dense layers (as `readMlpOnnx` returns them). */
export function quantizeLayers(layers: readonly DenseLayer[], params: ZkCircuitParams): QuantizedMlp {
  checkParams(params);
  checkLayers(layers);
  const sizes = [(layers[0] as DenseLayer).inSize, ...layers.map((layer) => layer.outSize)];
  checkShape(sizes);
  return {
    params,
    sizes,
    layers: layers.map((layer, l) => ({
      inSize: layer.inSize,
      outSize: layer.outSize,
      weight: Array.from(layer.weight, (w, k) =>
        quantizeValue(w, params, `layer ${l} weight[${Math.floor(k / layer.inSize)}][${k % layer.inSize}]`),
      ),
      bias: Array.from(layer.bias, (b, o) => quantizeValue(b, params, `layer ${l} bias[${o}]`)),
    })),
  };
}

/**
 * Reads an ONNX MLP and quantizes it. Unsupported graphs (any operator but Gemm/Relu in a chain,
 * other Gemm attributes, non-initializer weights) are rejected by `readMlpOnnx` with an error
 * naming the node and operator.
 */
export function quantizeOnnx(onnxBytes: Uint8Array, params: ZkCircuitParams): QuantizedMlp {
  return quantizeLayers(readMlpOnnx(onnxBytes).layers, params);
}

/** Quantizes one sample's features (as float32, like the protocol's encoding). */
export function quantizeInput(features: ArrayLike<number>, model: QuantizedMlp): bigint[] {
  const width = model.sizes[0] as number;
  if (features.length !== width) throw new RangeError(`expected ${width} features, got ${features.length}`);
  return Array.from(features, (v, i) => quantizeValue(v, model.params, `input[${i}]`));
}

/** All weights and biases in circuit order: per layer, W row-major `[out][in]`, then b. */
export function flattenParams(model: QuantizedMlp): bigint[] {
  return model.layers.flatMap((layer) => [...layer.weight, ...layer.bias]);
}
