/**
 * Agreement of the fixed-point reference (what the circuit proves) with the float model run by
 * onnxruntime-web, over a set of samples: how often both pick the same class.
 */
import { argmax } from "../model/encoding.js";
import { loadIris } from "../model/iris.js";
import { createModel } from "../model/onnx-runtime.js";
import { quantizeInput, quantizeOnnx } from "./quantize.js";
import { fixedPointForward } from "./reference.js";
import type { ZkCircuitParams } from "./params.js";

export interface Disagreement {
  readonly sample: number;
  readonly features: readonly number[];
  readonly onnxLabel: number;
  readonly fixedPointLabel: number;
  readonly onnxLogits: readonly number[];
  /** Fixed-point logits as reals (q / 2^F). */
  readonly fixedPointLogits: readonly number[];
}

export interface AgreementReport {
  readonly samples: number;
  readonly agree: number;
  readonly fraction: number;
  /** Largest |float logit - fixed-point logit| over all samples and classes. */
  readonly maxLogitError: number;
  /** Smallest gap between the top two float logits: how close the closest call was. */
  readonly minFloatMargin: number;
  readonly disagreements: readonly Disagreement[];
}

export async function agreement(
  onnxBytes: Uint8Array,
  samples: readonly (readonly number[])[],
  params: ZkCircuitParams,
): Promise<AgreementReport> {
  const quantized = quantizeOnnx(onnxBytes, params);
  const model = await createModel(onnxBytes);
  try {
    const width = quantized.sizes[0] as number;
    const logits = await model.run(Float32Array.from(samples.flat()), samples.length);
    const classes = model.outputWidth;
    const disagreements: Disagreement[] = [];
    let maxLogitError = 0;
    let minFloatMargin = Infinity;
    samples.forEach((features, n) => {
      if (features.length !== width)
        throw new RangeError(`sample ${n} has ${features.length} features, expected ${width}`);
      const onnxLogits = Array.from(logits.subarray(n * classes, (n + 1) * classes));
      const fixed = fixedPointForward(quantized, quantizeInput(features, quantized));
      const fixedLogits = fixed.logits.map((q) => Number(q) / 2 ** params.fracBits);
      fixedLogits.forEach((v, c) => {
        maxLogitError = Math.max(maxLogitError, Math.abs(v - (onnxLogits[c] as number)));
      });
      const sorted = [...onnxLogits].sort((a, b) => b - a);
      minFloatMargin = Math.min(minFloatMargin, (sorted[0] as number) - (sorted[1] as number));
      const onnxLabel = argmax(onnxLogits);
      if (onnxLabel !== fixed.label) {
        disagreements.push({
          sample: n,
          features,
          onnxLabel,
          fixedPointLabel: fixed.label,
          onnxLogits,
          fixedPointLogits: fixedLogits,
        });
      }
    });
    const agree = samples.length - disagreements.length;
    return {
      samples: samples.length,
      agree,
      fraction: agree / samples.length,
      maxLogitError,
      minFloatMargin,
      disagreements,
    };
  } finally {
    await model.release();
  }
}

/** Agreement over all 150 Iris samples. */
export async function irisAgreement(
  onnxBytes: Uint8Array,
  params: ZkCircuitParams,
): Promise<AgreementReport> {
  return agreement(onnxBytes, loadIris().features, params);
}
