// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Receipt log
/// @notice The positional Merkle tree of quiet mode's log (docs/quiet.md): leaf `keccak256(0x00 ‖ receiptHash)`, inner
/// node `keccak256(0x01 ‖ left ‖ right)`; level by level, nodes pair left to right and a last node without a partner
/// moves up unchanged. A proof is the partners bottom up, levels without one skipped, so its length follows from
/// the index and the count: a proof of another length is refused.
library ReceiptLog {
    /// @notice The most receipts in one batch.
    uint32 internal constant MAX_BATCH = 65_536;

    /// @notice The leaf of a receipt's EIP-712 struct hash.
    /// @param receiptHash The struct hash.
    /// @return node The leaf.
    function leaf(bytes32 receiptHash) internal pure returns (bytes32 node) {
        assembly ("memory-safe") {
            mstore(0x00, 0)
            mstore(0x01, receiptHash)
            node := keccak256(0x00, 0x21)
        }
    }

    /// @notice Whether `proof` proves `leafHash` at `index` in a tree of `count` leaves with root `root`.
    /// @param root The root.
    /// @param leafHash The leaf (as `leaf` makes it).
    /// @param index Its position, from 0.
    /// @param count The number of leaves (1 to `MAX_BATCH`).
    /// @param proof The partners, bottom up.
    /// @return Whether it does.
    function verify(
        bytes32 root,
        bytes32 leafHash,
        uint256 index,
        uint256 count,
        bytes32[] calldata proof
    ) internal pure returns (bool) {
        if (count == 0 || count > MAX_BATCH || index >= count) return false;
        bytes32 node = leafHash;
        uint256 used;
        // `width` is the number of nodes at this level; the tree has at most 16 levels above the leaves.
        for (uint256 width = count; width > 1; width = (width + 1) >> 1) {
            if (index ^ 1 < width) {
                if (used == proof.length) return false;
                bytes32 partner = proof[used++];
                node = (index & 1 == 0) ? _inner(node, partner) : _inner(partner, node);
            }
            index >>= 1;
        }
        return used == proof.length && node == root;
    }

    function _inner(bytes32 left, bytes32 right) private pure returns (bytes32 node) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 1)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            node := keccak256(ptr, 0x41)
        }
    }
}
