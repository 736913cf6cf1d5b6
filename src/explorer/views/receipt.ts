/// <reference lib="dom" />
import { h, link } from "./dom.js";
import type { View } from "./view.js";

/**
 * Quiet receipts (docs/quiet.md): where a receipt JSON will be pasted or dropped and checked in the browser (the
 * receipt audit, `src/audit/receipt.ts`, with the one JSON codec `src/protocol/quiet-json.ts`). The route is wired;
 * the check is the next slice.
 */
export function receiptView(): View {
  return {
    title: "Receipt",
    content: [
      h(
        "p",
        {},
        "Checking a quiet-mode receipt (its signature, its batch's Merkle inclusion and the challenge window) is coming to this page. ",
        "Until then, a quiet receipt is checked with the SDK's verifyQuietReceipt.",
      ),
      h("p", {}, link("/requests", "Requests settled on chain"), " can be audited here now."),
    ],
  };
}
