/**
 * The auditor's half of each verification mode: how its settling transaction and its input are checked. Kept apart
 * from the operator's half (computing, proving, building the settling call) so that an audit, in Node or in a
 * browser, loads no prover, circuit file or model runtime it does not use.
 */
import { MODE_NAMES, VerificationMode } from "../protocol/modes.js";
import { auditSignedInput, auditSignedSettlement } from "./signature/audit.js";
import type { ModeAuditor } from "./types.js";
import { auditZkInput, auditZkSettlement } from "./zk/audit.js";

/** Signature mode, as audited: the EIP-712 signature in `fulfillSigned`, by the key registered at the block. */
export const signatureModeAuditor: ModeAuditor = {
  mode: VerificationMode.Signature,
  name: MODE_NAMES[VerificationMode.Signature],
  contractName: "SignatureMode",
  auditSettlement: auditSignedSettlement,
  auditInput: auditSignedInput,
};

/** Zk mode, as audited: the Groth16 proof in `fulfillZk`, against the model's committed circuit. */
export const zkModeAuditor: ModeAuditor = {
  mode: VerificationMode.Zk,
  name: MODE_NAMES[VerificationMode.Zk],
  contractName: "ZkMode",
  auditSettlement: auditZkSettlement,
  auditInput: auditZkInput,
};

const AUDITORS: ReadonlyMap<number, ModeAuditor> = new Map(
  [signatureModeAuditor, zkModeAuditor].map((m) => [m.mode, m]),
);

/** The auditor of mode bit `mode`; `undefined` for a bit this software does not audit. */
export function modeAuditor(mode: number): ModeAuditor | undefined {
  return AUDITORS.get(mode);
}
