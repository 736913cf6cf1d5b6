// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IInferenceSettlement} from "../interfaces/IInferenceSettlement.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {ISignatureMode} from "../interfaces/ISignatureMode.sol";
import {IVerificationMode} from "../interfaces/IVerificationMode.sol";
import {ProtocolLimits} from "../libraries/ProtocolLimits.sol";
import {RequestHashing} from "../libraries/RequestHashing.sol";
import {VerificationModes} from "../libraries/VerificationModes.sol";
import {Mode} from "../types/Mode.sol";

/// @title Signature mode
/// @notice Verifies results signed (EIP-712) by the current key of a staked operator and settles them through the core;
/// slashes operators whose keys signed two different results for one real request.
/// @dev What a signature binds: the domain (chain id, this contract), the request id, the hash of the whole committed
/// request (requester, fee and split, mode, deadline, model, input, assigned operator, callback), the output hash, the
/// inline output bytes (empty when not inline), the output URI and the operator. The payout comes from the registry
/// at settlement. So no relayer can change a field a consumer or auditor receives, and a signature made for a request
/// that a reorg replaced with another one under the same id does not match the new commitment.
contract SignatureMode is ISignatureMode, EIP712, Ownable2Step {
    /// @notice EIP-712 type of a signed result.
    bytes32 public constant RESULT_TYPEHASH = keccak256(
        "InferenceResult(uint256 requestId,bytes32 requestHash,bytes32 outputHash,bytes output,string outputUri,"
        "address operator)"
    );

    /// @dev keccak256 of empty bytes: the output bytes or URI hash of a result that has none.
    bytes32 private constant EMPTY_HASH = keccak256("");

    /// @inheritdoc IVerificationMode
    IInferenceSettlement public immutable settlement;
    /// @inheritdoc ISignatureMode
    IOperatorRegistry public immutable operators;

    /// @inheritdoc ISignatureMode
    uint96 public equivocationPenalty;
    /// @inheritdoc ISignatureMode
    uint16 public reporterRewardBps;

    mapping(bytes32 evidenceKey => bool) private _evidenceUsed;

    /// @param settlement_ The settlement core (governance binds this contract to the signature bit there).
    /// @param governance The owner (sets the slashing parameters).
    /// @param penalty Stake taken per equivocation.
    /// @param rewardBps The reporter's share of it.
    constructor(
        IInferenceSettlement settlement_,
        address governance,
        uint96 penalty,
        uint16 rewardBps
    ) EIP712("OPG Signature Mode", "1") Ownable(governance) {
        if (address(settlement_) == address(0)) revert ZeroAddress();
        settlement = settlement_;
        operators = settlement_.operators();
        _setSlashParams(penalty, rewardBps);
    }

    /// @inheritdoc IVerificationMode
    function mode() external pure returns (Mode) {
        return VerificationModes.SIGNATURE;
    }

    /// @inheritdoc ISignatureMode
    function fulfillSigned(
        IInferenceSettlement.Request calldata request,
        uint256 requestId,
        IInferenceSettlement.Result calldata result,
        bytes32 r,
        bytes32 vs
    ) external {
        bytes32 digest = _resultDigest(
            requestId,
            RequestHashing.hashCalldata(request),
            result.outputHash,
            result.output.length == 0 ? EMPTY_HASH : keccak256(result.output),
            bytes(result.outputUri).length == 0 ? EMPTY_HASH : keccak256(bytes(result.outputUri)),
            result.operator
        );
        (address signer, ECDSA.RecoverError recoverError, ) = ECDSA.tryRecover(digest, r, vs);
        if (recoverError != ECDSA.RecoverError.NoError) revert InvalidSignature();
        address payout = operators.payoutFor(result.operator, signer);
        _settle(result, payout, signer);
    }

    /// @inheritdoc ISignatureMode
    function reportEquivocation(
        IInferenceSettlement.Request calldata request,
        uint256 requestId,
        address operator,
        ResultClaim calldata a,
        bytes calldata signatureA,
        ResultClaim calldata b,
        bytes calldata signatureB
    ) external returns (uint256 slashed) {
        if (a.outputHash == b.outputHash) revert NotEquivocation();
        bytes32 requestHash = RequestHashing.hashCalldata(request);
        if (!settlement.isCommitted(requestId, requestHash)) revert UnknownRequest(requestId, requestHash);
        uint256 closedAt = uint256(request.deadline) + ProtocolLimits.EVIDENCE_WINDOW;
        if (block.timestamp > closedAt) revert EvidenceExpired(requestId, closedAt);
        _checkEvidence(requestId, requestHash, operator, a, signatureA);
        _checkEvidence(requestId, requestHash, operator, b, signatureB);

        bytes32 key = keccak256(abi.encode(requestId, operator));
        if (_evidenceUsed[key]) revert EvidenceAlreadyUsed(requestId, operator);
        _evidenceUsed[key] = true;
        // The core and the registry are fixed, trusted contracts; a report that slashes nothing reverts, so the
        // evidence is consumed only by a real slash.
        slashed = settlement.slash(operator, equivocationPenalty, msg.sender, reporterRewardBps);
        if (slashed == 0) revert NothingToSlash(operator);
        emit EquivocationSlashed(operator, requestId, msg.sender, slashed);
    }

    /// @inheritdoc ISignatureMode
    function setSlashParams(uint96 penalty, uint16 rewardBps) external onlyOwner {
        _setSlashParams(penalty, rewardBps);
    }

    /// @notice Disabled: governance can be handed over (in two steps) but never dropped.
    function renounceOwnership() public pure override {
        revert RenounceDisabled();
    }

    /// @inheritdoc ISignatureMode
    function resultDigest(
        uint256 requestId,
        bytes32 requestHash,
        ResultClaim calldata claim,
        address operator
    ) external view returns (bytes32) {
        return _claimDigest(requestId, requestHash, claim, operator);
    }

    /// @inheritdoc ISignatureMode
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev A claim is evidence against `operator` when signed by one of its keys that could have signed for this
    /// request: its current key, or a retired key when the request was opened before the key's retirement.
    function _checkEvidence(
        uint256 requestId,
        bytes32 requestHash,
        address operator,
        ResultClaim calldata claim,
        bytes calldata signature
    ) private view {
        address signer = _recover(_claimDigest(requestId, requestHash, claim, operator), signature);
        IOperatorRegistry.SignerRecord memory record = operators.signerRecord(signer);
        if (record.operator != operator) revert InvalidEvidence(signer);
        if (record.retiredAt != 0 && requestId >= record.retiredAtRequest) {
            revert KeyRetiredBeforeRequest(signer, record.retiredAtRequest);
        }
    }

    /// @dev `settlement.settle(request, requestId, result, payout, signer)`, with the request, its id and the result
    /// copied verbatim from this call's calldata, so the core decodes exactly the bytes that were hashed and signed.
    /// `fulfillSigned`'s head is `request` (12 words), `requestId`, the result's offset, `r`, `vs`: 16 words like
    /// `settle`'s, whose result tail therefore starts at 0x200. The tail is self-contained (its offsets are relative).
    function _settle(IInferenceSettlement.Result calldata result, address payout, address signer) private {
        address core = address(settlement);
        bytes4 selector = IInferenceSettlement.settle.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            calldatacopy(add(ptr, 0x04), 0x04, 0x1a0)
            mstore(add(ptr, 0x1a4), 0x200)
            mstore(add(ptr, 0x1c4), payout)
            mstore(add(ptr, 0x1e4), signer)
            let tail := sub(calldatasize(), result)
            calldatacopy(add(ptr, 0x204), result, tail)
            if iszero(call(gas(), core, 0, ptr, add(0x204, tail), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    function _claimDigest(
        uint256 requestId,
        bytes32 requestHash,
        ResultClaim calldata claim,
        address operator
    ) private view returns (bytes32) {
        return
            _resultDigest(
                requestId,
                requestHash,
                claim.outputHash,
                claim.outputBytesHash,
                claim.outputUriHash,
                operator
            );
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        ECDSA.RecoverError recoverError;
        (signer, recoverError, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (recoverError != ECDSA.RecoverError.NoError) revert InvalidSignature();
    }

    function _resultDigest(
        uint256 requestId,
        bytes32 requestHash,
        bytes32 outputHash,
        bytes32 outputBytesHash,
        bytes32 outputUriHash,
        address operator
    ) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        RESULT_TYPEHASH,
                        requestId,
                        requestHash,
                        outputHash,
                        outputBytesHash,
                        outputUriHash,
                        operator
                    )
                )
            );
    }

    function _setSlashParams(uint96 penalty, uint16 rewardBps) private {
        if (rewardBps > ProtocolLimits.BPS) revert RewardTooHigh(rewardBps);
        equivocationPenalty = penalty;
        reporterRewardBps = rewardBps;
        emit SlashParamsSet(penalty, rewardBps);
    }
}
