// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Protocol limits
/// @notice Every bound the contracts enforce, defined once (mirrored in `src/protocol/limits.ts`, which a test checks
/// against the deployed contracts). The owner's royalty and the protocol fee are both shares of one inference fee, so
/// their caps add up to exactly 100%: an operator's share can never be negative.
library ProtocolLimits {
    /// @notice Basis-point denominator (100%).
    uint16 internal constant BPS = 10_000;
    /// @notice Highest protocol fee governance can set: 20%.
    uint16 internal constant MAX_PROTOCOL_FEE_BPS = 2_000;
    /// @notice Highest royalty a model owner can set: 80%.
    uint16 internal constant MAX_ROYALTY_BPS = BPS - MAX_PROTOCOL_FEE_BPS;
    /// @notice The BN254 scalar field modulus: every zk public signal must be below it.
    uint256 internal constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Furthest a request's deadline may be from the block that opens it.
    uint64 internal constant MAX_REQUEST_TTL = 30 days;
    /// @notice Highest callback gas limit a request may ask for.
    uint32 internal constant MAX_CALLBACK_GAS = 2_500_000;
    /// @notice How long after a request's deadline evidence of misbehaviour about it is still accepted.
    uint64 internal constant EVIDENCE_WINDOW = 7 days;
    /// @notice Longest unbonding delay governance can set.
    uint64 internal constant MAX_UNBONDING_DELAY = 90 days;
    /// @notice Longest model family name, in bytes.
    uint256 internal constant MAX_NAME_LENGTH = 64;
    /// @notice Most accounts in one allowlist update.
    uint256 internal constant MAX_ALLOWLIST_BATCH = 256;
}
