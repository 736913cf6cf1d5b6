import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import {
  argmax,
  decodeFeatures,
  decodeLogits,
  encodeFeatures,
  encodeLogits,
  fromDataUri,
  toDataUri,
} from "../src/model/encoding.js";
import { classify, IRIS_CLASS_NAMES, IRIS_ONNX_OPTIONS, loadIris } from "../src/model/iris.js";
import { mlpForward } from "../src/model/mlp.js";
import { buildMlpOnnx, readMlpOnnx } from "../src/model/onnx-mlp.js";
import { createModel, loadModel, sha256Hex, type Hex, type LoadedModel } from "../src/model/onnx-runtime.js";
import { canonicalJson, DEFAULT_RUNTIME, runtimeHash, type RuntimeDescriptor } from "../src/model/runtime.js";

const MODEL_PATH = fileURLToPath(new URL("../models/iris-mlp.onnx", import.meta.url));
const META_PATH = fileURLToPath(new URL("../models/iris-mlp.json", import.meta.url));

interface IrisMetadata {
  name: string;
  file: string;
  sha256: Hex;
  runtime: RuntimeDescriptor;
  runtimeHash: string;
  input: { name: string; shape: [string, number] };
  output: { name: string; shape: [string, number] };
  classNames: string[];
  architecture: { layerSizes: number[] };
  accuracy: { full: { correct: number; total: number } };
}

