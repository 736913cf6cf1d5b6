/// <reference lib="dom" />
import { zeroAddress } from "viem";
import {
  auditInBrowser,
  checksNotRunInBrowser,
  getRequest,
  modeName,
  OpgError,
  type AuditReport,
  type AuditVerdict,
  type RequestInfo,
} from "../../browser/index.js";
import type { Explorer } from "../data/context.js";
import { loadRequests, type RequestRow } from "../data/requests.js";
import { modelRunner } from "../rerun/tool.js";
import { circuitVerificationKey } from "../zk/vkey.js";
import { append, facts, h, type Child } from "./dom.js";
import { modelLink, opg, operatorLink, shortHash, time, where } from "./format.js";
import type { View } from "./view.js";

/** Each verdict in words: a heading and what it means for the visitor. */
export const VERDICT_WORDS: Record<AuditVerdict, { title: string; meaning: string }> = {
  verified: {
    title: "Verified",
    meaning: "Every check passed. Your browser recomputed each one from chain data; no server was trusted.",
  },
  rejected: {
    title: "Rejected",
    meaning:
      "At least one check failed: this result does not prove what it claims. The failing checks are marked.",
  },
  refunded: {
    title: "Refunded",
    meaning: "No result was delivered before the deadline; the fee went back to the requester.",
  },
  pending: { title: "Pending", meaning: "The request is open and waits for an operator's result." },
  unknown: {
    title: "Unknown request",
    meaning: "No request with this id was opened at this settlement contract.",
  },
};

/** A request: a picture of its life, then every audit check with its evidence, ending in the verdict. */
export async function requestView(explorer: Explorer, requestId: bigint): Promise<View> {
  const { deployment } = explorer;
  let info: RequestInfo | undefined;
  try {
    info = await getRequest(deployment.sdk, { requestId, fromBlock: deployment.fromBlock });
  } catch (error) {
    if (!(error instanceof OpgError && error.code === "UnknownRequest")) throw error;
  }
  const row = (await loadRequests(explorer)).find((r) => r.requestId === requestId);
  const auditBox = h("section", { class: "card", "aria-labelledby": "audit-title", "aria-busy": "true" });
  const title = `Request #${requestId}`;
  const content: Child[] = [];
  if (info !== undefined) content.push(await life(explorer, info, row));
  content.push(auditBox);
  if (info !== undefined && info.status !== "Pending" && info.status !== "Refunded") {
    content.push(modelFileForm(explorer, requestId, auditBox));
  }
  void runAudit(explorer, requestId, auditBox);
  return { title, content };
}

/** The request's life: opened → answered (signed or proven) → settled or refunded → final. */
async function life(
  explorer: Explorer,
  info: RequestInfo,
  row: RequestRow | undefined,
): Promise<HTMLElement> {
  const { request, result } = info;
  const mode = modeName(request.mode);
  const blocks = [info.blockNumber, result?.blockNumber, row?.closedBlock].filter((b) => b !== undefined);
  const times = await explorer.blocks.ofAll(blocks);
  const head = await explorer.deployment.client.getBlock({ blockTag: "latest" });
  const step = (state: "done" | "now" | "never", name: string, ...detail: Child[]) =>
    h("li", { class: `step ${state}`, "data-step": name }, h("strong", {}, name), h("div", {}, ...detail));
  const steps: HTMLElement[] = [
    step(
      "done",
      "Opened",
      "by ",
      shortHash(request.requester),
      ` for ${opg(request.fee)}, mode ${mode}, model `,
      modelLink(request.modelId),
      " at ",
      where(info.blockNumber, info.transactionHash, times.get(info.blockNumber)),
    ),
  ];
  if (result !== undefined) {
    steps.push(
      step(
        "done",
        mode === "zk" ? "Proven" : "Signed",
        mode === "zk"
          ? ["a Groth16 proof submitted by operator ", operatorLink(result.operator)]
          : ["by key ", shortHash(result.signer), " of operator ", operatorLink(result.operator)],
      ),
      step(
        "done",
        "Settled",
        "the fee was split and paid at ",
        where(result.blockNumber, result.transactionHash, times.get(result.blockNumber)),
      ),
      step("done", "Final", "a settled result cannot change or be settled again"),
    );
  } else if (info.status === "Refunded") {
    steps.push(
      step("never", "Answered", "no result was delivered"),
      step(
        "done",
        "Refunded",
        row?.refunded === undefined ? "" : `${opg(row.refunded)} back to the requester at `,
        row?.closedBlock === undefined || row.closedTx === undefined
          ? ""
          : where(row.closedBlock, row.closedTx, times.get(row.closedBlock)),
      ),
      step("done", "Final", "a refunded request cannot be answered"),
    );
  } else {
    const expired = head.timestamp > request.deadline;
    steps.push(
      step(
        "now",
        "Waiting",
        expired
          ? `the deadline passed at ${time(request.deadline)}: anyone may refund it`
          : `an operator may answer until ${time(request.deadline)}`,
      ),
    );
  }
  return h(
    "section",
    { class: "card", "aria-labelledby": "life-title" },
    h("h2", { id: "life-title" }, "Its life"),
    h("ol", { class: "life" }, steps),
    facts([
      ["Input hash", shortHash(request.inputHash)],
      [
        "Input",
        info.inputUri === ""
          ? "none given"
          : info.inputUri.length > 80
            ? `${info.inputUri.slice(0, 80)}…`
            : info.inputUri,
      ],
      request.operator !== zeroAddress && ["Reserved for operator", operatorLink(request.operator)],
      result !== undefined && ["Output hash", shortHash(result.outputHash)],
    ]),
  );
}

