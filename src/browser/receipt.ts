import type { Address, PublicClient } from "viem";
import { auditReceipt, type ReceiptAuditReport } from "../audit/receipt.js";
import { sha256Hex } from "../model/hash.js";
import type { QuietReceiptRecord } from "../protocol/quiet-json.js";
import { browserZkTools } from "./zk.js";

/** What a receipt audit in a browser takes: the chain, the receipt file's record, and optionally the model file. */
export interface BrowserReceiptAuditOptions {
  client: PublicClient;
  /** The core; the live `QuietMode` and the registries are read through it. */
  settlement: Address;
  /** The receipt file, parsed with `receiptRecordFromJson`. */
  record: QuietReceiptRecord;
  /** First block to search for the batch commits (the deployment block). */
  fromBlock?: bigint;
  /** The model file's bytes, if the visitor gave it (they never leave the browser): checked against its sha256. */
  modelFile?: Uint8Array;
  /** Re-runs the model file on the input (onnxruntime-web in the page): the output is compared with the receipt's. */
  runModel?: (input: Uint8Array) => Promise<Uint8Array>;
}

/**
 * {@link auditReceipt}, the SDK's receipt audit (the code `opg audit --receipt` runs), with what a browser has: the
 * chain through the visitor's RPC, the operator's gateway and batch data through the browser's `fetch` (every proof
 * verified against the on-chain root), sha256 of a supplied model file, keccak256 of the input the record holds, and
 * the model re-run when the caller gives `runModel` (the explorer's is onnxruntime-web). A zk-circuit model
 * (`./zk.ts`): the input's Poseidon commitment, and with the model file the circuit's fixed-point re-run. Not here:
 * proving (`prove`), which needs the circuit's proving key; the report's `skipped` names what was not checked and
 * {@link receiptChecksNotRunInBrowser} says why.
 */
export async function auditReceiptInBrowser(
  options: BrowserReceiptAuditOptions,
): Promise<ReceiptAuditReport> {
  const zkTools = await browserZkTools(
    options.modelFile === undefined ? {} : { modelFile: options.modelFile },
  );
  return auditReceipt({
    ...zkTools,
    client: options.client,
    settlement: options.settlement,
    record: options.record,
    fetch: (url, init) => globalThis.fetch(url, init),
    ...(options.fromBlock === undefined ? {} : { fromBlock: options.fromBlock }),
    ...(options.modelFile === undefined ? {} : { modelFile: options.modelFile, sha256: sha256Hex }),
    ...(options.runModel === undefined ? {} : { runModel: options.runModel }),
  });
}

/** What the SDK's receipt audit checks and a browser does not yet, from a browser report's `skipped` list. */
export function receiptChecksNotRunInBrowser(report: ReceiptAuditReport): { name: string; why: string }[] {
  return report.skipped.map((reason) => {
    const [what, why] = splitReason(reason);
    if (/no runModel tool/.test(reason)) {
      return { name: what, why: "onnxruntime-web could not run the model file in this browser" };
    }
    if (/no runZkModel tool/.test(reason)) {
      return { name: what, why: "the model file is not a dense ReLU network the circuit can hold" };
    }
    return { name: what, why };
  });
}

function splitReason(reason: string): [string, string] {
  const at = reason.indexOf(": ");
  return at < 0 ? [reason, ""] : [reason.slice(0, at), reason.slice(at + 2)];
}
