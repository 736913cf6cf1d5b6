// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceProofVerifier} from "../interfaces/IInferenceProofVerifier.sol";
import {SwitchVerifier} from "./SwitchVerifier.sol";

/// @title Staticcall switch verifier
/// @notice A verifier with no state of its own that asks another contract (fixed in its code) whether to accept: the
/// answer lives in that contract's storage, so it can change while this verifier's code hash stays the same. Only
/// `STATICCALL` is used, which pure verifiers need for the pairing precompiles.
contract StaticcallSwitchVerifier is IInferenceProofVerifier {
    /// @notice The contract whose storage decides.
    SwitchVerifier public immutable oracle;

    /// @param oracle_ The contract whose storage decides.
    constructor(SwitchVerifier oracle_) {
        oracle = oracle_;
    }

    /// @inheritdoc IInferenceProofVerifier
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[4] calldata pubSignals
    ) external view returns (bool) {
        return oracle.verifyProof(pA, pB, pC, pubSignals);
    }
}
