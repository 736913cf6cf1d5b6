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
import { modeName } from "../protocol/modes.js";
import { ProtocolLimits } from "../protocol/limits.js";

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
  | "OutputExists"
  | "ModeNotOpen"
  | "BadSignerProof"
  | "Reverted"
  | "ResultTimeout"
  | "RequestExpired"
  | "ReceiptRejected"
  | "OperatorRefused";

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

const date = (seconds: unknown) => {
  const ms = Number(seconds) * 1000;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(seconds);
};
const mode = (value: unknown) => modeName(Number(value));

/** A sentence for a decoded protocol error that says what to fix. */
export function explainProtocolError({ name, args }: ProtocolError): string {
  const a = (i: number) => String(args[i]);
  switch (name) {
    // ------------------------------------------------------------------ ledger and requests (the core)
    case "InsufficientBalance":
      return `insufficient prepaid balance: ${opg(args[0])} available, ${opg(args[1])} needed; deposit OPG first (deposit) or pay by transfer or permit (openRequest's pay: "transfer" | "permit")`;
    case "InsufficientModeAllowance":
      return `the mode may pull only ${opg(args[0])} of this balance, ${opg(args[1])} needed; raise the allowance with approveMode`;
    case "FeeAboveMax":
      return `the model's fee ${opg(args[0])} is above your maximum ${opg(args[1])}; raise the request's maxFee`;
    case "InvalidDeadline":
      return `invalid deadline ${a(0)}: it must be in the future and no later than ${a(1)} (${ProtocolLimits.MAX_REQUEST_TTL} s ahead); adjust the request's ttl or deadline`;
    case "InvalidMode":
      return `invalid verification mode ${a(0)}: a request takes exactly one mode bit (signature 1, zk 2)`;
    case "ModeNotOpen":
      return `verification mode ${mode(args[0])} is not open on this deployment (never bound, or retired by governance): choose another mode (getOpenModes lists the open ones)`;
    case "InvalidCallback":
      return `invalid callback ${a(0)} with gas limit ${a(1)}: a callback needs 1 to ${a(2)} gas, and no callback needs 0`;
    case "RequestIdsExhausted":
      return "this settlement has used every request id (2^64 - 1): no request can be opened on it any more; use a new deployment";
    case "RequestNotExpired":
      return `request ${a(0)} has not expired yet (deadline ${date(args[1])}); refund after its deadline`;
    case "RequestNotPending":
      return `request ${a(0)} is not pending (status ${REQUEST_STATUS[Number(args[1])] ?? a(1)})`;
    case "RequestExpired":
      return `request ${a(0)} expired at ${date(args[1])}; it can only be refunded now`;
    case "RequestMismatch":
      return `request ${a(0)}: the posted request differs from the one opened; post it exactly as in RequestOpened`;
    case "WrongMode":
      return `request ${a(0)} requires verification mode ${mode(args[1])}, and ${a(2)} is not that mode's live contract: submit it to the contract the settlement binds to that mode (modeContract), or refund it if the mode was retired`;
    case "NotModeContract":
      return `${a(0)} is not a live mode contract: only contracts governance bound to a mode may call the settlement's mode hooks`;
    case "OperatorNotAssigned":
      return `request ${a(0)} is reserved for operator ${a(1)}; only that operator may fulfil it`;
    case "OutputHashMismatch":
      return `the inline output hashes to ${a(1)}, not the output hash ${a(0)}: send the output bytes that were hashed (or none)`;
    case "InsufficientGasForCallback":
      return `the transaction leaves ${a(0)} gas, the callback needs ${a(1)}: send it with a higher gas limit`;
    case "ProtocolFeeTooHigh":
      return `protocol fee ${a(0)} bps is above the maximum ${a(1)} bps; lower the protocol fee`;
    case "InvalidBps":
      return `${a(0)} basis points is above 100% (${ProtocolLimits.BPS} bps)`;
    case "NothingToCollect":
      return "no protocol fees have accrued: nothing to collect";
    case "NothingToSweep":
      return `nothing to sweep: the settlement holds no more of token ${a(0)} than it owes`;
    case "ModeAlreadyBound":
      return `mode ${mode(args[0])} is already bound: a mode bit is bound once and never re-bound (deploy a mode for a new bit)`;
    case "ModeContractMismatch":
      return `${a(0)} does not declare mode ${mode(args[1])} and this settlement (mode(), settlement()), or is bound already: bind the mode contract deployed for this settlement`;
    // ------------------------------------------------------------------ models
    case "UnknownModel":
      return `unknown model ${a(0)}: no such model version is registered; check the id (model list)`;
    case "UnknownFamily":
      return `unknown model family ${a(0)}; check the id`;
    case "ModelNotActive":
      return `model ${a(0)} is not active (status ${STATUS[Number(args[1])] ?? a(1)}); use an active version (model list)`;
    case "ModelRevoked":
      return `model ${a(0)} is revoked; use another version`;
    case "ModeNotAllowed":
      return `model ${a(0)} does not allow verification mode ${mode(args[1])} (allowed mode flags ${a(2)}); choose another mode`;
    case "InputNotInField":
      return `zk input commitment ${a(0)} is not a BN254 field element, so no proof could settle it: compute it with the circuit's Poseidon commitment`;
    case "NotModelOwner":
      return `${a(0)} is not the model's owner (${a(1)}); use the owner's key`;
    case "ModelExists":
      return `model ${a(0)} is already registered: the same file, runtime and zk binding give the same id`;
    case "RoyaltyTooHigh":
      return `royalty ${a(0)} bps is above the maximum ${a(1)} bps; lower royaltyBps`;
    case "InvalidName":
      return `invalid model name: it must be 1 to ${ProtocolLimits.MAX_NAME_LENGTH} bytes`;
    case "InvalidFileHash":
      return "the model file hash is zero: give the sha256 of the model file";
    case "InvalidRuntimeHash":
      return "the runtime hash is zero: give the hash of the runtime descriptor";
    case "InvalidModes":
      return "a model version must allow at least one verification mode";
    case "ZkBindingRequired":
      return "zk mode needs both a zk commitment and a verifier address";
    case "InvalidZkCommitment":
      return `zk weight commitment ${a(0)} is not a BN254 field element: compute it with the circuit's Poseidon commitment`;
    case "VerifierCodeHashMismatch":
      return `the verifier ${a(0)} has code hash ${a(2)}, not the stated ${a(1)}: give keccak256 of its deployed code (registerModel reads it from the chain when zkVerifierCodeHash is left out), or no hash without a verifier`;
    case "VerifierNotPure":
      return `the verifier ${a(0)} is not pure bytecode (opcode 0x${Number(args[2]).toString(16).padStart(2, "0")} at offset ${a(1)}: storage, calls, block context or self-destruct could change its answers): deploy a snarkjs-generated verifier without a proxy`;
    case "InvalidStatusTransition":
      return `a model cannot go from ${STATUS[Number(args[0])] ?? a(0)} to ${STATUS[Number(args[1])] ?? a(1)} (a revoked version stays revoked)`;
    case "WrongFamily":
      return `model ${a(0)} is not in family ${a(1)}`;
    case "BalanceBelowGate":
      return `access to this model needs ${opg(args[2])} held; ${a(0)} holds ${opg(args[1])}`;
    case "NotAllowlisted":
      return `${a(0)} is not on this model family's allowlist; ask the model owner`;
    case "InvalidGate":
      return "a min-balance gate needs a positive minimum, other gates none";
    case "BatchTooLarge":
      return `${a(0)} accounts in one allowlist update, at most ${a(1)}: split it`;
    // ------------------------------------------------------------------ operators and signatures
    case "UnknownOperator":
      return `${a(0)} is not a registered operator (or key); register and stake first`;
    case "EndpointTooLong":
      return `the endpoint URL is ${a(0)} bytes, at most ${a(1)}: publish a shorter URL`;
    case "SignerMismatch":
      return `the result's signature recovers ${a(1)}, which is not the current key of operator ${a(0)}: a field of the signed result was changed (output stripped or swapped, another URI, another request), or the key was rotated; submit the result exactly as signed by the current key`;
    case "SignerProofInvalid":
      return `the proof of possession for signing key ${a(0)} was signed by ${a(1)}: the key itself must sign SignerBinding(operator, signer) for this operator, chain and registry (set OPG_SIGNER_KEY to that key)`;
    case "InvalidSignature":
      return "the signature is malformed, malleable (high s) or does not recover: sign again";
    case "AlreadyRegistered":
      return `operator ${a(0)} is already registered; use stake to add to it, or rotate its signing key`;
    case "SignerAlreadyUsed":
      return `signing key ${a(0)} is, or was, registered to an operator: keys are never reused; use a fresh key`;
    case "StakeBelowMinimum":
      return `stake of ${a(0)} is ${opg(args[1])}, below the minimum ${opg(args[2])}; stake more`;
    case "InsufficientStake":
      return `stake ${opg(args[0])} is less than the ${opg(args[1])} requested`;
    case "StillUnbonding":
      return `still unbonding until ${date(args[0])}; withdraw after that`;
    case "NothingUnbonding":
      return "nothing is unbonding; unbond first";
    case "InvalidMinStake":
      return "the minimum stake must be greater than zero and fit in 96 bits; fix the minimum stake";
    case "UnbondingDelayTooLong":
      return `unbonding delay ${a(0)} s is above the maximum ${a(1)} s; lower the unbonding delay`;
    case "NotSettlement":
      return `${a(0)} is not the settlement contract: only the settlement can slash`;
    case "SettlementAlreadyBound":
      return "the operator registry is already bound to a settlement";
    // ------------------------------------------------------------------ equivocation (SignatureMode)
    case "RewardTooHigh":
      return `reporter reward ${a(0)} bps is above ${ProtocolLimits.BPS} bps; lower the reporter reward`;
    case "NotEquivocation":
      return "the two pieces of evidence do not contradict each other (the same output, or receipts sharing neither sequence number nor request): that is not equivocation";
    case "UnknownRequest":
      return `no request ${a(0)} with hash ${a(1)} was ever opened: evidence must concern a real request, posted exactly as opened`;
    case "EvidenceExpired":
      return `evidence about request ${a(0)} was due by ${date(args[1])} (its deadline plus the evidence window)`;
    case "InvalidEvidence":
      return `a claim was signed by ${a(0)}, which is not a key of the accused operator`;
    case "KeyRetiredBeforeRequest":
      return `key ${a(0)} was retired before the request was opened (at request ${a(1)}): it could not sign for it`;
    case "EvidenceAlreadyUsed":
      return `operator ${a(1)} was already slashed for request ${a(0)}`;
    case "NothingToSlash":
      return `nothing to slash from ${a(0)} (no penalty set, or no stake left); the evidence stays usable`;
    // ------------------------------------------------------------------ zk (ZkMode)
    case "InvalidProof":
      return "the verifier rejected the zk proof: it must be made for this request, this chain, this ZkMode and the account that submits it";
    case "PublicSignalOutOfField":
      return `public signal ${a(0)} (${a(1)}) is not a BN254 field element`;
    case "VerifierCodeChanged":
      return `the verifier ${a(0)} now has code hash ${a(2)}, not the ${a(1)} the model version pinned: no proof settles until it is restored; refund the request`;
    // ------------------------------------------------------------------ quiet mode (QuietMode, docs/quiet.md)
    case "NotNextSeq":
      return `the batch must start at sequence number ${a(0)}, not ${a(1)}: the log is append-only and gap-free`;
    case "BadBatchSize":
      return `a batch holds 1 to 65536 receipts, not ${a(0)}`;
    case "UnknownBatch":
      return `operator ${a(0)} committed no batch with these fields at index ${a(1)}: give the batch exactly as its BatchCommitted event has it`;
    case "SeqNotInBatch":
      return `sequence number ${a(0)} is not in the batch (${a(1)} to ${a(1)} + ${a(2)} - 1): give the batch that holds it`;
    case "InvalidLogProof":
      return "the Merkle proof does not prove that leaf at that position in the batch: build it from the batch's receipts";
    case "ReceiptRequestMismatch":
      return `the receipt answers request ${a(0)}, not this one (${a(1)}): give the request exactly as the payer signed it`;
    case "OperatorMismatch":
      return `the receipt is by ${a(0)} but the request (or the other receipt) names ${a(1)}`;
    case "TtlTooLong":
      return `the request's deadline ${a(0)} is further than the mode's maxTtl from the receipt's time ${a(1)}: such a receipt is not valid`;
    case "KeyRetiredBeforeReceipt":
      return `key ${a(0)} was retired at ${date(args[1])}, before the receipt's time: it cannot be evidence for it`;
    case "ChallengeClosed":
      return `the request's challenge deadline passed at ${date(args[0])}`;
    case "NotOmitted":
      return "the receipt is the leaf committed at its position: nothing was omitted";
    case "NotLate":
      return `the batch was committed at ${date(args[0])}, in time (due by ${date(args[1])})`;
    case "NotUncommitted":
      return `sequence number ${a(0)} is committed (the next is ${a(1)}), or its commit deadline ${date(args[2])} has not passed`;
    case "OutputMatches":
      return "the proven output is the receipt's: the receipt is right";
    case "NoZkCircuit":
      return `model ${a(0)} has no zk circuit: a wrong output cannot be proven on chain (equivocation and omission still can)`;
    case "ReceiptEvidenceUsed":
      return `this evidence (${a(0)}) was already used: each cheat is slashed once`;
    case "ReceiptIsStruck":
      return `receipt ${a(1)} of operator ${a(0)} was proven wrong: do not accept it`;
    case "NotFinal":
      return `not final until ${date(args[0])} (the request's deadline plus the commit and challenge windows)`;
    case "NotYourVoucher":
      return `the voucher is for operator ${a(0)}: only that operator redeems it`;
    case "InvalidPayerSignature":
      return `the voucher is not signed by its payer ${a(0)}`;
    case "TooManyVouchers":
      return `${a(0)} vouchers in one call; at most 256: split them`;
    case "QuietModeNotAllowed":
      return `model ${a(0)} does not allow quiet mode`;
    case "RefundNotDue":
      return `no refund was requested (requestRefund), or its notice period runs until ${date(args[0])}`;
    case "InvalidWindows":
      return "the windows are out of range: all must be positive, maxTtl at most 30 days, the notice at least maxTtl plus both windows, the reward at most 100%";
    case "BatchCommittedLate":
      return `the batch was committed at ${date(args[0])}, after the request's commit deadline ${date(args[1])}: its receipts are not accepted`;
    case "NotAnOperator":
      return `${a(0)} is not a registered operator`;
    // ------------------------------------------------------------------ shared, token, governance
    case "InvalidAmount":
      return "the amount must be greater than zero (and fit the contract's field)";
    case "ZeroAddress":
      return "an address argument is the zero address; give a real address";
    case "RenounceDisabled":
      return "governance cannot be renounced, only transferred (in two steps)";
    case "OwnableInvalidOwner":
      return `${a(0)} cannot be the governance account: give a real address`;
    case "OwnableUnauthorizedAccount":
      return `${a(0)} is not the governance account of this contract; use the governance key`;
    case "ERC20InsufficientAllowance":
      return `insufficient OPG allowance for ${a(0)}: ${opg(args[1])} approved, ${opg(args[2])} needed; approve it for the amount (approve) or pay with a permit (pay: "permit")`;
    case "ERC20InsufficientBalance":
      return `insufficient OPG token balance in ${a(0)}: ${opg(args[1])} held, ${opg(args[2])} needed; get OPG into this account first`;
    case "ERC20InvalidSender":
    case "ERC20InvalidReceiver":
    case "ERC20InvalidApprover":
    case "ERC20InvalidSpender":
      return `the OPG token refused the zero address ${a(0)} (${name.slice(12).toLowerCase()}): give a real address`;
    case "InvalidAccountNonce":
      return `the permit's nonce is stale for ${a(0)} (current nonce ${a(1)}): sign a new permit`;
    case "SafeERC20FailedOperation":
      return `the token ${a(0)} refused a transfer: check the token address and balances`;
    case "SafeCastOverflowedUintDowncast":
      return `a value does not fit in ${a(0)} bits (${a(1)}): use a smaller amount`;
    case "ECDSAInvalidSignature":
    case "ECDSAInvalidSignatureLength":
    case "ECDSAInvalidSignatureS":
      return "the signature is malformed or malleable: sign again";
    case "InvalidShortString":
    case "StringTooLong":
      return `a contract name or version string is too long (${name}): this is a deployment error`;
    case "ERC2612ExpiredSignature":
      return `the permit expired at ${a(0)}; sign a new one`;
    case "ERC2612InvalidSigner":
      return `the permit was signed by ${a(0)}, not the owner ${a(1)}`;
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
      return `cannot reach the RPC at ${http.url}: check the RPC URL and that the node is running`;
    }
    const chain = error.walk((e) => e instanceof ChainMismatchError);
    if (chain instanceof ChainMismatchError) {
      return `wrong chain: ${chain.shortMessage}; point the client at the right network`;
    }
    const zero = error.walk((e) => e instanceof ContractFunctionZeroDataError);
    if (zero instanceof ContractFunctionZeroDataError) {
      return "no protocol contract answered at the configured address: wrong deployment addresses for this chain?";
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
