/**
 * The bounds the contracts enforce (`contracts/libraries/ProtocolLimits.sol`), defined once for TypeScript.
 * `test/limits.test.ts` reads each one from the deployed contracts, so the two cannot drift apart; the CLI and the
 * SDK check user input against them before sending a transaction that would revert.
 */
export const ProtocolLimits = {
  /** Basis-point denominator (100%). */
  BPS: 10_000,
  /** Highest protocol fee governance can set: 20%. */
  MAX_PROTOCOL_FEE_BPS: 2_000,
  /** Highest royalty a model owner can set: 80%. */
  MAX_ROYALTY_BPS: 8_000,
  /** The BN254 scalar field modulus: every zk public signal must be below it. */
  SNARK_SCALAR_FIELD: 21888242871839275222246405745257275088548364400416034343698204186575808495617n,
  /** Furthest a request's deadline may be from the block that opens it, in seconds (30 days). */
  MAX_REQUEST_TTL: 30n * 24n * 3600n,
  /** Highest callback gas limit a request may ask for. */
  MAX_CALLBACK_GAS: 2_500_000,
  /** How long after a request's deadline evidence about it is accepted, in seconds (7 days). */
  EVIDENCE_WINDOW: 7n * 24n * 3600n,
  /** Longest unbonding delay governance can set, in seconds (90 days). */
  MAX_UNBONDING_DELAY: 90n * 24n * 3600n,
  /** Longest model family name, in bytes. */
  MAX_NAME_LENGTH: 64,
  /** Most accounts in one allowlist update. */
  MAX_ALLOWLIST_BATCH: 256,
  /** Highest request id; opening more reverts (`RequestIdsExhausted`): ids never wrap. */
  MAX_REQUEST_ID: 2n ** 64n - 2n,
} as const;
