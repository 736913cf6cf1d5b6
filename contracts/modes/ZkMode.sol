// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceProofVerifier} from "../interfaces/IInferenceProofVerifier.sol";
import {IInferenceSettlement} from "../interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IVerificationMode} from "../interfaces/IVerificationMode.sol";
import {IZkMode} from "../interfaces/IZkMode.sol";
import {ProtocolLimits} from "../libraries/ProtocolLimits.sol";
import {VerificationModes} from "../libraries/VerificationModes.sol";
import {Mode} from "../types/Mode.sol";

/// @title Zk mode
/// @notice Verifies a Groth16 proof that the committed model, run by its circuit on the committed input, gives the
/// output, and settles through the core. Holds no state: the model's weight commitment, verifier and the verifier's
/// pinned code hash come from the registry, the input commitment from the committed request.
contract ZkMode is IZkMode {
    /// @inheritdoc IVerificationMode
    IInferenceSettlement public immutable settlement;
    /// @inheritdoc IZkMode
    IModelRegistry public immutable models;

    /// @param settlement_ The settlement core (governance binds this contract to the zk bit there).
    constructor(IInferenceSettlement settlement_) {
        if (address(settlement_) == address(0)) revert ZeroAddress();
        settlement = settlement_;
        models = settlement_.models();
    }

    /// @inheritdoc IVerificationMode
    function mode() external pure returns (Mode) {
        return VerificationModes.ZK;
    }

    /// @inheritdoc IZkMode
    function fulfillZk(
        IInferenceSettlement.Request calldata request,
        uint256 requestId,
        uint256 output,
        ZkProof calldata proof
    ) external {
        (bytes32 zkCommitment, address verifier, bytes32 pinned) = models.zkBindingOf(request.modelId);
        bytes32 actual = verifier.codehash;
        if (actual != pinned) revert VerifierCodeChanged(verifier, pinned, actual);
        // The registry keeps the commitment, and opening the request the input hash, inside the field.
        if (output >= ProtocolLimits.SNARK_SCALAR_FIELD) revert PublicSignalOutOfField(0, output);
        uint256[4] memory signals = [
            output,
            uint256(zkCommitment),
            uint256(request.inputHash),
            _zkBinding(requestId, msg.sender)
        ];
        if (!IInferenceProofVerifier(verifier).verifyProof(proof.a, proof.b, proof.c, signals)) revert InvalidProof();
        _settle(output);
    }

    /// @inheritdoc IZkMode
    function zkBinding(uint256 requestId, address submitter) external view returns (uint256) {
        return _zkBinding(requestId, submitter);
    }

    /// @dev `settlement.settle(request, requestId, Result(msg.sender, keccak256(abi.encode(output)),
    /// abi.encode(output), ""), msg.sender, address(0))`, with the request and its id copied verbatim from this call's
    /// calldata (its first 13 words): the submitter is the operator and the payout, and no key signed.
    function _settle(uint256 output) private {
        address core = address(settlement);
        bytes4 selector = IInferenceSettlement.settle.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            calldatacopy(add(ptr, 0x04), 0x04, 0x1a0)
            mstore(add(ptr, 0x1a4), 0x200) // the result's offset: after the 16 head words
            mstore(add(ptr, 0x1c4), caller()) // payout
            mstore(add(ptr, 0x1e4), 0) // signer
            mstore(add(ptr, 0x204), caller()) // result.operator
            mstore(add(ptr, 0x264), output) // result.output's single word, hashed for result.outputHash
            mstore(add(ptr, 0x224), keccak256(add(ptr, 0x264), 0x20))
            mstore(add(ptr, 0x244), 0x80) // result.output's offset in the tuple
            mstore(add(ptr, 0x264), 0xc0) // result.outputUri's offset in the tuple
            mstore(add(ptr, 0x284), 0x20) // result.output's length
            mstore(add(ptr, 0x2a4), output)
            mstore(add(ptr, 0x2c4), 0) // result.outputUri's length
            if iszero(call(gas(), core, 0, ptr, 0x2e4, 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    function _zkBinding(uint256 requestId, address submitter) private view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), requestId, submitter))) >> 3;
    }
}
