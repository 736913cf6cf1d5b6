// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IInferenceSettlement} from "../interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IQuietMode} from "../interfaces/IQuietMode.sol";
import {VerificationModes} from "../libraries/VerificationModes.sol";
import {ModelId} from "../types/ModelId.sol";
import {Mode, ModeSet} from "../types/Mode.sol";

/// @title Iris-gated allowlist (example consumer)
/// @notice Admits an applicant when one trusted Iris model version, verified by settlement, classifies the
/// applicant's committed measurements as the accepted class. The applicant pays the inference fee; this
/// contract is the requester and the callback. Every application ends admitted, rejected, refunded back to
/// the applicant (deadline passed or model revoked) or discarded (the callback failed): none can be stuck.
/// With quiet mode accepted, an applicant can instead be admitted at once from a final quiet receipt of its own
/// (`admitQuiet`): no request, no callback, nothing pending.
/// @dev Copy this to write a consumer. The rules it follows: trust only the settlement address, remember
/// what you asked for (request id → mode) and decode by that, check the model id anyway, keep the callback
/// cheap and non-reverting for known requests, and give every pending state a way out.
contract IrisGatedAllowlist is IInferenceConsumer {
    using SafeERC20 for IERC20;

    /// @notice A pending application: who applied, what they paid, and the mode the result is verified in.
    struct Application {
        address applicant;
        uint96 fee;
        Mode mode;
    }

    /// @notice Gas the callback receives, exactly. Measured in `test/example-consumer.test.ts`: about 43k for the
    /// costliest path (an admission: one fresh storage slot written, three cleared; refunds come only after the
    /// call, so the limit must cover the gross cost), about 20k for a rejection. The margin absorbs gas
    /// repricing; should the callback still fail, `discard` closes the application.
    uint32 public constant CALLBACK_GAS_LIMIT = 80_000;
    /// @notice The Iris model has three classes: 0 setosa, 1 versicolor, 2 virginica.
    uint256 public constant NUM_CLASSES = 3;
    /// @notice Reported as the predicted class when the output could not be decoded.
    uint256 public constant NO_CLASS = type(uint256).max;
    /// @dev A signature result of the Iris model: 3 float32 little-endian logits.
    uint256 private constant LOGITS_BYTES = NUM_CLASSES * 4;

    /// @notice The settlement contract: the only caller of `onInferenceResult` this contract believes.
    IInferenceSettlement public immutable settlement;
    /// @notice The OPG token fees are paid in.
    IERC20 public immutable token;
    /// @notice The model registry (read for the current fee).
    IModelRegistry public immutable models;
    /// @notice The one model version whose classification is trusted.
    ModelId public immutable modelId;
    /// @notice Verification modes an applicant may choose (a set of `VerificationModes` bits).
    ModeSet public immutable acceptedModes;
    /// @notice The class that admits an applicant.
    uint256 public immutable acceptedClass;
    /// @notice Seconds a request may stay unfulfilled before its fee can be reclaimed.
    uint64 public immutable requestTtl;
    /// @notice The quiet-mode contract bound in settlement when this gate was deployed (zero when `QUIET` is not
    /// accepted): the only log whose receipts `admitQuiet` believes.
    IQuietMode public immutable quietMode;
    /// @notice The operator registry: a quiet receipt counts only from an operator eligible (staked) at admission.
    IOperatorRegistry public immutable operators;
    /// @notice Whether the trusted model has a zk circuit, so its quiet output is `abi.encode(uint256 class)` (the
    /// circuit's, provable wrong by a challenge) rather than 3 float32 logits.
    bool public immutable quietOutputIsClass;

    /// @notice Pending applications by request id (deleted once decided, reclaimed or discarded).
    mapping(uint256 requestId => Application) public applications;
    /// @notice An applicant's pending request id (zero for none): one application at a time.
    mapping(address applicant => uint256 requestId) public pendingRequestOf;
    /// @notice Whether an account was admitted.
    mapping(address account => bool) public isAdmitted;

    /// @notice `onInferenceResult` was called by another account than settlement.
    error NotSettlement(address caller);
    /// @notice No pending application has this request id.
    error UnknownApplication(uint256 requestId);
    /// @notice The result is for another model version than the trusted one.
    error WrongModel(ModelId expected, ModelId actual);
    /// @notice The mode is not one this contract accepts.
    error ModeNotAccepted(Mode mode, ModeSet accepted);
    /// @notice The applicant already has a pending application.
    error ApplicationPending(address applicant, uint256 requestId);
    /// @notice The applicant is already admitted.
    error AlreadyAdmitted(address applicant);
    /// @notice The request was not refunded, so there is nothing to reclaim (yet).
    error NotRefunded(uint256 requestId, IInferenceSettlement.RequestStatus status);
    /// @notice The request's callback did not fail, so it cannot be discarded.
    error CallbackNotFailed(uint256 requestId, IInferenceSettlement.RequestStatus status);
    /// @notice A constructor argument is invalid (zero settlement, a mode set the model does not allow, a class
    /// outside 0..2, a TTL of zero or above settlement's maximum, `QUIET` accepted with no live quiet-mode contract).
    error InvalidConfig();
    /// @notice A quiet receipt is accepted only from the payer of its request: the applicant submits its own.
    error NotYourRequest(address payer, address caller);
    /// @notice The output bytes are not the ones the receipt's `outputHash` commits to.
    error OutputMismatch(bytes32 outputHash, bytes32 actual);
    /// @notice The receipt's operator is not eligible (not registered, or staked below the minimum).
    error OperatorNotEligible(address operator);
    /// @notice The verified output is not the accepted class (`NO_CLASS` when undecodable): nothing is recorded.
    error ClassNotAccepted(uint256 predictedClass);

    /// @notice An applicant applied; `requestId` is the settlement request that will decide.
    event ApplicationSubmitted(
        uint256 indexed requestId,
        address indexed applicant,
        Mode mode,
        bytes32 inputHash,
        uint256 fee
    );
    /// @notice A verified result decided an application (`predictedClass` is `NO_CLASS` when undecodable).
    event ApplicationDecided(
        uint256 indexed requestId,
        address indexed applicant,
        bool admitted,
        uint256 predictedClass
    );
    /// @notice A refunded application's fee went back to its applicant.
    event FeeReclaimed(uint256 indexed requestId, address indexed applicant, uint256 amount);
    /// @notice An application whose callback failed was closed (the fee paid for the inference).
    event ApplicationDiscarded(uint256 indexed requestId, address indexed applicant);
    /// @notice An applicant was admitted from a final quiet receipt: operator `operator`'s receipt number `seq`.
    event AdmittedQuiet(address indexed applicant, address indexed operator, uint64 seq);

    /// @param settlement_ The settlement contract to trust.
    /// @param modelId_ The Iris model version to trust; must be registered and allow every accepted mode.
    /// @param acceptedModes_ Modes an applicant may choose, e.g. `ZK` only or `SIGNATURE | ZK | QUIET`. `QUIET`
    /// enables `admitQuiet` only (quiet results arrive as receipts, not as settlement requests).
    /// @param acceptedClass_ The class that admits (0 setosa, 1 versicolor, 2 virginica).
    /// @param requestTtl_ Seconds from application to the request's deadline.
    constructor(
        IInferenceSettlement settlement_,
        ModelId modelId_,
        ModeSet acceptedModes_,
        uint256 acceptedClass_,
        uint64 requestTtl_
    ) {
        if (address(settlement_) == address(0)) revert InvalidConfig();
        IModelRegistry models_ = settlement_.models();
        // Reverts for an unknown model id.
        IModelRegistry.ModelVersion memory version = models_.getModel(modelId_);
        uint8 modelModes = ModeSet.unwrap(version.modes);
        uint8 accepted = ModeSet.unwrap(acceptedModes_);
        if (
            accepted == 0 ||
            modelModes & accepted != accepted ||
            acceptedClass_ >= NUM_CLASSES ||
            requestTtl_ == 0 ||
            requestTtl_ > settlement_.MAX_REQUEST_TTL()
        ) revert InvalidConfig();
        settlement = settlement_;
        token = settlement_.token();
        models = models_;
        modelId = modelId_;
        acceptedModes = acceptedModes_;
        acceptedClass = acceptedClass_;
        requestTtl = requestTtl_;
        if (acceptedModes_.contains(VerificationModes.QUIET)) {
            // Mode bits are bound once; retiring one zeroes it. Fixing the contract here costs no read per admission.
            address quiet = settlement_.modeContract(VerificationModes.QUIET);
            if (quiet == address(0)) revert InvalidConfig();
            quietMode = IQuietMode(quiet);
            quietOutputIsClass = version.zkVerifier != address(0);
        }
        operators = settlement_.operators();
    }

    /// @notice Apply for admission: pay the model's current fee (approve this contract for it first) and
    /// open a request classifying the committed measurements.
    /// @param inputHash The committed measurements: for `ZK` the circuit's Poseidon commitment to the
    /// quantized input, for `SIGNATURE` keccak256 of the 4 float32 little-endian features.
    /// @param mode The verification mode (one accepted bit).
    /// @param inputUri Where operators read the measurements (a `data:` URI puts them on chain).
    /// @return requestId The settlement request deciding this application.
    function submitApplication(
        bytes32 inputHash,
        Mode mode,
        string calldata inputUri
    ) external returns (uint256 requestId) {
        if (!mode.isSingle() || !acceptedModes.contains(mode) || mode == VerificationModes.QUIET) {
            revert ModeNotAccepted(mode, acceptedModes);
        }
        if (isAdmitted[msg.sender]) revert AlreadyAdmitted(msg.sender);
        uint256 pending = pendingRequestOf[msg.sender];
        if (pending != 0) revert ApplicationPending(msg.sender, pending);

        // The fee is read and paid in this transaction, so it cannot change in between; the request is opened
        // with `maxFee` equal to it. The applicant's tokens only pass through: settlement pulls exactly `fee`.
        (, uint96 fee, ) = models.requestTerms(modelId, address(this), mode, inputHash);
        if (fee != 0) {
            token.safeTransferFrom(msg.sender, address(this), fee);
            token.forceApprove(address(settlement), fee);
        }
        requestId = settlement.openRequestWithTransfer(
            IInferenceSettlement.RequestParams({
                modelId: modelId,
                inputHash: inputHash,
                maxFee: fee,
                deadline: uint64(block.timestamp) + requestTtl,
                mode: mode,
                operator: address(0),
                callback: address(this),
                callbackGasLimit: CALLBACK_GAS_LIMIT,
                inputUri: inputUri
            })
        );
        // Effects after the interactions only because the id comes from settlement. Both callees are the fixed,
        // trusted token and settlement, neither calls out, and the result can only arrive in a later transaction.
        applications[requestId] = Application({applicant: msg.sender, fee: fee, mode: mode});
        pendingRequestOf[msg.sender] = requestId;
        emit ApplicationSubmitted(requestId, msg.sender, mode, inputHash, fee);
    }

    /// @inheritdoc IInferenceConsumer
    /// @dev Reverts only for calls that are not ours to act on: a caller other than settlement, a request this
    /// contract did not open (anyone can name any callback), a model other than the trusted one. A known
    /// request with an unusable output is decided as a rejection rather than reverted, so it never lingers.
    function onInferenceResult(uint256 requestId, ModelId modelId_, bytes32, bytes32, bytes calldata output) external {
        if (msg.sender != address(settlement)) revert NotSettlement(msg.sender);
        Application memory app = applications[requestId];
        if (app.applicant == address(0)) revert UnknownApplication(requestId);
        if (modelId_ != modelId) revert WrongModel(modelId, modelId_);

        uint256 predicted = app.mode == VerificationModes.ZK ? _decodeZk(output) : _decodeLogits(output);
        bool admitted = predicted == acceptedClass;
        delete applications[requestId];
        delete pendingRequestOf[app.applicant];
        if (admitted) isAdmitted[app.applicant] = true;
        emit ApplicationDecided(requestId, app.applicant, admitted, predicted);
    }

    /// @notice Admit the caller from a final quiet receipt of its own: the trusted model's output on the caller's
    /// request is the accepted class, the receipt is committed in its operator's log in time, was not struck, and its
    /// challenge window has passed (`IQuietMode.verifyReceipt`), and the operator is eligible now.
    /// @dev Only the request's payer may submit it, so a receipt admits nobody but the account that paid for it and
    /// cannot be replayed for another; replaying it for the same account reverts (`AlreadyAdmitted`). A rejected class
    /// reverts and records nothing: as on the request path, the applicant may try again. The receipt's signature is
    /// not checked: it is the operator's own committed leaf, and the operator's stake answers for it. Where the input
    /// comes from is the application's problem, as for requests (docs/consumer.md).
    /// @param receipt The operator's receipt.
    /// @param request The caller's signed request it answers (its `payer` must be the caller).
    /// @param batchIndex The operator's batch holding the receipt.
    /// @param batch That batch's fields (from its `BatchCommitted` event).
    /// @param proof The receipt leaf's Merkle proof in the batch.
    /// @param output The output bytes: `abi.encode(uint256 class)` for a zk-circuit model, else 3 float32 LE logits.
    function admitQuiet(
        IQuietMode.Receipt calldata receipt,
        IQuietMode.QuietRequest calldata request,
        uint256 batchIndex,
        IQuietMode.Batch calldata batch,
        bytes32[] calldata proof,
        bytes calldata output
    ) external {
        IQuietMode quiet = quietMode;
        if (address(quiet) == address(0)) revert ModeNotAccepted(VerificationModes.QUIET, acceptedModes);
        if (request.payer != msg.sender) revert NotYourRequest(request.payer, msg.sender);
        if (request.modelId != modelId) revert WrongModel(modelId, request.modelId);
        bytes32 outputHash = keccak256(output);
        if (outputHash != receipt.outputHash) revert OutputMismatch(receipt.outputHash, outputHash);
        uint256 predicted = quietOutputIsClass ? _decodeZk(output) : _decodeLogits(output);
        if (predicted != acceptedClass) revert ClassNotAccepted(predicted);
        if (isAdmitted[msg.sender]) revert AlreadyAdmitted(msg.sender);
        if (!operators.isEligible(receipt.operator)) revert OperatorNotEligible(receipt.operator);
        // Reverts unless final; the receipt's request hash and operator are checked against `request` there.
        quiet.verifyReceipt(receipt, request, batchIndex, batch, proof);
        isAdmitted[msg.sender] = true;
        emit AdmittedQuiet(msg.sender, receipt.operator, receipt.seq);
    }

    /// @notice Return a refunded application's fee to its applicant. Anyone may call it. When the request is
    /// still pending, this first asks settlement to refund it (which succeeds only after the deadline, or at
    /// once if the model version was revoked).
    /// @param requestId The application's request id.
    /// @param request The request as committed (from its `RequestOpened` event); unused if already refunded.
    function reclaim(uint256 requestId, IInferenceSettlement.Request calldata request) external {
        Application memory app = applications[requestId];
        if (app.applicant == address(0)) revert UnknownApplication(requestId);
        delete applications[requestId];
        delete pendingRequestOf[app.applicant];
        emit FeeReclaimed(requestId, app.applicant, app.fee);

        if (settlement.requestStatus(requestId) == IInferenceSettlement.RequestStatus.Pending) {
            settlement.refund(request, requestId);
        }
        IInferenceSettlement.RequestStatus status = settlement.requestStatus(requestId);
        if (status != IInferenceSettlement.RequestStatus.Refunded) revert NotRefunded(requestId, status);
        // The refund was credited to this contract's ledger balance in settlement (it is the requester).
        if (app.fee != 0) settlement.withdraw(app.applicant, app.fee);
    }

    /// @notice Close an application whose callback failed (it ran out of gas or reverted), so its applicant
    /// can apply again. The fee paid for the inference and is not returned. Anyone may call it.
    /// @param requestId The application's request id.
    function discard(uint256 requestId) external {
        Application memory app = applications[requestId];
        if (app.applicant == address(0)) revert UnknownApplication(requestId);
        IInferenceSettlement.RequestStatus status = settlement.requestStatus(requestId);
        if (status != IInferenceSettlement.RequestStatus.FulfilledCallbackFailed) {
            revert CallbackNotFailed(requestId, status);
        }
        delete applications[requestId];
        delete pendingRequestOf[app.applicant];
        emit ApplicationDiscarded(requestId, app.applicant);
    }

    /// @notice The class an output decodes to under `mode`, or `NO_CLASS` when it cannot be decoded.
    /// @param mode The mode the result was verified in.
    /// @param output The output bytes as delivered to the callback.
    /// @return predicted The class index, or `NO_CLASS`.
    function decodeClass(Mode mode, bytes calldata output) external pure returns (uint256 predicted) {
        return mode == VerificationModes.ZK ? _decodeZk(output) : _decodeLogits(output);
    }

    /// @dev A zk result is `abi.encode(uint256 class)`.
    function _decodeZk(bytes calldata output) private pure returns (uint256) {
        if (output.length != 32) return NO_CLASS;
        uint256 predicted = abi.decode(output, (uint256));
        return predicted < NUM_CLASSES ? predicted : NO_CLASS;
    }

    /// @dev A signature result of the Iris model is 3 float32 little-endian logits; the class is their argmax,
    /// the first of equal maxima (as `argmax` in `src/model/encoding.ts`). NaN or infinite logits, or an output
    /// of another length (an empty one when the operator posted only a URI), decode to `NO_CLASS`.
    function _decodeLogits(bytes calldata output) private pure returns (uint256 best) {
        if (output.length != LOGITS_BYTES) return NO_CLASS;
        int256 bestKey;
        for (uint256 i; i < NUM_CLASSES; ++i) {
            uint256 o = i * 4;
            uint32 bits =
                uint32(uint8(output[o])) |
                    (uint32(uint8(output[o + 1])) << 8) |
                    (uint32(uint8(output[o + 2])) << 16) |
                    (uint32(uint8(output[o + 3])) << 24);
            uint32 magnitude = bits & 0x7fffffff;
            // Exponent all ones: infinity or NaN.
            if (magnitude >= 0x7f800000) return NO_CLASS;
            // IEEE-754 sign/magnitude: for finite values the magnitude bits order like the values, so the signed
            // magnitude orders like the floats (and -0 equals +0).
            int256 key = bits & 0x80000000 == 0 ? int256(uint256(magnitude)) : -int256(uint256(magnitude));
            if (i == 0 || key > bestKey) {
                best = i;
                bestKey = key;
            }
        }
    }
}
