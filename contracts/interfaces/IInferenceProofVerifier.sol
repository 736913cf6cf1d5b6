// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Inference proof verifier
/// @notice A Groth16 verifier for one model's inference circuit. Every inference circuit exposes the same four
/// public signals, so this one interface (exactly what snarkjs generates for four signals) serves every model:
/// `[output, weightCommitment, inputCommitment, binding]`, where `binding` ties the proof to one request and one
/// submitter (see `IZkMode.zkBinding`).
interface IInferenceProofVerifier {
    /// @notice Whether `(pA, pB, pC)` proves the circuit's statement for `pubSignals`.
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[4] calldata pubSignals
    ) external view returns (bool);
}
