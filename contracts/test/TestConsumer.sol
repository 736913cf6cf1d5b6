// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {ModelId} from "../types/ModelId.sol";

/// @title Test consumer
/// @notice A callback consumer whose behaviour tests choose: accept, revert, burn all its gas, return a
/// huge payload, or re-enter a target with arbitrary calldata. Used to show that no consumer can block,
/// grief or re-enter settlement.
contract TestConsumer is IInferenceConsumer {
    /// @notice What the next callback does.
    enum Behaviour {
        Accept,
        Revert,
        BurnGas,
        ReturnBomb,
        Reenter
    }

    /// @notice Thrown by the `Revert` behaviour.
    error ConsumerRejected(uint256 requestId);
    /// @notice Thrown by the `Reenter` behaviour when the re-entrant call failed, carrying its data.
    error ReentryFailed(bytes reason);

    /// @notice Emitted when a result is accepted.
    event ResultReceived(uint256 requestId, bytes32 outputHash, uint256 gasLeft);
    /// @notice Emitted when a re-entrant call succeeded (it never should against settlement).
    event ReentrySucceeded(bytes returnData);

    /// @notice Current behaviour.
    Behaviour public behaviour;
    /// @notice Re-entry target and calldata for the `Reenter` behaviour.
    address public reentryTarget;
    /// @notice Calldata for the re-entrant call.
    bytes public reentryData;
    /// @notice Last request id received.
    uint256 public lastRequestId;
    /// @notice Last output hash received.
    bytes32 public lastOutputHash;
    /// @notice Last output received.
    bytes public lastOutput;
    /// @notice Number of callbacks that completed.
    uint256 public received;

    /// @notice Choose the behaviour of the next callbacks.
    function setBehaviour(Behaviour behaviour_) external {
        behaviour = behaviour_;
    }

    /// @notice Set what the `Reenter` behaviour calls.
    function setReentry(address target, bytes calldata data) external {
        reentryTarget = target;
        reentryData = data;
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(
        uint256 requestId,
        ModelId,
        bytes32,
        bytes32 outputHash,
        bytes calldata output
    ) external {
        Behaviour b = behaviour;
        if (b == Behaviour.Revert) revert ConsumerRejected(requestId);
        if (b == Behaviour.BurnGas) {
            // Spin until the gas limit is exhausted.
            while (true) {
                lastRequestId = lastRequestId ^ gasleft();
            }
        }
        if (b == Behaviour.ReturnBomb) {
            assembly ("memory-safe") {
                return(0, 200000)
            }
        }
        if (b == Behaviour.Reenter) {
            // A raw call on purpose: the test chooses any calldata to re-enter with.
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory ret) = reentryTarget.call(reentryData);
            if (!ok) revert ReentryFailed(ret);
            emit ReentrySucceeded(ret);
        }
        lastRequestId = requestId;
        lastOutputHash = outputHash;
        lastOutput = output;
        ++received;
        emit ResultReceived(requestId, outputHash, gasleft());
    }
}
