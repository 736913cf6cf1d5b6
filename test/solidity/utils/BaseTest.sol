// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm} from "./Vm.sol";

/// @title Test base
/// @notice The cheatcode handle, input bounding and assertions shared by the Solidity tests (a small stand-in for
/// forge-std, which is not a dependency here). An assertion fails by reverting with a message that names both values.
abstract contract BaseTest {
    /// @dev The standard cheatcode address: `address(uint160(uint256(keccak256("hevm cheat code"))))`. Named `vm` as
    /// in every Solidity test suite.
    // solhint-disable-next-line const-name-snakecase
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @dev Order of the secp256k1 group: private keys are in [1, N).
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    /// @notice An assertion failed.
    error AssertionFailed(string message);

    // ------------------------------------------------------------------ inputs

    /// @dev `x` mapped into [min, max] (uniform enough for fuzzing; keeps small values small).
    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (min > max) revert AssertionFailed("bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    /// @dev A valid private key derived from a label and an index.
    function _key(string memory label, uint256 index) internal pure returns (uint256) {
        return (uint256(keccak256(abi.encode(label, index))) % (SECP256K1_N - 1)) + 1;
    }

    /// @dev The selector a revert carried (zero for empty revert data).
    function _selector(bytes memory revertData) internal pure returns (bytes4 selector) {
        if (revertData.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            selector := mload(add(revertData, 0x20))
        }
    }

    // ------------------------------------------------------------------ assertions

    function _fail(string memory message) internal pure {
        revert AssertionFailed(message);
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) _fail(message);
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) _fail(message);
    }

    function assertEq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) _fail(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(address a, address b, string memory message) internal pure {
        if (a != b) _fail(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bytes32 a, bytes32 b, string memory message) internal pure {
        if (a != b) _fail(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bool a, bool b, string memory message) internal pure {
        if (a != b) _fail(string.concat(message, a ? ": true != false" : ": false != true"));
    }

    function assertEq(bytes memory a, bytes memory b, string memory message) internal pure {
        if (keccak256(a) != keccak256(b)) {
            _fail(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
        }
    }

    function assertLe(uint256 a, uint256 b, string memory message) internal pure {
        if (a > b) _fail(string.concat(message, ": ", vm.toString(a), " > ", vm.toString(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory message) internal pure {
        if (a < b) _fail(string.concat(message, ": ", vm.toString(a), " < ", vm.toString(b)));
    }

    function assertLt(uint256 a, uint256 b, string memory message) internal pure {
        if (a >= b) _fail(string.concat(message, ": ", vm.toString(a), " >= ", vm.toString(b)));
    }

    function assertGt(uint256 a, uint256 b, string memory message) internal pure {
        if (a <= b) _fail(string.concat(message, ": ", vm.toString(a), " <= ", vm.toString(b)));
    }

    /// @dev `revertData` is a revert with `expected` as its selector.
    function assertRevertSelector(bytes memory revertData, bytes4 expected, string memory message) internal pure {
        bytes4 actual = _selector(revertData);
        if (actual != expected) {
            _fail(
                string.concat(
                    message,
                    ": expected revert ",
                    vm.toString(bytes32(expected)),
                    ", got ",
                    vm.toString(revertData)
                )
            );
        }
    }
}
