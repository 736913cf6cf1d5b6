// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceProofVerifier} from "../../../contracts/interfaces/IInferenceProofVerifier.sol";

/// @title Signal-hash verifier
/// @notice A pure stand-in for a Groth16 verifier, so Solidity tests can drive the real `ZkMode` without a prover: it
/// accepts exactly the "proof" whose first word is the hash of the rest of the proof and of the public signals. Like a
/// real verifier it is pure (no state, no context), so the registry accepts it and pins its code hash, and a proof is
/// bound to every public signal (output, weight commitment, input hash, zk binding): changing any of them, or any
/// proof word, makes it fail. The mocha tests cover real Groth16 proofs.
contract SignalHashVerifier is IInferenceProofVerifier {
    /// @inheritdoc IInferenceProofVerifier
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[4] calldata pubSignals
    ) external pure returns (bool) {
        return pA[0] == digest(pA[1], pB, pC, pubSignals);
    }

    /// @notice The first proof word that makes a proof valid for these signals and other words.
    /// @param a1 The second word of `pA`.
    /// @param pB The `pB` words.
    /// @param pC The `pC` words.
    /// @param pubSignals The public signals.
    /// @return The word.
    function digest(
        uint256 a1,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[4] calldata pubSignals
    ) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(a1, pB, pC, pubSignals)));
    }
}
