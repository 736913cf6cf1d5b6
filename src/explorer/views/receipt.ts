/// <reference lib="dom" />
import {
  auditReceiptInBrowser,
  QuietJsonError,
  RECEIPT_CHECKS,
  receiptChecksNotRunInBrowser,
  receiptRecordFromJson,
  type QuietReceiptRecord,
  type ReceiptAuditReport,
  type ReceiptAuditVerdict,
  type ReceiptState,
} from "../../browser/index.js";
import type { Explorer } from "../data/context.js";
import { loadCoreSlashes, type CoreSlashRow } from "../data/quiet.js";
import { modelRunner, type ModelRunner } from "../rerun/tool.js";
import { append, facts, h, link, type Child } from "./dom.js";
import { modelLink, opg, operatorLink, shortHash, time } from "./format.js";
import type { View } from "./view.js";

/** Each receipt verdict in words: a heading and what it means for the visitor. */
export const RECEIPT_VERDICT_WORDS: Record<ReceiptAuditVerdict, { title: string; meaning: string }> = {
  verified: {
    title: "Verified",
    meaning:
      "Every check passed and the receipt is final: committed in its operator's log, never struck, its challenge window closed. Your browser checked each step from chain data.",
  },
  pending: {
    title: "Pending",
    meaning:
      "Nothing failed so far, but the receipt is not final yet: it waits to be committed, or it can still be challenged.",
  },
  failed: {
    title: "Failed",
    meaning:
      "At least one check failed: this receipt does not prove what it claims. The failing checks are named.",
  },
};

/** Where the receipt stands, in words. */
const STATE_WORDS: Record<ReceiptState, string> = {
  uncommitted: "signed, not committed yet",
  "in window": "committed, in its challenge window",
  final: "final",
  struck: "struck by a proven wrong output",
  unknown: "its place in the log could not be established",
};

/** Where the last receipt text is kept in the tab (sessionStorage), so a reload or going back shows it again. */
const STORED = "opg-explorer/receipt";

/** What the visitor gave last: the receipt text, and the model file (memory only; it never leaves the browser). */
const given: { text: string; model?: Uint8Array; modelName?: string; reading?: Promise<void> } = {
  text: storedText(),
};

function storedText(): string {
  try {
    return sessionStorage.getItem(STORED) ?? "";
  } catch {
    return "";
  }
}

function keep(text: string): void {
  given.text = text;
  try {
    sessionStorage.setItem(STORED, text);
  } catch {
    // Unavailable or full: the text stays in memory.
  }
}

/** Read a model file the visitor gave; a check waits for it. */
function takeModel(file: File): void {
  given.reading = file.arrayBuffer().then((buffer) => {
    given.model = new Uint8Array(buffer);
    given.modelName = file.name;
  });
}

/**
 * Quiet receipts (docs/quiet.md): paste or drop a receipt file (`QuietReceiptRecord`, the one JSON codec) and
 * optionally the model file; the page runs the SDK's receipt audit (`auditReceipt`) in the browser and shows the
 * receipt's life, every check with its evidence and the verdict.
 */
