import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { Address, Hex, PublicClient } from "viem";
import { inferenceSettlementAbi, modelRegistryAbi } from "../abi/index.js";
import { sha256Hex } from "../model/hash.js";
import { createModel, type LoadedModel } from "../model/onnx-runtime.js";
import { VerificationMode } from "../protocol/modes.js";
import { IRIS_ZK_PARAMS, quantizeOnnx, type QuantizedMlp } from "../zk/index.js";

/** A model this node serves: its registered id and a local copy of its file (checked against the registry). */
export interface ServedModel {
  modelId: Hex;
  file: string;
}

/** A served model, loaded: what it is registered for, and what runs (or proves) it. */
export interface ModelRuntime {
  modelId: Hex;
  modes: number;
  model: LoadedModel;
  quantized?: QuantizedMlp;
}

/**
 * Load the served models into `runtimes` (keyed by lower-case model id), each checked against the file hash the
 * settlement's model registry commits to (a mismatch throws; the models loaded before it stay in `runtimes`).
 */
export async function loadModels(
  runtimes: Map<string, ModelRuntime>,
  client: PublicClient,
  settlement: Address,
  models: readonly ServedModel[],
  log: Logger,
): Promise<void> {
  const modelsAddress = await client.readContract({
    address: settlement,
    abi: inferenceSettlementAbi,
    functionName: "models",
  });
  for (const served of models) {
    const version = await client.readContract({
      address: modelsAddress,
      abi: modelRegistryAbi,
      functionName: "getModel",
      args: [served.modelId],
    });
    const bytes = new Uint8Array(await readFile(served.file));
    const fileHash = sha256Hex(bytes);
    if (fileHash !== version.fileHash) {
      throw new Error(
        `model ${served.modelId}: ${served.file} has sha256 ${fileHash}, the registry commits to ${version.fileHash}`,
      );
    }
    const model = await createModel(bytes, { expectedSha256: version.fileHash });
    const zk = (version.modes & VerificationMode.Zk) !== 0;
    runtimes.set(served.modelId.toLowerCase(), {
      modelId: served.modelId,
      modes: version.modes,
      model,
      ...(zk ? { quantized: quantizeOnnx(bytes, IRIS_ZK_PARAMS) } : {}),
    });
    log.info(
      { modelId: served.modelId, fileHash, modes: version.modes },
      "serving model: file matches the registry",
    );
  }
}
