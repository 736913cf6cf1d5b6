// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceProofVerifier} from "../interfaces/IInferenceProofVerifier.sol";

/// @title Switch verifier
/// @notice A verifier with a switch in its own storage: its owner can make it accept everything later without its code
/// (and code hash) changing. The registry must refuse it (`VerifierNotPure`).
contract SwitchVerifier is IInferenceProofVerifier {
    /// @notice Whether every proof is accepted.
    bool public acceptAll;

    /// @notice Flip the switch.
    /// @param acceptAll_ The new setting.
    function setAcceptAll(bool acceptAll_) external {
        acceptAll = acceptAll_;
    }

    /// @inheritdoc IInferenceProofVerifier
    function verifyProof(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[4] calldata
    ) external view returns (bool) {
        return acceptAll;
    }
}
