import { readFile } from "node:fs/promises";
import type { Address, PublicClient } from "viem";
import { auditRequest, type AuditReport } from "../audit/audit.js";
import type { ZkProofArgs } from "../protocol/zk.js";
import { decodeFeatures } from "../model/encoding.js";
import { sha256Hex } from "../model/hash.js";
import { inferBytes } from "../model/infer.js";
import { createModel } from "../model/onnx-runtime.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../model/runtime.js";
import { loadVerificationKey, verifyOffchain, type Groth16VerificationKey } from "../zk/prover.js";
import { quantizeInput } from "../zk/quantize.js";
import { fixedPointForward } from "../zk/reference.js";
import { snarkjsProof } from "../zk/settlement.js";
import { quantizedModel, zkInputCommitment } from "./inputs.js";

export interface AuditWithModelOptions {
  publicClient: PublicClient;
  /** The settlement core; the contract of the request's mode is read from it. */
  settlement: Address;
  requestId: bigint;
  /** The model file (path or bytes): checked against the commitment and, if it matches, re-executed. */
  modelFile?: string | Uint8Array;
  /** Groth16 verification key for zk requests (default: the Iris circuit's). */
  verificationKey?: string;
  fromBlock?: bigint;
}

/**
 * {@link auditRequest} with this repository's runtime: sha256 of the model file, the default runtime hash, and the
 * tools each mode's audit module uses: re-execution with onnxruntime-web (signature mode); off-chain Groth16
 * verification, the Poseidon input commitment and the fixed-point re-run (zk mode).
 */
export async function auditWithModel(options: AuditWithModelOptions): Promise<AuditReport> {
  const bytes =
    options.modelFile === undefined
      ? undefined
      : typeof options.modelFile === "string"
        ? new Uint8Array(await readFile(options.modelFile))
        : options.modelFile;
  const base = {
    client: options.publicClient,
    settlement: options.settlement,
    requestId: options.requestId,
    runtimeHash: runtimeHash(DEFAULT_RUNTIME),
    ...(options.fromBlock === undefined ? {} : { fromBlock: options.fromBlock }),
  };
  // Loaded only when a zk request is audited.
  let vkey: Promise<Groth16VerificationKey> | undefined;
  const verifyZkProof = async (signals: readonly bigint[], proof: ZkProofArgs) => {
    vkey ??=
      options.verificationKey === undefined
        ? loadVerificationKey()
        : loadVerificationKey(options.verificationKey);
    return verifyOffchain(await vkey, signals, snarkjsProof(proof));
  };
  if (bytes === undefined) return auditRequest({ ...base, verifyZkProof });
  const model = await createModel(bytes);
  try {
    const quantized = await quantizedModel(bytes);
    return await auditRequest({
      ...base,
      modelFile: bytes,
      sha256: sha256Hex,
      runModel: (input) => inferBytes(model, input),
      verifyZkProof,
      zkInputCommitment: (input) => zkInputCommitment(quantized, input),
      runZkModel: (input) =>
        Promise.resolve(
          BigInt(
            fixedPointForward(quantized, quantizeInput(decodeFeatures(input, quantized.sizes[0]), quantized))
              .label,
          ),
        ),
    });
  } finally {
    await model.release();
  }
}
