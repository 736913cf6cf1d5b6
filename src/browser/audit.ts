import type { Address, PublicClient } from "viem";
import { auditRequest, type AuditReport } from "../audit/audit.js";
import { sha256Hex } from "../model/hash.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../model/runtime.js";

export interface BrowserAuditOptions {
  client: PublicClient;
  /** The settlement core; the contract of the request's mode is read from it. */
  settlement: Address;
  requestId: bigint;
  /** First block to search for the request's events (the deployment block). */
  fromBlock?: bigint;
  /** The model file's bytes, if the visitor supplied it: checked against the registered sha256. */
  modelFile?: Uint8Array;
  /** Signature mode: re-runs the model file on the input (onnxruntime-web in the page), compared with the result. */
  runModel?: (input: Uint8Array) => Promise<Uint8Array>;
}

/**
 * {@link auditRequest}, the SDK's audit, with what a browser has: sha256 of a supplied model file, the default runtime
 * hash, `data:` inputs (the audit's default reader), and the model re-run when the caller gives `runModel` (the
 * explorer's is onnxruntime-web, given a model file). Not yet here (next slices, each a tool of `AuditTools`): Groth16
 * verification with snarkjs and the Poseidon input commitment; a report for a zk request therefore lacks those checks,
 * and {@link checksNotRunInBrowser} names them.
 */
export function auditInBrowser(options: BrowserAuditOptions): Promise<AuditReport> {
  return auditRequest({
    client: options.client,
    settlement: options.settlement,
    requestId: options.requestId,
    runtimeHash: runtimeHash(DEFAULT_RUNTIME),
    ...(options.fromBlock === undefined ? {} : { fromBlock: options.fromBlock }),
    ...(options.modelFile === undefined ? {} : { modelFile: options.modelFile, sha256: sha256Hex }),
    ...(options.runModel === undefined ? {} : { runModel: options.runModel }),
  });
}

/** A check the SDK's audit can make that a browser audit does not make yet, and why. */
export interface CheckNotRun {
  /** The check's name, as the SDK's audit reports it. */
  name: string;
  why: string;
}

/** The checks the SDK's audit makes of a settled request of `modeName` that {@link auditInBrowser} cannot make yet. */
export function checksNotRunInBrowser(modeName: string): CheckNotRun[] {
  if (modeName === "signature") {
    return [
      {
        name: "re-executed output matches the result",
        why: "give the model file below: the page re-runs it with onnxruntime-web",
      },
    ];
  }
  if (modeName === "zk") {
    return [
      { name: "Groth16 proof verifies", why: "snarkjs in the browser: next slice" },
      {
        name: "input matches the input commitment",
        why: "the Poseidon commitment in the browser: next slice",
      },
      { name: "re-executed output matches the result", why: "the fixed-point re-run: next slice" },
    ];
  }
  return [];
}
