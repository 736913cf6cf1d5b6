// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Pure bytecode check
/// @notice Finds opcodes that would let a contract's answers change without its code changing: state reads and
/// writes, block and transaction context, balances, other contracts' code, `CALL`, `DELEGATECALL`, `CALLCODE`,
/// `CREATE`, `CREATE2`, `SELFDESTRUCT`. A contract without them (a snarkjs Groth16 verifier is one; it only
/// `STATICCALL`s the pairing precompiles) computes a pure function of its code and its input, so pinning its code
/// hash pins what it accepts. An upgradeable proxy (it must `DELEGATECALL`) or a verifier with a switch in storage
/// fails the check. The scan walks the code as the EVM does, skipping `PUSH` data, and counts an opcode only where it
/// can run: after the entry point or a `JUMPDEST`, before the next `STOP`, `JUMP`, `RETURN`, `REVERT` or `INVALID`.
/// So data after the code (Solidity's metadata hash) is not mistaken for code, while a gadget hidden there behind a
/// `JUMPDEST` is still found.
library PureBytecode {
    /// @dev One bit per forbidden opcode: BALANCE 0x31, ORIGIN 0x32, GASPRICE 0x3a, EXTCODESIZE 0x3b,
    /// EXTCODECOPY 0x3c, EXTCODEHASH 0x3f, BLOCKHASH..GASLIMIT 0x40-0x45, SELFBALANCE..BLOBBASEFEE 0x47-0x4a,
    /// SLOAD 0x54, SSTORE 0x55, TLOAD 0x5c, TSTORE 0x5d, CREATE 0xf0, CALL 0xf1, CALLCODE 0xf2, DELEGATECALL 0xf4,
    /// CREATE2 0xf5, SELFDESTRUCT 0xff.
    uint256 private constant FORBIDDEN =
        (1 << 0x31) |
            (1 << 0x32) |
            (1 << 0x3a) |
            (1 << 0x3b) |
            (1 << 0x3c) |
            (1 << 0x3f) |
            (0x3f << 0x40) |
            (0x0f << 0x47) |
            (1 << 0x54) |
            (1 << 0x55) |
            (1 << 0x5c) |
            (1 << 0x5d) |
            (1 << 0xf0) |
            (1 << 0xf1) |
            (1 << 0xf2) |
            (1 << 0xf4) |
            (1 << 0xf5) |
            (1 << 0xff);
    /// @dev Opcodes after which execution never falls through: STOP, JUMP, RETURN, REVERT, INVALID.
    uint256 private constant TERMINATORS = (1 << 0x00) | (1 << 0x56) | (1 << 0xf3) | (1 << 0xfd) | (1 << 0xfe);

    /// @notice The first forbidden opcode that can run in `target`'s code, if any.
    /// @return found Whether one was found.
    /// @return offset Its byte offset in the code.
    /// @return opcode The opcode.
    function firstForbidden(address target) internal view returns (bool found, uint256 offset, uint8 opcode) {
        uint256 forbidden = FORBIDDEN;
        uint256 terminators = TERMINATORS;
        assembly ("memory-safe") {
            let size := extcodesize(target)
            let code := mload(0x40)
            extcodecopy(target, code, 0, size)
            let reachable := 1
            for {
                let i := 0
            } lt(i, size) {
                i := add(i, 1)
            } {
                let op := byte(0, mload(add(code, i)))
                switch op
                case 0x5b {
                    reachable := 1
                }
                default {
                    if reachable {
                        if and(shr(op, forbidden), 1) {
                            found := 1
                            offset := i
                            opcode := op
                            break
                        }
                        if and(shr(op, terminators), 1) {
                            reachable := 0
                        }
                    }
                }
                // PUSH1..PUSH32 carry 1..32 bytes of data, which are not opcodes (also where unreachable: this is how
                // the EVM itself tells a JUMPDEST from data).
                if and(gt(op, 0x5f), lt(op, 0x80)) {
                    i := add(i, sub(op, 0x5f))
                }
            }
        }
    }
}
