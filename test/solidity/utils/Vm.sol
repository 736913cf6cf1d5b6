// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Cheatcodes
/// @notice The cheatcodes these tests use, as Hardhat 3's Solidity test runner (EDR) implements them at the standard
/// cheatcode address. Only what is used is declared (forge-std is not a dependency of this repository). Named `Vm` as
/// everywhere else this interface exists.
// solhint-disable-next-line interface-starts-with-i
interface Vm {
    /// @notice A log recorded by `recordLogs`.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    /// @notice Set `block.timestamp`.
    function warp(uint256 newTimestamp) external;

    /// @notice Make the next call's `msg.sender` `sender`.
    function prank(address sender) external;

    /// @notice Make every following call's `msg.sender` `sender` until `stopPrank`.
    function startPrank(address sender) external;

    /// @notice End a `startPrank`.
    function stopPrank() external;

    /// @notice Write a storage slot.
    function store(address target, bytes32 slot, bytes32 value) external;

    /// @notice Read a storage slot.
    function load(address target, bytes32 slot) external view returns (bytes32 value);

    /// @notice Set the code at an address.
    function etch(address target, bytes calldata code) external;

    /// @notice Sign a digest with a private key (secp256k1).
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    /// @notice Sign a digest and return the EIP-2098 compact signature.
    function signCompact(uint256 privateKey, bytes32 digest) external pure returns (bytes32 r, bytes32 vs);

    /// @notice The address of a private key.
    function addr(uint256 privateKey) external pure returns (address keyAddr);

    /// @notice Expect the next call to revert with exactly this data.
    function expectRevert(bytes calldata revertData) external;

    /// @notice Expect the next call to revert with this selector (and no arguments).
    function expectRevert(bytes4 revertData) external;

    /// @notice Expect the next call to revert with this selector, whatever the arguments.
    function expectPartialRevert(bytes4 revertData) external;

    /// @notice Discard the current fuzz input unless `condition` holds.
    function assume(bool condition) external pure;

    /// @notice Name an address in traces.
    function label(address account, string calldata newLabel) external;

    /// @notice Take a snapshot of the whole state.
    function snapshotState() external returns (uint256 snapshotId);

    /// @notice Go back to a snapshot.
    function revertToState(uint256 snapshotId) external returns (bool success);

    /// @notice Start recording every log emitted.
    function recordLogs() external;

    /// @notice The logs recorded since `recordLogs` (or the last call of this), consumed.
    function getRecordedLogs() external returns (Log[] memory logs);

    /// @notice Decimal string of a number.
    function toString(uint256 value) external pure returns (string memory);

    /// @notice Hex string of an address.
    function toString(address value) external pure returns (string memory);

    /// @notice Hex string of a word.
    function toString(bytes32 value) external pure returns (string memory);

    /// @notice Hex string of bytes.
    function toString(bytes calldata value) external pure returns (string memory);
}
