// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ModelId} from "../types/ModelId.sol";
import {Mode, ModeSet} from "../types/Mode.sol";
import {IModelRegistry} from "./IModelRegistry.sol";
import {IOperatorRegistry} from "./IOperatorRegistry.sol";
import {IProtocolErrors} from "./IProtocolErrors.sol";

/// @title Inference settlement (the core)
/// @notice What every verification mode shares: request commitments, the OPG ledger, the fee split, refunds and
/// callbacks. Requesters escrow OPG for an inference from a committed model version; the verification mode the request
/// commits to (a separate contract, bound by governance to its mode bit) verifies a result and asks the core to settle
/// it; a settled result pays the operator, the model owner's royalty and the protocol; an expired request refunds.
/// Payments are credited to an internal ledger and withdrawn (pull payments). Bound modes may also move ledger funds a
/// payer allowed them, split fees and request slashing: the hooks request-less modes (quiet receipts) build on.
interface IInferenceSettlement is IProtocolErrors {
    /// @notice Where a request stands. A request is stored as its commitment plus this status.
    enum RequestStatus {
        None,
        Pending,
        Fulfilled,
        FulfilledCallbackFailed,
        Refunded
    }

    /// @notice What a requester asks for.
    /// @param modelId The model version to run.
    /// @param inputHash The committed input.
    /// @param maxFee The most the requester accepts to pay (the version's fee can change until inclusion).
    /// @param deadline Unix time after which the request can no longer be fulfilled and can be refunded.
    /// @param mode The verification the result must pass (one bit the model allows and governance bound).
    /// @param operator Only this operator may fulfil; zero for any eligible operator.
    /// @param callback Contract to call with the result; zero for none.
    /// @param callbackGasLimit Exact gas the callback receives.
    /// @param inputUri Where the input can be read (emitted, not stored); a `data:` URI puts it on chain.
    struct RequestParams {
        ModelId modelId;
        bytes32 inputHash;
        uint96 maxFee;
        uint64 deadline;
        Mode mode;
        address operator;
        address callback;
        uint32 callbackGasLimit;
        string inputUri;
    }

    /// @notice A request as committed on chain. The terms in force when it was opened travel with it, so later changes
    /// never alter a pending request; `mode` decides which mode contract alone may settle it.
    struct Request {
        address requester;
        uint96 fee;
        address modelOwner;
        uint16 royaltyBps;
        uint16 protocolFeeBps;
        Mode mode;
        uint64 deadline;
        ModelId modelId;
        bytes32 inputHash;
        address operator;
        address callback;
        uint32 callbackGasLimit;
    }

    /// @notice A verified result, as a mode hands it to the core.
    /// @param operator The operator (staking account) the result is from.
    /// @param outputHash keccak256 of the output bytes.
    /// @param output The output bytes inline, or empty when only `outputUri` carries them.
    /// @param outputUri Where the output can be read (emitted, not stored).
    struct Result {
        address operator;
        bytes32 outputHash;
        bytes output;
        string outputUri;
    }

