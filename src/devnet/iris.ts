import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Address, Hex } from "viem";
import { irisMlpVerifierCodeHash } from "../abi/index.js";
import { sha256Hex } from "../model/hash.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../model/runtime.js";
import { fieldToBytes32, VerificationMode, type ModelSpecInput } from "../protocol/index.js";
import { IRIS_ZK_PARAMS, quantizeOnnx, weightCommitment, type QuantizedMlp } from "../zk/index.js";

/** The example model file shipped in `models/`. */
export const IRIS_MODEL_PATH = fileURLToPath(new URL("../../models/iris-mlp.onnx", import.meta.url));

/** Everything needed to register the example model, and its quantized twin for proving. */
export interface IrisRegistration {
  bytes: Uint8Array;
  quantized: QuantizedMlp;
  spec: ModelSpecInput;
}

/**
 * The registration of `models/iris-mlp.onnx`: file sha256, runtime hash and, when a verifier is given, the zk
 * weight commitment, verifier and the verifier's code hash (by default that of `IrisMlpVerifier`), allowing both
 * verification modes.
 */
export async function irisRegistration(terms: {
  fee: bigint;
  royaltyBps: number;
  zkVerifier?: Address;
  zkVerifierCodeHash?: Hex;
  name?: string;
}): Promise<IrisRegistration> {
  const bytes = new Uint8Array(await readFile(IRIS_MODEL_PATH));
  const quantized = quantizeOnnx(bytes, IRIS_ZK_PARAMS);
  const zk = terms.zkVerifier !== undefined;
  return {
    bytes,
    quantized,
    spec: {
      name: terms.name ?? "iris-mlp",
      fileHash: sha256Hex(bytes),
      runtimeHash: runtimeHash(DEFAULT_RUNTIME),
      zkCommitment: zk ? fieldToBytes32(await weightCommitment(quantized)) : `0x${"0".repeat(64)}`,
      zkVerifier: terms.zkVerifier ?? "0x0000000000000000000000000000000000000000",
      zkVerifierCodeHash: zk ? (terms.zkVerifierCodeHash ?? irisMlpVerifierCodeHash) : `0x${"0".repeat(64)}`,
      uri: "models/iris-mlp.onnx",
      fee: terms.fee,
      royaltyBps: terms.royaltyBps,
      modes: zk ? VerificationMode.Signature | VerificationMode.Zk : VerificationMode.Signature,
    },
  };
}
