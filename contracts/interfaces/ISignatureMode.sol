// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceSettlement} from "./IInferenceSettlement.sol";
import {IOperatorRegistry} from "./IOperatorRegistry.sol";
import {IVerificationMode} from "./IVerificationMode.sol";

/// @title Signature mode interface
/// @notice Results signed (EIP-712) by the current key of a staked operator. The signature binds every field a
/// consumer or auditor receives (the whole request through its hash, the output hash, the inline output bytes, the
/// output URI and the operator; the payout comes from the registry), so a relayer can submit a signed result but not
/// change it. Two different results signed for the same request are equivocation, and slash the operator.
interface ISignatureMode is IVerificationMode {
    /// @notice The fields of a signed result besides the request and operator, in hashed form (enough to check a
    /// signature without the output bytes).
    /// @param outputHash The result's output hash.
    /// @param outputBytesHash keccak256 of the inline output bytes (of empty bytes when none were inline).
    /// @param outputUriHash keccak256 of the output URI.
    struct ResultClaim {
        bytes32 outputHash;
        bytes32 outputBytesHash;
        bytes32 outputUriHash;
    }

    /// @notice An operator was slashed for signing two different results for one request.
    event EquivocationSlashed(
        address indexed operator,
        uint256 indexed requestId,
        address indexed reporter,
        uint256 slashed
    );
    /// @notice Governance changed the equivocation penalty and the reporter's share of it.
    event SlashParamsSet(uint96 penalty, uint16 reporterRewardBps);

    /// @notice The reporter's share is above 100%.
    error RewardTooHigh(uint16 rewardBps);
    /// @notice The two claims have the same output: no equivocation.
    error NotEquivocation();
    /// @notice No request with this id and content was ever opened: evidence must concern a real request.
    error UnknownRequest(uint256 requestId, bytes32 requestHash);
    /// @notice Evidence about this request was due by `closedAt` (its deadline plus the evidence window).
    error EvidenceExpired(uint256 requestId, uint256 closedAt);
    /// @notice A claim was not signed by a key of the accused operator.
    error InvalidEvidence(address signer);
    /// @notice The key was retired before the request was opened, so it could never have signed for it.
    error KeyRetiredBeforeRequest(address signer, uint256 retiredAtRequest);
    /// @notice This operator was already slashed for this request.
    error EvidenceAlreadyUsed(uint256 requestId, address operator);
    /// @notice The report would slash nothing (no penalty set, or no stake left); the evidence stays usable.
    error NothingToSlash(address operator);

    /// @notice Settle a request with a result signed by the current key of a staked operator. Anyone may submit it.
    /// @param request The request exactly as committed (from its `RequestOpened` event).
    /// @param requestId The request's id.
    /// @param result The operator and output, exactly as signed.
    /// @param r The signature's r.
    /// @param vs The signature's s with v in the top bit (EIP-2098 compact form).
    function fulfillSigned(
        IInferenceSettlement.Request calldata request,
        uint256 requestId,
        IInferenceSettlement.Result calldata result,
        bytes32 r,
        bytes32 vs
    ) external;

    /// @notice Slash an operator whose keys signed two results with different outputs for the same, real request.
    /// @param request The request exactly as committed (it may be pending, settled or refunded).
    /// @param requestId The request's id.
    /// @param operator The accused operator.
    /// @param a The first result.
    /// @param signatureA Its signature.
    /// @param b The second result.
    /// @param signatureB Its signature.
    /// @return slashed The stake taken.
    function reportEquivocation(
        IInferenceSettlement.Request calldata request,
        uint256 requestId,
        address operator,
        ResultClaim calldata a,
        bytes calldata signatureA,
        ResultClaim calldata b,
        bytes calldata signatureB
    ) external returns (uint256 slashed);

    /// @notice Set the equivocation penalty and the reporter's share of it (governance).
    /// @param penalty The stake taken per report.
    /// @param rewardBps The reporter's share.
    function setSlashParams(uint96 penalty, uint16 rewardBps) external;

    /// @notice The EIP-712 digest an operator signs for a result.
    /// @param requestId The request's id.
    /// @param requestHash `hashRequest` of the request.
    /// @param claim The output fields, hashed.
    /// @param operator The operator.
    /// @return The digest.
    function resultDigest(
        uint256 requestId,
        bytes32 requestHash,
        ResultClaim calldata claim,
        address operator
    ) external view returns (bytes32);

    /// @notice The EIP-712 domain separator results are signed under.
    /// @return The separator.
    function domainSeparator() external view returns (bytes32);

    /// @notice The operator registry keys and stakes are read from.
    /// @return The registry.
    function operators() external view returns (IOperatorRegistry);

    /// @notice Stake taken from an operator proven to have equivocated.
    /// @return The penalty.
    function equivocationPenalty() external view returns (uint96);

    /// @notice Share of a slash credited to whoever reported it, in basis points.
    /// @return The share.
    function reporterRewardBps() external view returns (uint16);
}
