// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceProofVerifier} from "../interfaces/IInferenceProofVerifier.sol";

/// @title Accept-all verifier
/// @notice A verifier that accepts every proof. Its code is pure (no state, no calls), so the registry accepts it: a
/// model owner may commit to any verifier, and consumers trust a model through its pinned code. Tests use its code to
/// replace a registered verifier's (`hardhat_setCode`) and show that the pinned code hash catches the swap.
contract AcceptAllVerifier is IInferenceProofVerifier {
    /// @inheritdoc IInferenceProofVerifier
    function verifyProof(
        uint256[2] calldata,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[4] calldata
    ) external pure returns (bool) {
        return true;
    }
}
