// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Mode} from "../types/Mode.sol";
import {IInferenceSettlement} from "./IInferenceSettlement.sol";
import {IProtocolErrors} from "./IProtocolErrors.sol";

/// @title Verification mode
/// @notice What every mode contract declares, so settlement can check the wiring when governance binds it: the bit it
/// serves and the settlement it settles through. A mode verifies results in its own way and then calls
/// `IInferenceSettlement.settle` (or the ledger hooks); it holds no request state of its own.
interface IVerificationMode is IProtocolErrors {
    /// @notice The mode bit this contract verifies.
    /// @return The mode.
    function mode() external view returns (Mode);

    /// @notice The settlement core this contract settles through.
    /// @return The core.
    function settlement() external view returns (IInferenceSettlement);
}
