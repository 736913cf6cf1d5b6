/// <reference lib="dom" />
import { isAddressEqual, type Address, type Hex } from "viem";
import { modeName } from "../../browser/index.js";
import type { Explorer } from "../data/context.js";
import { loadRequests, type RequestRow } from "../data/requests.js";
import { h, table } from "./dom.js";
import { modelLink, opg, operatorLink, requestLink } from "./format.js";
import type { View } from "./view.js";

/** What the list shows: every request, one model version's, or one operator's. */
export type RequestFilter = { model: Hex } | { operator: Address } | undefined;

const STATE_WORDS: Record<RequestRow["state"], string> = {
  pending: "pending",
  fulfilled: "settled",
  refunded: "refunded",
};

/** Requests, newest first, each linking to its life and audit. */
export async function requestsView(explorer: Explorer, filter?: RequestFilter): Promise<View> {
  const all = await loadRequests(explorer);
  const rows = all.filter((r) => {
    if (filter === undefined) return true;
    if ("model" in filter) return r.request.modelId.toLowerCase() === filter.model.toLowerCase();
    return r.operator !== undefined && isAddressEqual(r.operator, filter.operator);
  });
  const what =
    filter === undefined
      ? "All requests"
      : "model" in filter
        ? "Requests for one model version"
        : "Results of one operator";
  return {
    title: "Requests",
    content: [
      rows.length === 0
        ? h("p", {}, "No request yet.")
        : table(
            `${what} (${rows.length}), newest first`,
            ["Request", "State", "Mode", "Model", "Fee", "Operator", "Opened at block"],
            rows.map((r) => [
              requestLink(r.requestId),
              h("span", { class: `badge state-${r.state}` }, STATE_WORDS[r.state]),
              modeName(r.request.mode),
              modelLink(r.request.modelId),
              opg(r.request.fee),
              r.operator === undefined ? "—" : operatorLink(r.operator),
              r.openedBlock,
            ]),
          ),
    ],
  };
}
