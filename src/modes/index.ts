/**
 * The verification modes, one module per mode bit (`src/modes/<mode>/{compute,calldata,audit}.ts`), as the
 * contracts are one contract per mode bit. The operator node and the auditor look a request's mode up here and
 * delegate to its module; the contract each mode settles on is discovered from the core (`modeContract(mode)`), so
 * a deployment is configured by the core's address alone.
 */
import type { Address, PublicClient } from "viem";
import { liveModeContract } from "./contracts.js";
import { signatureModeModule } from "./signature/index.js";
import type { ModeModule } from "./types.js";
import { zkModeModule } from "./zk/index.js";

export * from "./types.js";
export * from "./contracts.js";
export * from "./auditors.js";
export { fulfilmentGas } from "./gas.js";
export { signatureModeModule, zkModeModule };

/** Every mode this software serves and audits, keyed by its bit. */
export const MODE_MODULES: ReadonlyMap<number, ModeModule> = new Map(
  [signatureModeModule, zkModeModule].map((m) => [m.mode, m]),
);

/** The module of mode bit `mode`; `undefined` for a bit this software does not know. */
export function modeModule(mode: number): ModeModule | undefined {
  return MODE_MODULES.get(mode);
}

/** The modules of the bits set in `modes` (a `ModeSet`) that this software knows. */
export function modeModulesIn(modes: number): ModeModule[] {
  return [...MODE_MODULES.values()].filter((m) => (modes & m.mode) !== 0);
}

/**
 * The live contract of every known mode, keyed by mode bit; modes without one (not bound, or retired) are left out.
 */
export async function liveModeContracts(
  client: PublicClient,
  settlement: Address,
): Promise<Map<number, Address>> {
  const found = await Promise.all(
    [...MODE_MODULES.keys()].map(
      async (mode) => [mode, await liveModeContract(client, settlement, mode)] as const,
    ),
  );
  const live = new Map<number, Address>();
  for (const [mode, address] of found) if (address !== undefined) live.set(mode, address);
  return live;
}
