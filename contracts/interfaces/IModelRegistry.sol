// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {FamilyId, ModelId} from "../types/ModelId.sol";
import {Mode, ModeSet} from "../types/Mode.sol";
import {IProtocolErrors} from "./IProtocolErrors.sol";

/// @title Model registry interface
/// @notice A model version is an immutable commitment to the bytes of a model file, the runtime that executes it and,
/// optionally, a zk binding (weight commitment, verifier address and the verifier's code hash). Its id is derived from
/// that content, so one id can never mean other bytes; a changed model is a new version, visibly. Versions are grouped
/// in families named under their owner.
interface IModelRegistry is IProtocolErrors {
    /// @notice Life cycle of a version. Only `Active` accepts new requests; `Revoked` also stops fulfilment of pending
    /// requests, which become refundable at once.
    enum ModelStatus {
        None,
        Active,
        Deprecated,
        Revoked
    }

    /// @notice Who may open requests for a version.
    enum GateKind {
        None,
        MinBalance,
        Allowlist
    }

    /// @notice What a caller supplies to register a version.
    /// @param name The family name (created under the caller on first use).
    /// @param fileHash sha256 of the model file.
    /// @param runtimeHash Hash of the runtime descriptor (runtime, version, encodings).
    /// @param zkCommitment Poseidon commitment to the quantized weights (zero without a zk binding).
    /// @param zkVerifier Groth16 verifier of the model's circuit (zero without a zk binding).
    /// @param zkVerifierCodeHash The verifier's code hash (`extcodehash`), checked at registration and at every proof.
    /// @param uri Where the model file can be read (emitted, not stored).
    /// @param fee Fee per request, in OPG base units.
    /// @param royaltyBps The owner's share of each fee.
    /// @param modes The verification modes requests may use.
    struct ModelSpec {
        string name;
        bytes32 fileHash;
        bytes32 runtimeHash;
        bytes32 zkCommitment;
        address zkVerifier;
        bytes32 zkVerifierCodeHash;
        string uri;
        uint96 fee;
        uint16 royaltyBps;
        ModeSet modes;
    }

    /// @notice A registered version as stored. Slot 0 (owner, fee) and slot 1 (terms, status, gate kind, zk verifier)
    /// are what opening a request reads; the gate's minimum balance is read only for min-balance gates.
    struct ModelVersion {
        address owner;
        uint96 fee;
        uint16 royaltyBps;
        ModeSet modes;
        ModelStatus status;
        GateKind gate;
        uint40 registeredAt;
        address zkVerifier;
        uint96 gateMinBalance;
        FamilyId familyId;
        bytes32 fileHash;
        bytes32 runtimeHash;
        bytes32 zkCommitment;
        bytes32 zkVerifierCodeHash;
    }

    /// @notice A family of versions: its owner, its number of versions and the version it recommends.
    struct Family {
        address owner;
        uint32 versionCount;
        ModelId latest;
    }

    /// @notice A version was registered. `spec` holds everything needed to recompute its id.
    event ModelRegistered(ModelId indexed modelId, FamilyId indexed familyId, address indexed owner, ModelSpec spec);
    /// @notice The family's recommended version changed.
    event LatestVersionSet(FamilyId indexed familyId, ModelId indexed modelId);
    /// @notice A version's status changed.
    event ModelStatusChanged(ModelId indexed modelId, ModelStatus status);
    /// @notice A version's price or royalty changed (pending requests keep the terms they were opened with).
    event ModelTermsUpdated(ModelId indexed modelId, uint96 fee, uint16 royaltyBps);
    /// @notice A version's access gate changed.
    event ModelGateUpdated(ModelId indexed modelId, GateKind gate, uint96 minBalance);
    /// @notice An account was added to or removed from a family's allowlist.
    event AllowlistUpdated(FamilyId indexed familyId, address indexed account, bool allowed);

    /// @notice The name is empty or longer than the limit.
    error InvalidName();
    /// @notice The model file hash is zero.
    error InvalidFileHash();
    /// @notice The runtime/config hash is zero.
    error InvalidRuntimeHash();
    /// @notice `modes` is empty.
    error InvalidModes(ModeSet modes);
    /// @notice The zk mode was allowed without a weight commitment and a verifier contract.
    error ZkBindingRequired();
    /// @notice The zk weight commitment is not a BN254 field element.
    error InvalidZkCommitment(bytes32 zkCommitment);
    /// @notice The stated verifier code hash is not the verifier's (or one was given without a verifier).
    error VerifierCodeHashMismatch(address verifier, bytes32 stated, bytes32 actual);
    /// @notice The verifier's code has an opcode that could change its answers without changing its code (a proxy's
    /// `DELEGATECALL`, a storage read, block context, ...): see `PureBytecode`.
    error VerifierNotPure(address verifier, uint256 offset, uint8 opcode);
    /// @notice The royalty is above the cap.
    error RoyaltyTooHigh(uint16 royaltyBps, uint16 maxBps);
    /// @notice This exact version is already registered.
    error ModelExists(ModelId modelId);
    /// @notice No version has this id.
    error UnknownModel(ModelId modelId);
    /// @notice No family has this id.
    error UnknownFamily(FamilyId familyId);
    /// @notice Only the owner may do this.
    error NotModelOwner(address caller, address owner);
    /// @notice The version does not accept new requests.
    error ModelNotActive(ModelId modelId, ModelStatus status);
    /// @notice The status change is not allowed (a revoked version stays revoked).
    error InvalidStatusTransition(ModelStatus from, ModelStatus to);
    /// @notice The version belongs to another family.
    error WrongFamily(ModelId modelId, FamilyId familyId);
    /// @notice The requested verification mode is not one the version allows.
    error ModeNotAllowed(ModelId modelId, Mode mode, ModeSet allowed);
    /// @notice The requester holds less OPG than the version's gate requires.
    error BalanceBelowGate(address requester, uint256 balance, uint256 required);
    /// @notice The requester is not on the family's allowlist.
    error NotAllowlisted(address requester);
    /// @notice A min-balance gate needs a positive minimum; other gates take none.
    error InvalidGate();
    /// @notice Too many accounts in one allowlist update.
    error BatchTooLarge(uint256 length, uint256 max);
    /// @notice A zk request's input commitment is not a BN254 field element, so no proof could ever settle it.
    error InputNotInField(bytes32 inputHash);

