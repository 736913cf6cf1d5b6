import {
  BaseError,
  ChainMismatchError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  decodeErrorResult,
  formatUnits,
  HttpRequestError,
  InvalidAddressError,
  TimeoutError,
  type Hex,
} from "viem";
import { protocolErrorsAbi } from "../abi/index.js";

/** What an SDK check found wrong; `code` is stable for programs, the message is for people. */
export type OpgErrorCode =
  | "BadAddress"
  | "BadAddresses"
  | "BadInput"
  | "NoAccount"
  | "WrongChain"
  | "UnknownModel"
  | "UnknownRequest"
  | "Unreachable"
  | "MissingKey"
  | "MissingConfig"
  | "DeployFailed"
  | "OutputExists";

/** An error raised by the SDK itself (not by a contract), with a message that says what to fix. */
export class OpgError extends Error {
  override readonly name = "OpgError";
  constructor(
    readonly code: OpgErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A protocol custom error decoded by name. */
export interface ProtocolError {
  name: string;
  args: readonly unknown[];
}

function isHex(value: unknown): value is Hex {
  return typeof value === "string" && /^0x[0-9a-fA-F]*$/.test(value);
}

function decodeData(data: Hex): ProtocolError | undefined {
  if (data.length < 10) return undefined;
  try {
    const decoded = decodeErrorResult({ abi: protocolErrorsAbi, data });
    return { name: decoded.errorName, args: decoded.args };
  } catch {
    return undefined;
  }
}

/**
 * The protocol custom error inside whatever viem (or a provider) threw, decoded with every protocol contract's
 * errors, so an error raised by a registry or the token under a settlement call is named too. `undefined` when the
 * error carries no known revert.
 */
export function decodeProtocolError(error: unknown): ProtocolError | undefined {
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      if (reverted.data !== undefined && reverted.data.errorName !== "Error") {
        const found = decodeData(reverted.raw ?? "0x");
        if (found !== undefined) return found;
        return { name: reverted.data.errorName, args: reverted.data.args ?? [] };
      }
      if (reverted.raw !== undefined) {
        const found = decodeData(reverted.raw);
        if (found !== undefined) return found;
      }
    }
  }
  // Raw revert data somewhere down the cause chain (`data` of an RPC error, nested `error`/`cause`).
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const data = (current as { data?: unknown }).data;
    if (isHex(data)) {
      const found = decodeData(data);
      if (found !== undefined) return found;
    } else if (typeof data === "object" && data !== null && isHex((data as { data?: unknown }).data)) {
      const found = decodeData((data as { data: Hex }).data);
      if (found !== undefined) return found;
    }
    current = (current as { cause?: unknown }).cause ?? (current as { error?: unknown }).error;
  }
  return undefined;
}

/** `Name(arg, …)` for logs. */
export function formatProtocolError(decoded: ProtocolError): string {
  return `${decoded.name}(${decoded.args.map((a) => String(a)).join(", ")})`;
}

const opg = (value: unknown) => (typeof value === "bigint" ? `${formatUnits(value, 18)} OPG` : String(value));

const STATUS = ["None", "Active", "Deprecated", "Revoked"];
const REQUEST_STATUS = ["None", "Pending", "Fulfilled", "FulfilledCallbackFailed", "Refunded"];

