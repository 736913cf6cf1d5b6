// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice One verification mode: a single bit. A request commits to exactly one; settlement accepts its result only
/// from the mode contract governance bound to that bit.
type Mode is uint8;

/// @notice A set of verification modes (a bit mask), e.g. the modes a model version allows.
type ModeSet is uint8;

using {eqMode as ==, neMode as !=, isSingle} for Mode global;
using {contains, isEmpty, with, without} for ModeSet global;

/// @notice Whether two modes are the same bit.
function eqMode(Mode a, Mode b) pure returns (bool) {
    return Mode.unwrap(a) == Mode.unwrap(b);
}

/// @notice Whether two modes differ.
function neMode(Mode a, Mode b) pure returns (bool) {
    return Mode.unwrap(a) != Mode.unwrap(b);
}

/// @notice Whether `mode` is exactly one bit.
function isSingle(Mode mode) pure returns (bool) {
    uint8 value = Mode.unwrap(mode);
    return value != 0 && value & (value - 1) == 0;
}

/// @notice Whether `set` includes `mode`.
function contains(ModeSet set, Mode mode) pure returns (bool) {
    return ModeSet.unwrap(set) & Mode.unwrap(mode) != 0;
}

/// @notice Whether `set` has no mode.
function isEmpty(ModeSet set) pure returns (bool) {
    return ModeSet.unwrap(set) == 0;
}

/// @notice `set` with `mode` added.
function with(ModeSet set, Mode mode) pure returns (ModeSet) {
    return ModeSet.wrap(ModeSet.unwrap(set) | Mode.unwrap(mode));
}

/// @notice `set` with `mode` removed.
function without(ModeSet set, Mode mode) pure returns (ModeSet) {
    return ModeSet.wrap(ModeSet.unwrap(set) & ~Mode.unwrap(mode));
}
