import { explain, OpgError } from "../sdk/errors.js";

/** One exit-code table for every command (printed by `opg --help`). */
export const ExitCode = {
  /** Done; for `audit`, the result is verified. */
  Ok: 0,
  /** Usage or input error, or the contract refused the call: nothing was done. */
  Usage: 1,
  /** Verification rejected: the result does not check out (audit), or the operator refused (infer). */
  Rejected: 2,
  /** Not settled yet: the request is still pending. */
  Pending: 3,
  /** Refunded, or expired and waiting to be refunded: no result will come. */
  Refunded: 4,
  /** The chain's RPC could not be reached. */
  Unreachable: 5,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The table for `opg --help`. */
export const EXIT_CODE_HELP = [
  "Exit codes (every command):",
  "  0  done; audit: verified",
  "  1  usage or input error, or the contract refused the call (nothing was sent)",
  "  2  audit: verification rejected (a request) or failed (a receipt); infer: the operator refused or its receipt did not verify",
  "  3  not settled yet (pending; request --wait timed out)",
  "  4  refunded, or expired and waiting for a refund",
  "  5  the chain's RPC could not be reached",
].join("\n");

/** The exit code of an audit verdict. */
export function exitCodeForVerdict(verdict: string): ExitCode {
  switch (verdict) {
    case "verified":
      return ExitCode.Ok;
    case "rejected":
    case "failed":
      return ExitCode.Rejected;
    case "pending":
      return ExitCode.Pending;
    case "refunded":
      return ExitCode.Refunded;
    default:
      return ExitCode.Usage;
  }
}

/** The exit code of an error a command threw. */
export function exitCodeForError(error: unknown): ExitCode {
  if (error instanceof OpgError) {
    if (error.code === "Unreachable") return ExitCode.Unreachable;
    if ((error.code as string) === "ResultTimeout") return ExitCode.Pending;
    return ExitCode.Usage;
  }
  return explain(error).startsWith("cannot reach the RPC") ? ExitCode.Unreachable : ExitCode.Usage;
}