    /// @notice An EIP-2612 permit for the OPG token, spent in the same transaction.
    struct Permit {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice OPG was credited to `account`'s ledger balance.
    event Deposited(address indexed account, address indexed from, uint256 amount);
    /// @notice OPG left `account`'s ledger balance.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice Ledger balance moved from one account to another (a transfer, or a mode pulling what a payer allowed).
    event BalanceTransferred(address indexed from, address indexed to, uint256 amount);
    /// @notice `account` allowed the contract bound to `mode` to pull up to `amount` of its ledger balance.
    event ModeAllowanceSet(address indexed account, Mode indexed mode, uint256 amount);
    /// @notice A request was opened and its fee escrowed.
    event RequestOpened(
        uint256 indexed requestId,
        address indexed requester,
        ModelId indexed modelId,
        Request request,
        string inputUri
    );
    /// @notice A request was settled with a verified result. The fee split follows from the request's committed terms:
    /// royalty = fee·royaltyBps/10⁴, protocol = fee·protocolFeeBps/10⁴, operator = the rest.
    /// @param signer The key that signed the result (zero for modes without a signature).
    event RequestFulfilled(
        uint256 indexed requestId,
        address indexed operator,
        address payout,
        address signer,
        bytes32 outputHash,
        bytes output,
        string outputUri
    );
    /// @notice The consumer's callback reverted, ran out of gas or had no code. Settlement stands.
    event CallbackFailed(uint256 indexed requestId);
    /// @notice An unfulfilled request's fee went back to its requester's ledger balance.
    event RequestRefunded(uint256 indexed requestId, address indexed requester, uint256 amount);
    /// @notice A mode paid a fee out of its own ledger balance, split like a request's.
    event FeePaid(Mode indexed mode, address indexed payout, address indexed modelOwner, uint256 fee, uint256 royalty);
    /// @notice A mode had an operator slashed; `reward` went to `beneficiary`, the rest to protocol fees.
    event OperatorSlashed(
        Mode indexed mode,
        address indexed operator,
        address indexed beneficiary,
        uint256 slashed,
        uint256 reward
    );
    /// @notice Accrued protocol fees were sent to the treasury.
    event ProtocolFeesCollected(address indexed treasury, uint256 amount);
    /// @notice Governance bound a mode contract to a mode bit (once; never re-bound).
    event ModeBound(Mode indexed mode, address indexed modeContract);
    /// @notice Governance retired a mode: no new requests, no settlement, pending requests refundable at once.
    event ModeRetired(Mode indexed mode, address indexed modeContract);
    /// @notice Governance sent tokens that are not owed to anyone (OPG above what is owed, or another token) away.
    event Swept(IERC20 indexed asset, address indexed to, uint256 amount);
    /// @notice Governance changed the protocol fee (for requests opened from now on).
    event ProtocolFeeSet(uint16 protocolFeeBps);
    /// @notice Governance changed the treasury.
    event TreasurySet(address treasury);

    /// @notice The ledger balance is too small.
    error InsufficientBalance(uint256 available, uint256 required);
    /// @notice The payer allowed the mode less than it pulls.
    error InsufficientModeAllowance(uint256 allowance, uint256 required);
    /// @notice The model's fee is above the requester's maximum.
    error FeeAboveMax(uint256 fee, uint256 maxFee);
    /// @notice The deadline is in the past or too far ahead.
    error InvalidDeadline(uint64 deadline, uint64 latest);
    /// @notice The mode is not exactly one bit.
    error InvalidMode(Mode mode);
    /// @notice No live mode contract is bound to this mode bit (never bound, or retired).
    error ModeNotOpen(Mode mode);
    /// @notice A callback gas limit without a callback, or one above the cap.
    error InvalidCallback(address callback, uint32 gasLimit, uint32 maxGasLimit);
    /// @notice Request ids are exhausted (2⁶⁴ − 1 requests); ids never wrap.
    error RequestIdsExhausted();
    /// @notice The request is not pending (never opened, or already settled or refunded).
    error RequestNotPending(uint256 requestId, RequestStatus status);
    /// @notice The request data does not match what was committed.
    error RequestMismatch(uint256 requestId);
    /// @notice The deadline has passed.
    error RequestExpired(uint256 requestId, uint64 deadline);
    /// @notice The deadline has not passed (and neither the model nor the mode was revoked or retired).
    error RequestNotExpired(uint256 requestId, uint64 deadline);
    /// @notice The caller is not the live contract of the request's mode: one mode can never settle another's request.
    error WrongMode(uint256 requestId, Mode required, address caller);
    /// @notice The caller is not a live mode contract.
    error NotModeContract(address caller);
    /// @notice The request is reserved for another operator.
    error OperatorNotAssigned(uint256 requestId, address assigned);
    /// @notice The inline output does not hash to `outputHash`.
    error OutputHashMismatch(bytes32 outputHash, bytes32 computed);
    /// @notice The model version was revoked; the request can only be refunded.
    error ModelRevoked(ModelId modelId);
    /// @notice The transaction's gas cannot give the callback its full limit.
    error InsufficientGasForCallback(uint256 gasLeft, uint256 required);
    /// @notice The protocol fee is above the cap.
    error ProtocolFeeTooHigh(uint16 protocolFeeBps, uint16 maxBps);
    /// @notice A share above 100%.
    error InvalidBps(uint256 bps);
    /// @notice No protocol fees have accrued.
    error NothingToCollect();
    /// @notice Nothing can be swept: the contract holds no more of this token than it owes.
    error NothingToSweep(IERC20 asset);
    /// @notice The mode bit was already bound (bits are never re-bound, so pending requests keep their mode contract).
    error ModeAlreadyBound(Mode mode);
    /// @notice The contract does not declare this mode bit and this settlement, or is bound already.
    error ModeContractMismatch(address target, Mode mode);

