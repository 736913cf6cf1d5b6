// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Mode} from "../types/Mode.sol";

/// @title Verification modes
/// @notice The mode bits this protocol defines. A model version allows a set of them; a request requires exactly one;
/// settlement accepts a result only from the contract governance bound to that bit. A new mode (quiet receipts with
/// challenges, TEE-attested keys) takes the next free bit and is a new contract, not a change to settlement.
library VerificationModes {
    /// @notice Result signed (EIP-712) by the registered key of a staked operator (`SignatureMode`).
    Mode internal constant SIGNATURE = Mode.wrap(1 << 0);
    /// @notice Result proven by a Groth16 proof that the committed model produced the output (`ZkMode`).
    Mode internal constant ZK = Mode.wrap(1 << 1);
    /// @notice Result answered off chain with a signed receipt, logged in batches, open to challenges (`QuietMode`).
    Mode internal constant QUIET = Mode.wrap(1 << 2);
}
