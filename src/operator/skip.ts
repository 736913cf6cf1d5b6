/**
 * Why the node skipped a request: a small closed set of codes (the `reason` label of
 * `opg_operator_skips_total`), each with a human detail. A skipped request is final for this node: it is never
 * retried and never blocks the requests behind it. Documented in `docs/operator.md`.
 */
export const SKIP_CODES = [
  /** The input bytes are not a non-empty whole number of rows of the model's width, or the data URI is bad. */
  "malformed_input",
  /** A value is NaN or ±Infinity as float32 (e.g. 1e40 rounds to +Infinity). */
  "non_finite_input",
  /** A value is finite but outside what the mode can take (zk: not quantizable within the circuit's bits). */
  "input_out_of_range",
  /** More rows than the mode serves (`MAX_INPUT_ROWS`: zk 1, signature 64), or a URI over the node's cap. */
  "oversized_input",
  /** The input URI is not one this node reads (only inline `data:` URIs are: no fetching of remote URIs). */
  "input_unavailable",
  /** The input does not hash (or commit) to the request's input hash. */
  "input_mismatch",
  /** The model version was revoked: nothing can settle the request (the requester gets a refund). */
  "model_revoked",
  /** The request's mode is unknown or not served by this node for this model. */
  "mode_not_served",
  /** The request's mode has no live contract (retired by governance). */
  "mode_retired",
  /** The model runtime failed on the input (e.g. non-finite outputs). */
  "runtime_error",
  /** The prover failed on the input. */
  "prover_error",
  /** The request's deadline passed before it was served. */
  "expired",
  /** Simulating the fulfilment reverted (other than expired or revoked), or the sent transaction reverted. */
  "would_revert",
  /** Transient RPC errors on this request went on for `maxAttempts` attempts. */
  "rpc_gave_up",
] as const;

/** A reason code (see `SKIP_CODES`). */
export type SkipCode = (typeof SKIP_CODES)[number];

/** Why a request was skipped: a code from the closed set and a human detail. */
export interface SkipReason {
  code: SkipCode;
  detail: string;
}

/** A skip reason. */
export function skip(code: SkipCode, detail: string): SkipReason {
  return { code, detail };
}

/** Whether `value` is one of the codes. */
export function isSkipCode(value: unknown): value is SkipCode {
  return typeof value === "string" && (SKIP_CODES as readonly string[]).includes(value);
}
