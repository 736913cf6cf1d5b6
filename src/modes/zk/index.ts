/** Zk mode: results proven by a Groth16 proof of the committed model's circuit, settled by `ZkMode`. */
import { MODE_NAMES, VerificationMode } from "../../protocol/modes.js";
import type { ModeModule } from "../types.js";
import { auditZkInput, auditZkSettlement } from "./audit.js";
import { zkFulfilment } from "./calldata.js";
import { computeZk, prepareZk } from "./compute.js";

export * from "./audit.js";
export * from "./calldata.js";
export * from "./compute.js";

export const zkModeModule: ModeModule = {
  mode: VerificationMode.Zk,
  name: MODE_NAMES[VerificationMode.Zk],
  contractName: "ZkMode",
  slow: true,
  prepare: prepareZk,
  serves: (runtime) => runtime.quantized !== undefined,
  compute: computeZk,
  fulfilment: zkFulfilment,
  auditSettlement: auditZkSettlement,
  auditInput: auditZkInput,
};
