import type { Address, PublicClient } from "viem";
import { auditRequest, type AuditReport } from "../audit/audit.js";
import { sha256Hex } from "../model/hash.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../model/runtime.js";
import { browserZkTools, type VerificationKeySource } from "./zk.js";

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
  /**
   * Zk mode: the circuit's Groth16 verification key (or how to get it, called when the first proof is checked), for
   * verifying the settled proof with snarkjs. Without it the report has no "Groth16 proof verifies" check.
   */
  verificationKey?: VerificationKeySource;
}

/**
 * {@link auditRequest}, the SDK's audit, with what a browser has: sha256 of a supplied model file, the default runtime
 * hash, `data:` inputs (the audit's default reader), and the model re-run when the caller gives `runModel` (the
 * explorer's is onnxruntime-web, given a model file). Zk mode (`./zk.ts`, loaded when a zk request is audited): the
 * settled Groth16 proof verified with snarkjs (given `verificationKey`), the input's Poseidon commitment (circomlibjs)
 * against the request's input hash, and, given the model file, the circuit's fixed-point re-run compared with the
 * proven class. {@link checksNotRunInBrowser} names what a report could still lack.
 */
export async function auditInBrowser(options: BrowserAuditOptions): Promise<AuditReport> {
  const zkTools = await browserZkTools({
    ...(options.verificationKey === undefined ? {} : { verificationKey: options.verificationKey }),
    ...(options.modelFile === undefined ? {} : { modelFile: options.modelFile }),
  });
  return auditRequest({
    ...zkTools,
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

/**
 * The checks the SDK's audit makes of a settled request of `modeName` that {@link auditInBrowser} may not have made,
 * and why; a caller drops those its report has.
 */
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
      { name: "Groth16 proof verifies", why: "no verification key was given to the audit" },
      {
        name: "re-executed output matches the result",
        why: "give the model file below: the page re-runs the circuit's fixed-point model (if the circuit holds it)",
      },
    ];
  }
  return [];
}
