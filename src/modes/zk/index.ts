/** Zk mode: results proven by a Groth16 proof of the committed model's circuit, settled by `ZkMode`. */
import type { ModeModule } from "../types.js";
import { zkModeAuditor } from "../auditors.js";
import { zkFulfilment } from "./calldata.js";
import { computeZk, prepareZk } from "./compute.js";

export * from "./audit.js";
export * from "./calldata.js";
export * from "./compute.js";

export const zkModeModule: ModeModule = {
  ...zkModeAuditor,
  slow: true,
  prepare: prepareZk,
  serves: (runtime) => runtime.quantized !== undefined,
  compute: computeZk,
  fulfilment: zkFulfilment,
};