/** Audit the request in this browser and show the verdict and every check in `box`. */
async function runAudit(explorer: Explorer, requestId: bigint, box: HTMLElement, modelFile?: Uint8Array) {
  box.setAttribute("aria-busy", "true");
  box.replaceChildren(
    h("h2", { id: "audit-title" }, "Audit"),
    h("p", { role: "status" }, "Checking in your browser…"),
  );
  const { deployment } = explorer;
  let report: AuditReport;
  const runner = modelFile === undefined ? undefined : await modelRunner(modelFile);
  try {
    report = await auditInBrowser({
      client: deployment.client,
      settlement: deployment.addresses.settlement,
      requestId,
      fromBlock: deployment.fromBlock,
      ...(modelFile === undefined ? {} : { modelFile }),
      ...(runner?.run === undefined ? {} : { runModel: runner.run }),
      verificationKey: circuitVerificationKey,
    });
  } catch (error) {
    box.replaceChildren(
      h("h2", { id: "audit-title" }, "Audit"),
      h(
        "p",
        { role: "alert" },
        `The audit could not read the chain: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
    box.setAttribute("aria-busy", "false");
    return;
  } finally {
    void runner?.release();
  }
  box.replaceChildren();
  append(box, auditReport(report));
  box.setAttribute("aria-busy", "false");
}

/** The verdict first (in words, failing checks named), then each check with its evidence. */
export function auditReport(report: AuditReport): Child[] {
  const words = VERDICT_WORDS[report.verdict];
  const failed = report.checks.filter((c) => !c.ok);
  const mode = report.request === undefined ? "" : modeName(report.request.mode);
  const ran = new Set(report.checks.map((c) => c.name));
  const settled = report.verdict === "verified" || report.verdict === "rejected";
  const notRun = settled ? checksNotRunInBrowser(mode).filter((c) => !ran.has(c.name)) : [];
  return [
    h("h2", { id: "audit-title" }, "Audit"),
    h(
      "div",
      { class: `verdict verdict-${report.verdict}`, role: "status", "data-verdict": report.verdict },
      h("p", { class: "verdict-title" }, `Verdict: ${words.title}`),
      h("p", {}, words.meaning),
      failed.length > 0 && h("p", {}, "Failed: ", failed.map((c) => c.name).join("; ")),
    ),
    h(
      "ol",
      { class: "checks", "aria-label": "Checks, in the order they were made" },
      report.checks.map((c) =>
        h(
          "li",
          { class: c.ok ? "ok" : "failed", "data-check": c.name },
          h("span", { class: "mark", "aria-hidden": "true" }, c.ok ? "✓" : "✗"),
          h("span", { class: "sr-only" }, c.ok ? "Passed: " : "Failed: "),
          h("strong", {}, c.name),
          h("div", { class: "evidence" }, c.detail),
        ),
      ),
    ),
    notRun.length > 0 && h("h3", {}, "Not checked in this browser yet"),
    notRun.length > 0 &&
      h(
        "ul",
        { class: "not-run" },
        notRun.map((c) => h("li", {}, h("strong", {}, c.name), `: ${c.why}`)),
      ),
  ];
}

/** A form to give the model file: the audit then checks it against the registered sha256. */
function modelFileForm(explorer: Explorer, requestId: bigint, box: HTMLElement): HTMLElement {
  const input = h("input", { type: "file", id: "model-file", accept: ".onnx,application/octet-stream" });
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file === undefined) return;
    void file.arrayBuffer().then((buffer) => runAudit(explorer, requestId, box, new Uint8Array(buffer)));
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "model-file-title" },
    h("h2", { id: "model-file-title" }, "Check the model file too"),
    h(
      "p",
      {},
      "Give the model file you have: the audit runs again, checks its sha256 against the version's commitment and re-runs it on the input (with onnxruntime-web, or for a zk request the circuit's fixed-point model). ",
      "The file stays in your browser.",
    ),
    h("label", { for: "model-file" }, "Model file (ONNX)"),
    input,
  );
}
