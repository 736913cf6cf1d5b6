/// <reference lib="dom" />
import type { Address } from "viem";
import type { Explorer } from "../data/context.js";
import { loadQuiet, type BatchRow, type ChallengeRow } from "../data/quiet.js";
import { h, link, table, type Child } from "./dom.js";
import { opg, operatorLink, shortHash, time, where } from "./format.js";
import type { View } from "./view.js";

/** Whether a batch may still be challenged at chain time `now`, in words. */
function windowWords(batch: BatchRow, now: bigint): string {
  return now > batch.challengeableUntil
    ? `closed (at the latest ${time(batch.challengeableUntil)})`
    : `may be open until ${time(batch.challengeableUntil)}`;
}

/** A batch's data URI: a link when it is http(s) (the operator's own input: only http(s) is ever a link). */
function dataLink(uri: string): Child {
  return /^https?:\/\//i.test(uri) ? h("a", { href: uri, rel: "noopener noreferrer" }, uri) : uri || "none";
}

/** The committed batches, newest first (index, seq range, root, data URI, time, challenge deadline). */
export function batchesTable(batches: readonly BatchRow[], now: bigint, showOperator: boolean): HTMLElement {
  return table(
    `Committed batches (${batches.length}), newest first`,
    [
      ...(showOperator ? ["Operator"] : []),
      "Batch",
      "Receipts (seq)",
      "Root",
      "Data",
      "Committed",
      "Challenges",
    ],
    batches.map((b) => [
      ...(showOperator ? [operatorLink(b.operator)] : []),
      h("span", { "data-batch": `${b.operator}/${b.batchIndex}` }, `#${b.batchIndex}`),
      `${b.firstSeq}…${b.firstSeq + BigInt(b.count) - 1n} (${b.count})`,
      shortHash(b.root),
      dataLink(b.dataUri),
      where(b.blockNumber, b.transactionHash, b.committedAt),
      windowWords(b, now),
    ]),
  );
}

/** The proven cheats, newest first: kind, receipt, challenger, stake taken. */
export function challengesTable(challenges: readonly ChallengeRow[], showOperator: boolean): HTMLElement {
  return table(
    `Challenges that slashed (${challenges.length}), newest first`,
    [...(showOperator ? ["Operator"] : []), "Kind", "Receipt seq", "Challenger", "Stake taken", "Where"],
    challenges.map((c) => [
      ...(showOperator ? [operatorLink(c.operator)] : []),
      h("span", { "data-challenge": c.kind }, c.kind),
      c.seq.toString(),
      shortHash(c.challenger),
      opg(c.slashed),
      where(c.blockNumber, c.transactionHash),
    ]),
  );
}

/** Quiet mode's log: every operator's committed batches and the challenges that slashed, or one operator's. */
export async function batchesView(explorer: Explorer, operator?: Address): Promise<View> {
  const [quiet, head] = await Promise.all([
    loadQuiet(explorer, operator),
    explorer.deployment.client.getBlock({ blockTag: "latest" }),
  ]);
  const title = "Batches and challenges";
  if (quiet === undefined) return { title, content: [h("p", {}, "This deployment has no quiet mode.")] };
  const { mode } = quiet;
  return {
    title,
    content: [
      operator !== undefined &&
        h("p", {}, "Operator ", operatorLink(operator), " · ", link("/batches", "every operator")),
      h(
        "p",
        {},
        "Quiet mode (contract ",
        shortHash(mode.address),
        `): an operator commits its signed receipts in batches; each receipt must be committed within ${mode.commitWindow} s of its request's deadline and can be challenged for ${mode.challengeWindow} s more. A proven cheat costs ${opg(mode.penalty)} of stake. `,
        "To check one receipt, ",
        link("/receipt", "open it on the receipt view"),
        ".",
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "batches-title" },
        h("h2", { id: "batches-title" }, "Committed batches"),
        quiet.batches.length === 0
          ? h("p", {}, "No batch committed yet.")
          : batchesTable(quiet.batches, head.timestamp, operator === undefined),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "challenges-title" },
        h("h2", { id: "challenges-title" }, "Challenges"),
        quiet.challenges.length === 0
          ? h("p", {}, "No challenge has slashed anyone.")
          : challengesTable(quiet.challenges, operator === undefined),
      ),
    ],
  };
}