/** A sentence for a decoded protocol error that says what to fix. */
export function explainProtocolError({ name, args }: ProtocolError): string {
  const a = (i: number) => String(args[i]);
  switch (name) {
    case "InsufficientBalance":
      return `insufficient prepaid balance: ${opg(args[0])} available, ${opg(args[1])} needed; deposit OPG first (deposit <amount>) or pay by transfer or permit (--pay transfer|permit)`;
    case "ERC20InsufficientAllowance":
      return `insufficient OPG allowance for ${a(0)}: ${opg(args[1])} approved, ${opg(args[2])} needed; approve the settlement contract or use --pay permit`;
    case "ERC20InsufficientBalance":
      return `insufficient OPG token balance in ${a(0)}: ${opg(args[1])} held, ${opg(args[2])} needed; get OPG into this account first`;
    case "UnknownModel":
      return `unknown model ${a(0)}: no such model version is registered; check the id (model list)`;
    case "ModelNotActive":
      return `model ${a(0)} is not active (status ${STATUS[Number(args[1])] ?? a(1)}); use an active version (model list)`;
    case "ModelRevoked":
      return `model ${a(0)} is revoked; use another version`;
    case "ModeNotAllowed":
      return `model ${a(0)} does not allow verification mode ${a(1)} (allowed mode flags ${a(2)}); choose another --mode`;
    case "FeeAboveMax":
      return `the model's fee ${opg(args[0])} is above your maximum ${opg(args[1])}; raise --max-fee`;
    case "InvalidDeadline":
      return `invalid deadline ${a(0)}: it must be in the future and no later than ${a(1)}; adjust --ttl`;
    case "InvalidMode":
      return `invalid verification mode ${a(0)}: use signature or zk`;
    case "InputNotInField":
      return `zk input commitment ${a(0)} is not a field element: compute it with the circuit's Poseidon commitment`;
    case "RequestNotExpired":
      return `request ${a(0)} has not expired yet (deadline ${new Date(Number(args[1]) * 1000).toISOString()}); refund after its deadline`;
    case "RequestNotPending":
      return `request ${a(0)} is not pending (status ${REQUEST_STATUS[Number(args[1])] ?? a(1)})`;
    case "RequestExpired":
      return `request ${a(0)} expired at ${new Date(Number(args[1]) * 1000).toISOString()}; it can only be refunded now`;
    case "RequestMismatch":
      return `request ${a(0)}: the posted request differs from the one opened; post it exactly as in RequestOpened`;
    case "NotModelOwner":
      return `${a(0)} is not the model's owner (${a(1)}); use the owner's key`;
    case "ModelExists":
      return `model ${a(0)} is already registered: the same file, runtime and zk binding give the same id`;
    case "RoyaltyTooHigh":
      return `royalty ${a(0)} bps is above the maximum ${a(1)} bps; lower --royalty`;
    case "InvalidName":
      return "invalid model name: it must be 1 to 64 bytes";
    case "ZkBindingRequired":
      return "zk mode needs both a zk commitment and a verifier address";
    case "InvalidAmount":
      return "the amount must be greater than zero";
    case "ZeroAddress":
      return "an address argument is the zero address; give a real address";
    case "ERC2612ExpiredSignature":
      return `the permit expired at ${a(0)}; sign a new one`;
    case "ERC2612InvalidSigner":
      return `the permit was signed by ${a(0)}, not the owner ${a(1)}`;
    case "UnknownOperator":
      return `${a(0)} is not a registered operator (or key); register and stake first`;
    case "SignerMismatch":
      return `signature by ${a(1)} is not the registered key of operator ${a(0)}`;
    case "AlreadyRegistered":
      return `operator ${a(0)} is already registered; use stake to add to it`;
    case "SignerAlreadyUsed":
      return `signing key ${a(0)} is already used by another operator`;
    case "StakeBelowMinimum":
      return `stake of ${a(0)} is ${opg(args[1])}, below the minimum ${opg(args[2])}; stake more`;
    case "InsufficientStake":
      return `stake ${opg(args[0])} is less than the ${opg(args[1])} requested`;
    case "StillUnbonding":
      return `still unbonding until ${new Date(Number(args[0]) * 1000).toISOString()}; withdraw after that`;
    case "NothingUnbonding":
      return "nothing is unbonding; unbond first";
    case "BalanceBelowGate":
      return `access to this model needs ${opg(args[2])} OPG held; ${a(0)} holds ${opg(args[1])}`;
    case "ProtocolFeeTooHigh":
      return `protocol fee ${a(0)} bps is above the maximum ${a(1)} bps; lower --protocol-fee-bps`;
    case "RewardTooHigh":
      return `reporter reward ${a(0)} bps is above 10000 bps; lower --reporter-reward-bps`;
    case "InvalidMinStake":
      return "the minimum stake must be greater than zero and fit in 96 bits; fix --min-stake";
    case "UnbondingDelayTooLong":
      return `unbonding delay ${a(0)} s is above the maximum ${a(1)} s; lower --unbonding-delay`;
    case "NotAllowlisted":
      return `${a(0)} is not on this model family's allowlist; ask the model owner`;
    default:
      return `the contract rejected the call: ${formatProtocolError({ name, args })}`;
  }
}

/** One line that says what went wrong and what to fix, for any error the SDK or viem throws. */
export function explain(error: unknown): string {
  if (error instanceof OpgError) return error.message;
  const decoded = decodeProtocolError(error);
  if (decoded !== undefined) return explainProtocolError(decoded);
  if (error instanceof BaseError) {
    const http = error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError);
    if (http instanceof HttpRequestError || http instanceof TimeoutError) {
      return `cannot reach the RPC at ${http.url}: check --rpc / OPG_RPC_URL and that the node is running`;
    }
    const chain = error.walk((e) => e instanceof ChainMismatchError);
    if (chain instanceof ChainMismatchError) {
      return `wrong chain: ${chain.shortMessage}; point --rpc at the right network or fix --chain-id`;
    }
    const zero = error.walk((e) => e instanceof ContractFunctionZeroDataError);
    if (zero instanceof ContractFunctionZeroDataError) {
      return "no protocol contract answered at the configured address: wrong --addresses / --deployment for this chain?";
    }
    const address = error.walk((e) => e instanceof InvalidAddressError);
    if (address instanceof InvalidAddressError) return `bad address: ${address.shortMessage}`;
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      return `the contract rejected the call: ${reverted.reason ?? reverted.signature ?? "no reason given"}`;
    }
    return error.shortMessage;
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ECONNREFUSED" || code === "ENOTFOUND") return `cannot reach the RPC: ${error.message}`;
    return error.message;
  }
  return String(error);
}