    // ------------------------------------------------------------------ ledger

    /// @notice Credit the caller's ledger balance with `amount` OPG pulled by `transferFrom`.
    /// @param amount The amount.
    function deposit(uint256 amount) external;

    /// @notice Credit `account`'s ledger balance with `amount` OPG pulled from the caller.
    /// @param account The account credited.
    /// @param amount The amount.
    function depositFor(address account, uint256 amount) external;

    /// @notice Deposit with an EIP-2612 permit in the same transaction (a front-run permit is tolerated).
    /// @param amount The amount.
    /// @param permit The permit for at least `amount`.
    function depositWithPermit(uint256 amount, Permit calldata permit) external;

    /// @notice Send `amount` of the caller's ledger balance to `to`.
    /// @param to The recipient.
    /// @param amount The amount.
    function withdraw(address to, uint256 amount) external;

    /// @notice Move `amount` of the caller's ledger balance to `to`'s.
    /// @param to The account credited.
    /// @param amount The amount.
    function transferBalance(address to, uint256 amount) external;

    /// @notice Allow the contract bound to `mode` to pull up to `amount` of the caller's ledger balance (replaces any
    /// earlier allowance). Only request-less modes (quiet receipts, vouchers) pull; request modes never need it.
    /// @param mode The mode.
    /// @param amount The allowance.
    function approveMode(Mode mode, uint256 amount) external;

    // ------------------------------------------------------------------ requests

    /// @notice Open a request paid from the caller's ledger balance.
    /// @param params What to run, how to verify it, and what to pay at most.
    /// @return requestId The new request's id.
    function openRequest(RequestParams calldata params) external returns (uint256 requestId);

    /// @notice Open a request paid by `transferFrom` of the fee.
    /// @param params What to run, how to verify it, and what to pay at most.
    /// @return requestId The new request's id.
    function openRequestWithTransfer(RequestParams calldata params) external returns (uint256 requestId);

    /// @notice Open a request paid with an EIP-2612 permit in the same transaction. A permit already used by someone
    /// else (front-run) does not make the request fail while the allowance is there.
    /// @param params What to run, how to verify it, and what to pay at most.
    /// @param permit The permit for at least the fee.
    /// @return requestId The new request's id.
    function openRequestWithPermit(
        RequestParams calldata params,
        Permit calldata permit
    ) external returns (uint256 requestId);

    /// @notice Return an unfulfilled request's fee to its requester's ledger balance. Anyone may call it after the
    /// deadline, or at once when the model version was revoked or the request's mode retired.
    /// @param request The request exactly as committed (from its `RequestOpened` event).
    /// @param requestId The request's id.
    function refund(Request calldata request, uint256 requestId) external;

    // ------------------------------------------------------------------ mode hooks (live mode contracts only)

    /// @notice Settle a request with a result its mode verified. Only the live contract of `request.mode` may call it.
    /// Checks the commitment, the deadline, the assigned operator, the model's status and the inline output, then
    /// marks the request settled, splits the fee, emits `RequestFulfilled` and calls the callback.
    /// @param request The request exactly as committed.
    /// @param requestId The request's id.
    /// @param result The verified result.
    /// @param payout Where the operator's share is credited.
    /// @param signer The key that signed the result (zero for none).
    function settle(
        Request calldata request,
        uint256 requestId,
        Result calldata result,
        address payout,
        address signer
    ) external;

    /// @notice Move `amount` of `payer`'s ledger balance to the calling mode contract's, within the allowance `payer`
    /// gave this mode.
    /// @param payer The account debited.
    /// @param amount The amount.
    function pull(address payer, uint256 amount) external;

    /// @notice Pay `fee` out of the calling mode contract's ledger balance, split like a request's fee at the current
    /// protocol fee: royalty to `modelOwner`, protocol share to protocol fees, the rest to `payout`.
    /// @param fee The fee.
    /// @param modelOwner Receives the royalty.
    /// @param royaltyBps The royalty share.
    /// @param payout Receives the operator's share.
    function payFee(uint256 fee, address modelOwner, uint16 royaltyBps, address payout) external;

    /// @notice Slash up to `amount` of `operator`'s stake into this contract: `rewardBps` of it is credited to
    /// `beneficiary`, the rest to protocol fees. Only live mode contracts may ask.
    /// @param operator The operator.
    /// @param amount The most to take.
    /// @param beneficiary Credited the reward.
    /// @param rewardBps The beneficiary's share.
    /// @return slashed The amount taken.
    function slash(
        address operator,
        uint256 amount,
        address beneficiary,
        uint16 rewardBps
    ) external returns (uint256 slashed);

