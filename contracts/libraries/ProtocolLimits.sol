// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Protocol limits shared by the registry and settlement
/// @notice The owner's royalty and the protocol fee are both shares of one inference fee, so their caps
/// add up to exactly 100%: an operator's share can never be negative.
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
}
