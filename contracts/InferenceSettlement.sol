// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {IInferenceProofVerifier} from "./interfaces/IInferenceProofVerifier.sol";
import {IInferenceSettlement} from "./interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IOperatorRegistry} from "./interfaces/IOperatorRegistry.sol";
import {ProtocolLimits} from "./libraries/ProtocolLimits.sol";
import {VerificationModes} from "./libraries/VerificationModes.sol";

/// @title Inference settlement
/// @notice OPG escrow for inference requests and settlement of verified results.
/// @dev Storage per request is one slot: the hash of its `Request` while pending, then a small status
/// sentinel. Fulfilment and refund re-post the request as calldata and are checked against that hash.
/// Escrow conservation: `token.balanceOf(this) == Σ balances + Σ pending fees + protocolFees`.
contract InferenceSettlement is IInferenceSettlement, EIP712, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice EIP-712 type of a signed result. The domain adds chain id and this contract's address.
    bytes32 public constant RESULT_TYPEHASH = keccak256(
        "InferenceResult(uint256 requestId,bytes32 modelId,bytes32 inputHash,bytes32 outputHash,address operator)"
    );
    /// @notice Furthest a deadline may be from the block that opens the request.
    uint64 public constant MAX_REQUEST_TTL = 30 days;
    /// @notice Highest callback gas limit a request may ask for.
    uint32 public constant MAX_CALLBACK_GAS = 2_500_000;
    /// @dev Gas kept back across a callback for the call itself and the bookkeeping after it.
    uint256 private constant CALLBACK_GAS_RESERVE = 10_000;

    // Status sentinels stored in a request's slot once it is no longer pending. A keccak256 hash equal
    // to one of these small numbers is not a practical possibility.
    bytes32 private constant FULFILLED = bytes32(uint256(RequestStatus.Fulfilled));
    bytes32 private constant CALLBACK_FAILED = bytes32(uint256(RequestStatus.FulfilledCallbackFailed));
    bytes32 private constant REFUNDED = bytes32(uint256(RequestStatus.Refunded));

    /// @notice The OPG token.
    IERC20 public immutable token;
    /// @notice The model registry.
    IModelRegistry public immutable models;
    /// @notice The operator registry (this contract must be bound there as the slasher).
    IOperatorRegistry public immutable operators;

    // One slot, read (and the id bumped) by every `open*`.
    /// @notice Receives collected protocol fees.
    address public treasury;
    /// @notice Protocol share of each fee, in basis points, for requests opened from now on.
    uint16 public protocolFeeBps;
    /// @notice Id the next request gets.
    uint64 public nextRequestId = 1;

    // One slot, read only when slashing.
    /// @notice Stake taken from an operator proven to have equivocated.
    uint96 public equivocationPenalty;
    /// @notice Share of a slash credited to whoever reported it, in basis points.
    uint16 public reporterRewardBps;

    /// @notice Protocol fees and slashed stake accrued, not yet sent to the treasury.
    uint256 public protocolFees;
    /// @inheritdoc IInferenceSettlement
    mapping(address account => uint256) public balances;

    mapping(uint256 requestId => bytes32) private _requests;
    mapping(bytes32 evidenceKey => bool) private _evidenceUsed;

    /// @param token_ The OPG token.
    /// @param models_ The model registry.
    /// @param operators_ The operator registry.
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
    ) EIP712("OPG Inference Settlement", "1") Ownable(governance) {
        token = token_;
        models = models_;
        operators = operators_;
        _setTreasury(treasury_);
        _setProtocolFee(protocolFeeBps_);
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
        if (amount == 0) revert InvalidAmount();
        uint256 available = balances[msg.sender];
        if (available < amount) revert InsufficientBalance(available, amount);
        unchecked {
            balances[msg.sender] = available - amount;
        }
        emit Withdrawn(msg.sender, to, amount);
        token.safeTransfer(to, amount);
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
        if (fee != 0) token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc IInferenceSettlement
    function openRequestWithPermit(
        RequestParams calldata params,
        Permit calldata permit
    ) external returns (uint256 requestId) {
        uint96 fee;
        (requestId, fee) = _open(params);
        _tryPermit(permit);
        if (fee != 0) token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc IInferenceSettlement
    function fulfillSigned(
        Request calldata request,
        uint256 requestId,
        Result calldata result,
        bytes calldata signature
    ) external {
        _checkFulfillable(request, requestId, result.operator, VerificationModes.SIGNATURE);
        if (result.output.length != 0) {
            bytes32 computed = keccak256(result.output);
            if (computed != result.outputHash) revert OutputHashMismatch(result.outputHash, computed);
        }
        if (models.statusOf(request.modelId) == IModelRegistry.ModelStatus.Revoked) {
            revert ModelRevoked(request.modelId);
        }
        bytes32 digest = _resultDigest(
            requestId,
            request.modelId,
            request.inputHash,
            result.outputHash,
            result.operator
        );
        address signer = _recover(digest, signature);
        address payout = operators.payoutFor(result.operator, signer);
        _settle(
            request,
            requestId,
            result.operator,
            payout,
            signer,
            result.outputHash,
            result.output,
            result.outputUri
        );
    }

    /// @inheritdoc IInferenceSettlement
    function fulfillZk(Request calldata request, uint256 requestId, uint256 output, ZkProof calldata proof) external {
        _checkFulfillable(request, requestId, msg.sender, VerificationModes.ZK);
        (IModelRegistry.ModelStatus status, bytes32 zkCommitment, address verifier) = models.zkBindingOf(
            request.modelId
        );
        if (status == IModelRegistry.ModelStatus.Revoked) revert ModelRevoked(request.modelId);
        // The registry keeps the commitment, and `_open` the input hash, inside the field; the output is ours to check.
        if (output >= ProtocolLimits.SNARK_SCALAR_FIELD) revert PublicSignalOutOfField(0, output);
        uint256[4] memory signals = [
            output,
            uint256(zkCommitment),
            uint256(request.inputHash),
            _zkBinding(requestId, msg.sender)
        ];
        if (!IInferenceProofVerifier(verifier).verifyProof(proof.a, proof.b, proof.c, signals)) revert InvalidProof();
        bytes memory outputBytes = abi.encode(output);
        _settle(request, requestId, msg.sender, msg.sender, address(0), keccak256(outputBytes), outputBytes, "");
    }

    /// @inheritdoc IInferenceSettlement
    function refund(Request calldata request, uint256 requestId) external {
        _checkPending(request, requestId);
        if (
            block.timestamp <= request.deadline &&
            models.statusOf(request.modelId) != IModelRegistry.ModelStatus.Revoked
        ) revert RequestNotExpired(requestId, request.deadline);
        _requests[requestId] = REFUNDED;
        uint256 fee = request.fee;
        if (fee != 0) balances[request.requester] += fee;
        emit RequestRefunded(requestId, request.requester, fee);
    }

    // ---------------------------------------------------------------- slashing

    /// @inheritdoc IInferenceSettlement
    function reportEquivocation(
        uint256 requestId,
        address operator,
        ResultClaim calldata a,
        bytes calldata signatureA,
        ResultClaim calldata b,
        bytes calldata signatureB
    ) external {
        bytes32 digestA = _resultDigest(requestId, a.modelId, a.inputHash, a.outputHash, operator);
        bytes32 digestB = _resultDigest(requestId, b.modelId, b.inputHash, b.outputHash, operator);
        if (digestA == digestB) revert NotEquivocation();
        _checkEvidence(digestA, signatureA, operator);
        _checkEvidence(digestB, signatureB, operator);
        bytes32 key = keccak256(abi.encode(requestId, operator));
        if (_evidenceUsed[key]) revert EvidenceAlreadyUsed(requestId, operator);
        _evidenceUsed[key] = true;

        uint256 slashed = operators.slash(operator, equivocationPenalty, address(this));
        uint256 reward = (slashed * reporterRewardBps) / ProtocolLimits.BPS;
        if (reward != 0) balances[msg.sender] += reward;
        protocolFees += slashed - reward;
        emit EquivocationSlashed(operator, requestId, msg.sender, slashed, reward);
    }

    // ---------------------------------------------------------------- protocol

    /// @inheritdoc IInferenceSettlement
    function collectProtocolFees() external {
        uint256 amount = protocolFees;
        if (amount == 0) revert NothingToCollect();
        protocolFees = 0;
        address to = treasury;
        emit ProtocolFeesCollected(to, amount);
        token.safeTransfer(to, amount);
    }

    /// @notice Set the protocol fee for requests opened from now on (pending requests keep theirs).
    function setProtocolFee(uint16 protocolFeeBps_) external onlyOwner {
        _setProtocolFee(protocolFeeBps_);
    }

    /// @notice Set the treasury that collected protocol fees go to.
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Set the equivocation penalty and the reporter's share of it.
    function setSlashParams(uint96 penalty, uint16 rewardBps) external onlyOwner {
        if (rewardBps > ProtocolLimits.BPS) revert RewardTooHigh(rewardBps);
        equivocationPenalty = penalty;
        reporterRewardBps = rewardBps;
        emit SlashParamsSet(penalty, rewardBps);
    }

    /// @notice Disabled: governance can be handed over (in two steps) but never dropped, so the treasury, the fee
    /// and the slashing parameters stay adjustable.
    function renounceOwnership() public pure override {
        revert RenounceDisabled();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IInferenceSettlement
    function resultDigest(
        uint256 requestId,
        bytes32 modelId,
        bytes32 inputHash,
        bytes32 outputHash,
        address operator
    ) external view returns (bytes32) {
        return _resultDigest(requestId, modelId, inputHash, outputHash, operator);
    }

    /// @inheritdoc IInferenceSettlement
    function zkBinding(uint256 requestId, address submitter) external pure returns (uint256) {
        return _zkBinding(requestId, submitter);
    }

    /// @inheritdoc IInferenceSettlement
    function requestStatus(uint256 requestId) external view returns (RequestStatus) {
        return _statusOf(_requests[requestId]);
    }

    /// @inheritdoc IInferenceSettlement
    function hashRequest(Request calldata request) external pure returns (bytes32) {
        return keccak256(abi.encode(request));
    }

    /// @notice The EIP-712 domain separator results are signed under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _open(RequestParams calldata p) private returns (uint256 requestId, uint96 fee) {
        if (!VerificationModes.isSingle(p.mode)) revert InvalidMode(p.mode);
        uint64 latest = uint64(block.timestamp) + MAX_REQUEST_TTL;
        if (p.deadline <= block.timestamp || p.deadline > latest) revert InvalidDeadline(p.deadline, latest);
        if (
            p.callback == address(0)
                ? p.callbackGasLimit != 0
                : (p.callbackGasLimit == 0 || p.callbackGasLimit > MAX_CALLBACK_GAS)
        ) revert InvalidCallback(p.callback, p.callbackGasLimit, MAX_CALLBACK_GAS);

        address modelOwner;
        uint16 royaltyBps;
        (modelOwner, fee, royaltyBps) = models.requestTerms(p.modelId, msg.sender, p.mode);
        if (fee > p.maxFee) revert FeeAboveMax(fee, p.maxFee);
        if (p.mode == VerificationModes.ZK && uint256(p.inputHash) >= ProtocolLimits.SNARK_SCALAR_FIELD) {
            revert InputNotInField(p.inputHash);
        }

        uint16 protocolBps = protocolFeeBps;
        requestId = nextRequestId;
        nextRequestId = uint64(requestId + 1);

        Request memory request = Request({
            requester: msg.sender,
            fee: fee,
            modelOwner: modelOwner,
            royaltyBps: royaltyBps,
            protocolFeeBps: protocolBps,
            mode: p.mode,
            deadline: p.deadline,
            modelId: p.modelId,
            inputHash: p.inputHash,
            operator: p.operator,
            callback: p.callback,
            callbackGasLimit: p.callbackGasLimit
        });
        _requests[requestId] = keccak256(abi.encode(request));
        emit RequestOpened(requestId, msg.sender, p.modelId, request, p.inputUri);
    }

    /// @dev Checks shared by every verification mode before its own proof check.
    function _checkFulfillable(Request calldata request, uint256 requestId, address operator, uint8 mode) private view {
        _checkPending(request, requestId);
        if (block.timestamp > request.deadline) revert RequestExpired(requestId, request.deadline);
        if (request.mode != mode) revert WrongMode(requestId, request.mode);
        if (request.operator != address(0) && request.operator != operator) {
            revert OperatorNotAssigned(requestId, request.operator);
        }
    }

    function _checkPending(Request calldata request, uint256 requestId) private view {
        bytes32 stored = _requests[requestId];
        RequestStatus status = _statusOf(stored);
        if (status != RequestStatus.Pending) revert RequestNotPending(requestId, status);
        if (stored != _hashCalldataRequest(request)) revert RequestMismatch(requestId);
    }

    /// @dev Effects of a verified result, identical for every mode: mark settled, split the fee into ledger
    /// credits, emit, then deliver to the callback.
    function _settle(
        Request calldata request,
        uint256 requestId,
        address operator,
        address payout,
        address signer,
        bytes32 outputHash,
        bytes memory output,
        string memory outputUri
    ) private {
        _requests[requestId] = FULFILLED;
        uint256 fee = request.fee;
        if (fee != 0) {
            uint256 royalty = (fee * request.royaltyBps) / ProtocolLimits.BPS;
            uint256 protocolCut = (fee * request.protocolFeeBps) / ProtocolLimits.BPS;
            if (royalty != 0) balances[request.modelOwner] += royalty;
            if (protocolCut != 0) protocolFees += protocolCut;
            // Royalty and protocol caps sum to 100%, so the remainder (which takes any rounding dust)
            // is never negative.
            balances[payout] += fee - royalty - protocolCut;
        }
        emit RequestFulfilled(requestId, operator, payout, signer, outputHash, output, outputUri);

        address callback = request.callback;
        if (callback != address(0)) {
            bytes memory payload = abi.encodeCall(
                IInferenceConsumer.onInferenceResult,
                (requestId, request.modelId, request.inputHash, outputHash, output)
            );
            if (!_callWithExactGas(callback, request.callbackGasLimit, payload)) {
                _requests[requestId] = CALLBACK_FAILED;
                emit CallbackFailed(requestId);
            }
        }
    }

    /// @dev Calls `target` with exactly `gasLimit` gas and ignores any return data (no return bomb).
    /// Reverts when the transaction cannot give the callee its full limit, so a fulfiller cannot make a
    /// callback fail on purpose by sending too little gas (EIP-150 forwards at most 63/64).
    function _callWithExactGas(address target, uint256 gasLimit, bytes memory payload) private returns (bool ok) {
        if (target.code.length == 0) return false;
        uint256 available = gasleft();
        uint256 required = gasLimit + gasLimit / 63 + CALLBACK_GAS_RESERVE;
        if (available < required) revert InsufficientGasForCallback(available, required);
        assembly ("memory-safe") {
            ok := call(gasLimit, target, 0, add(payload, 0x20), mload(payload), 0, 0)
        }
    }

    function _checkEvidence(bytes32 digest, bytes calldata signature, address operator) private view {
        address signer = _recover(digest, signature);
        if (operators.operatorOfSigner(signer) != operator) revert InvalidEvidence(signer);
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        ECDSA.RecoverError recoverError;
        (signer, recoverError, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (recoverError != ECDSA.RecoverError.NoError) revert InvalidSignature();
    }

    function _resultDigest(
        uint256 requestId,
        bytes32 modelId,
        bytes32 inputHash,
        bytes32 outputHash,
        address operator
    ) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(RESULT_TYPEHASH, requestId, modelId, inputHash, outputHash, operator))
            );
    }

    function _zkBinding(uint256 requestId, address submitter) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(requestId, submitter))) >> 3;
    }

    function _deposit(address account, uint256 amount) private {
        if (account == address(0)) revert ZeroAddress();
        if (amount == 0) revert InvalidAmount();
        balances[account] += amount;
        emit Deposited(account, msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev A permit that fails (typically because someone front-ran it with the same signature) is
    /// ignored: the following `transferFrom` succeeds if the allowance is there and reverts if not.
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

    /// @dev `keccak256(abi.encode(request))` without re-encoding: a `Request` is static, so its calldata is
    /// already its ABI encoding (12 words). Non-canonical calldata simply fails to match the commitment.
    function _hashCalldataRequest(Request calldata request) private pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, request, 0x180)
            hash := keccak256(ptr, 0x180)
        }
    }

    function _statusOf(bytes32 stored) private pure returns (RequestStatus) {
        uint256 value = uint256(stored);
        if (value == 0) return RequestStatus.None;
        if (value <= uint256(RequestStatus.Refunded)) return RequestStatus(value);
        return RequestStatus.Pending;
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
