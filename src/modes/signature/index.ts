/** Signature mode: results signed (EIP-712) by the current key of a staked operator, settled by `SignatureMode`. */
import { MODE_NAMES, VerificationMode } from "../../protocol/modes.js";
import type { ModeModule } from "../types.js";
import { auditSignedInput, auditSignedSettlement } from "./audit.js";
import { signedFulfilment } from "./calldata.js";
import { computeSigned } from "./compute.js";

export * from "./audit.js";
export * from "./calldata.js";
export * from "./compute.js";

export const signatureModeModule: ModeModule = {
  mode: VerificationMode.Signature,
  name: MODE_NAMES[VerificationMode.Signature],
  contractName: "SignatureMode",
  slow: false,
  prepare: () => undefined,
  serves: () => true,
  compute: computeSigned,
  fulfilment: signedFulfilment,
  auditSettlement: auditSignedSettlement,
  auditInput: auditSignedInput,
};
