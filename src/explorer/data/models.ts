import type { Address, Hex } from "viem";
import { getModel, modelRegistryAbi, type ModelInfo } from "../../browser/index.js";
import type { Explorer } from "./context.js";
import { loadRequests } from "./requests.js";

/** A model version: its commitment (from `ModelRegistered`) and its terms and status now (from the registry). */
export interface VersionView {
  modelId: Hex;
  familyId: Hex;
  owner: Address;
  name: string;
  uri: string;
  /** sha256 of the model file. */
  fileHash: Hex;
  runtimeHash: Hex;
  zkCommitment: Hex;
  zkVerifier: Address;
  zkVerifierCodeHash: Hex;
  modes: number;
  /** Current terms and status, read from the registry. */
  now: ModelInfo;
  registeredBlock: bigint;
  registeredTx: Hex;
  /** Requests opened for this version. */
  requests: number;
}

/** One move of a family's `latest` pointer. */
export interface LatestChange {
  modelId: Hex;
  blockNumber: bigint;
  transactionHash: Hex;
  /** Unix seconds. */
  time: bigint;
}

/** A model family: its versions and the history of what `latest` pointed at. */
export interface FamilyView {
  familyId: Hex;
  /** The name of the version `latest` points at (the first version's, before any). */
  name: string;
  owner: Address;
  versions: VersionView[];
  latest?: Hex;
  timeline: LatestChange[];
}

/** Every family with its versions, from the registry's events and its current state. */
export async function loadModels(explorer: Explorer): Promise<FamilyView[]> {
  const { deployment } = explorer;
  const [events, requests] = await Promise.all([
    explorer.logs.events(deployment.addresses.models, modelRegistryAbi),
    loadRequests(explorer),
  ]);
  const perModel = new Map<Hex, number>();
  for (const r of requests) perModel.set(r.request.modelId, (perModel.get(r.request.modelId) ?? 0) + 1);

  const families = new Map<Hex, FamilyView>();
  const registered = events.flatMap((e) => (e.eventName === "ModelRegistered" ? [e] : []));
  const current = await Promise.all(
    registered.map((e) => getModel(deployment.sdk, { modelId: e.args.modelId })),
  );
  for (const [i, event] of registered.entries()) {
    const { modelId, familyId, owner, spec } = event.args;
    let family = families.get(familyId);
    if (family === undefined) {
      family = { familyId, name: spec.name, owner, versions: [], timeline: [] };
      families.set(familyId, family);
    }
    family.versions.push({
      modelId,
      familyId,
      owner,
      name: spec.name,
      uri: spec.uri,
      fileHash: spec.fileHash,
      runtimeHash: spec.runtimeHash,
      zkCommitment: spec.zkCommitment,
      zkVerifier: spec.zkVerifier,
      zkVerifierCodeHash: spec.zkVerifierCodeHash,
      modes: spec.modes,
      now: current[i]!,
      registeredBlock: event.blockNumber,
      registeredTx: event.transactionHash,
      requests: perModel.get(modelId) ?? 0,
    });
  }
  const moves = events.flatMap((e) => (e.eventName === "LatestVersionSet" ? [e] : []));
  const times = await explorer.blocks.ofAll(moves.map((m) => m.blockNumber));
  for (const move of moves) {
    const family = families.get(move.args.familyId);
    if (family === undefined) continue;
    family.timeline.push({
      modelId: move.args.modelId,
      blockNumber: move.blockNumber,
      transactionHash: move.transactionHash,
      time: times.get(move.blockNumber) ?? 0n,
    });
    family.latest = move.args.modelId;
    family.name = family.versions.find((v) => v.modelId === move.args.modelId)?.name ?? family.name;
  }
  return [...families.values()];
}
