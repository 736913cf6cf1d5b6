/// <reference lib="dom" />
import { isAddressEqual, type Address } from "viem";
import type { Explorer } from "../data/context.js";
import { loadOperators, type OperatorView } from "../data/operators.js";
import { facts, h, link, type Child } from "./dom.js";
import { hash, opg, time, where } from "./format.js";
import type { View } from "./view.js";

/** Operators: stake, keys with their rotations, slashes and results served; one operator when `only` is given. */
export async function operatorsView(explorer: Explorer, only?: Address): Promise<View> {
  const all = await loadOperators(explorer);
  const list = only === undefined ? all : all.filter((o) => isAddressEqual(o.operator, only));
  const content: Child[] =
    list.length === 0
      ? [h("p", {}, only === undefined ? "No operator is registered." : `No operator ${only} is registered.`)]
      : list.map(operatorSection);
  if (only !== undefined) content.push(h("p", {}, link("/operators", "All operators")));
  return { title: only === undefined ? "Operators" : "Operator", content };
}

function operatorSection(op: OperatorView): HTMLElement {
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
      ["Results settled", link(`/requests/operator/${op.operator}`, String(op.served))],
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
    op.slashes.length > 0 && h("h3", {}, "Slashes"),
    op.slashes.length > 0 &&
      h(
        "ul",
        {},
        op.slashes.map((s) =>
          h(
            "li",
            {},
            `${opg(s.amount)} to `,
            hash(s.recipient),
            " at ",
            where(s.blockNumber, s.transactionHash),
          ),
        ),
      ),
  );
}
