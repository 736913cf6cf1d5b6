/**
 * The protocol's deployment wiring, as data: which contracts a deployment creates on top of an OPG token, with which
 * constructor arguments, and which governance calls bind them together. The Ignition modules (`deploy/modules`), the
 * SDK's `deployProtocol` (viem) and the test fixture (ethers) all interpret this one plan, so a change to the wiring
 * (a new mode, a new constructor argument) is made here once.
 */
import { VerificationMode } from "./modes.js";

/** The contracts of a deployment, by their key in addresses files. */
export type WiredContract =
  "token" | "models" | "operators" | "settlement" | "signatureMode" | "zkMode" | "quietMode";

/** The deployment's parameters (see `PROTOCOL_DEFAULTS`); `governance` is the deploying account. */
export type WiringParameter =
  | "governance"
  | "treasury"
  | "minStake"
  | "unbondingDelay"
  | "protocolFeeBps"
  | "equivocationPenalty"
  | "reporterRewardBps"
  | "quietCommitWindow"
  | "quietChallengeWindow"
  | "quietMaxTtl"
  | "quietNoticePeriod"
  | "quietPenalty"
  | "quietRewardBps";

/** A constructor or call argument: another contract, a parameter, or a verification mode bit. */
export type WiringValue =
  { readonly contract: WiredContract } | { readonly parameter: WiringParameter } | { readonly mode: number };

/** A contract the deployment creates. */
export interface WiringContract {
  readonly key: Exclude<WiredContract, "token">;
  /** The Solidity contract (artifact) name. */
  readonly artifact: string;
  readonly args: readonly WiringValue[];
}

/** A call governance makes once the contracts exist. */
export interface WiringCall {
  /** A stable id (Ignition future id; the SDK's step name). */
  readonly id: string;
  readonly on: Exclude<WiredContract, "token">;
  readonly functionName: string;
  readonly args: readonly WiringValue[];
}

const contract = (key: WiredContract): WiringValue => ({ contract: key });
const parameter = (name: WiringParameter): WiringValue => ({ parameter: name });

/** The contracts, in deployment order (each only refers to contracts before it). */
export const WIRING_CONTRACTS: readonly WiringContract[] = [
  { key: "models", artifact: "ModelRegistry", args: [contract("token")] },
  {
    key: "operators",
    artifact: "OperatorRegistry",
    args: [contract("token"), parameter("governance"), parameter("minStake"), parameter("unbondingDelay")],
  },
  {
    key: "settlement",
    artifact: "InferenceSettlement",
    args: [
      contract("token"),
      contract("models"),
      contract("operators"),
      parameter("governance"),
      parameter("treasury"),
      parameter("protocolFeeBps"),
    ],
  },
  {
    key: "signatureMode",
    artifact: "SignatureMode",
    args: [
      contract("settlement"),
      parameter("governance"),
      parameter("equivocationPenalty"),
      parameter("reporterRewardBps"),
    ],
  },
  { key: "zkMode", artifact: "ZkMode", args: [contract("settlement")] },
  {
    key: "quietMode",
    artifact: "QuietMode",
    args: [
      contract("settlement"),
      parameter("quietCommitWindow"),
      parameter("quietChallengeWindow"),
      parameter("quietMaxTtl"),
      parameter("quietNoticePeriod"),
      parameter("quietPenalty"),
      parameter("quietRewardBps"),
    ],
  },
];

/** The governance calls, in order: the core becomes the only slasher, each mode contract is bound to its bit. */
export const WIRING_CALLS: readonly WiringCall[] = [
  { id: "bindSettlement", on: "operators", functionName: "bindSettlement", args: [contract("settlement")] },
  {
    id: "bindSignatureMode",
    on: "settlement",
    functionName: "bindMode",
    args: [{ mode: VerificationMode.Signature }, contract("signatureMode")],
  },
  {
    id: "bindZkMode",
    on: "settlement",
    functionName: "bindMode",
    args: [{ mode: VerificationMode.Zk }, contract("zkMode")],
  },
  {
    id: "bindQuietMode",
    on: "settlement",
    functionName: "bindMode",
    args: [{ mode: VerificationMode.Quiet }, contract("quietMode")],
  },
];

/** Resolve plan values with a deployment's contracts and parameters (whatever each deployer represents them as). */
export function resolveWiring<T>(
  values: readonly WiringValue[],
  contracts: (key: WiredContract) => T,
  parameters: (name: WiringParameter) => T,
  mode: (bit: number) => T,
): T[] {
  return values.map((value) =>
    "contract" in value
      ? contracts(value.contract)
      : "parameter" in value
        ? parameters(value.parameter)
        : mode(value.mode),
  );
}
