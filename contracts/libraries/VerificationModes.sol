// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Verification modes
/// @notice A model version allows a set of modes (a bit mask); a request requires exactly one of them.
/// New modes (optimistic with challenges, TEE-attested keys, batched receipts) take the next free bit,
/// so a registry entry written today stays meaningful when settlement learns a new mode.
library VerificationModes {
    /// @notice Result signed (EIP-712) by the key of a staked operator.
    uint8 internal constant SIGNATURE = 1 << 0;
    /// @notice Result proven by a zk proof that the committed model produced the output.
    uint8 internal constant ZK = 1 << 1;
    /// @notice Every mode this deployment knows.
    uint8 internal constant ALL = SIGNATURE | ZK;

    /// @notice Whether `modes` is a non-empty set of known modes.
    function isValidSet(uint8 modes) internal pure returns (bool) {
        return modes != 0 && modes & ~ALL == 0;
    }

    /// @notice Whether `mode` names exactly one known mode.
    function isSingle(uint8 mode) internal pure returns (bool) {
        return mode != 0 && mode & (mode - 1) == 0 && mode & ~ALL == 0;
    }
}
