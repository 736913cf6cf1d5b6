// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ModelId} from "../types/ModelId.sol";
import {IModelRegistry} from "./IModelRegistry.sol";
import {IOperatorRegistry} from "./IOperatorRegistry.sol";
import {IVerificationMode} from "./IVerificationMode.sol";
import {IZkMode} from "./IZkMode.sol";

/// @title Quiet mode interface
/// @notice Inference answered off chain at once with a receipt signed by a staked operator's key, logged on chain in
/// batches (a Merkle root over consecutive sequence numbers, one slot per batch), paid from channels with
/// payer-signed running-total vouchers, and open to challenges that slash a cheat: a wrong output (a Groth16 proof of
/// another output), equivocation (two receipts for one sequence number or one request), omission (a receipt committed
/// as another leaf, committed late, or never committed). See docs/quiet.md.
interface IQuietMode is IVerificationMode {
    /// @notice What a payer signs for one inference: it is also the payment voucher (`cumulative`).
    struct QuietRequest {
        address payer;
        address operator;
        ModelId modelId;
        bytes32 inputHash;
        uint96 fee;
        uint96 cumulative;
        uint64 index;
        uint64 deadline;
    }

    /// @notice What an operator's key signs for one answer.
    struct Receipt {
        address operator;
        uint64 seq;
        bytes32 request;
        bytes32 outputHash;
        uint64 time;
    }

    /// @notice A committed batch of the log, as its event gave it.
    struct Batch {
        bytes32 root;
        uint64 firstSeq;
        uint32 count;
        uint64 committedAt;
    }

    /// @notice A payer-signed request presented for payment.
    struct Voucher {
        QuietRequest request;
        bytes signature;
    }

    /// @notice An operator committed receipts `firstSeq … firstSeq + count - 1`; `dataUri` serves them.
    event BatchCommitted(
        address indexed operator,
        uint256 indexed batchIndex,
        uint64 firstSeq,
        uint32 count,
        bytes32 root,
        uint64 committedAt,
        string dataUri
    );
    /// @notice A payer added funds to its channel with an operator.
    event ChannelFunded(address indexed payer, address indexed operator, uint256 amount, uint256 funds);
    /// @notice A payer asked for its channel's funds back; the operator should stop serving it.
    event RefundRequested(address indexed payer, address indexed operator, uint64 refundAt);
    /// @notice A payer took back what was left in its channel.
    event ChannelWithdrawn(address indexed payer, address indexed operator, uint256 amount);
    /// @notice An operator redeemed a voucher: `paid` left the channel, split like a request's fee.
    event VoucherRedeemed(
        address indexed payer,
        address indexed operator,
        ModelId indexed modelId,
        uint96 cumulative,
        uint256 paid,
        uint256 refundApplied
    );
    /// @notice A receipt was proven wrong: struck (consumers reject it) and its fee credited back to the payer.
    event ReceiptStruck(address indexed operator, uint64 indexed seq, address indexed challenger, uint256 slashed);
    /// @notice An operator was slashed for equivocation or omission.
    event OperatorChallenged(
        address indexed operator,
        uint64 indexed seq,
        address indexed challenger,
        bytes32 kind,
        uint256 slashed
    );

    /// @notice The batch does not start at the operator's next sequence number.
    error NotNextSeq(uint64 expected, uint64 firstSeq);
    /// @notice A batch must hold 1 to `MAX_BATCH` receipts.
    error BadBatchSize(uint32 count);
    /// @notice No batch with these fields was committed at this index.
    error UnknownBatch(address operator, uint256 batchIndex);
    /// @notice The sequence number is not in the batch.
    error SeqNotInBatch(uint64 seq, uint64 firstSeq, uint32 count);
    /// @notice The Merkle proof does not prove the leaf at this position.
    error InvalidLogProof();
    /// @notice The receipt does not carry this request's hash.
    error ReceiptRequestMismatch(bytes32 inReceipt, bytes32 actual);
    /// @notice The receipt's operator is not the request's.
    error OperatorMismatch(address inReceipt, address inRequest);
    /// @notice The request's deadline is further than `maxTtl` from the receipt's time: no valid receipt.
    error TtlTooLong(uint64 deadline, uint64 time);
    /// @notice The signer is not a key of the operator.
    error InvalidEvidence(address signer);
    /// @notice The key was retired before the receipt's time.
    error KeyRetiredBeforeReceipt(address signer, uint64 retiredAt);
    /// @notice The request's challenge deadline has passed.
    error ChallengeClosed(uint256 closedAt);
    /// @notice The two receipts are the same, or share neither sequence number nor request.
    error NotEquivocation();
    /// @notice The receipt is the leaf committed at its position.
    error NotOmitted();
    /// @notice The batch holding the receipt was committed after the request's commit deadline.
    error BatchCommittedLate(uint64 committedAt, uint256 dueBy);
    /// @notice The batch was committed in time.
    error NotLate(uint64 committedAt, uint256 dueBy);
    /// @notice The receipt is committed, or its commit deadline has not passed.
    error NotUncommitted(uint64 seq, uint64 nextSeq, uint256 dueBy);
    /// @notice The proven output is the receipt's.
    error OutputMatches();
    /// @notice The model has no zk circuit: wrong outputs cannot be proven on chain.
    error NoZkCircuit(ModelId modelId);
    /// @notice This evidence already slashed (or struck) once.
    error ReceiptEvidenceUsed(bytes32 key);
    /// @notice The challenge would slash nothing (no stake left).
    error NothingToSlash(address operator);
    /// @notice The receipt was struck by a proven wrong output.
    error ReceiptIsStruck(address operator, uint64 seq);
    /// @notice The receipt is not final yet.
    error NotFinal(uint256 finalAt);
    /// @notice The caller is not a registered operator.
    error NotAnOperator(address account);
    /// @notice The voucher is not the caller's to redeem.
    error NotYourVoucher(address operator);
    /// @notice The voucher's signature is not the payer's.
    error InvalidPayerSignature(address payer);
    /// @notice Too many vouchers in one call.
    error TooManyVouchers(uint256 count);
    /// @notice The model version does not allow quiet mode.
    error QuietModeNotAllowed(ModelId modelId);
    /// @notice No refund was requested, or its notice period is still running.
    error RefundNotDue(uint64 refundAt);
    /// @notice The windows are out of range (the notice must cover the longest challenge deadline).
    error InvalidWindows();

