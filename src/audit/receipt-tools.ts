/**
 * {@link auditReceipt} with this repository's runtime, in Node: sha256 of the model file, onnxruntime-web to re-run
 * it, and for a zk-circuit model its quantized twin (Poseidon input commitment, the fixed-point forward pass) and
 * snarkjs (prove with the circuit's artifacts, verify with its key). The browser-safe audit is `receipt.ts`; this
 * file is where the Node-only pieces (files, worker threads) come in. Call `releaseZk()` after a proving audit.
 */
import { decodeFeatures } from "../model/encoding.js";
import { sha256Hex } from "../model/hash.js";
import { inferBytes } from "../model/infer.js";
import { createModel } from "../model/onnx-runtime.js";
import { zkInputCommitment } from "../sdk/inputs.js";
import { IRIS_ZK_PARAMS } from "../zk/params.js";
import {
  loadVerificationKey,
  prove,
  toSolidityCalldata,
  verifyOffchain,
  type Groth16VerificationKey,
} from "../zk/prover.js";
import { quantizeInput, quantizeOnnx, type QuantizedMlp } from "../zk/quantize.js";
import { fixedPointForward } from "../zk/reference.js";
import { settlementProof, snarkjsProof } from "../zk/settlement.js";
import { circuitInput } from "../zk/witness.js";
import {
  auditReceipt,
  type ReceiptAuditOptions,
  type ReceiptAuditReport,
  type ReceiptAuditTools,
} from "./receipt.js";

/** {@link ReceiptAuditOptions} without the tools: they are built from the model file. */
export interface ReceiptAuditWithModelOptions extends Omit<
  ReceiptAuditOptions,
  keyof ReceiptAuditTools | "sha256"
> {
  /** Groth16 verification key (default: the Iris circuit's). */
  verificationKey?: string;
  /** Witness generator and proving key for `prove` (default: the Iris circuit's build). */
  wasm?: string;
  zkey?: string;
}

/** The model's quantized twin, or `undefined` when the file is not an MLP the circuit can hold. */
function quantizedOrNone(bytes: Uint8Array): QuantizedMlp | undefined {
  try {
    return quantizeOnnx(bytes, IRIS_ZK_PARAMS);
  } catch {
    return undefined;
  }
}

/**
 * Audit a receipt with the model file's tools: re-execution with onnxruntime-web (models without a circuit), the
 * Poseidon commitment and fixed-point output (zk-circuit models), and with `prove` a Groth16 proof verified with
 * snarkjs. Without a model file it is `auditReceipt` alone (chain checks, inclusion, window).
 */
export async function auditReceiptWithModel(
  options: ReceiptAuditWithModelOptions,
): Promise<ReceiptAuditReport> {
  let vkey: Promise<Groth16VerificationKey> | undefined;
  const verifyZkProof: ReceiptAuditTools["verifyZkProof"] = async (signals, proof) => {
    vkey ??=
      options.verificationKey === undefined
        ? loadVerificationKey()
        : loadVerificationKey(options.verificationKey);
    return verifyOffchain(await vkey, signals, snarkjsProof(proof));
  };
  const bytes = options.modelFile;
  if (bytes === undefined) return auditReceipt({ ...options, verifyZkProof });
  const model = await createModel(bytes);
  const quantized = quantizedOrNone(bytes);
  const zkTools: ReceiptAuditTools =
    quantized === undefined
      ? {}
      : {
          zkInputCommitment: (input) => zkInputCommitment(quantized, input),
          runZkModel: (input) =>
            Promise.resolve(
              BigInt(
                fixedPointForward(
                  quantized,
                  quantizeInput(decodeFeatures(input, quantized.sizes[0]), quantized),
                ).label,
              ),
            ),
          proveZk: async (input, binding) => {
            const x = quantizeInput(decodeFeatures(input, quantized.sizes[0]), quantized);
            const proven = await prove(circuitInput(quantized, x, binding), {
              ...(options.wasm !== undefined && { wasm: options.wasm }),
              ...(options.zkey !== undefined && { zkey: options.zkey }),
            });
            return settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
          },
        };
  try {
    return await auditReceipt({
      ...options,
      sha256: sha256Hex,
      runModel: (input) => inferBytes(model, input),
      verifyZkProof,
      ...zkTools,
    });
  } finally {
    await model.release();
  }
}
