/**
 * Deployment defaults, one definition for the Ignition modules (`deploy/modules/`) and the SDK's
 * `deployProtocol` (`opg deploy`); every one can be overridden per deployment.
 */
export const PROTOCOL_DEFAULTS = {
  /** Supply of a freshly deployed (local) OPG token, minted to the deployer: 1,000,000,000 OPG. */
  opgSupply: 1_000_000_000n * 10n ** 18n,
  /** Minimum active stake for an operator to serve: 1,000 OPG. */
  minStake: 1_000n * 10n ** 18n,
  /** Seconds between unbonding and withdrawing stake: 7 days. */
  unbondingDelay: 7n * 24n * 3600n,
  /** Protocol fee on each settled request, in basis points: 5 %. */
  protocolFeeBps: 500n,
  /** Stake slashed for an equivocation: 1,000 OPG. */
  equivocationPenalty: 1_000n * 10n ** 18n,
  /** Reporter's share of a slashed penalty, in basis points: 50 %. */
  reporterRewardBps: 5_000n,
} as const;
