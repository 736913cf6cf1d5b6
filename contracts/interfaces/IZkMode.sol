// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceSettlement} from "./IInferenceSettlement.sol";
import {IModelRegistry} from "./IModelRegistry.sol";
import {IVerificationMode} from "./IVerificationMode.sol";

/// @title Zk mode interface
/// @notice Results proven by a Groth16 proof that the committed model, run by its circuit on the committed input, gives
/// the output. The four public signals are assembled here from the registry and the request: output, weight
/// commitment, input commitment and a binding of the proof to this chain, this contract, the request and the
/// submitter, so a proof can neither be replayed nor front-run. The verifier's code hash pinned in the model version is
/// checked before every proof.
interface IZkMode is IVerificationMode {
    /// @notice A Groth16 proof in the layout the generated verifiers take.
    struct ZkProof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice A public signal is not below the BN254 field modulus.
    error PublicSignalOutOfField(uint256 index, uint256 value);
    /// @notice The verifier's code is not the code the model version pinned.
    error VerifierCodeChanged(address verifier, bytes32 pinned, bytes32 actual);
    /// @notice The verifier rejected the proof.
    error InvalidProof();

    /// @notice Settle a request with a zk proof. The proof is bound to `msg.sender`, who is credited the operator's
    /// share; no stake is needed, since the proof carries the trust.
    /// @param request The request exactly as committed.
    /// @param requestId The request's id.
    /// @param output The result (public signal 0); delivered as `abi.encode(output)`.
    /// @param proof The Groth16 proof.
    function fulfillZk(
        IInferenceSettlement.Request calldata request,
        uint256 requestId,
        uint256 output,
        ZkProof calldata proof
    ) external;

    /// @notice The public signal that binds a proof to one request and one submitter:
    /// `uint256(keccak256(abi.encode(block.chainid, address(this), requestId, submitter))) >> 3`.
    /// @param requestId The request.
    /// @param submitter Who submits the proof.
    /// @return The binding.
    function zkBinding(uint256 requestId, address submitter) external view returns (uint256);

    /// @notice The model registry zk bindings are read from.
    /// @return The registry.
    function models() external view returns (IModelRegistry);
}
