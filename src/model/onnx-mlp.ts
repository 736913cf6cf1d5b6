/**
 * Writing and reading a dense ReLU network as ONNX: `input -> Gemm -> Relu -> ... -> Gemm ->
 * output`, every Gemm with `transB = 1`, weight `[out, in]` and bias `[out]` as float32
 * initializers. Encoding is deterministic (protobufjs writes fields in field-number order; no
 * timestamps or random ids), so the same layers and options always give the same bytes.
 */
import onnxProto from "onnx-proto";
import { decodeFloat32LE, encodeFloat32LE } from "./encoding.js";
import { checkLayers, type DenseLayer } from "./mlp.js";

const { onnx } = onnxProto;

/** ONNX IR version and default-domain opset written by {@link buildMlpOnnx}. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;

export interface MlpOnnxOptions {
  /** Graph input name; its shape is `[batchDim, inSize]`. */
  readonly inputName: string;
  /** Graph output name; its shape is `[batchDim, outSize]`. */
  readonly outputName: string;
  /** Symbolic (dim_param) name of the batch dimension. */
  readonly batchDim: string;
  readonly graphName: string;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
}

/** The network read back out of an ONNX file by {@link readMlpOnnx}. */
export interface MlpOnnxGraph {
  readonly inputName: string;
  readonly outputName: string;
  readonly layers: DenseLayer[];
}

/** A `Long` (from the `long` package), which protobufjs uses for int64 fields when it is installed. */
interface LongLike {
  toNumber(): number;
}

function isLongLike(value: unknown): value is LongLike {
  return (
    typeof value === "object" && value !== null && typeof (value as Partial<LongLike>).toNumber === "function"
  );
}

/** An int64 field as decoded by protobufjs (a number or a Long) as a number; absent is 0. */
function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return value;
  if (isLongLike(value)) return value.toNumber();
  throw new TypeError(`not an int64 value (${typeof value})`);
}

function floatTensor(name: string, dims: number[], values: Float32Array): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: encodeFloat32LE(values, name) };
}

function floatMatrixInfo(name: string, batchDim: string, width: number): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: batchDim }, { dimValue: width }] },
      },
    },
  };
}

/** Serialises `layers` as an ONNX model (IR 8, opset 13). */
export function buildMlpOnnx(layers: readonly DenseLayer[], options: MlpOnnxOptions): Uint8Array {
  checkLayers(layers);
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  let current = options.inputName;
  layers.forEach((layer, l) => {
    const last = l === layers.length - 1;
    const weightName = `layer${l}.weight`;
    const biasName = `layer${l}.bias`;
    initializers.push(
      floatTensor(weightName, [layer.outSize, layer.inSize], layer.weight),
      floatTensor(biasName, [layer.outSize], layer.bias),
    );
    const gemmOut = last ? options.outputName : `layer${l}.gemm`;
    nodes.push({
      name: `layer${l}.Gemm`,
      opType: "Gemm",
      input: [current, weightName, biasName],
      output: [gemmOut],
      attribute: [{ name: "transB", type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    });
    current = gemmOut;
    if (!last) {
      const reluOut = `layer${l}.relu`;
      nodes.push({ name: `layer${l}.Relu`, opType: "Relu", input: [current], output: [reluOut] });
      current = reluOut;
    }
  });
  const first = layers[0] as DenseLayer;
  const final = layers[layers.length - 1] as DenseLayer;
  const model: onnxProto.onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: options.producerName,
    producerVersion: options.producerVersion,
    graph: {
      name: options.graphName,
      node: nodes,
      initializer: initializers,
      input: [floatMatrixInfo(options.inputName, options.batchDim, first.inSize)],
      output: [floatMatrixInfo(options.outputName, options.batchDim, final.outSize)],
    },
    ...(options.docString === undefined ? {} : { docString: options.docString }),
  };
  return onnx.ModelProto.encode(model).finish();
}

function readFloatTensor(tensor: onnxProto.onnx.ITensorProto): { dims: number[]; values: Float32Array } {
  const name = tensor.name ?? "";
  if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) {
    throw new Error(`initializer ${name}: data type ${tensor.dataType}, expected FLOAT (1)`);
  }
  const dims = (tensor.dims ?? []).map((d) => toNumber(d));
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = tensor.rawData;
  const values =
    raw && raw.length > 0
      ? decodeFloat32LE(raw, `initializer ${name}`)
      : Float32Array.from(tensor.floatData ?? []);
  if (values.length !== count) {
    throw new Error(`initializer ${name}: ${values.length} values do not fill dims [${dims.join(", ")}]`);
  }
  return { dims, values };
}

