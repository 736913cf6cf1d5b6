/// <reference lib="dom" />
import { isAddressEqual, type Address } from "viem";
import type { Explorer } from "../data/context.js";
import { loadOperators, type OperatorView } from "../data/operators.js";
import { loadCoreSlashes, loadQuiet, type CoreSlashRow, type QuietActivity } from "../data/quiet.js";
import { modeName } from "../../browser/index.js";
import { batchesTable, challengesTable } from "./batches.js";
import { facts, h, link, type Child } from "./dom.js";
import { hash, opg, shortHash, time, where } from "./format.js";
import type { View } from "./view.js";

/**
 * Operators: stake, keys with their rotations, published endpoint, slashes (with the mode and challenge that caused
 * them) and results served; one operator when `only` is given, with its committed quiet-mode batches too.
 */
export async function operatorsView(explorer: Explorer, only?: Address): Promise<View> {
  const [all, slashes, quiet, head] = await Promise.all([
    loadOperators(explorer),
    loadCoreSlashes(explorer, only),
    loadQuiet(explorer, only),
    explorer.deployment.client.getBlock({ blockTag: "latest" }),
  ]);
  const list = only === undefined ? all : all.filter((o) => isAddressEqual(o.operator, only));
  const content: Child[] =
    list.length === 0
      ? [h("p", {}, only === undefined ? "No operator is registered." : `No operator ${only} is registered.`)]
      : list.map((op) =>
          operatorSection(op, slashes, quiet, only !== undefined ? head.timestamp : undefined),
        );
  if (only !== undefined) content.push(h("p", {}, link("/operators", "All operators")));
  return { title: only === undefined ? "Operators" : "Operator", content };
}

function operatorSection(
  op: OperatorView,
  coreSlashes: readonly CoreSlashRow[],
  quiet: QuietActivity | undefined,
  /** Chain time, when the view is of this operator alone: its batches are listed then. */
  now: bigint | undefined,
): HTMLElement {
  const mine = <T extends { operator: Address }>(rows: readonly T[] | undefined) =>
    (rows ?? []).filter((r) => isAddressEqual(r.operator, op.operator));
  const challenges = mine(quiet?.challenges);
  const batches = mine(quiet?.batches);
  const slashes = mine(coreSlashes);
  const lastSet = op.endpoints[op.endpoints.length - 1];
  const id = `operator-${op.operator}`;
  return h(
    "section",
    { class: "card", "aria-labelledby": id, "data-operator": op.operator },
    h("h2", { id }, link(`/operator/${op.operator}`, h("code", { class: "hash" }, op.operator))),
    facts([
      ["Stake", opg(op.now.stake)],
      op.now.unbonding > 0n && ["Unbonding", `${opg(op.now.unbonding)} until ${time(op.now.unbondingEnd)}`],
      ["May serve now", op.now.eligible ? "yes" : "no (stake below the minimum, or no key)"],
      ["Signing key", hash(op.now.signer)],
      ["Payout", hash(op.now.payout)],
      [
        "Endpoint",
        op.endpoint !== undefined
          ? h(
              "a",
              { href: op.endpoint, rel: "noopener noreferrer", "data-endpoint": op.endpoint },
              op.endpoint,
            )
          : lastSet === undefined || lastSet.endpoint === ""
            ? "none published"
            : ["not an http(s) URL, so not linked: ", h("code", {}, lastSet.endpoint)],
      ],
      ["Results settled", link(`/requests/operator/${op.operator}`, String(op.served))],
      [
        "Quiet receipts committed",
        link(
          `/batches/${op.operator}`,
          `${batches.reduce((n, b) => n + b.count, 0)} in ${batches.length} batch(es)`,
        ),
      ],
      ["Challenges lost", challenges.length === 0 ? "none" : `${challenges.length}`],
      ["Slashed", op.slashes.length === 0 ? "never" : `${op.slashes.length} time(s)`],
    ]),
    h("h3", {}, "Keys over time"),
    h(
      "ol",
      { class: "timeline" },
      op.keys.map((key, i) =>
        h(
          "li",
          {},
          h("code", { class: "hash" }, key.signer),
          ` ${i === 0 ? "registered" : "rotated in"} at `,
          where(key.fromBlock, key.transactionHash),
          key.untilBlock === undefined ? " (current)" : `, replaced at block ${key.untilBlock}`,
        ),
      ),
    ),
    op.endpoints.length > 0 && h("h3", {}, "Endpoint over time"),
    op.endpoints.length > 0 &&
      h(
        "ol",
        { class: "timeline" },
        op.endpoints.map((e) =>
          h(
            "li",
            {},
            e.endpoint === "" ? "cleared" : h("code", {}, e.endpoint),
            " at ",
            where(e.blockNumber, e.transactionHash),
          ),
        ),
      ),
    op.slashes.length > 0 && h("h3", {}, "Slashes"),
    op.slashes.length > 0 &&
      h(
        "ul",
        { class: "slashes" },
        op.slashes.map((s) => {
          const why = slashes.find((c) => c.transactionHash === s.transactionHash);
          const challenge = challenges.find((c) => c.transactionHash === s.transactionHash);
          return h(
            "li",
            { "data-slash": s.transactionHash },
            `${opg(s.amount)} taken`,
            why === undefined ? "" : ` by ${modeName(why.mode)} mode (${opg(why.reward)} to the challenger `,
            why === undefined ? "" : shortHash(why.beneficiary),
            why === undefined ? "" : ")",
            challenge === undefined ? "" : `, for ${challenge.kind} at receipt seq ${challenge.seq}`,
            " at ",
            where(s.blockNumber, s.transactionHash),
            why === undefined ? ["; to ", hash(s.recipient)] : "",
          );
        }),
      ),
    now !== undefined && challenges.length > 0 && h("h3", {}, "Challenges"),
    now !== undefined && challenges.length > 0 && challengesTable(challenges, false),
    now !== undefined && batches.length > 0 && h("h3", {}, "Committed batches"),
    now !== undefined && batches.length > 0 && batchesTable(batches.slice(0, 20), now, false),
    now !== undefined &&
      batches.length > 20 &&
      h("p", {}, link(`/batches/${op.operator}`, `All ${batches.length} batches`)),
  );
}
