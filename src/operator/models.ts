import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { Address, Hex, PublicClient } from "viem";
import { inferenceSettlementAbi, modelRegistryAbi } from "../abi/index.js";
import { modeModulesIn, type ModelRuntime } from "../modes/index.js";
import { sha256Hex } from "../model/hash.js";
import { createModel } from "../model/onnx-runtime.js";

export type { ModelRuntime } from "../modes/index.js";

/** A model this node serves: its registered id and a local copy of its file (checked against the registry). */
export interface ServedModel {
  modelId: Hex;
  file: string;
}

/**
 * Load the served models into `runtimes` (keyed by lower-case model id), each checked against the file hash the
 * settlement's model registry commits to (a mismatch throws; the models loaded before it stay in `runtimes`), and
 * prepared by the module of every mode the version allows and the node serves (`servedModes`, a mode bit set; the
 * zk module quantizes it for the circuit).
 */
export async function loadModels(
  runtimes: Map<string, ModelRuntime>,
  client: PublicClient,
  settlement: Address,
  models: readonly ServedModel[],
  log: Logger,
  servedModes = ~0,
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
    const runtime: ModelRuntime = { modelId: served.modelId, modes: version.modes, model };
    const modes = modeModulesIn(version.modes & servedModes);
    for (const mode of modes) mode.prepare(runtime, bytes);
    runtimes.set(served.modelId.toLowerCase(), runtime);
    log.info(
      { modelId: served.modelId, fileHash, modes: modes.map((m) => m.name) },
      "serving model: file matches the registry",
    );
  }
}