export function receiptView(explorer: Explorer): View {
  const result = h("section", {
    class: "card",
    id: "receipt-result",
    "aria-labelledby": "receipt-audit-title",
    "aria-live": "polite",
    hidden: true,
  });
  const textarea = h("textarea", {
    id: "receipt-json",
    rows: "8",
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": "receipt-json-help",
    placeholder: '{ "chainId": …, "quietMode": "0x…", "request": { … }, "receipt": { … }, … }',
  });
  textarea.value = given.text;
  const receiptFile = h("input", { type: "file", id: "receipt-file", accept: ".json,application/json" });
  const modelFile = h("input", {
    type: "file",
    id: "receipt-model",
    accept: ".onnx,application/octet-stream",
  });
  const error = h("p", { class: "error", id: "receipt-error", role: "alert" });
  const form = h(
    "form",
    { id: "receipt-form", class: "card receipt-form", "aria-labelledby": "receipt-form-title" },
    h("h2", { id: "receipt-form-title" }, "A receipt to check"),
    h(
      "p",
      { id: "receipt-json-help" },
      "Paste a receipt file (what the SDK's infer() hands to onReceipt, as JSON), drop it on the box, or choose it. ",
      "Give the model file too: its sha256 is checked against the version's commitment and the page re-runs it on the input with onnxruntime-web. Nothing leaves your browser but reads of the chain and of the batch data the operator serves.",
    ),
    h("label", { for: "receipt-json" }, "Receipt JSON"),
    textarea,
    h(
      "div",
      { class: "file-fields" },
      h("div", { class: "field" }, h("label", { for: "receipt-file" }, "Receipt file"), receiptFile),
      h(
        "div",
        { class: "field" },
        h("label", { for: "receipt-model" }, "Model file ", h("span", { class: "muted" }, "(optional)")),
        modelFile,
      ),
    ),
    given.modelName === undefined ? "" : h("p", { class: "muted" }, `Model file: ${given.modelName}`),
    h("button", { type: "submit" }, "Check this receipt"),
    error,
  );
  const readInto = (file: File) =>
    void file.text().then((text) => {
      textarea.value = text;
      keep(text);
    });
  receiptFile.addEventListener("change", () => {
    const file = receiptFile.files?.[0];
    if (file !== undefined) readInto(file);
  });
  modelFile.addEventListener("change", () => {
    const file = modelFile.files?.[0];
    if (file !== undefined) takeModel(file);
  });
  textarea.addEventListener("dragover", (event) => {
    event.preventDefault();
    textarea.classList.add("dropping");
  });
  textarea.addEventListener("dragleave", () => {
    textarea.classList.remove("dropping");
  });
  textarea.addEventListener("drop", (event) => {
    event.preventDefault();
    textarea.classList.remove("dropping");
    const files = [...(event.dataTransfer?.files ?? [])];
    for (const file of files) {
      if (/\.onnx$/i.test(file.name)) takeModel(file);
      else readInto(file);
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    keep(textarea.value);
    void check(explorer, textarea.value, error, result);
  });
  if (given.text.trim() !== "") void check(explorer, given.text, error, result);
  return {
    title: "Receipt",
    content: [
      h(
        "p",
        {},
        "A quiet-mode receipt is an operator's signed answer, paid by a voucher and committed later in the operator's log on chain. ",
        "This page checks one end to end with the SDK's receipt audit: both signatures, the operator's key and stake, the model, its inclusion in a committed batch (the proof verified against the on-chain root), the challenge window and strikes.",
      ),
      form,
      result,
    ],
  };
}

let checks = 0;

/** Parse the text with the one receipt codec, audit it, and show the report in `box` (the latest check wins). */
async function check(explorer: Explorer, text: string, error: HTMLElement, box: HTMLElement): Promise<void> {
  const ticket = ++checks;
  error.textContent = "";
  let record: QuietReceiptRecord;
  try {
    record = receiptRecordFromJson(JSON.parse(text) as unknown);
  } catch (problem) {
    box.hidden = true;
    error.textContent =
      problem instanceof QuietJsonError
        ? `This is not a receipt file: ${problem.message}.`
        : problem instanceof SyntaxError
          ? `This is not JSON: ${problem.message}`
          : `This is not a receipt file: ${String(problem)}`;
    return;
  }
  box.hidden = false;
  box.setAttribute("aria-busy", "true");
  box.replaceChildren(
    h("h2", { id: "receipt-audit-title" }, "Audit"),
    h("p", { role: "status" }, "Checking in your browser…"),
  );
  const { deployment } = explorer;
  let report: ReceiptAuditReport;
  let runner: ModelRunner | undefined;
  try {
    await given.reading;
    runner = given.model === undefined ? undefined : await modelRunner(given.model);
    report = await auditReceiptInBrowser({
      client: deployment.client,
      settlement: deployment.addresses.settlement,
      record,
      fromBlock: deployment.fromBlock,
      ...(given.model === undefined ? {} : { modelFile: given.model }),
      ...(runner?.run === undefined ? {} : { runModel: runner.run }),
    });
  } catch (problem) {
    if (ticket !== checks) return;
    box.replaceChildren(
      h("h2", { id: "receipt-audit-title" }, "Audit"),
      h(
        "p",
        { role: "alert" },
        `The audit could not read the chain: ${problem instanceof Error ? problem.message.split("\n")[0] : String(problem)}`,
      ),
    );
    box.setAttribute("aria-busy", "false");
    return;
  } finally {
    void runner?.release();
  }
  if (runner?.problem !== undefined) {
    report.skipped.push(`re-execution: the model file could not be loaded (${runner.problem})`);
  }
  const slashes = await loadCoreSlashes(explorer, record.receipt.operator).catch(() => undefined);
  if (ticket !== checks) return;
  box.replaceChildren();
  append(box, [receiptLife(record, report, slashes), receiptReport(report)]);
  box.setAttribute("aria-busy", "false");
}

/** The receipt's life: signed → committed in batch N → challenge window → final, or struck. */
function receiptLife(
  record: QuietReceiptRecord,
  report: ReceiptAuditReport,
  /** The operator's slashes through the core (any mode), when they could be read. */
  slashes: readonly CoreSlashRow[] | undefined,
): HTMLElement {
  const { receipt, request } = record;
  const step = (state: "done" | "now" | "later" | "never", name: string, ...detail: Child[]) =>
    h("li", { class: `step ${state}`, "data-step": name }, h("strong", {}, name), h("div", {}, ...detail));
  const committed = report.checks.find((c) => c.name === RECEIPT_CHECKS.committed);
  const steps: HTMLElement[] = [
    step(
      "done",
      "Signed",
      `seq ${receipt.seq} of operator `,
      operatorLink(receipt.operator),
      ` at ${time(receipt.time)}, answering a request paid ${opg(request.fee)} by `,
      shortHash(request.payer),
    ),
  ];
  const inclusion = report.inclusion;
  if (inclusion !== undefined) {
    steps.push(
      step(
        "done",
        "Committed",
        "in ",
        link(`/batches/${receipt.operator}`, `batch ${inclusion.batchIndex}`),
        ` (seq ${inclusion.firstSeq}…${inclusion.firstSeq + BigInt(inclusion.count) - 1n}) at ${time(inclusion.committedAt)}`,
      ),
    );
  } else if (report.state === "uncommitted") {
    steps.push(
      step(
        "now",
        "Committed",
        "not yet",
        report.commitDeadline === undefined
          ? ""
          : `: the operator must commit it by ${time(report.commitDeadline)}`,
      ),
    );
  } else {
    steps.push(step("never", "Committed", committed?.detail ?? "not established"));
  }
  const deadline = report.challengeDeadline;
  if (report.state === "struck") {
    steps.push(step("done", "Struck", "a proven wrong output: its fee went back to the payer"));
  } else if (report.state === "final") {
    steps.push(
      step(
        "done",
        "Challenge window",
        deadline === undefined ? "closed" : `closed at ${time(deadline)}, unchallenged`,
      ),
      step("done", "Final", "consumers may accept it on chain (verifyReceipt)"),
    );
  } else {
    steps.push(
      step(
        report.state === "in window" ? "now" : report.state === "uncommitted" ? "later" : "never",
        "Challenge window",
        deadline === undefined ? "" : `anyone may challenge it until ${time(deadline)}`,
      ),
      step("later", "Final", "not yet"),
    );
  }
  return h(
    "div",
    {},
    h("h2", { id: "receipt-life-title" }, "Its life"),
    h("ol", { class: "life", "aria-labelledby": "receipt-life-title" }, steps),
    facts([
      ["Where it stands", STATE_WORDS[report.state]],
      ["Operator", operatorLink(receipt.operator)],
      slashes !== undefined && [
        "Operator's record",
        slashes.length === 0
          ? "never slashed"
          : h(
              "span",
              { "data-slashed": String(slashes.length) },
              `slashed ${slashes.length} time(s) (see `,
              link(`/operator/${receipt.operator}`, "the operator"),
              "): this receipt's checks stand on their own",
            ),
      ],
      ["Model", modelLink(request.modelId)],
      ["Sequence number", receipt.seq.toString()],
      ["Request hash", shortHash(receipt.request)],
      ["Output hash", shortHash(receipt.outputHash)],
      ["Request deadline", time(request.deadline)],
      [
        "Input",
        record.input === undefined
          ? "not in the file"
          : `${(record.input.length - 2) / 2} bytes, in the file`,
      ],
      record.operatorUrl !== undefined && ["Operator's gateway", record.operatorUrl],
    ]),
  );
}

/** The verdict first (in words, failing checks named), then each check with its evidence and what was not checked. */
export function receiptReport(report: ReceiptAuditReport): Child[] {
  const words = RECEIPT_VERDICT_WORDS[report.verdict];
  const failed = report.checks.filter((c) => !c.ok);
  const notRun = receiptChecksNotRunInBrowser(report);
  return [
    h("h2", { id: "receipt-audit-title" }, "Audit"),
    h(
      "div",
      {
        class: `verdict verdict-${report.verdict === "failed" ? "rejected" : report.verdict}`,
        role: "status",
        "data-verdict": report.verdict,
        "data-state": report.state,
      },
      h("p", { class: "verdict-title" }, `Verdict: ${words.title}`),
      h("p", {}, words.meaning),
      report.verdict === "pending" && h("p", {}, `Now: ${STATE_WORDS[report.state]}.`),
      failed.length > 0 && h("p", {}, "Failed: ", failed.map((c) => c.name).join("; ")),
    ),
    h(
      "ol",
      { class: "checks", "aria-label": "Checks, in the order they were made" },
      report.checks.map((c) =>
        h(
          "li",
          { class: c.ok ? (c.pending === true ? "ok pending" : "ok") : "failed", "data-check": c.name },
          h("span", { class: "mark", "aria-hidden": "true" }, c.ok ? (c.pending === true ? "…" : "✓") : "✗"),
          h(
            "span",
            { class: "sr-only" },
            c.ok ? (c.pending === true ? "Holds so far: " : "Passed: ") : "Failed: ",
          ),
          h("strong", {}, c.name),
          c.pending === true && h("span", { class: "muted" }, " (holds so far; not settled yet)"),
          h("div", { class: "evidence" }, c.detail),
        ),
      ),
    ),
    notRun.length > 0 && h("h3", {}, "Not checked in this browser yet"),
    notRun.length > 0 &&
      h(
        "ul",
        { class: "not-run" },
        notRun.map((c) => h("li", {}, h("strong", {}, c.name), c.why === "" ? "" : `: ${c.why}`)),
      ),
  ];
}