    // ------------------------------------------------------------------ protocol

    /// @notice Send accrued protocol fees to the treasury. Anyone may call it.
    function collectProtocolFees() external;

    /// @notice Bind a mode contract to a mode bit (governance, once per bit).
    /// @param mode The mode bit.
    /// @param target A contract whose `mode()` is `mode` and `settlement()` is this contract.
    function bindMode(Mode mode, address target) external;

    /// @notice Retire a mode for good (governance): no new requests, no settlement, pending requests refundable.
    /// @param mode The mode bit.
    function retireMode(Mode mode) external;

    /// @notice Send what this contract holds of `asset` beyond what it owes (governance). For OPG that is the excess
    /// over every ledger balance, pending fee and protocol fee; any other token is never owed.
    /// @param asset The token.
    /// @param to The recipient.
    function sweep(IERC20 asset, address to) external;

    /// @notice Set the protocol fee for requests opened from now on (pending requests keep theirs).
    /// @param protocolFeeBps_ The new fee.
    function setProtocolFee(uint16 protocolFeeBps_) external;

    /// @notice Set the treasury that collected protocol fees go to.
    /// @param treasury_ The new treasury.
    function setTreasury(address treasury_) external;

    // ------------------------------------------------------------------ views

    /// @notice The OPG token.
    /// @return The token.
    function token() external view returns (IERC20);

    /// @notice The model registry.
    /// @return The registry.
    function models() external view returns (IModelRegistry);

    /// @notice The operator registry.
    /// @return The registry.
    function operators() external view returns (IOperatorRegistry);

    /// @notice Receives collected protocol fees.
    /// @return The treasury.
    function treasury() external view returns (address);

    /// @notice Protocol share of each fee, in basis points, for requests opened from now on.
    /// @return The share.
    function protocolFeeBps() external view returns (uint16);

    /// @notice The id the next request gets (ids start at 1).
    /// @return The id.
    function nextRequestId() external view returns (uint64);

    /// @notice Modes that accept new requests: bound and not retired.
    /// @return The set.
    function openModes() external view returns (ModeSet);

    /// @notice The live contract bound to `mode` (zero if never bound or retired).
    /// @param mode The mode bit.
    /// @return The contract.
    function modeContract(Mode mode) external view returns (address);

    /// @notice How much of `account`'s ledger balance the contract bound to `mode` may pull.
    /// @param account The payer.
    /// @param mode The mode bit.
    /// @return The allowance.
    function modeAllowance(address account, Mode mode) external view returns (uint256);

    /// @notice An account's ledger balance (prepaid OPG, earnings, royalties, refunds and rewards).
    /// @param account The account.
    /// @return The balance.
    function balances(address account) external view returns (uint256);

    /// @notice Protocol fees (and slashed stake) accrued and not yet collected, over all modes.
    /// @return The amount.
    function protocolFees() external view returns (uint256);

    /// @notice What this contract owes in OPG: every ledger balance, every pending fee and the protocol fees.
    /// @return The amount.
    function totalOwed() external view returns (uint256);

    /// @notice Where a request stands.
    /// @param requestId The request.
    /// @return The status.
    function requestStatus(uint256 requestId) external view returns (RequestStatus);

    /// @notice Whether request `requestId` was opened (it may since be settled or refunded) with the request whose hash
    /// is `requestHash`. Modes use it to accept evidence only about requests that exist.
    /// @param requestId The request.
    /// @param requestHash `hashRequest` of the claimed request.
    /// @return Whether it matches the commitment (compared on its first 248 bits; the last byte holds the status).
    function isCommitted(uint256 requestId, bytes32 requestHash) external view returns (bool);

    /// @notice The hash a request is committed as (`keccak256(abi.encode(request))`).
    /// @param request The request.
    /// @return The hash.
    function hashRequest(Request calldata request) external pure returns (bytes32);

    /// @notice Furthest a deadline may be from the block that opens the request.
    /// @return Seconds.
    function MAX_REQUEST_TTL() external view returns (uint64); // solhint-disable-line func-name-mixedcase

    /// @notice Highest callback gas limit a request may ask for.
    /// @return Gas.
    function MAX_CALLBACK_GAS() external view returns (uint32); // solhint-disable-line func-name-mixedcase
}
