// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Mode, ModeSet} from "../../contracts/types/Mode.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @title Mode and ModeSet helpers
/// @notice The bit helpers agree with their definitions (pop count, bit position, set algebra) for every value.
contract ModeTest is BaseTest {
    function _popCount(uint8 value) internal pure returns (uint256 count) {
        for (uint256 i; i < 8; ++i) count += (value >> i) & 1;
    }

    /// @notice `isSingle` holds exactly for one-bit values.
    function testFuzz_isSingleIsOneBit(uint8 value) public pure {
        assertEq(Mode.wrap(value).isSingle(), _popCount(value) == 1, "isSingle");
    }

    /// @notice Every value is single for exactly 8 of the 256 values.
    function test_isSingleCountsEightModes() public pure {
        uint256 singles;
        for (uint256 v; v < 256; ++v) if (Mode.wrap(uint8(v)).isSingle()) ++singles;
        assertEq(singles, 8, "single modes");
    }

    /// @notice `==` and `!=` are the value comparisons.
    function testFuzz_equality(uint8 a, uint8 b) public pure {
        assertEq(Mode.wrap(a) == Mode.wrap(b), a == b, "==");
        assertEq(Mode.wrap(a) != Mode.wrap(b), a != b, "!=");
    }

    /// @notice `with`, `without`, `contains` and `isEmpty` are the bit operations.
    function testFuzz_setAlgebra(uint8 set, uint8 index) public pure {
        Mode mode = Mode.wrap(uint8(1) << uint8(_bound(index, 0, 7)));
        ModeSet s = ModeSet.wrap(set);
        assertEq(s.contains(mode), set & Mode.unwrap(mode) != 0, "contains");
        assertEq(s.isEmpty(), set == 0, "isEmpty");
        ModeSet added = s.with(mode);
        ModeSet removed = s.without(mode);
        assertTrue(added.contains(mode), "with adds");
        assertFalse(removed.contains(mode), "without removes");
        assertEq(ModeSet.unwrap(added), set | Mode.unwrap(mode), "with is or");
        assertEq(ModeSet.unwrap(removed), set & ~Mode.unwrap(mode), "without is and-not");
        assertEq(ModeSet.unwrap(added.with(mode)), ModeSet.unwrap(added), "with is idempotent");
        assertEq(ModeSet.unwrap(removed.without(mode)), ModeSet.unwrap(removed), "without is idempotent");
        assertEq(ModeSet.unwrap(removed.with(mode)), ModeSet.unwrap(added), "without then with");
        // Other bits are untouched.
        for (uint256 i; i < 8; ++i) {
            Mode other = Mode.wrap(uint8(1 << i));
            if (other == mode) continue;
            assertEq(added.contains(other), s.contains(other), "with touches only its bit");
            assertEq(removed.contains(other), s.contains(other), "without touches only its bit");
        }
    }

    /// @notice A multi-bit or zero mode is contained in a set exactly when they share a bit (why the core and the
    /// registry also require `isSingle`).
    function testFuzz_containsIsAnyBit(uint8 set, uint8 value) public pure {
        assertEq(ModeSet.wrap(set).contains(Mode.wrap(value)), set & value != 0, "contains any bit");
    }
}
