// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Protocol errors
/// @notice Errors every protocol contract shares, defined once. Every protocol interface inherits this one, so a
/// consumer importing any of them can decode them.
interface IProtocolErrors {
    /// @notice A zero address was given where an account is needed.
    error ZeroAddress();
    /// @notice Amount is zero or does not fit.
    error InvalidAmount();
    /// @notice Governance cannot be renounced, only transferred.
    error RenounceDisabled();
    /// @notice The signature is malformed, malleable (high s) or does not recover.
    error InvalidSignature();
}
