// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IInferenceProofVerifier} from "../interfaces/IInferenceProofVerifier.sol";
import {IInferenceSettlement} from "../interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IQuietMode} from "../interfaces/IQuietMode.sol";
import {IVerificationMode} from "../interfaces/IVerificationMode.sol";
import {IZkMode} from "../interfaces/IZkMode.sol";
import {ProtocolLimits} from "../libraries/ProtocolLimits.sol";
import {ReceiptLog} from "../libraries/ReceiptLog.sol";
import {VerificationModes} from "../libraries/VerificationModes.sol";
import {Mode} from "../types/Mode.sol";
import {ModelId} from "../types/ModelId.sol";

/// @title Quiet mode
/// @notice Receipts signed off chain, a log of them committed on chain in batches, channels paid by running-total
/// vouchers, and challenges that slash a cheat and never an honest operator (docs/quiet.md).
/// @dev Uses only the core's hooks: `pull` (funding, within the payer's `approveMode` allowance), `payFee` (redeemed
/// vouchers, split like a request's fee), `slash` (proven cheats) and `transferBalance` (refunds of channel funds).
/// The mode's ledger balance in the core always equals the sum of its channels' funds. All windows are immutable: a
/// payer's and an operator's deadlines never move under them.
contract QuietMode is IQuietMode, EIP712 {
    /// @notice EIP-712 type of a payer's request (and voucher).
    bytes32 public constant QUIET_REQUEST_TYPEHASH = keccak256(
        "QuietRequest(address payer,address operator,bytes32 modelId,bytes32 inputHash,uint96 fee,uint96 cumulative,"
        "uint64 index,uint64 deadline)"
    );
    /// @notice EIP-712 type of an operator's receipt.
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "Receipt(address operator,uint64 seq,bytes32 request,bytes32 outputHash,uint64 time)"
    );
    /// @notice Most vouchers redeemed in one call.
    uint256 public constant MAX_VOUCHERS = 256;

    /// @dev Evidence kinds, for event logs and evidence keys.
    bytes32 private constant EQUIVOCATION = "equivocation";
    bytes32 private constant OMISSION = "omission";
    bytes32 private constant WRONG_OUTPUT = "wrong output";

    /// @inheritdoc IVerificationMode
    IInferenceSettlement public immutable settlement;
    /// @inheritdoc IQuietMode
    IOperatorRegistry public immutable operators;
    /// @inheritdoc IQuietMode
    IModelRegistry public immutable models;
    /// @inheritdoc IQuietMode
    uint64 public immutable commitWindow;
    /// @inheritdoc IQuietMode
    uint64 public immutable challengeWindow;
    /// @inheritdoc IQuietMode
    uint64 public immutable maxTtl;
    /// @inheritdoc IQuietMode
    uint64 public immutable noticePeriod;
    /// @inheritdoc IQuietMode
    uint96 public immutable penalty;
    /// @inheritdoc IQuietMode
    uint16 public immutable challengerRewardBps;

    /// @dev An operator's log head: one slot.
    struct Head {
        uint64 nextSeq;
        uint64 batchCount;
    }

    /// @dev A payer's channel with an operator: one slot.
    struct Channel {
        uint128 funds;
        uint64 refundAt;
    }

    /// @dev A (payer, operator, model) sub-channel: one slot.
    struct SubChannel {
        uint96 claimed;
        uint96 credit;
    }

    mapping(address operator => Head) private _heads;
    mapping(address operator => mapping(uint256 batchIndex => bytes32)) private _batches;
    mapping(address operator => mapping(uint64 seq => bool)) private _struck;
    mapping(bytes32 evidenceKey => bool) private _evidenceUsed;
    mapping(address payer => mapping(address operator => Channel)) private _channels;
    mapping(address payer => mapping(address operator => mapping(ModelId modelId => SubChannel))) private _subs;

    /// @param settlement_ The settlement core (governance binds this contract to the quiet bit there).
    /// @param commitWindow_ How long after a request's deadline its receipt must be committed.
    /// @param challengeWindow_ How long after that its receipts can be challenged.
    /// @param maxTtl_ The furthest a request's deadline may be from its receipt's time.
    /// @param noticePeriod_ A payer's wait between asking for its funds and taking them (at least
    /// `maxTtl + commitWindow + challengeWindow`, so an operator can redeem all it served before the notice).
    /// @param penalty_ Stake taken per proven cheat.
    /// @param rewardBps The challenger's share of it.
    constructor(
        IInferenceSettlement settlement_,
        uint64 commitWindow_,
        uint64 challengeWindow_,
        uint64 maxTtl_,
        uint64 noticePeriod_,
        uint96 penalty_,
        uint16 rewardBps
    ) EIP712("OPG Quiet Mode", "1") {
        if (address(settlement_) == address(0)) revert ZeroAddress();
        if (
            commitWindow_ == 0 ||
            challengeWindow_ == 0 ||
            maxTtl_ == 0 ||
            maxTtl_ > ProtocolLimits.MAX_REQUEST_TTL ||
            uint256(noticePeriod_) < uint256(maxTtl_) + commitWindow_ + challengeWindow_ ||
            rewardBps > ProtocolLimits.BPS
        ) revert InvalidWindows();
        settlement = settlement_;
        operators = settlement_.operators();
        models = settlement_.models();
        commitWindow = commitWindow_;
        challengeWindow = challengeWindow_;
        maxTtl = maxTtl_;
        noticePeriod = noticePeriod_;
        penalty = penalty_;
        challengerRewardBps = rewardBps;
    }

    /// @inheritdoc IVerificationMode
    function mode() external pure returns (Mode) {
        return VerificationModes.QUIET;
    }

    // ------------------------------------------------------------------ log

    /// @inheritdoc IQuietMode
    function commitBatch(uint64 firstSeq, uint32 count, bytes32 root, string calldata dataUri) external {
        Head memory current = _heads[msg.sender];
        if (firstSeq != current.nextSeq) revert NotNextSeq(current.nextSeq, firstSeq);
        if (count == 0 || count > ReceiptLog.MAX_BATCH) revert BadBatchSize(count);
        uint64 committedAt = uint64(block.timestamp);
        uint256 index = current.batchCount;
        _batches[msg.sender][index] = keccak256(abi.encode(root, firstSeq, count, committedAt));
        _heads[msg.sender] = Head(firstSeq + count, current.batchCount + 1);
        emit BatchCommitted(msg.sender, index, firstSeq, count, root, committedAt, dataUri);
    }

    /// @inheritdoc IQuietMode
    function verifyReceipt(
        Receipt calldata receipt,
        QuietRequest calldata request,
        uint256 batchIndex,
        Batch calldata batch,
        bytes32[] calldata proof
    ) external view {
        _checkPair(receipt, request);
        _checkBatch(receipt.operator, batchIndex, batch, receipt.seq);
        if (
            !ReceiptLog.verify(
                batch.root,
                ReceiptLog.leaf(hashReceipt(receipt)),
                receipt.seq - batch.firstSeq,
                batch.count,
                proof
            )
        ) revert InvalidLogProof();
        uint256 dueBy = uint256(request.deadline) + commitWindow;
        if (batch.committedAt > dueBy) revert BatchCommittedLate(batch.committedAt, dueBy);
        if (_struck[receipt.operator][receipt.seq]) revert ReceiptIsStruck(receipt.operator, receipt.seq);
        uint256 finalAt = dueBy + challengeWindow;
        if (block.timestamp <= finalAt) revert NotFinal(finalAt);
    }

    // ------------------------------------------------------------------ challenges

    /// @inheritdoc IQuietMode
    function challengeOutput(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature,
        uint256 output,
        IZkMode.ZkProof calldata proof
    ) external returns (uint256 slashed) {
        _checkEvidence(receipt, request, signature);
        (bytes32 zkCommitment, address verifier, bytes32 pinned) = models.zkBindingOf(request.modelId);
        if (verifier == address(0)) revert NoZkCircuit(request.modelId);
        bytes32 actual = verifier.codehash;
        if (actual != pinned) revert IZkMode.VerifierCodeChanged(verifier, pinned, actual);
        if (keccak256(abi.encode(output)) == receipt.outputHash) revert OutputMatches();
        if (output >= ProtocolLimits.SNARK_SCALAR_FIELD) revert IZkMode.PublicSignalOutOfField(0, output);
        if (uint256(request.inputHash) >= ProtocolLimits.SNARK_SCALAR_FIELD) {
            revert IZkMode.PublicSignalOutOfField(2, uint256(request.inputHash));
        }
        uint256[4] memory signals = [
            output,
            uint256(zkCommitment),
            uint256(request.inputHash),
            _quietBinding(receipt.operator, receipt.seq, msg.sender)
        ];
        if (!IInferenceProofVerifier(verifier).verifyProof(proof.a, proof.b, proof.c, signals)) {
            revert IZkMode.InvalidProof();
        }
        _useEvidence(keccak256(abi.encode(WRONG_OUTPUT, receipt.operator, receipt.seq)));
        _struck[receipt.operator][receipt.seq] = true;
        _subs[request.payer][request.operator][request.modelId].credit += request.fee;
        // A wrong output is struck and refunded even when the operator has no stake left to take.
        slashed = settlement.slash(receipt.operator, penalty, msg.sender, challengerRewardBps);
        emit ReceiptStruck(receipt.operator, receipt.seq, msg.sender, slashed);
    }

    /// @inheritdoc IQuietMode
    function challengeEquivocation(
        Receipt calldata a,
        QuietRequest calldata requestA,
        bytes calldata signatureA,
        Receipt calldata b,
        QuietRequest calldata requestB,
        bytes calldata signatureB
    ) external returns (uint256 slashed) {
        if (a.operator != b.operator) revert OperatorMismatch(a.operator, b.operator);
        bytes32 hashA = _checkEvidence(a, requestA, signatureA);
        bytes32 hashB = _checkEvidence(b, requestB, signatureB);
        if (hashA == hashB) revert NotEquivocation();
        bytes32 key;
        if (a.seq == b.seq) key = keccak256(abi.encode(EQUIVOCATION, a.operator, uint256(a.seq)));
        else if (a.request == b.request) key = keccak256(abi.encode(EQUIVOCATION, a.operator, a.request));
        else revert NotEquivocation();
        return _slash(key, a.operator, a.seq, EQUIVOCATION);
    }

    /// @inheritdoc IQuietMode
    function challengeOmission(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature,
        uint256 batchIndex,
        Batch calldata batch,
        bytes32 committedLeaf,
        bytes32[] calldata proof
    ) external returns (uint256 slashed) {
        bytes32 receiptHash = _checkEvidence(receipt, request, signature);
        _checkBatch(receipt.operator, batchIndex, batch, receipt.seq);
        if (committedLeaf == ReceiptLog.leaf(receiptHash)) revert NotOmitted();
        if (!ReceiptLog.verify(batch.root, committedLeaf, receipt.seq - batch.firstSeq, batch.count, proof)) {
            revert InvalidLogProof();
        }
        return _slash(_omissionKey(receipt), receipt.operator, receipt.seq, OMISSION);
    }

    /// @inheritdoc IQuietMode
    function challengeLate(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature,
        uint256 batchIndex,
        Batch calldata batch
    ) external returns (uint256 slashed) {
        _checkEvidence(receipt, request, signature);
        _checkBatch(receipt.operator, batchIndex, batch, receipt.seq);
        uint256 dueBy = uint256(request.deadline) + commitWindow;
        if (batch.committedAt <= dueBy) revert NotLate(batch.committedAt, dueBy);
        return _slash(_omissionKey(receipt), receipt.operator, receipt.seq, OMISSION);
    }

    /// @inheritdoc IQuietMode
    function challengeUncommitted(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature
    ) external returns (uint256 slashed) {
        _checkEvidence(receipt, request, signature);
        uint64 nextSeq = _heads[receipt.operator].nextSeq;
        uint256 dueBy = uint256(request.deadline) + commitWindow;
        if (receipt.seq < nextSeq || block.timestamp <= dueBy) revert NotUncommitted(receipt.seq, nextSeq, dueBy);
        return _slash(_omissionKey(receipt), receipt.operator, receipt.seq, OMISSION);
    }

    // ------------------------------------------------------------------ channels

    /// @inheritdoc IQuietMode
    function fund(address operator, uint256 amount) external {
        if (operator == address(0)) revert ZeroAddress();
        if (amount == 0 || amount > type(uint128).max) revert InvalidAmount();
        Channel storage ch = _channels[msg.sender][operator];
        uint256 funds = uint256(ch.funds) + amount;
        if (funds > type(uint128).max) revert InvalidAmount();
        ch.funds = uint128(funds);
        ch.refundAt = 0;
        emit ChannelFunded(msg.sender, operator, amount, funds);
        // The core checks the payer's allowance for this mode and moves the balance here.
        settlement.pull(msg.sender, amount);
    }

    /// @inheritdoc IQuietMode
    function requestRefund(address operator) external {
        Channel storage ch = _channels[msg.sender][operator];
        uint64 refundAt = uint64(block.timestamp) + noticePeriod;
        ch.refundAt = refundAt;
        emit RefundRequested(msg.sender, operator, refundAt);
    }

    /// @inheritdoc IQuietMode
    function withdrawChannel(address operator) external returns (uint256 amount) {
        Channel storage ch = _channels[msg.sender][operator];
        uint64 refundAt = ch.refundAt;
        if (refundAt == 0 || block.timestamp < refundAt) revert RefundNotDue(refundAt);
        amount = ch.funds;
        delete _channels[msg.sender][operator];
        emit ChannelWithdrawn(msg.sender, operator, amount);
        if (amount != 0) settlement.transferBalance(msg.sender, amount);
    }

    /// @inheritdoc IQuietMode
    function redeem(Voucher[] calldata vouchers) external returns (uint256 total) {
        if (vouchers.length > MAX_VOUCHERS) revert TooManyVouchers(vouchers.length);
        address payout = operators.getOperator(msg.sender).payout;
        if (payout == address(0)) revert NotAnOperator(msg.sender);
        for (uint256 i; i < vouchers.length; ++i) {
            total += _redeem(vouchers[i], payout);
        }
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IQuietMode
    function quietBinding(address operator, uint64 seq, address challenger) external view returns (uint256) {
        return _quietBinding(operator, seq, challenger);
    }

    /// @inheritdoc IQuietMode
    function head(address operator) external view returns (uint64 nextSeq, uint64 batchCount) {
        Head memory current = _heads[operator];
        return (current.nextSeq, current.batchCount);
    }

    /// @inheritdoc IQuietMode
    function batchCommitment(address operator, uint256 batchIndex) external view returns (bytes32) {
        return _batches[operator][batchIndex];
    }

    /// @inheritdoc IQuietMode
    function channel(address payer, address operator) external view returns (uint256 funds, uint64 refundAt) {
        Channel memory ch = _channels[payer][operator];
        return (ch.funds, ch.refundAt);
    }

    /// @inheritdoc IQuietMode
    function subChannel(
        address payer,
        address operator,
        ModelId modelId
    ) external view returns (uint96 claimed, uint96 credit) {
        SubChannel memory sub = _subs[payer][operator][modelId];
        return (sub.claimed, sub.credit);
    }

    /// @inheritdoc IQuietMode
    function isStruck(address operator, uint64 seq) external view returns (bool) {
        return _struck[operator][seq];
    }

    /// @inheritdoc IQuietMode
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IQuietMode
    function hashRequest(QuietRequest calldata request) public pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    QUIET_REQUEST_TYPEHASH,
                    request.payer,
                    request.operator,
                    request.modelId,
                    request.inputHash,
                    request.fee,
                    request.cumulative,
                    request.index,
                    request.deadline
                )
            );
    }

    /// @inheritdoc IQuietMode
    function hashReceipt(Receipt calldata receipt) public pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    RECEIPT_TYPEHASH,
                    receipt.operator,
                    receipt.seq,
                    receipt.request,
                    receipt.outputHash,
                    receipt.time
                )
            );
    }

    // ------------------------------------------------------------------ internals

    /// @dev A receipt and its request belong together and the request's deadline is within `maxTtl` of the answer.
    function _checkPair(Receipt calldata receipt, QuietRequest calldata request) private view {
        bytes32 requestHash = hashRequest(request);
        if (receipt.request != requestHash) revert ReceiptRequestMismatch(receipt.request, requestHash);
        if (receipt.operator != request.operator) revert OperatorMismatch(receipt.operator, request.operator);
        if (uint256(request.deadline) > uint256(receipt.time) + maxTtl) {
            revert TtlTooLong(request.deadline, receipt.time);
        }
    }

    /// @dev A receipt is evidence against its operator when it pairs with its request, is signed by one of the
    /// operator's keys that was not retired before the receipt's time, and its request's challenge deadline has not
    /// passed. Returns the receipt's struct hash.
    function _checkEvidence(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature
    ) private view returns (bytes32 receiptHash) {
        _checkPair(receipt, request);
        uint256 closedAt = uint256(request.deadline) + commitWindow + challengeWindow;
        if (block.timestamp > closedAt) revert ChallengeClosed(closedAt);
        receiptHash = hashReceipt(receipt);
        (address signer, ECDSA.RecoverError recoverError, ) = ECDSA.tryRecoverCalldata(
            _hashTypedDataV4(receiptHash),
            signature
        );
        if (recoverError != ECDSA.RecoverError.NoError) revert InvalidSignature();
        IOperatorRegistry.SignerRecord memory record = operators.signerRecord(signer);
        if (record.operator != receipt.operator) revert InvalidEvidence(signer);
        if (record.retiredAt != 0 && receipt.time >= record.retiredAt) {
            revert KeyRetiredBeforeReceipt(signer, record.retiredAt);
        }
    }

    /// @dev The batch's fields are the ones committed at `batchIndex` by `operator`, and it holds `seq`.
    function _checkBatch(address operator, uint256 batchIndex, Batch calldata batch, uint64 seq) private view {
        bytes32 commitment = keccak256(abi.encode(batch.root, batch.firstSeq, batch.count, batch.committedAt));
        if (commitment != _batches[operator][batchIndex]) revert UnknownBatch(operator, batchIndex);
        if (seq < batch.firstSeq || seq - batch.firstSeq >= batch.count) {
            revert SeqNotInBatch(seq, batch.firstSeq, batch.count);
        }
    }

    function _omissionKey(Receipt calldata receipt) private pure returns (bytes32) {
        return keccak256(abi.encode(OMISSION, receipt.operator, uint256(receipt.seq)));
    }

    function _useEvidence(bytes32 key) private {
        if (_evidenceUsed[key]) revert ReceiptEvidenceUsed(key);
        _evidenceUsed[key] = true;
    }

    /// @dev Consume the evidence and slash; a challenge that takes nothing reverts, so the evidence is kept.
    function _slash(bytes32 key, address operator, uint64 seq, bytes32 kind) private returns (uint256 slashed) {
        _useEvidence(key);
        slashed = settlement.slash(operator, penalty, msg.sender, challengerRewardBps);
        if (slashed == 0) revert NothingToSlash(operator);
        emit OperatorChallenged(operator, seq, msg.sender, kind, slashed);
    }

    function _redeem(Voucher calldata voucher, address payout) private returns (uint256 paid) {
        QuietRequest calldata request = voucher.request;
        if (request.operator != msg.sender) revert NotYourVoucher(request.operator);
        uint256 redeemableAt = uint256(request.deadline) + commitWindow + challengeWindow;
        if (block.timestamp <= redeemableAt) revert NotFinal(redeemableAt);
        (address signer, ECDSA.RecoverError recoverError, ) = ECDSA.tryRecoverCalldata(
            _hashTypedDataV4(hashRequest(request)),
            voucher.signature
        );
        if (recoverError != ECDSA.RecoverError.NoError || signer != request.payer) {
            revert InvalidPayerSignature(request.payer);
        }
        SubChannel storage sub = _subs[request.payer][msg.sender][request.modelId];
        uint96 claimed = sub.claimed;
        if (request.cumulative <= claimed) return 0; // already redeemed up to here (or past it)
        uint96 gross = request.cumulative - claimed;
        uint96 credit = sub.credit;
        uint96 applied = credit < gross ? credit : gross;
        sub.claimed = request.cumulative;
        sub.credit = credit - applied;
        Channel storage ch = _channels[request.payer][msg.sender];
        uint256 due = gross - applied;
        paid = due < ch.funds ? due : ch.funds;
        ch.funds -= uint128(paid);
        emit VoucherRedeemed(request.payer, msg.sender, request.modelId, request.cumulative, paid, applied);
        if (paid != 0) {
            IModelRegistry.ModelVersion memory model = models.getModel(request.modelId);
            if (!model.modes.contains(VerificationModes.QUIET)) revert QuietModeNotAllowed(request.modelId);
            settlement.payFee(paid, model.owner, model.royaltyBps, payout);
        }
    }

    function _quietBinding(address operator, uint64 seq, address challenger) private view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), operator, seq, challenger))) >> 3;
    }
}