function intAttribute(node: onnxProto.onnx.INodeProto, name: string, fallback: number): number {
  const attribute = node.attribute?.find((a) => a.name === name);
  return attribute ? toNumber(attribute.i) : fallback;
}

function floatAttribute(node: onnxProto.onnx.INodeProto, name: string, fallback: number): number {
  const attribute = node.attribute?.find((a) => a.name === name);
  return attribute ? (attribute.f ?? 0) : fallback;
}

/**
 * Reads the layers back out of an ONNX file of the shape {@link buildMlpOnnx} writes (a single
 * chain of `Gemm(transB=1, alpha=1, beta=1)` nodes with `Relu` between them). Anything else is
 * rejected rather than silently misread, since these weights feed proofs and reference checks.
 */
export function readMlpOnnx(bytes: Uint8Array): MlpOnnxGraph {
  const graph = onnx.ModelProto.decode(bytes).graph;
  if (!graph) throw new Error("ONNX model has no graph");
  const inputName = graph.input?.[0]?.name;
  const outputName = graph.output?.[0]?.name;
  if (graph.input?.length !== 1 || graph.output?.length !== 1 || !inputName || !outputName) {
    throw new Error("expected exactly one graph input and one graph output");
  }
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const nodes = graph.node ?? [];
  const layers: DenseLayer[] = [];
  let current = inputName;
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k] as onnxProto.onnx.INodeProto;
    const inputs = node.input ?? [];
    if (node.domain || inputs[0] !== current || node.output?.length !== 1) {
      throw new Error(`node ${k} (${node.opType}) does not continue the chain from ${current}`);
    }
    const expectRelu = k % 2 === 1;
    if (expectRelu) {
      if (node.opType !== "Relu") throw new Error(`node ${k}: expected Relu, found ${node.opType}`);
    } else {
      if (node.opType !== "Gemm") throw new Error(`node ${k}: expected Gemm, found ${node.opType}`);
      if (
        intAttribute(node, "transA", 0) !== 0 ||
        intAttribute(node, "transB", 0) !== 1 ||
        floatAttribute(node, "alpha", 1) !== 1 ||
        floatAttribute(node, "beta", 1) !== 1
      ) {
        throw new Error(`node ${k}: only Gemm with transA=0, transB=1, alpha=1, beta=1 is supported`);
      }
      const weightTensor = initializers.get(inputs[1] ?? "");
      const biasTensor = initializers.get(inputs[2] ?? "");
      if (!weightTensor || !biasTensor) throw new Error(`node ${k}: weight and bias must be initializers`);
      const weight = readFloatTensor(weightTensor);
      const bias = readFloatTensor(biasTensor);
      const [outSize = 0, inSize = 0] = weight.dims;
      if (weight.dims.length !== 2 || bias.dims.length !== 1 || bias.dims[0] !== outSize) {
        throw new Error(
          `node ${k}: weight dims [${weight.dims.join(", ")}] and bias dims [${bias.dims.join(", ")}] do not match`,
        );
      }
      layers.push({ inSize, outSize, weight: weight.values, bias: bias.values });
    }
    current = node.output[0] as string;
  }
  if (layers.length === 0 || nodes.length % 2 === 0 || current !== outputName) {
    throw new Error(`the node chain must end in a Gemm producing ${outputName}`);
  }
  checkLayers(layers);
  return { inputName, outputName, layers };
}
