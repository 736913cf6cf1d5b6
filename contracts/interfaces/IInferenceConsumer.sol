// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ModelId} from "../types/ModelId.sol";

/// @title Inference consumer
/// @notice Implemented by a contract that wants a verified result delivered by callback. The call
/// gets exactly the gas limit chosen when the request was opened; a revert or an out-of-gas in the
/// consumer is recorded and emitted but never blocks settlement. Check `msg.sender` is the settlement
/// contract you trust.
interface IInferenceConsumer {
    /// @notice Receive a verified result.
    /// @param requestId The settled request.
    /// @param modelId The model version that produced the result.
    /// @param inputHash The committed input.
    /// @param outputHash The hash of the output (keccak256 of `output` when it is inline).
    /// @param output The output bytes, when delivered inline (empty when only a URI was given).
    function onInferenceResult(
        uint256 requestId,
        ModelId modelId,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes calldata output
    ) external;
}