    /// @notice Append receipts `firstSeq … firstSeq + count - 1` to the caller's log.
    /// @param firstSeq The caller's next sequence number.
    /// @param count How many (1 to `MAX_BATCH`).
    /// @param root The Merkle root of their leaves (docs/quiet.md).
    /// @param dataUri Where the batch's receipts are served.
    function commitBatch(uint64 firstSeq, uint32 count, bytes32 root, string calldata dataUri) external;

    /// @notice Prove that a receipt's output is not the model's: strikes the receipt, credits its fee back to the
    /// payer and slashes the operator. The proof's binding signal is `quietBinding(operator, seq, msg.sender)`.
    /// @param receipt The receipt.
    /// @param request Its request.
    /// @param signature The operator key's signature of the receipt.
    /// @param output The output the committed circuit gives on the committed input.
    /// @param proof The Groth16 proof of it.
    /// @return slashed The stake taken.
    function challengeOutput(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature,
        uint256 output,
        IZkMode.ZkProof calldata proof
    ) external returns (uint256 slashed);

    /// @notice Prove that an operator signed two different receipts for one sequence number or one request.
    /// @param a A receipt.
    /// @param requestA Its request.
    /// @param signatureA Its signature.
    /// @param b Another receipt.
    /// @param requestB Its request.
    /// @param signatureB Its signature.
    /// @return slashed The stake taken.
    function challengeEquivocation(
        Receipt calldata a,
        QuietRequest calldata requestA,
        bytes calldata signatureA,
        Receipt calldata b,
        QuietRequest calldata requestB,
        bytes calldata signatureB
    ) external returns (uint256 slashed);

    /// @notice Prove that a signed receipt is not the leaf committed at its position.
    /// @param receipt The receipt.
    /// @param request Its request.
    /// @param signature Its signature.
    /// @param batchIndex The batch holding its sequence number.
    /// @param batch That batch's fields.
    /// @param committedLeaf The leaf committed at the receipt's position.
    /// @param proof Its Merkle proof.
    /// @return slashed The stake taken.
    function challengeOmission(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature,
        uint256 batchIndex,
        Batch calldata batch,
        bytes32 committedLeaf,
        bytes32[] calldata proof
    ) external returns (uint256 slashed);

    /// @notice Prove that a signed receipt's sequence number was committed after its request's commit deadline.
    /// @param receipt The receipt.
    /// @param request Its request.
    /// @param signature Its signature.
    /// @param batchIndex The batch holding its sequence number.
    /// @param batch That batch's fields.
    /// @return slashed The stake taken.
    function challengeLate(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature,
        uint256 batchIndex,
        Batch calldata batch
    ) external returns (uint256 slashed);

    /// @notice Prove that a signed receipt's sequence number is still not committed after its commit deadline.
    /// @param receipt The receipt.
    /// @param request Its request.
    /// @param signature Its signature.
    /// @return slashed The stake taken.
    function challengeUncommitted(
        Receipt calldata receipt,
        QuietRequest calldata request,
        bytes calldata signature
    ) external returns (uint256 slashed);

    /// @notice Revert unless a receipt is final: committed at its position in a batch committed in time, not struck,
    /// and past its request's challenge deadline. Consumers accept a quiet result on chain with this.
    /// @param receipt The receipt.
    /// @param request Its request.
    /// @param batchIndex The batch holding it.
    /// @param batch That batch's fields.
    /// @param proof The receipt leaf's Merkle proof.
    function verifyReceipt(
        Receipt calldata receipt,
        QuietRequest calldata request,
        uint256 batchIndex,
        Batch calldata batch,
        bytes32[] calldata proof
    ) external view;

