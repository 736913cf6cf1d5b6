// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {IInferenceSettlement} from "./interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IOperatorRegistry} from "./interfaces/IOperatorRegistry.sol";
import {IVerificationMode} from "./interfaces/IVerificationMode.sol";
import {ProtocolLimits} from "./libraries/ProtocolLimits.sol";
import {RequestHashing} from "./libraries/RequestHashing.sol";
import {Mode, ModeSet} from "./types/Mode.sol";
import {ModelId} from "./types/ModelId.sol";

/// @title Inference settlement (the core)
/// @notice OPG escrow for inference requests, the OPG ledger, the fee split, refunds and callbacks. Verification lives
/// in mode contracts that governance binds, once, to mode bits: a request commits to one bit, and only the contract
/// bound to it may settle the request. Adding a mode is deploying a contract and binding it; this contract never
/// changes.
/// @dev Storage per request is one slot: the request's hash with its last byte replaced by its status, so the
/// commitment survives settlement (evidence about a settled request can still be checked against it). Fulfilment and
/// refund re-post the request as calldata and are checked against that slot. Escrow conservation:
/// `token.balanceOf(this) == totalOwed + swept-able excess`, `totalOwed == Σ balances + Σ pending fees + protocolFees`.
contract InferenceSettlement is IInferenceSettlement, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice Furthest a deadline may be from the block that opens the request.
    uint64 public constant MAX_REQUEST_TTL = ProtocolLimits.MAX_REQUEST_TTL;
    /// @notice Highest callback gas limit a request may ask for.
    uint32 public constant MAX_CALLBACK_GAS = ProtocolLimits.MAX_CALLBACK_GAS;
    /// @dev Gas kept back across a callback for the call itself and the bookkeeping after it.
    uint256 private constant CALLBACK_GAS_RESERVE = 10_000;
    /// @dev The commitment part of a request slot; the last byte holds the status.
    uint256 private constant COMMITMENT_MASK = ~uint256(0xff);
    /// @dev The number of mode bits.
    uint256 private constant MODE_BITS = 8;

    /// @notice A bound mode bit: its live contract (zero once retired) and the protocol fees accrued through it.
    struct ModeRecord {
        address modeContract;
        uint96 protocolFees;
    }

    /// @inheritdoc IInferenceSettlement
    IERC20 public immutable token;
    /// @inheritdoc IInferenceSettlement
    IModelRegistry public immutable models;
    /// @inheritdoc IInferenceSettlement
    IOperatorRegistry public immutable operators;

    // One slot, read (and the id bumped) by every `open*`.
    /// @inheritdoc IInferenceSettlement
    address public treasury;
    /// @inheritdoc IInferenceSettlement
    uint16 public protocolFeeBps;
    /// @inheritdoc IInferenceSettlement
    uint64 public nextRequestId = 1;
    /// @dev Every mode bit ever bound (bits are never re-bound).
    ModeSet private _boundModes;
    /// @inheritdoc IInferenceSettlement
    ModeSet public openModes;

    /// @inheritdoc IInferenceSettlement
    uint256 public totalOwed;
    /// @inheritdoc IInferenceSettlement
    mapping(address account => uint256) public balances;

    mapping(Mode mode => ModeRecord) private _modes;
    mapping(address modeContract => Mode) private _modeOf;
    mapping(address account => mapping(Mode mode => uint256)) private _modeAllowances;
    mapping(uint256 requestId => bytes32) private _requests;

    /// @param token_ The OPG token.
    /// @param models_ The model registry.
    /// @param operators_ The operator registry (this contract must be bound there as the slasher).
    /// @param governance The owner (governance).
    /// @param treasury_ Receives protocol fees.
    /// @param protocolFeeBps_ Initial protocol fee.
    constructor(
        IERC20 token_,
        IModelRegistry models_,
        IOperatorRegistry operators_,
        address governance,
        address treasury_,
        uint16 protocolFeeBps_
    ) Ownable(governance) {
        if (address(token_) == address(0) || address(models_) == address(0) || address(operators_) == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        models = models_;
        operators = operators_;
        _setTreasury(treasury_);
        _setProtocolFee(protocolFeeBps_);
    }

    /// @dev Restricts a hook to live mode contracts and returns the caller's mode.
    function _liveModeOf(address caller) private view returns (Mode mode) {
        mode = _modeOf[caller];
        if (_modes[mode].modeContract != caller) revert NotModeContract(caller);
    }

    // ---------------------------------------------------------------- ledger

    /// @inheritdoc IInferenceSettlement
    function deposit(uint256 amount) external {
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IInferenceSettlement
    function depositFor(address account, uint256 amount) external {
        _deposit(account, amount);
    }

    /// @inheritdoc IInferenceSettlement
    function depositWithPermit(uint256 amount, Permit calldata permit) external {
        _tryPermit(permit);
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IInferenceSettlement
    function withdraw(address to, uint256 amount) external {
        if (to == address(0)) revert ZeroAddress();
        _debit(msg.sender, amount);
        totalOwed -= amount;
        emit Withdrawn(msg.sender, to, amount);
        token.safeTransfer(to, amount);
    }

    /// @inheritdoc IInferenceSettlement
    function transferBalance(address to, uint256 amount) external {
        if (to == address(0)) revert ZeroAddress();
        _debit(msg.sender, amount);
        balances[to] += amount;
        emit BalanceTransferred(msg.sender, to, amount);
    }

    /// @inheritdoc IInferenceSettlement
    function approveMode(Mode mode, uint256 amount) external {
        if (!mode.isSingle()) revert InvalidMode(mode);
        _modeAllowances[msg.sender][mode] = amount;
        emit ModeAllowanceSet(msg.sender, mode, amount);
    }

    // ---------------------------------------------------------------- requests

    /// @inheritdoc IInferenceSettlement
    function openRequest(RequestParams calldata params) external returns (uint256 requestId) {
        uint96 fee;
        (requestId, fee) = _open(params);
        uint256 available = balances[msg.sender];
        if (available < fee) revert InsufficientBalance(available, fee);
        unchecked {
            balances[msg.sender] = available - fee;
        }
    }

    /// @inheritdoc IInferenceSettlement
    function openRequestWithTransfer(RequestParams calldata params) external returns (uint256 requestId) {
        uint96 fee;
        (requestId, fee) = _open(params);
        if (fee != 0) _pullFee(fee);
    }

    /// @inheritdoc IInferenceSettlement
    function openRequestWithPermit(
        RequestParams calldata params,
        Permit calldata permit
    ) external returns (uint256 requestId) {
        uint96 fee;
        (requestId, fee) = _open(params);
        _tryPermit(permit);
        if (fee != 0) _pullFee(fee);
    }

    /// @inheritdoc IInferenceSettlement
    function refund(Request calldata request, uint256 requestId) external {
        bytes32 stored = _checkPending(request, requestId);
        if (block.timestamp <= request.deadline && !_isRevoked(request.modelId) && openModes.contains(request.mode))
            revert RequestNotExpired(requestId, request.deadline);
        _requests[requestId] = _withStatus(stored, RequestStatus.Refunded);
        uint256 fee = request.fee;
        if (fee != 0) balances[request.requester] += fee;
        emit RequestRefunded(requestId, request.requester, fee);
    }

    // ---------------------------------------------------------------- mode hooks

    /// @inheritdoc IInferenceSettlement
    function settle(
        Request calldata request,
        uint256 requestId,
        Result calldata result,
        address payout,
        address signer
    ) external {
        ModeRecord storage record = _modes[request.mode];
        if (record.modeContract != msg.sender) revert WrongMode(requestId, request.mode, msg.sender);
        bytes32 stored = _checkPending(request, requestId);
        if (block.timestamp > request.deadline) revert RequestExpired(requestId, request.deadline);
        if (request.operator != address(0) && request.operator != result.operator) {
            revert OperatorNotAssigned(requestId, request.operator);
        }
        if (payout == address(0)) revert ZeroAddress();
        if (result.output.length != 0) {
            bytes32 computed = keccak256(result.output);
            if (computed != result.outputHash) revert OutputHashMismatch(result.outputHash, computed);
        }
        if (_isRevoked(request.modelId)) revert ModelRevoked(request.modelId);

        _requests[requestId] = _withStatus(stored, RequestStatus.Fulfilled);
        if (request.fee != 0) _splitFee(record, request, payout);
        emit RequestFulfilled(
            requestId,
            result.operator,
            payout,
            signer,
            result.outputHash,
            result.output,
            result.outputUri
        );

        address callback = request.callback;
        if (callback != address(0)) {
            bytes memory payload = abi.encodeCall(
                IInferenceConsumer.onInferenceResult,
                (requestId, request.modelId, request.inputHash, result.outputHash, result.output)
            );
            if (!_callWithExactGas(callback, request.callbackGasLimit, payload)) {
                _requests[requestId] = _withStatus(stored, RequestStatus.FulfilledCallbackFailed);
                emit CallbackFailed(requestId);
            }
        }
    }

    /// @inheritdoc IInferenceSettlement
    function pull(address payer, uint256 amount) external {
        Mode mode = _liveModeOf(msg.sender);
        uint256 allowance = _modeAllowances[payer][mode];
        if (allowance < amount) revert InsufficientModeAllowance(allowance, amount);
        _debit(payer, amount);
        if (allowance != type(uint256).max) _modeAllowances[payer][mode] = allowance - amount;
        balances[msg.sender] += amount;
        emit BalanceTransferred(payer, msg.sender, amount);
    }

    /// @inheritdoc IInferenceSettlement
    function payFee(uint256 fee, address modelOwner, uint16 royaltyBps, address payout) external {
        Mode mode = _liveModeOf(msg.sender);
        if (royaltyBps > ProtocolLimits.MAX_ROYALTY_BPS) revert InvalidBps(royaltyBps);
        if (payout == address(0) || (royaltyBps != 0 && modelOwner == address(0))) revert ZeroAddress();
        _debit(msg.sender, fee);
        uint256 royalty = (fee * royaltyBps) / ProtocolLimits.BPS;
        uint256 protocolCut = (fee * protocolFeeBps) / ProtocolLimits.BPS;
        if (royalty != 0) balances[modelOwner] += royalty;
        if (protocolCut != 0) _modes[mode].protocolFees += SafeCast.toUint96(protocolCut);
        balances[payout] += fee - royalty - protocolCut;
        emit FeePaid(mode, payout, modelOwner, fee, royalty);
    }

    /// @inheritdoc IInferenceSettlement
    function slash(
        address operator,
        uint256 amount,
        address beneficiary,
        uint16 rewardBps
    ) external returns (uint256 slashed) {
        Mode mode = _liveModeOf(msg.sender);
        if (rewardBps > ProtocolLimits.BPS) revert InvalidBps(rewardBps);
        if (beneficiary == address(0) && rewardBps != 0) revert ZeroAddress();
        // The registry and the token are this deployment's own, fixed contracts: the call cannot re-enter.
        slashed = operators.slash(operator, amount, address(this));
        uint256 reward = (slashed * rewardBps) / ProtocolLimits.BPS;
        if (reward != 0) balances[beneficiary] += reward;
        _modes[mode].protocolFees += SafeCast.toUint96(slashed - reward);
        totalOwed += slashed;
        emit OperatorSlashed(mode, operator, beneficiary, slashed, reward);
    }

    // ---------------------------------------------------------------- protocol

    /// @inheritdoc IInferenceSettlement
    function collectProtocolFees() external {
        uint256 amount;
        uint8 bound = ModeSet.unwrap(_boundModes);
        for (uint256 i; i < MODE_BITS; ++i) {
            if (bound & (1 << i) == 0) continue;
            ModeRecord storage record = _modes[Mode.wrap(uint8(1 << i))];
            uint256 fees = record.protocolFees;
            if (fees != 0) {
                amount += fees;
                record.protocolFees = 0;
            }
        }
        if (amount == 0) revert NothingToCollect();
        totalOwed -= amount;
        address to = treasury;
        emit ProtocolFeesCollected(to, amount);
        token.safeTransfer(to, amount);
    }

    /// @inheritdoc IInferenceSettlement
    function bindMode(Mode mode, address target) external onlyOwner {
        if (!mode.isSingle()) revert InvalidMode(mode);
        if (target == address(0)) revert ZeroAddress();
        if (_boundModes.contains(mode)) revert ModeAlreadyBound(mode);
        if (!_declares(target, mode) || _modeOf[target] != Mode.wrap(0)) revert ModeContractMismatch(target, mode);
        _modes[mode].modeContract = target;
        _modeOf[target] = mode;
        _boundModes = _boundModes.with(mode);
        openModes = openModes.with(mode);
        emit ModeBound(mode, target);
    }

    /// @inheritdoc IInferenceSettlement
    function retireMode(Mode mode) external onlyOwner {
        address retired = _modes[mode].modeContract;
        if (retired == address(0)) revert ModeNotOpen(mode);
        _modes[mode].modeContract = address(0);
        openModes = openModes.without(mode);
        emit ModeRetired(mode, retired);
    }

    /// @inheritdoc IInferenceSettlement
    function sweep(IERC20 asset, address to) external onlyOwner {
        if (to == address(0)) revert ZeroAddress();
        uint256 held = asset.balanceOf(address(this));
        uint256 amount = held;
        if (address(asset) == address(token)) {
            uint256 owed = totalOwed;
            amount = held > owed ? held - owed : 0;
        }
        if (amount == 0) revert NothingToSweep(asset);
        emit Swept(asset, to, amount);
        asset.safeTransfer(to, amount);
    }

    /// @inheritdoc IInferenceSettlement
    function setProtocolFee(uint16 protocolFeeBps_) external onlyOwner {
        _setProtocolFee(protocolFeeBps_);
    }

    /// @inheritdoc IInferenceSettlement
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Disabled: governance can be handed over (in two steps) but never dropped, so the treasury, the fee and
    /// the modes stay adjustable.
    function renounceOwnership() public pure override {
        revert RenounceDisabled();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IInferenceSettlement
    function modeContract(Mode mode) external view returns (address) {
        return _modes[mode].modeContract;
    }

    /// @inheritdoc IInferenceSettlement
    function modeAllowance(address account, Mode mode) external view returns (uint256) {
        return _modeAllowances[account][mode];
    }

    /// @inheritdoc IInferenceSettlement
    function protocolFees() external view returns (uint256 amount) {
        for (uint256 i; i < MODE_BITS; ++i) amount += _modes[Mode.wrap(uint8(1 << i))].protocolFees;
    }

    /// @notice Protocol fees accrued through one mode and not yet collected.
    /// @param mode The mode bit.
    /// @return The amount.
    function protocolFeesOf(Mode mode) external view returns (uint256) {
        return _modes[mode].protocolFees;
    }

    /// @inheritdoc IInferenceSettlement
    function requestStatus(uint256 requestId) external view returns (RequestStatus) {
        return _statusOf(_requests[requestId]);
    }

    /// @inheritdoc IInferenceSettlement
    function isCommitted(uint256 requestId, bytes32 requestHash) external view returns (bool) {
        bytes32 stored = _requests[requestId];
        return stored != 0 && uint256(stored) & COMMITMENT_MASK == uint256(requestHash) & COMMITMENT_MASK;
    }

    /// @inheritdoc IInferenceSettlement
    function hashRequest(Request calldata request) external pure returns (bytes32) {
        return keccak256(abi.encode(request));
    }

    // ---------------------------------------------------------------- internals

    function _open(RequestParams calldata p) private returns (uint256 requestId, uint96 fee) {
        Mode mode = p.mode;
        if (!mode.isSingle()) revert InvalidMode(mode);
        if (!openModes.contains(mode)) revert ModeNotOpen(mode);
        uint64 latest = uint64(block.timestamp) + MAX_REQUEST_TTL;
        if (p.deadline <= block.timestamp || p.deadline > latest) revert InvalidDeadline(p.deadline, latest);
        if (
            p.callback == address(0)
                ? p.callbackGasLimit != 0
                : (p.callbackGasLimit == 0 || p.callbackGasLimit > MAX_CALLBACK_GAS)
        ) revert InvalidCallback(p.callback, p.callbackGasLimit, MAX_CALLBACK_GAS);

        address modelOwner;
        uint16 royaltyBps;
        (modelOwner, fee, royaltyBps) = models.requestTerms(p.modelId, msg.sender, mode, p.inputHash);
        if (fee > p.maxFee) revert FeeAboveMax(fee, p.maxFee);

        uint16 protocolBps = protocolFeeBps;
        requestId = nextRequestId;
        // Ids never wrap: the last one is 2⁶⁴ − 2, after which opening reverts.
        if (requestId == type(uint64).max) revert RequestIdsExhausted();
        unchecked {
            nextRequestId = uint64(requestId + 1);
        }

        Request memory request = Request({
            requester: msg.sender,
            fee: fee,
            modelOwner: modelOwner,
            royaltyBps: royaltyBps,
            protocolFeeBps: protocolBps,
            mode: mode,
            deadline: p.deadline,
            modelId: p.modelId,
            inputHash: p.inputHash,
            operator: p.operator,
            callback: p.callback,
            callbackGasLimit: p.callbackGasLimit
        });
        _requests[requestId] = _withStatus(keccak256(abi.encode(request)), RequestStatus.Pending);
        emit RequestOpened(requestId, msg.sender, p.modelId, request, p.inputUri);
    }

    /// @dev Credit a settled request's fee: royalty to the model owner, protocol share to the mode's protocol fees, the
    /// rest to the payout. Royalty and protocol caps sum to 100%, so the remainder (which takes any rounding dust) is
    /// never negative, and the three always sum to the fee.
    function _splitFee(ModeRecord storage record, Request calldata request, address payout) private {
        uint256 fee = request.fee;
        uint256 royalty = (fee * request.royaltyBps) / ProtocolLimits.BPS;
        uint256 protocolCut = (fee * request.protocolFeeBps) / ProtocolLimits.BPS;
        if (royalty != 0) balances[request.modelOwner] += royalty;
        if (protocolCut != 0) record.protocolFees += uint96(protocolCut); // at most the fee, a uint96
        balances[payout] += fee - royalty - protocolCut;
    }

    /// @dev The stored slot, after checking the request is pending and the calldata is what was committed.
    function _checkPending(Request calldata request, uint256 requestId) private view returns (bytes32 stored) {
        stored = _requests[requestId];
        if (stored != _withStatus(RequestHashing.hashCalldata(request), RequestStatus.Pending)) {
            RequestStatus status = _statusOf(stored);
            if (status != RequestStatus.Pending) revert RequestNotPending(requestId, status);
            revert RequestMismatch(requestId);
        }
    }

    /// @dev `models.statusOf(modelId) == Revoked`, as a bare static call: the registry is this deployment's own.
    function _isRevoked(ModelId modelId) private view returns (bool revoked) {
        IModelRegistry registry = models;
        bytes4 selector = IModelRegistry.statusOf.selector;
        uint256 revokedStatus = uint256(IModelRegistry.ModelStatus.Revoked);
        assembly ("memory-safe") {
            mstore(0x00, selector)
            mstore(0x04, modelId)
            if iszero(staticcall(gas(), registry, 0x00, 0x24, 0x00, 0x20)) {
                returndatacopy(0x00, 0x00, returndatasize())
                revert(0x00, returndatasize())
            }
            revoked := eq(mload(0x00), revokedStatus)
        }
    }

    /// @dev Calls `target` with exactly `gasLimit` gas and ignores any return data (no return bomb). Reverts when the
    /// transaction cannot give the callee its full limit, so a fulfiller cannot make a callback fail on purpose by
    /// sending too little gas (EIP-150 forwards at most 63/64).
    function _callWithExactGas(address target, uint256 gasLimit, bytes memory payload) private returns (bool ok) {
        if (target.code.length == 0) return false;
        uint256 available = gasleft();
        uint256 required = gasLimit + gasLimit / 63 + CALLBACK_GAS_RESERVE;
        if (available < required) revert InsufficientGasForCallback(available, required);
        assembly ("memory-safe") {
            ok := call(gasLimit, target, 0, add(payload, 0x20), mload(payload), 0, 0)
        }
    }

    function _deposit(address account, uint256 amount) private {
        if (account == address(0)) revert ZeroAddress();
        if (amount == 0) revert InvalidAmount();
        balances[account] += amount;
        totalOwed += amount;
        emit Deposited(account, msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _debit(address account, uint256 amount) private {
        if (amount == 0) revert InvalidAmount();
        uint256 available = balances[account];
        if (available < amount) revert InsufficientBalance(available, amount);
        unchecked {
            balances[account] = available - amount;
        }
    }

    function _pullFee(uint256 fee) private {
        totalOwed += fee;
        token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @dev A permit that fails (typically because someone front-ran it with the same signature) is ignored: the
    /// following `transferFrom` succeeds if the allowance is there and reverts if not.
    function _tryPermit(Permit calldata permit) private {
        try
            IERC20Permit(address(token)).permit(
                msg.sender,
                address(this),
                permit.value,
                permit.deadline,
                permit.v,
                permit.r,
                permit.s
            )
        {} catch {} // solhint-disable-line no-empty-blocks
    }

    /// @dev Whether `target` declares `mode` and this settlement (false for code-less or non-conforming targets).
    function _declares(address target, Mode mode) private view returns (bool) {
        if (target.code.length == 0) return false;
        try IVerificationMode(target).mode() returns (Mode declared) {
            if (declared != mode) return false;
        } catch {
            return false;
        }
        try IVerificationMode(target).settlement() returns (IInferenceSettlement declared) {
            return address(declared) == address(this);
        } catch {
            return false;
        }
    }

    function _withStatus(bytes32 commitment, RequestStatus status) private pure returns (bytes32) {
        return bytes32((uint256(commitment) & COMMITMENT_MASK) | uint256(status));
    }

    function _statusOf(bytes32 stored) private pure returns (RequestStatus) {
        if (stored == 0) return RequestStatus.None;
        return RequestStatus(uint8(uint256(stored)));
    }

    function _setProtocolFee(uint16 protocolFeeBps_) private {
        if (protocolFeeBps_ > ProtocolLimits.MAX_PROTOCOL_FEE_BPS) {
            revert ProtocolFeeTooHigh(protocolFeeBps_, ProtocolLimits.MAX_PROTOCOL_FEE_BPS);
        }
        protocolFeeBps = protocolFeeBps_;
        emit ProtocolFeeSet(protocolFeeBps_);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }
}
