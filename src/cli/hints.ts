/**
 * CLI advice under an error: protocol errors (decoded by name) and SDK error codes mapped to the opg commands and
 * flags that fix them. The SDK's messages say what is wrong; the commands to run are CLI wording and live here.
 */
import { decodeProtocolError, OpgError } from "../sdk/errors.js";

/** Advice for a decoded protocol error, by name; `args` are the error's arguments. */
const PROTOCOL_HINTS: Readonly<Record<string, (args: readonly unknown[]) => string>> = {
  InsufficientBalance: () =>
    "deposit first with `opg deposit <OPG>` (see `opg balance`), or pay this request with `--pay permit`",
  ERC20InsufficientAllowance: () =>
    "opg has no approve command: pay with `--pay permit` (signs an EIP-2612 permit), or prepay with `opg deposit <OPG>` and use `--pay prepaid`",
  ERC20InsufficientBalance: () => "`opg balance` shows the OPG this account holds",
  InsufficientModeAllowance: () =>
    "pay this request with `--pay permit` or `--pay transfer` instead of the prepaid balance",
  FeeAboveMax: () => "`opg model show <modelId>` shows the fee; raise `--max-fee` or omit it",
  InvalidDeadline: () => "pass `--ttl <seconds>` between 1 and 2592000",
  RequestNotExpired: (args) =>
    `\`opg status ${String(args[0])}\` shows its deadline; run \`opg refund ${String(args[0])}\` after it`,
  RequestExpired: (args) => `refund it with \`opg refund ${String(args[0])}\``,
  RequestNotPending: (args) => `\`opg status ${String(args[0])}\` shows the request`,
  UnknownModel: () => "`opg model list` lists the registered model versions",
  ModelNotActive: () => "`opg model list` lists the registered model versions",
  ModelRevoked: () => "`opg model list` lists the registered model versions",
  ModeNotAllowed: (args) =>
    `choose another \`--mode\`: \`opg model show ${String(args[0])}\` lists the modes it allows`,
  ModeNotOpen: () => "`opg modes` lists the verification modes open on this deployment",
  NotModelOwner: () => "run it with the owner's key: `--key-env <VAR>` names the variable holding it",
  ModelExists: () => "`opg model show <modelId>` shows the registered version",
  AlreadyRegistered: () =>
    "add stake with `opg operator stake <OPG>`, or replace the signing key with `opg operator rotate-signer`",
  SignerAlreadyUsed: () =>
    "put a fresh private key in OPG_SIGNER_KEY (or name another variable with `--signer-key-env`)",
  UnknownOperator: () =>
    "register first: `opg operator register --payout <address> --stake <OPG>` (signing key in OPG_SIGNER_KEY)",
  StakeBelowMinimum: () => "add stake with `opg operator stake <OPG>`",
  InsufficientStake: () => "`opg operator show` shows the stake",
  StillUnbonding: () =>
    "`opg operator show` shows the unbonding stake; run `opg operator withdraw` after it ends",
  NothingUnbonding: () => "start unbonding with `opg operator unstake <OPG>`, then `opg operator withdraw`",
  OwnableUnauthorizedAccount: () => "run it with the governance key: `--key-env <VAR>` names the variable",
};

/** Advice for an SDK error code. */
const CODE_HINTS: Readonly<Partial<Record<string, string>>> = {
  Unreachable:
    "start a local node with `npm run devnet`, or point `--rpc <url>` (or OPG_RPC_URL / ETH_RPC_URL) at a running one",
  MissingConfig:
    "deploy with `opg deploy`, or pass `--addresses <file>` / `--deployment <dir>` (or set OPG_ADDRESSES); `opg --help` lists every setting",
  UnknownModel: "`opg model list` lists the registered model versions",
  UnknownRequest: "check the request id: `opg request` prints it when it opens one",
  ModeNotOpen: "`opg modes` lists the verification modes open on this deployment",
  ResultTimeout:
    "`opg status <requestId>` shows it later; after its deadline `opg refund <requestId>` returns the fee",
};

/** The CLI advice for `error`, or `undefined` when the message says it all. */
export function hintFor(error: unknown): string | undefined {
  const decoded = decodeProtocolError(error);
  if (decoded !== undefined) return PROTOCOL_HINTS[decoded.name]?.(decoded.args);
  if (error instanceof OpgError) return CODE_HINTS[error.code];
  if (error instanceof Error && error.name === "StateMismatchError") {
    return "`opg operator serve --fresh-state` moves the old state file aside (nothing is deleted) and starts fresh; or pass `--db <file>` to use another one";
  }
  if (error instanceof Error && error.name === "WatchStateMismatchError") {
    return "`opg watch --fresh-state` moves the old state file aside (nothing is deleted) and starts fresh; or pass `--db <file>` to use another one";
  }
  return undefined;
}