    /// @notice Move `amount` of the caller's ledger balance into its channel with `operator` (within the caller's
    /// `approveMode` allowance for quiet mode). Cancels a pending refund request.
    /// @param operator The operator.
    /// @param amount The amount.
    function fund(address operator, uint256 amount) external;

    /// @notice Start the notice period after which the caller can take back its channel's funds.
    /// @param operator The operator.
    function requestRefund(address operator) external;

    /// @notice After the notice period, return what is left in the caller's channel to its ledger balance.
    /// @param operator The operator.
    /// @return amount The amount returned.
    function withdrawChannel(address operator) external returns (uint256 amount);

    /// @notice Redeem payer-signed vouchers (the caller is their operator), each after its challenge deadline: what
    /// its running total adds, less fees credited back for struck receipts, capped by the channel's funds, split like
    /// a request's fee. Many channels per call.
    /// @param vouchers The vouchers.
    /// @return total What was paid in all.
    function redeem(Voucher[] calldata vouchers) external returns (uint256 total);

    /// @notice The public signal binding a wrong-output proof to one receipt and one challenger:
    /// `uint256(keccak256(abi.encode(block.chainid, address(this), operator, seq, challenger))) >> 3`.
    /// @param operator The receipt's operator.
    /// @param seq The receipt's sequence number.
    /// @param challenger Who submits the challenge.
    /// @return The binding.
    function quietBinding(address operator, uint64 seq, address challenger) external view returns (uint256);

    /// @notice An operator's log head.
    /// @param operator The operator.
    /// @return nextSeq The next sequence number it must commit.
    /// @return batchCount How many batches it committed.
    function head(address operator) external view returns (uint64 nextSeq, uint64 batchCount);

    /// @notice The commitment of an operator's batch: `keccak256(abi.encode(root, firstSeq, count, committedAt))`.
    /// @param operator The operator.
    /// @param batchIndex The batch.
    /// @return The commitment (zero if none).
    function batchCommitment(address operator, uint256 batchIndex) external view returns (bytes32);

    /// @notice A payer's channel with an operator.
    /// @param payer The payer.
    /// @param operator The operator.
    /// @return funds What the channel holds.
    /// @return refundAt When its funds can be withdrawn (zero: no refund requested).
    function channel(address payer, address operator) external view returns (uint256 funds, uint64 refundAt);

    /// @notice A (payer, operator, model) sub-channel.
    /// @param payer The payer.
    /// @param operator The operator.
    /// @param modelId The model version.
    /// @return claimed The highest running total redeemed.
    /// @return credit Fees of struck receipts not yet deducted.
    function subChannel(
        address payer,
        address operator,
        ModelId modelId
    ) external view returns (uint96 claimed, uint96 credit);

    /// @notice Whether a receipt was struck by a proven wrong output.
    /// @param operator The operator.
    /// @param seq The sequence number.
    /// @return Whether it was.
    function isStruck(address operator, uint64 seq) external view returns (bool);

    /// @notice The EIP-712 struct hash of a request (what a receipt's `request` holds).
    /// @param request The request.
    /// @return The hash.
    function hashRequest(QuietRequest calldata request) external pure returns (bytes32);

    /// @notice The EIP-712 struct hash of a receipt (its log leaf is `keccak256(0x00 ‖ hash)`).
    /// @param receipt The receipt.
    /// @return The hash.
    function hashReceipt(Receipt calldata receipt) external pure returns (bytes32);

    /// @notice The EIP-712 domain separator (name "OPG Quiet Mode", version "1").
    /// @return The separator.
    function domainSeparator() external view returns (bytes32);

    /// @notice How long after a request's deadline its receipt must be committed.
    /// @return Seconds.
    function commitWindow() external view returns (uint64);

    /// @notice How long after the commit deadline a request's receipts can be challenged.
    /// @return Seconds.
    function challengeWindow() external view returns (uint64);

    /// @notice The furthest a request's deadline may be from its receipt's time.
    /// @return Seconds.
    function maxTtl() external view returns (uint64);

    /// @notice How long a payer waits between asking for its funds and taking them.
    /// @return Seconds.
    function noticePeriod() external view returns (uint64);

    /// @notice Stake taken per proven cheat.
    /// @return The penalty.
    function penalty() external view returns (uint96);

    /// @notice The challenger's share of it.
    /// @return Basis points.
    function challengerRewardBps() external view returns (uint16);

    /// @notice The operator registry keys are checked against.
    /// @return The registry.
    function operators() external view returns (IOperatorRegistry);

    /// @notice The model registry zk bindings and terms are read from.
    /// @return The registry.
    function models() external view returns (IModelRegistry);
}
