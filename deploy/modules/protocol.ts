import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import { PROTOCOL_DEFAULTS } from "../../src/protocol/defaults.js";
import { VerificationMode } from "../../src/protocol/modes.js";

/** The shared deployment defaults (`src/protocol/defaults.ts`); each is a module parameter a deployment can override. */
export const DEFAULTS = PROTOCOL_DEFAULTS;

/**
 * The wiring every deployment shares: registries and the settlement core on top of an OPG token, the two
 * verification modes (signature, zk) bound to their bits, the settlement bound as the only slasher. Transactions
 * that need the owner are sent from `governance`, the deploying account.
 */
export function buildProtocol(m: IgnitionModuleBuilder, token: ContractFuture<string>) {
  const governance = m.getAccount(0);
  const treasury = m.getParameter("treasury", governance);
  const minStake = m.getParameter("minStake", DEFAULTS.minStake);
  const unbondingDelay = m.getParameter("unbondingDelay", DEFAULTS.unbondingDelay);
  const protocolFeeBps = m.getParameter("protocolFeeBps", DEFAULTS.protocolFeeBps);
  const penalty = m.getParameter("equivocationPenalty", DEFAULTS.equivocationPenalty);
  const rewardBps = m.getParameter("reporterRewardBps", DEFAULTS.reporterRewardBps);

  const models = m.contract("ModelRegistry", [token]);
  const operators = m.contract("OperatorRegistry", [token, governance, minStake, unbondingDelay]);
  const settlement = m.contract("InferenceSettlement", [
    token,
    models,
    operators,
    governance,
    treasury,
    protocolFeeBps,
  ]);
  const signatureMode = m.contract("SignatureMode", [settlement, governance, penalty, rewardBps]);
  const zkMode = m.contract("ZkMode", [settlement]);
  m.call(operators, "bindSettlement", [settlement], { from: governance });
  m.call(settlement, "bindMode", [VerificationMode.Signature, signatureMode], {
    from: governance,
    id: "bindSignatureMode",
  });
  m.call(settlement, "bindMode", [VerificationMode.Zk, zkMode], { from: governance, id: "bindZkMode" });
  return { models, operators, settlement, signatureMode, zkMode };
}
