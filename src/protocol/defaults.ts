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
  /** Quiet mode: seconds after a request's deadline by which its receipt must be committed: 1 hour. */
  quietCommitWindow: 3_600n,
  /** Quiet mode: seconds after the commit deadline during which receipts can be challenged: 1 day. */
  quietChallengeWindow: 24n * 3600n,
  /** Quiet mode: the furthest a request's deadline may be from its receipt's time: 1 hour. */
  quietMaxTtl: 3_600n,
  /** Quiet mode: a payer's notice before taking back its channel's funds: the three above, 26 hours. */
  quietNoticePeriod: 26n * 3600n,
  /** Quiet mode: stake slashed per proven cheat: 1,000 OPG. */
  quietPenalty: 1_000n * 10n ** 18n,
  /** Quiet mode: the challenger's share of it, in basis points: 50 %. */
  quietRewardBps: 5_000n,
} as const;
