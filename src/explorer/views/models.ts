/// <reference lib="dom" />
import { modeName, VerificationMode } from "../../browser/index.js";
import type { Explorer } from "../data/context.js";
import { loadModels, type FamilyView, type VersionView } from "../data/models.js";
import { facts, h, link, type Child } from "./dom.js";
import { bps, hash, modelLink, opg, shortHash, time, where } from "./format.js";
import type { View } from "./view.js";

const ZERO_HASH = `0x${"0".repeat(64)}`;

/** Models: each family, its versions with their commitments, terms and status, and what `latest` pointed at. */
export async function modelsView(explorer: Explorer, focus?: string): Promise<View> {
  const families = await loadModels(explorer);
  const content: Child[] =
    families.length === 0
      ? [h("p", {}, "No model is registered at this deployment.")]
      : families.map((family) => familySection(family, focus?.toLowerCase()));
  return { title: "Models", content };
}

function familySection(family: FamilyView, focus: string | undefined): HTMLElement {
  const id = `family-${family.familyId}`;
  return h(
    "section",
    { class: "card", "aria-labelledby": id },
    h("h2", { id }, family.name),
    facts([
      ["Family", hash(family.familyId)],
      ["Owner", shortHash(family.owner)],
      ["Latest version", family.latest === undefined ? "none" : modelLink(family.latest)],
      ["Versions", family.versions.length],
      family.versions[0] !== undefined && [
        "Activity",
        link(`/activity/${family.versions[0].modelId}`, "inferences over time"),
      ],
    ]),
    family.versions.map((version) => versionArticle(version, version.modelId === family.latest, focus)),
    h("h3", {}, "What ", h("code", {}, "latest"), " pointed at"),
    h(
      "ol",
      { class: "timeline", "aria-label": `History of the latest version of ${family.name}` },
      family.timeline.map((move) => {
        const version = family.versions.find((v) => v.modelId === move.modelId);
        return h(
          "li",
          {},
          h("time", {}, time(move.time)),
          " → ",
          modelLink(move.modelId, version?.name),
          " ",
          h("span", { class: "muted" }, where(move.blockNumber, move.transactionHash)),
        );
      }),
    ),
  );
}

function versionArticle(version: VersionView, isLatest: boolean, focus: string | undefined): HTMLElement {
  const id = `model-${version.modelId}`;
  const zk = version.zkCommitment !== ZERO_HASH;
  const modes = [VerificationMode.Signature, VerificationMode.Zk, VerificationMode.Quiet]
    .filter((m) => (version.modes & m) !== 0)
    .map(modeName)
    .join(", ");
  return h(
    "article",
    {
      class: `version${focus === version.modelId.toLowerCase() ? " focused" : ""}`,
      id,
      "aria-labelledby": `${id}-title`,
      "data-model-id": version.modelId,
    },
    h(
      "h3",
      { id: `${id}-title` },
      version.name,
      " ",
      h("span", { class: `badge status-${version.now.status.toLowerCase()}` }, version.now.status),
      isLatest ? h("span", { class: "badge latest" }, "latest") : "",
    ),
    facts([
      ["Model id", hash(version.modelId)],
      ["File sha256", hash(version.fileHash)],
      ["Runtime hash", hash(version.runtimeHash)],
      ["zk commitment", zk ? hash(version.zkCommitment) : "none (no circuit)"],
      zk && ["zk verifier", hash(version.zkVerifier)],
      zk && ["Verifier code hash", hash(version.zkVerifierCodeHash)],
      ["File URI", version.uri],
      ["Modes", modes || "none"],
      ["Fee", opg(version.now.fee)],
      ["Royalty", bps(version.now.royaltyBps)],
      ["Requests", link(`/requests/${version.modelId}`, String(version.requests))],
      ["Registered", where(version.registeredBlock, version.registeredTx)],
    ]),
  );
}
