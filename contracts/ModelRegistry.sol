// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {ProtocolLimits} from "./libraries/ProtocolLimits.sol";
import {VerificationModes} from "./libraries/VerificationModes.sol";

/// @title Model registry
/// @notice Immutable commitments to model versions, grouped in owner-namespaced families.
/// @dev A version's id is `keccak256(abi.encode(familyId, fileHash, runtimeHash, zkCommitment,
/// zkVerifier))` with `familyId = keccak256(abi.encode(owner, name))`: the id cannot be re-pointed at
/// other bytes, and names cannot be squatted across owners. What can change is commercial and access
/// policy only (fee, royalty, gate, status), each with its own event. The URI is a locator, not part of
/// the identity (integrity comes from the file hash), so it is emitted rather than stored.
contract ModelRegistry is IModelRegistry {
    /// @notice Longest family name, in bytes.
    uint256 public constant MAX_NAME_LENGTH = 64;
    /// @notice Most accounts in one allowlist update.
    uint256 public constant MAX_ALLOWLIST_BATCH = 256;

    /// @notice The OPG token, read by min-balance gates.
    IERC20 public immutable token;

    mapping(bytes32 modelId => ModelVersion) private _models;
    mapping(bytes32 familyId => Family) private _families;
    mapping(bytes32 familyId => mapping(address account => bool)) private _allowed;

    /// @param token_ The OPG token.
    constructor(IERC20 token_) {
        token = token_;
    }

    /// @inheritdoc IModelRegistry
    function registerModel(ModelSpec calldata spec) external returns (bytes32 modelId) {
        uint256 nameLength = bytes(spec.name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert InvalidName();
        if (spec.fileHash == bytes32(0)) revert InvalidFileHash();
        if (spec.runtimeHash == bytes32(0)) revert InvalidRuntimeHash();
        if (!VerificationModes.isValidSet(spec.modes)) revert InvalidModes(spec.modes);
        if (
            spec.modes & VerificationModes.ZK != 0 &&
            (spec.zkCommitment == bytes32(0) || spec.zkVerifier.code.length == 0)
        ) revert ZkBindingRequired();
        if (uint256(spec.zkCommitment) >= ProtocolLimits.SNARK_SCALAR_FIELD) {
            revert InvalidZkCommitment(spec.zkCommitment);
        }
        if (spec.royaltyBps > ProtocolLimits.MAX_ROYALTY_BPS) {
            revert RoyaltyTooHigh(spec.royaltyBps, ProtocolLimits.MAX_ROYALTY_BPS);
        }

        bytes32 familyId = _familyId(msg.sender, spec.name);
        modelId = _modelId(familyId, spec.fileHash, spec.runtimeHash, spec.zkCommitment, spec.zkVerifier);
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
        if (spec.zkVerifier != address(0)) model.zkVerifier = spec.zkVerifier;

        Family storage family = _families[familyId];
        if (family.owner == address(0)) family.owner = msg.sender;
        ++family.versionCount;
        family.latest = modelId;

        emit ModelRegistered(modelId, familyId, msg.sender, spec);
        emit LatestVersionSet(familyId, modelId);
    }

    /// @inheritdoc IModelRegistry
    function setLatest(bytes32 familyId, bytes32 modelId) external {
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
    function setStatus(bytes32 modelId, ModelStatus status) external {
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
    function setTerms(bytes32 modelId, uint96 fee, uint16 royaltyBps) external {
        ModelVersion storage model = _ownedModel(modelId);
        if (royaltyBps > ProtocolLimits.MAX_ROYALTY_BPS) {
            revert RoyaltyTooHigh(royaltyBps, ProtocolLimits.MAX_ROYALTY_BPS);
        }
        model.fee = fee;
        model.royaltyBps = royaltyBps;
        emit ModelTermsUpdated(modelId, fee, royaltyBps);
    }

    /// @inheritdoc IModelRegistry
    function setGate(bytes32 modelId, GateKind gate, uint96 minBalance) external {
        ModelVersion storage model = _ownedModel(modelId);
        if ((gate == GateKind.MinBalance) != (minBalance != 0)) revert InvalidGate();
        model.gate = gate;
        model.gateMinBalance = minBalance;
        emit ModelGateUpdated(modelId, gate, minBalance);
    }

    /// @inheritdoc IModelRegistry
    function setAllowed(bytes32 familyId, address[] calldata accounts, bool allowed) external {
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
        bytes32 modelId,
        address requester,
        uint8 mode
    ) external view returns (address owner, uint96 fee, uint16 royaltyBps) {
        ModelVersion storage model = _models[modelId];
        ModelStatus status = model.status;
        if (status != ModelStatus.Active) {
            if (status == ModelStatus.None) revert UnknownModel(modelId);
            revert ModelNotActive(modelId, status);
        }
        if (!VerificationModes.isSingle(mode) || model.modes & mode == 0) {
            revert ModeNotAllowed(modelId, mode, model.modes);
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
    function statusOf(bytes32 modelId) external view returns (ModelStatus) {
        return _models[modelId].status;
    }

    /// @inheritdoc IModelRegistry
    function zkBindingOf(
        bytes32 modelId
    ) external view returns (ModelStatus status, bytes32 zkCommitment, address zkVerifier) {
        ModelVersion storage model = _models[modelId];
        return (model.status, model.zkCommitment, model.zkVerifier);
    }

    /// @inheritdoc IModelRegistry
    function getModel(bytes32 modelId) external view returns (ModelVersion memory) {
        ModelVersion memory model = _models[modelId];
        if (model.status == ModelStatus.None) revert UnknownModel(modelId);
        return model;
    }

    /// @inheritdoc IModelRegistry
    function getFamily(bytes32 familyId) external view returns (Family memory) {
        Family memory family = _families[familyId];
        if (family.owner == address(0)) revert UnknownFamily(familyId);
        return family;
    }

    /// @inheritdoc IModelRegistry
    function isAllowed(bytes32 familyId, address account) external view returns (bool) {
        return _allowed[familyId][account];
    }

    /// @inheritdoc IModelRegistry
    function computeFamilyId(address owner, string calldata name) external pure returns (bytes32) {
        return _familyId(owner, name);
    }

    /// @inheritdoc IModelRegistry
    function computeModelId(
        bytes32 familyId,
        bytes32 fileHash,
        bytes32 runtimeHash,
        bytes32 zkCommitment,
        address zkVerifier
    ) external pure returns (bytes32) {
        return _modelId(familyId, fileHash, runtimeHash, zkCommitment, zkVerifier);
    }

    function _ownedModel(bytes32 modelId) private view returns (ModelVersion storage model) {
        model = _models[modelId];
        if (model.status == ModelStatus.None) revert UnknownModel(modelId);
        if (model.owner != msg.sender) revert NotModelOwner(msg.sender, model.owner);
    }

    function _familyId(address owner, string calldata name) private pure returns (bytes32) {
        return keccak256(abi.encode(owner, name));
    }

    function _modelId(
        bytes32 familyId,
        bytes32 fileHash,
        bytes32 runtimeHash,
        bytes32 zkCommitment,
        address zkVerifier
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(familyId, fileHash, runtimeHash, zkCommitment, zkVerifier));
    }
}
