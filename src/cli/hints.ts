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
  RefundNotDue: (args) =>
    BigInt(String(args[0])) === 0n
      ? "start the notice period first: `opg channel refund <operator>`, then `opg channel withdraw <operator>` after it"
      : `the notice period ends at ${String(args[0])} (unix seconds): \`opg channel show <operator>\` shows it; withdraw after it`,
  NotFinal: (args) =>
    `a voucher is redeemable after its challenge deadline (${String(args[0])}, unix seconds): \`opg operator redeem --dry-run\` lists what is due`,
  NotAnOperator: () =>
    "run it with the operator account's key (`--key-env <VAR>`); register first with `opg operator register`",
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

/** Where `refusalHint` points: the operator, the model and the payer's voucher state file. */
export interface RefusalContext {
  operator: string;
  modelId: string;
  voucherFile: string;
}

/** Advice per quiet-mode gateway refusal code (`POST /v1/infer`, docs/operator.md "Quiet mode gateway"). */
const REFUSAL_HINTS: Readonly<Record<string, (c: RefusalContext) => string>> = {
  insufficient_funds: (c) =>
    `fund the channel: \`opg channel fund ${c.operator} <OPG>\` (\`opg channel show ${c.operator}\` shows its funds; funding again cancels a refund request)`,
  voucher_out_of_order: (c) =>
    `the voucher state in ${c.voucherFile} disagrees with the operator's record of this sub-channel (another machine or a lost run signed vouchers): restore that file, or move it aside only if the operator has never served this payer`,
  fee_too_low: (c) => `\`opg model show ${c.modelId}\` shows the fee: raise --fee or omit it`,
  unknown_model: (c) =>
    `this operator does not serve model ${c.modelId}: check --model, --operator and --gateway (\`opg model list\` lists the versions)`,
  quiet_not_allowed: (c) =>
    `\`opg model show ${c.modelId}\` lists the modes it allows: quiet mode needs a version registered with mode 4`,
  not_allowed: (c) =>
    `the model's access gate refuses this account (minimum OPG balance or allowlist): \`opg model show ${c.modelId}\``,
  bad_deadline: () => "pass --ttl within the mode's maxTtl, and check this machine's clock",
  bad_signature: () =>
    "the gateway is bound to another chain or deployment than --rpc and --addresses: check them and --gateway",
  wrong_operator: () => "--operator must be the operator account that runs the gateway at --gateway",
  input_mismatch: () =>
    "check --input against the model (pass --model-file to check the values per sample before anything is sent)",
};

/** The CLI advice for a quiet-mode gateway's refusal `code`. */
export function refusalHint(code: string, context: RefusalContext): string {
  const hint = REFUSAL_HINTS[code];
  if (hint !== undefined) return hint(context);
  if (code.startsWith("http_")) {
    return "is --gateway the operator's quiet-mode gateway? (`opg operator serve --quiet-port <port>` prints its URL)";
  }
  return "check --input against the model (--model-file checks its width)";
}