    /// @notice Register a new version in the caller's family `spec.name` (created on first use) and make it the
    /// family's latest.
    /// @param spec The commitment (file hash, runtime hash, optional zk binding), location and terms.
    /// @return modelId The content-derived id of the version.
    function registerModel(ModelSpec calldata spec) external returns (ModelId modelId);

    /// @notice Point the family's `latest` at one of its active versions.
    /// @param familyId The family (owned by the caller).
    /// @param modelId One of its active versions.
    function setLatest(FamilyId familyId, ModelId modelId) external;

    /// @notice Deprecate, reactivate or revoke a version. Revoked is final.
    /// @param modelId The version (owned by the caller).
    /// @param status The new status.
    function setStatus(ModelId modelId, ModelStatus status) external;

    /// @notice Change the price and royalty for future requests.
    /// @param modelId The version (owned by the caller).
    /// @param fee The new fee.
    /// @param royaltyBps The new royalty.
    function setTerms(ModelId modelId, uint96 fee, uint16 royaltyBps) external;

    /// @notice Change who may open requests for a version.
    /// @param modelId The version (owned by the caller).
    /// @param gate The gate kind.
    /// @param minBalance The minimum OPG balance for a min-balance gate (zero otherwise).
    function setGate(ModelId modelId, GateKind gate, uint96 minBalance) external;

    /// @notice Add or remove accounts on a family's allowlist.
    /// @param familyId The family (owned by the caller).
    /// @param accounts At most `MAX_ALLOWLIST_BATCH` accounts.
    /// @param allowed Whether they are allowed.
    function setAllowed(FamilyId familyId, address[] calldata accounts, bool allowed) external;

    /// @notice Check that `requester` may open a request for `inputHash` in `mode` and return the terms it will pay.
    /// @dev Reverts with the reason when it may not.
    /// @param modelId The version.
    /// @param requester Who opens the request.
    /// @param mode The verification mode.
    /// @param inputHash The committed input (a field element in zk mode).
    /// @return owner The model owner (receives the royalty).
    /// @return fee The fee.
    /// @return royaltyBps The royalty.
    function requestTerms(
        ModelId modelId,
        address requester,
        Mode mode,
        bytes32 inputHash
    ) external view returns (address owner, uint96 fee, uint16 royaltyBps);

    /// @notice The status of a version (`None` when unknown).
    /// @param modelId The version.
    /// @return The status.
    function statusOf(ModelId modelId) external view returns (ModelStatus);

    /// @notice What a zk proof is checked against: the weight commitment, the verifier and its pinned code hash.
    /// @param modelId The version.
    /// @return zkCommitment The weight commitment.
    /// @return zkVerifier The verifier.
    /// @return zkVerifierCodeHash The verifier's code hash at registration (part of the model id).
    function zkBindingOf(
        ModelId modelId
    ) external view returns (bytes32 zkCommitment, address zkVerifier, bytes32 zkVerifierCodeHash);

    /// @notice The full record of a version.
    /// @param modelId The version.
    /// @return The record.
    function getModel(ModelId modelId) external view returns (ModelVersion memory);

    /// @notice The record of a family.
    /// @param familyId The family.
    /// @return The record.
    function getFamily(FamilyId familyId) external view returns (Family memory);

    /// @notice Whether `account` is on the family's allowlist.
    /// @param familyId The family.
    /// @param account The account.
    /// @return Whether it is allowed.
    function isAllowed(FamilyId familyId, address account) external view returns (bool);

    /// @notice The OPG token min-balance gates read.
    /// @return The token.
    function token() external view returns (IERC20);

    /// @notice The id of the family `name` owned by `owner`.
    /// @param owner The owner.
    /// @param name The name.
    /// @return The family id.
    function computeFamilyId(address owner, string calldata name) external pure returns (FamilyId);

    /// @notice The id a version with this content has.
    /// @param familyId The family.
    /// @param fileHash sha256 of the model file.
    /// @param runtimeHash The runtime descriptor's hash.
    /// @param zkCommitment The weight commitment (zero for none).
    /// @param zkVerifier The verifier (zero for none).
    /// @param zkVerifierCodeHash The verifier's code hash (zero for none).
    /// @return The model id.
    function computeModelId(
        FamilyId familyId,
        bytes32 fileHash,
        bytes32 runtimeHash,
        bytes32 zkCommitment,
        address zkVerifier,
        bytes32 zkVerifierCodeHash
    ) external pure returns (ModelId);
}
