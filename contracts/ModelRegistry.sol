// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {ProtocolLimits} from "./libraries/ProtocolLimits.sol";
import {PureBytecode} from "./libraries/PureBytecode.sol";
import {VerificationModes} from "./libraries/VerificationModes.sol";
import {FamilyId, ModelId} from "./types/ModelId.sol";
import {Mode} from "./types/Mode.sol";

/// @title Model registry
/// @notice Immutable commitments to model versions, grouped in owner-namespaced families.
/// @dev A version's id is `keccak256(abi.encode(familyId, fileHash, runtimeHash, zkCommitment, zkVerifier,
/// zkVerifierCodeHash))` with `familyId = keccak256(abi.encode(owner, name))`: the id cannot be re-pointed at other
/// bytes, another verifier or other verifier code, and names cannot be squatted across owners. A verifier must be pure
/// (no state, no delegation: `PureBytecode`), so its pinned code hash pins what it accepts. What can change is
/// commercial and access policy only (fee, royalty, gate, status), each with its own event. The URI is a locator, not
/// part of the identity (integrity comes from the file hash), so it is emitted rather than stored.
contract ModelRegistry is IModelRegistry {
    /// @notice Longest family name, in bytes.
    uint256 public constant MAX_NAME_LENGTH = ProtocolLimits.MAX_NAME_LENGTH;
    /// @notice Most accounts in one allowlist update.
    uint256 public constant MAX_ALLOWLIST_BATCH = ProtocolLimits.MAX_ALLOWLIST_BATCH;

    /// @inheritdoc IModelRegistry
    IERC20 public immutable token;

    mapping(ModelId modelId => ModelVersion) private _models;
    mapping(FamilyId familyId => Family) private _families;
    mapping(FamilyId familyId => mapping(address account => bool)) private _allowed;

    /// @param token_ The OPG token.
    constructor(IERC20 token_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
    }

    /// @inheritdoc IModelRegistry
    function registerModel(ModelSpec calldata spec) external returns (ModelId modelId) {
        _checkSpec(spec);
        FamilyId familyId = _familyId(msg.sender, spec.name);
        modelId = _modelId(
            familyId,
            spec.fileHash,
            spec.runtimeHash,
            spec.zkCommitment,
            spec.zkVerifier,
            spec.zkVerifierCodeHash
        );
        ModelVersion storage model = _models[modelId];
        if (model.status != ModelStatus.None) revert ModelExists(modelId);

        model.owner = msg.sender;
        model.fee = spec.fee;
        model.royaltyBps = spec.royaltyBps;
        model.modes = spec.modes;
        model.status = ModelStatus.Active;
        model.registeredAt = uint40(block.timestamp);
        model.familyId = familyId;
        model.fileHash = spec.fileHash;
        model.runtimeHash = spec.runtimeHash;
        if (spec.zkCommitment != bytes32(0)) model.zkCommitment = spec.zkCommitment;
        if (spec.zkVerifier != address(0)) {
            model.zkVerifier = spec.zkVerifier;
            model.zkVerifierCodeHash = spec.zkVerifierCodeHash;
        }

        Family storage family = _families[familyId];
        if (family.owner == address(0)) family.owner = msg.sender;
        ++family.versionCount;
        family.latest = modelId;

        emit ModelRegistered(modelId, familyId, msg.sender, spec);
        emit LatestVersionSet(familyId, modelId);
    }

    /// @inheritdoc IModelRegistry
    function setLatest(FamilyId familyId, ModelId modelId) external {
        Family storage family = _families[familyId];
        if (family.owner == address(0)) revert UnknownFamily(familyId);
        if (family.owner != msg.sender) revert NotModelOwner(msg.sender, family.owner);
        ModelVersion storage model = _models[modelId];
        if (model.status == ModelStatus.None) revert UnknownModel(modelId);
        if (model.familyId != familyId) revert WrongFamily(modelId, familyId);
        if (model.status != ModelStatus.Active) revert ModelNotActive(modelId, model.status);
        family.latest = modelId;
        emit LatestVersionSet(familyId, modelId);
    }

    /// @inheritdoc IModelRegistry
    function setStatus(ModelId modelId, ModelStatus status) external {
        ModelVersion storage model = _ownedModel(modelId);
        ModelStatus current = model.status;
        // Active <-> Deprecated freely; either -> Revoked; nothing leaves Revoked; None is never set.
        if (current == ModelStatus.Revoked || status == ModelStatus.None || status == current) {
            revert InvalidStatusTransition(current, status);
        }
        model.status = status;
        emit ModelStatusChanged(modelId, status);
    }

    /// @inheritdoc IModelRegistry
    function setTerms(ModelId modelId, uint96 fee, uint16 royaltyBps) external {
        ModelVersion storage model = _ownedModel(modelId);
        if (royaltyBps > ProtocolLimits.MAX_ROYALTY_BPS) {
            revert RoyaltyTooHigh(royaltyBps, ProtocolLimits.MAX_ROYALTY_BPS);
        }
        model.fee = fee;
        model.royaltyBps = royaltyBps;
        emit ModelTermsUpdated(modelId, fee, royaltyBps);
    }

    /// @inheritdoc IModelRegistry
    function setGate(ModelId modelId, GateKind gate, uint96 minBalance) external {
        ModelVersion storage model = _ownedModel(modelId);
        if ((gate == GateKind.MinBalance) != (minBalance != 0)) revert InvalidGate();
        model.gate = gate;
        model.gateMinBalance = minBalance;
        emit ModelGateUpdated(modelId, gate, minBalance);
    }

    /// @inheritdoc IModelRegistry
    function setAllowed(FamilyId familyId, address[] calldata accounts, bool allowed) external {
        address owner = _families[familyId].owner;
        if (owner == address(0)) revert UnknownFamily(familyId);
        if (owner != msg.sender) revert NotModelOwner(msg.sender, owner);
        uint256 length = accounts.length;
        if (length > MAX_ALLOWLIST_BATCH) revert BatchTooLarge(length, MAX_ALLOWLIST_BATCH);
        mapping(address => bool) storage list = _allowed[familyId];
        for (uint256 i; i < length; ++i) {
            list[accounts[i]] = allowed;
            emit AllowlistUpdated(familyId, accounts[i], allowed);
        }
    }

    /// @inheritdoc IModelRegistry
    function requestTerms(
        ModelId modelId,
        address requester,
        Mode mode,
        bytes32 inputHash
    ) external view returns (address owner, uint96 fee, uint16 royaltyBps) {
        ModelVersion storage model = _models[modelId];
        ModelStatus status = model.status;
        if (status != ModelStatus.Active) {
            if (status == ModelStatus.None) revert UnknownModel(modelId);
            revert ModelNotActive(modelId, status);
        }
        if (!mode.isSingle() || !model.modes.contains(mode)) revert ModeNotAllowed(modelId, mode, model.modes);
        if (mode == VerificationModes.ZK && uint256(inputHash) >= ProtocolLimits.SNARK_SCALAR_FIELD) {
            revert InputNotInField(inputHash);
        }
        GateKind gate = model.gate;
        if (gate == GateKind.MinBalance) {
            uint256 balance = token.balanceOf(requester);
            if (balance < model.gateMinBalance) revert BalanceBelowGate(requester, balance, model.gateMinBalance);
        } else if (gate == GateKind.Allowlist) {
            if (!_allowed[model.familyId][requester]) revert NotAllowlisted(requester);
        }
        return (model.owner, model.fee, model.royaltyBps);
    }

    /// @inheritdoc IModelRegistry
    function statusOf(ModelId modelId) external view returns (ModelStatus) {
        return _models[modelId].status;
    }

    /// @inheritdoc IModelRegistry
    function zkBindingOf(
        ModelId modelId
    ) external view returns (bytes32 zkCommitment, address zkVerifier, bytes32 zkVerifierCodeHash) {
        ModelVersion storage model = _models[modelId];
        return (model.zkCommitment, model.zkVerifier, model.zkVerifierCodeHash);
    }

    /// @inheritdoc IModelRegistry
    function getModel(ModelId modelId) external view returns (ModelVersion memory) {
        ModelVersion memory model = _models[modelId];
        if (model.status == ModelStatus.None) revert UnknownModel(modelId);
        return model;
    }

    /// @inheritdoc IModelRegistry
    function getFamily(FamilyId familyId) external view returns (Family memory) {
        Family memory family = _families[familyId];
        if (family.owner == address(0)) revert UnknownFamily(familyId);
        return family;
    }

    /// @inheritdoc IModelRegistry
    function isAllowed(FamilyId familyId, address account) external view returns (bool) {
        return _allowed[familyId][account];
    }

    /// @inheritdoc IModelRegistry
    function computeFamilyId(address owner, string calldata name) external pure returns (FamilyId) {
        return _familyId(owner, name);
    }

    /// @inheritdoc IModelRegistry
    function computeModelId(
        FamilyId familyId,
        bytes32 fileHash,
        bytes32 runtimeHash,
        bytes32 zkCommitment,
        address zkVerifier,
        bytes32 zkVerifierCodeHash
    ) external pure returns (ModelId) {
        return _modelId(familyId, fileHash, runtimeHash, zkCommitment, zkVerifier, zkVerifierCodeHash);
    }

    /// @dev Everything a registration must satisfy besides being new.
    function _checkSpec(ModelSpec calldata spec) private view {
        uint256 nameLength = bytes(spec.name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert InvalidName();
        if (spec.fileHash == bytes32(0)) revert InvalidFileHash();
        if (spec.runtimeHash == bytes32(0)) revert InvalidRuntimeHash();
        if (spec.modes.isEmpty()) revert InvalidModes(spec.modes);
        if (
            spec.modes.contains(VerificationModes.ZK) &&
            (spec.zkCommitment == bytes32(0) || spec.zkVerifier.code.length == 0)
        ) revert ZkBindingRequired();
        if (uint256(spec.zkCommitment) >= ProtocolLimits.SNARK_SCALAR_FIELD) {
            revert InvalidZkCommitment(spec.zkCommitment);
        }
        _checkVerifier(spec.zkVerifier, spec.zkVerifierCodeHash);
        if (spec.royaltyBps > ProtocolLimits.MAX_ROYALTY_BPS) {
            revert RoyaltyTooHigh(spec.royaltyBps, ProtocolLimits.MAX_ROYALTY_BPS);
        }
    }

    /// @dev A verifier's stated code hash must be its actual one, and its code pure; no verifier, no code hash.
    function _checkVerifier(address verifier, bytes32 stated) private view {
        if (verifier == address(0)) {
            if (stated != bytes32(0)) revert VerifierCodeHashMismatch(verifier, stated, bytes32(0));
            return;
        }
        bytes32 actual = verifier.codehash;
        if (verifier.code.length == 0 || actual != stated) revert VerifierCodeHashMismatch(verifier, stated, actual);
        (bool found, uint256 offset, uint8 opcode) = PureBytecode.firstForbidden(verifier);
        if (found) revert VerifierNotPure(verifier, offset, opcode);
    }

    function _ownedModel(ModelId modelId) private view returns (ModelVersion storage model) {
        model = _models[modelId];
        if (model.status == ModelStatus.None) revert UnknownModel(modelId);
        if (model.owner != msg.sender) revert NotModelOwner(msg.sender, model.owner);
    }

    function _familyId(address owner, string calldata name) private pure returns (FamilyId) {
        return FamilyId.wrap(keccak256(abi.encode(owner, name)));
    }

    function _modelId(
        FamilyId familyId,
        bytes32 fileHash,
        bytes32 runtimeHash,
        bytes32 zkCommitment,
        address zkVerifier,
        bytes32 zkVerifierCodeHash
    ) private pure returns (ModelId) {
        return
            ModelId.wrap(
                keccak256(abi.encode(familyId, fileHash, runtimeHash, zkCommitment, zkVerifier, zkVerifierCodeHash))
            );
    }
}