describe("iris-mlp model", function () {
  let bytes: Uint8Array;
  let meta: IrisMetadata;
  let model: LoadedModel;
  const iris = loadIris();
  const batch = iris.labels.length;
  const allFeatures = Float32Array.from(iris.features.flat());

  before(async function () {
    bytes = new Uint8Array(await readFile(MODEL_PATH));
    meta = JSON.parse(await readFile(META_PATH, "utf8")) as IrisMetadata;
    // Loaded without expectedSha256 so that a changed file fails the hash test below, not this hook.
    model = await loadModel(MODEL_PATH);
  });

  after(async function () {
    await model.release();
  });

  it("metadata commits to the committed ONNX bytes and runtime descriptor", function () {
    expect(meta.name).to.equal("iris-mlp");
    expect(meta.file).to.equal("iris-mlp.onnx");
    expect(sha256Hex(bytes)).to.equal(meta.sha256);
    expect(model.sha256).to.equal(meta.sha256);
    expect(meta.runtime).to.deep.equal(DEFAULT_RUNTIME);
    expect(runtimeHash(meta.runtime)).to.equal(meta.runtimeHash);
    expect(meta.classNames).to.deep.equal([...IRIS_CLASS_NAMES]);
    expect(meta.architecture.layerSizes).to.deep.equal([4, 16, 8, 3]);
  });

  it("loads only bytes that match the expected sha256", async function () {
    const verified = await createModel(bytes, { expectedSha256: meta.sha256 });
    await verified.release();

    const tampered = Uint8Array.from(bytes);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    let error: unknown;
    try {
      await createModel(tampered, { expectedSha256: meta.sha256 });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/does not match the expected/);
  });

  it("is the graph features [batch,4] -> Gemm, Relu, Gemm, Relu, Gemm -> logits [batch,3]", function () {
    expect([model.inputName, model.inputWidth]).to.deep.equal([meta.input.name, 4]);
    expect([model.outputName, model.outputWidth]).to.deep.equal([meta.output.name, 3]);
    const graph = readMlpOnnx(bytes);
    expect(graph.inputName).to.equal("features");
    expect(graph.outputName).to.equal("logits");
    expect(graph.layers.map((l) => [l.inSize, l.outSize])).to.deep.equal([
      [4, 16],
      [16, 8],
      [8, 3],
    ]);
  });

  it("re-encoding the layers read from the file reproduces it byte for byte", function () {
    const graph = readMlpOnnx(bytes);
    const rebuilt = buildMlpOnnx(graph.layers, IRIS_ONNX_OPTIONS);
    expect(sha256Hex(rebuilt)).to.equal(meta.sha256);
  });

  it("classifies at least 95% of the full data set with onnxruntime-web", async function () {
    const logits = await model.run(allFeatures, batch);
    expect(logits.length).to.equal(batch * 3);
    const correct = iris.labels.filter(
      (label, n) => argmax(logits.subarray(n * 3, n * 3 + 3)) === label,
    ).length;
    expect(correct / batch).to.be.at.least(0.95);
    expect(correct).to.equal(meta.accuracy.full.correct);
  });

  it("matches a plain TypeScript forward pass over the initializers to 1e-4", async function () {
    const runtimeLogits = await model.run(allFeatures, batch);
    const reference = mlpForward(readMlpOnnx(bytes).layers, allFeatures, batch);
    let maxDiff = 0;
    reference.forEach((value, k) => {
      maxDiff = Math.max(maxDiff, Math.abs(value - (runtimeLogits[k] as number)));
    });
    expect(maxDiff).to.be.lessThan(1e-4);
  });

  it("gives the same logits for a sample alone as within a batch", async function () {
    const batchLogits = await model.run(allFeatures, batch);
    for (const n of [0, 75, 149]) {
      const single = await classify(model, iris.features[n] as number[]);
      expect(Array.from(single.logits)).to.deep.equal(Array.from(batchLogits.subarray(n * 3, n * 3 + 3)));
      expect(single.className).to.equal(IRIS_CLASS_NAMES[single.label]);
    }
  });

  it("rejects a features array that does not fit the batch", async function () {
    let error: unknown;
    try {
      await model.run(new Float32Array(7), 2);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(RangeError);
  });
});

describe("model encodings", function () {
  it("round-trips features and logits as float32 little-endian", function () {
    const features = [5.1, 3.5, 1.4, 0.2];
    const bytes = encodeFeatures(features);
    // 5.1 as float32 is 0x40a33333: little-endian byte order is fixed, whatever the host.
    expect(Array.from(bytes.subarray(0, 4))).to.deep.equal([0x33, 0x33, 0xa3, 0x40]);
    expect(bytes.length).to.equal(16);
    expect(Array.from(decodeFeatures(bytes, 4))).to.deep.equal(Array.from(Float32Array.from(features)));
    expect(encodeFeatures(Float32Array.from(features))).to.deep.equal(bytes);

    const logits = Float32Array.from([1.5, -2.25, 3e-8, 6, 0, -0.5]);
    expect(decodeLogits(encodeLogits(logits), 3)).to.deep.equal(logits);
  });

  it("rejects bad lengths and values", function () {
    expect(() => decodeFeatures(new Uint8Array(15))).to.throw(RangeError, /15 bytes/);
    expect(() => decodeFeatures(new Uint8Array(0))).to.throw(RangeError);
    expect(() => decodeFeatures(new Uint8Array(20), 4)).to.throw(RangeError, /rows of 4/);
    expect(() => decodeLogits(new Uint8Array(13))).to.throw(RangeError);
    expect(() => decodeLogits(new Uint8Array(16), 3)).to.throw(RangeError, /rows of 3/);
    expect(() => encodeFeatures([])).to.throw(RangeError);
    expect(() => encodeFeatures([1, Number.NaN])).to.throw(RangeError, /features\[1\]/);
    expect(() => encodeLogits(Float32Array.from([Infinity]))).to.throw(RangeError);
  });

  it("decodes from an offset view without reading neighbouring bytes", function () {
    const bytes = encodeFeatures([1, 2, 3, 4, 5]);
    expect(Array.from(decodeFeatures(bytes.subarray(4, 12)))).to.deep.equal([2, 3]);
  });

  it("round-trips data URIs and accepts only the canonical form", function () {
    const bytes = encodeFeatures([6.3, 3.3, 6, 2.5]);
    const uri = toDataUri(bytes);
    expect(uri.startsWith("data:application/octet-stream;base64,")).to.equal(true);
    expect(fromDataUri(uri)).to.deep.equal(bytes);
    expect(fromDataUri(toDataUri(new Uint8Array(0)))).to.deep.equal(new Uint8Array(0));
    expect(fromDataUri("data:application/octet-stream;base64,AQI=")).to.deep.equal(Uint8Array.from([1, 2]));

    expect(() => fromDataUri("data:text/plain;base64,AQI=")).to.throw(/not a/);
    expect(() => fromDataUri("data:application/octet-stream,AQI=")).to.throw(/not a/);
    expect(() => fromDataUri("data:application/octet-stream;base64,AQI")).to.throw(/canonical/);
    expect(() => fromDataUri("data:application/octet-stream;base64,AQJ=")).to.throw(/canonical/);
    expect(() => fromDataUri("data:application/octet-stream;base64,AQ-_")).to.throw(/canonical/);
    expect(() => fromDataUri("data:application/octet-stream;base64,AQI=\n")).to.throw(/canonical/);
  });

  it("argmax takes the first maximum and rejects empty input and NaN", function () {
    expect(argmax([1, 3, 3, 2])).to.equal(1);
    expect(argmax(Float32Array.from([-5, -1, -3]))).to.equal(1);
    expect(() => argmax([])).to.throw(RangeError);
    expect(() => argmax([1, Number.NaN])).to.throw(RangeError);
  });
});

describe("runtime descriptor", function () {
  it("serialises canonically: sorted keys, no whitespace", function () {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], c: { z: 0, y: -1.5 } })).to.equal(
      '{"a":[true,null,"x"],"b":1,"c":{"y":-1.5,"z":0}}',
    );
    expect(canonicalJson({ ...DEFAULT_RUNTIME })).to.equal(
      '{"backend":"wasm","graphOptimizationLevel":"all","inputEncoding":"float32le","outputEncoding":"float32le",' +
        '"runtime":"onnxruntime-web","threads":1,"version":"1.30.0"}',
    );
  });

  it("hashes the same for a reordered-key descriptor and differently for any change", function () {
    const reordered: RuntimeDescriptor = {
      outputEncoding: "float32le",
      threads: 1,
      inputEncoding: "float32le",
      graphOptimizationLevel: "all",
      version: "1.30.0",
      backend: "wasm",
      runtime: "onnxruntime-web",
    };
    expect(Object.keys(reordered)).to.not.deep.equal(Object.keys(DEFAULT_RUNTIME));
    expect(runtimeHash(reordered)).to.equal(runtimeHash(DEFAULT_RUNTIME));
    expect(runtimeHash({ ...reordered, threads: 2 })).to.not.equal(runtimeHash(DEFAULT_RUNTIME));
    expect(runtimeHash({ ...reordered, version: "1.30.1" })).to.not.equal(runtimeHash(DEFAULT_RUNTIME));
  });

  it("refuses to run under a descriptor for another runtime version", async function () {
    const bytes = new Uint8Array(await readFile(MODEL_PATH));
    let error: unknown;
    try {
      await createModel(bytes, { runtime: { ...DEFAULT_RUNTIME, version: "1.29.0" } });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/installed is onnxruntime-web@1\.30\.0/);
  });
});
