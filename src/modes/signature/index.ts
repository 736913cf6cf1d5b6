/** Signature mode: results signed (EIP-712) by the current key of a staked operator, settled by `SignatureMode`. */
import type { ModeModule } from "../types.js";
import { signatureModeAuditor } from "../auditors.js";
import { signedFulfilment } from "./calldata.js";
import { computeSigned } from "./compute.js";

export * from "./audit.js";
export * from "./calldata.js";
export * from "./compute.js";

export const signatureModeModule: ModeModule = {
  ...signatureModeAuditor,
  slow: false,
  prepare: () => undefined,
  serves: () => true,
  compute: computeSigned,
  fulfilment: signedFulfilment,
};
