/// <reference lib="dom" />
import type { Hex } from "viem";
import type { Explorer } from "../data/context.js";
import { loadModels } from "../data/models.js";
import { loadQuiet } from "../data/quiet.js";
import { loadRequests } from "../data/requests.js";
import { bucketize, stackedBars } from "./chart.js";
import { h, link } from "./dom.js";
import { modelLink, short } from "./format.js";
import type { View } from "./view.js";

/**
 * A model's activity: inferences over time, by version and by operator, as stacked bar charts. Requests settled come
 * from the core's `RequestFulfilled` (timed by their block); quiet receipts committed from `BatchCommitted` (timed
 * by `committedAt`), counted per operator only, since a batch does not name its models on chain. With `model`, the
 * version's family alone.
 */
export async function activityView(explorer: Explorer, model?: Hex): Promise<View> {
  const [requests, families, quiet] = await Promise.all([
    loadRequests(explorer),
    loadModels(explorer),
    loadQuiet(explorer),
  ]);
  const family =
    model === undefined
      ? undefined
      : families.find((f) => f.versions.some((v) => v.modelId.toLowerCase() === model.toLowerCase()));
  const inFamily = (modelId: Hex) =>
    family === undefined || family.versions.some((v) => v.modelId.toLowerCase() === modelId.toLowerCase());
  const versionName = new Map(
    families.flatMap((f) =>
      f.versions.map((v, i) => [v.modelId, `${v.name} v${i + 1} ${short(v.modelId)}`] as const),
    ),
  );
  const settled = requests.filter(
    (r) => r.state === "fulfilled" && r.closedBlock !== undefined && inFamily(r.request.modelId),
  );
  const times = await explorer.blocks.ofAll(settled.map((r) => r.closedBlock!));
  const byVersion = settled.map((r) => ({
    time: times.get(r.closedBlock!) ?? 0n,
    series: versionName.get(r.request.modelId) ?? short(r.request.modelId),
  }));
  const byOperator = settled.map((r) => ({
    time: times.get(r.closedBlock!) ?? 0n,
    series: `${short(r.operator!)} settled`,
  }));
  if (family === undefined && quiet !== undefined) {
    for (const b of quiet.batches) {
      for (let i = 0; i < b.count; i++)
        byOperator.push({ time: b.committedAt, series: `${short(b.operator)} quiet` });
    }
  }
  const title = family === undefined ? "Activity" : `Activity of ${family.name}`;
  return {
    title,
    content: [
      h(
        "p",
        {},
        family === undefined
          ? "Inferences over time on this deployment: requests settled on chain by model version, and by operator with the quiet receipts each committed. "
          : [
              "The versions of one family: ",
              family.versions.map((v, i) => [i > 0 ? ", " : "", modelLink(v.modelId, v.name)]),
              ". ",
            ],
        family === undefined ? "" : link("/activity", "Every model"),
      ),
      family === undefined &&
        families.length > 0 &&
        h(
          "p",
          {},
          "By family: ",
          families.map((f, i) => [i > 0 ? " · " : "", link(`/activity/${f.versions[0]!.modelId}`, f.name)]),
        ),
      h(
        "section",
        { class: "card", "aria-labelledby": "by-version-title" },
        h("h2", { id: "by-version-title" }, "By model version"),
        stackedBars("by-version", "Requests settled, by model version", bucketize(byVersion)),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "by-operator-title" },
        h("h2", { id: "by-operator-title" }, "By operator"),
        stackedBars(
          "by-operator",
          family === undefined
            ? "Requests settled and quiet receipts committed, by operator"
            : "Requests settled, by operator",
          bucketize(byOperator),
        ),
        family !== undefined &&
          h(
            "p",
            { class: "muted" },
            "Quiet receipts are left out here: a committed batch does not name its models on chain.",
          ),
      ),
    ],
  };
}
