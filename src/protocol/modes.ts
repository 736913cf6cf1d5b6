/** Verification modes, as the bit flags of `contracts/libraries/VerificationModes.sol`. */
export const VerificationMode = {
  /** Result signed (EIP-712) by the key of a staked operator. */
  Signature: 1,
  /** Result proven by a zk proof. */
  Zk: 2,
  /** Answered off chain with a signed receipt, logged in batches, open to challenges (`QuietMode`, docs/quiet.md). */
  Quiet: 4,
} as const;

export type VerificationMode = (typeof VerificationMode)[keyof typeof VerificationMode];

/** Each mode's name in reports and on the command line (`--mode`), keyed by its bit. */
export const MODE_NAMES: Readonly<Record<VerificationMode, string>> = {
  [VerificationMode.Signature]: "signature",
  [VerificationMode.Zk]: "zk",
  [VerificationMode.Quiet]: "quiet",
};

/** Human name of a single mode, for reports. */
export function modeName(mode: number): string {
  return mode in MODE_NAMES ? MODE_NAMES[mode as VerificationMode] : `unknown(${mode})`;
}

/** The mode called `name`; `undefined` for a name no mode has. */
export function modeByName(name: string): VerificationMode | undefined {
  const found = Object.entries(MODE_NAMES).find(([, n]) => n === name);
  return found === undefined ? undefined : (Number(found[0]) as VerificationMode);
}

/** Request status, as `IInferenceSettlement.RequestStatus`. */
export const RequestStatus = ["None", "Pending", "Fulfilled", "FulfilledCallbackFailed", "Refunded"] as const;
export type RequestStatus = (typeof RequestStatus)[number];

/** Model status, as `IModelRegistry.ModelStatus`. */
export const ModelStatus = { None: 0, Active: 1, Deprecated: 2, Revoked: 3 } as const;

/** Access gate kinds, as `IModelRegistry.GateKind`. */
export const GateKind = { None: 0, MinBalance: 1, Allowlist: 2 } as const;
