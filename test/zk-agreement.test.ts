/** The fixed-point reference (what the circuit proves) agrees with onnxruntime-web on Iris. */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { buildMlpOnnx } from "../src/model/onnx-mlp.js";
import { IRIS_ONNX_OPTIONS } from "../src/model/iris.js";
import { irisAgreement } from "../src/zk/agreement.js";
import { IRIS_ZK_PARAMS, quantizeLayers, quantizeOnnx } from "../src/zk/index.js";
import onnxProto from "onnx-proto";

const MODEL_PATH = fileURLToPath(new URL("../models/iris-mlp.onnx", import.meta.url));

describe("zk agreement: fixed point vs onnxruntime-web", function () {
  this.timeout(60_000);

  it("classifies at least 99 % of the 150 Iris samples like the float model", async function () {
    const report = await irisAgreement(new Uint8Array(await readFile(MODEL_PATH)), IRIS_ZK_PARAMS);
    expect(report.samples).to.equal(150);
    expect(report.fraction).to.be.at.least(0.99);
    // The fixed-point logits stay far closer to the float ones than the closest call between classes.
    expect(report.maxLogitError).to.be.below(report.minFloatMargin / 2);
  });

  it("rejects unsupported operators and out-of-range weights with clear errors", function () {
    const layers = [
      { inSize: 2, outSize: 2, weight: Float32Array.from([1, 2, 3, 4]), bias: Float32Array.from([0, 0]) },
      { inSize: 2, outSize: 1, weight: Float32Array.from([1, -1]), bias: Float32Array.from([0.5]) },
    ];
    const bytes = buildMlpOnnx(layers, IRIS_ONNX_OPTIONS);
    expect(quantizeOnnx(bytes, IRIS_ZK_PARAMS).sizes).to.deep.equal([2, 2, 1]);
    // Swap the Relu for a Sigmoid: the reader names the node and operator.
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    const relu = model.graph?.node?.[1];
    if (!relu) throw new Error("no node 1");
    relu.opType = "Sigmoid";
    const sigmoid = onnxProto.onnx.ModelProto.encode(model).finish();
    expect(() => quantizeOnnx(sigmoid, IRIS_ZK_PARAMS)).to.throw(/node 1: expected Relu, found Sigmoid/);
    const big = [{ ...layers[0]!, weight: Float32Array.from([1, 2, 3, 40]) }, layers[1]!];
    expect(() => quantizeLayers(big, IRIS_ZK_PARAMS)).to.throw(/layer 0 weight\[1\]\[1\].*16 signed bits/);
    const wide = [{ inSize: 300, outSize: 1, weight: new Float32Array(300), bias: new Float32Array(1) }];
    expect(() => quantizeLayers(wide, IRIS_ZK_PARAMS)).to.throw(/layer width 0 is 300/);
  });
});
