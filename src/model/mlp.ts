/**
 * A dense ReLU network (multi-layer perceptron) in plain TypeScript: the reference semantics of
 * the exported ONNX graph (Gemm, Relu, Gemm, ..., Gemm), independent of any inference runtime.
 */

/**
 * One fully connected layer `y = W x + b`. `weight` is row-major `[outSize, inSize]`, the layout
 * of an ONNX Gemm `B` input with `transB = 1`.
 */
export interface DenseLayer {
  readonly inSize: number;
  readonly outSize: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/** Throws unless every layer's arrays fit its sizes and each layer feeds the next. */
export function checkLayers(layers: readonly DenseLayer[]): void {
  if (layers.length === 0) throw new Error("an MLP needs at least one layer");
  layers.forEach((layer, i) => {
    const { inSize, outSize, weight, bias } = layer;
    if (!Number.isInteger(inSize) || !Number.isInteger(outSize) || inSize <= 0 || outSize <= 0) {
      throw new Error(`layer ${i}: sizes must be positive integers, got ${inSize} -> ${outSize}`);
    }
    if (weight.length !== inSize * outSize) {
      throw new Error(`layer ${i}: weight has ${weight.length} values, expected ${outSize}x${inSize}`);
    }
    if (bias.length !== outSize) {
      throw new Error(`layer ${i}: bias has ${bias.length} values, expected ${outSize}`);
    }
    const next = layers[i + 1];
    if (next !== undefined && next.inSize !== outSize) {
      throw new Error(`layer ${i + 1} takes ${next.inSize} inputs but layer ${i} gives ${outSize}`);
    }
  });
}

/** Layer widths from input to output, e.g. `[4, 16, 8, 3]`. */
export function layerSizes(layers: readonly DenseLayer[]): number[] {
  checkLayers(layers);
  return [(layers[0] as DenseLayer).inSize, ...layers.map((layer) => layer.outSize)];
}

/**
 * Forward pass over a row-major batch `[batch, inSize]`: ReLU after every layer but the last,
 * whose outputs (logits) are returned row-major `[batch, outSize]`. Accumulates in float64, so it
 * agrees with a float32 runtime to rounding error, not bit for bit.
 */
export function mlpForward(
  layers: readonly DenseLayer[],
  input: ArrayLike<number>,
  batch: number,
): Float64Array {
  const sizes = layerSizes(layers);
  if (!Number.isInteger(batch) || batch <= 0 || input.length !== batch * (sizes[0] as number)) {
    throw new RangeError(`input has ${input.length} values, expected ${batch} x ${sizes[0]}`);
  }
  let activations = Float64Array.from(input);
  layers.forEach((layer, l) => {
    const { inSize, outSize, weight, bias } = layer;
    const out = new Float64Array(batch * outSize);
    const relu = l < layers.length - 1;
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < outSize; o++) {
        let sum = bias[o] as number;
        for (let i = 0; i < inSize; i++) {
          sum += (weight[o * inSize + i] as number) * (activations[n * inSize + i] as number);
        }
        out[n * outSize + o] = relu && sum < 0 ? 0 : sum;
      }
    }
    activations = out;
  });
  return activations;
}
