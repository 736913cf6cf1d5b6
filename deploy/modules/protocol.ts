import type {
  ArgumentType,
  CallableContractFuture,
  ContractFuture,
  IgnitionModuleBuilder,
} from "@nomicfoundation/ignition-core";
import { PROTOCOL_DEFAULTS } from "../../src/protocol/defaults.js";
import {
  resolveWiring,
  WIRING_CALLS,
  WIRING_CONTRACTS,
  type WiredContract,
  type WiringParameter,
} from "../../src/protocol/wiring.js";

/** The shared deployment defaults (`src/protocol/defaults.ts`); each is a module parameter a deployment can override. */
export const DEFAULTS = PROTOCOL_DEFAULTS;

type Futures = Record<Exclude<WiredContract, "token">, CallableContractFuture<string>>;

/**
 * The wiring every deployment shares (`src/protocol/wiring.ts`): registries and the settlement core on top of an OPG
 * token, the three verification modes (signature, zk, quiet) bound to their bits, the settlement bound as the only slasher.
 * Transactions that need the owner are sent from `governance`, the deploying account.
 */
export function buildProtocol(m: IgnitionModuleBuilder, token: ContractFuture<string>): Futures {
  const governance = m.getAccount(0);
  const parameters = {
    governance,
    treasury: m.getParameter("treasury", governance),
    minStake: m.getParameter("minStake", DEFAULTS.minStake),
    unbondingDelay: m.getParameter("unbondingDelay", DEFAULTS.unbondingDelay),
    protocolFeeBps: m.getParameter("protocolFeeBps", DEFAULTS.protocolFeeBps),
    equivocationPenalty: m.getParameter("equivocationPenalty", DEFAULTS.equivocationPenalty),
    reporterRewardBps: m.getParameter("reporterRewardBps", DEFAULTS.reporterRewardBps),
    quietCommitWindow: m.getParameter("quietCommitWindow", DEFAULTS.quietCommitWindow),
    quietChallengeWindow: m.getParameter("quietChallengeWindow", DEFAULTS.quietChallengeWindow),
    quietMaxTtl: m.getParameter("quietMaxTtl", DEFAULTS.quietMaxTtl),
    quietNoticePeriod: m.getParameter("quietNoticePeriod", DEFAULTS.quietNoticePeriod),
    quietPenalty: m.getParameter("quietPenalty", DEFAULTS.quietPenalty),
    quietRewardBps: m.getParameter("quietRewardBps", DEFAULTS.quietRewardBps),
  } satisfies Record<WiringParameter, unknown>;
  const futures: Partial<Futures> = {};
  const resolve = (values: Parameters<typeof resolveWiring>[0]) =>
    resolveWiring<ArgumentType>(
      values,
      (key) => (key === "token" ? token : futures[key]!),
      (name) => parameters[name],
      (value) => value,
    );
  for (const { key, artifact, args } of WIRING_CONTRACTS) futures[key] = m.contract(artifact, resolve(args));
  for (const { id, on, functionName, args } of WIRING_CALLS) {
    m.call(futures[on]!, functionName, resolve(args), { from: governance, id });
  }
  return futures as Futures;
}
