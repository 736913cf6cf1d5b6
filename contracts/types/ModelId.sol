// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A model version's id: `keccak256(abi.encode(familyId, fileHash, runtimeHash, zkCommitment, zkVerifier,
/// zkVerifierCodeHash))`. Derived from the content, so one id can never mean other bytes.
type ModelId is bytes32;

/// @notice A family's id: `keccak256(abi.encode(owner, name))`, so names are namespaced by their owner.
type FamilyId is bytes32;

using {eqModelId as ==, neModelId as !=} for ModelId global;
using {eqFamilyId as ==, neFamilyId as !=} for FamilyId global;

/// @notice Whether two model ids are equal.
function eqModelId(ModelId a, ModelId b) pure returns (bool) {
    return ModelId.unwrap(a) == ModelId.unwrap(b);
}

/// @notice Whether two model ids differ.
function neModelId(ModelId a, ModelId b) pure returns (bool) {
    return ModelId.unwrap(a) != ModelId.unwrap(b);
}

/// @notice Whether two family ids are equal.
function eqFamilyId(FamilyId a, FamilyId b) pure returns (bool) {
    return FamilyId.unwrap(a) == FamilyId.unwrap(b);
}

/// @notice Whether two family ids differ.
function neFamilyId(FamilyId a, FamilyId b) pure returns (bool) {
    return FamilyId.unwrap(a) != FamilyId.unwrap(b);
}
