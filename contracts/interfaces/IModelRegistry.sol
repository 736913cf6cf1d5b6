// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Model registry interface
/// @notice A model version is an immutable commitment to the bytes of a model file and the runtime that
/// executes it. Its id is derived from that content, so one id can never mean other bytes; a changed
/// model is a new version, visibly. Versions are grouped in families named under their owner.
interface IModelRegistry {
    /// @notice Life cycle of a version. Only `Active` accepts new requests; `Revoked` also stops
    /// fulfilment of pending requests, which become refundable at once.
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
    struct ModelSpec {
        string name;
        bytes32 fileHash;
        bytes32 runtimeHash;
        bytes32 zkCommitment;
        address zkVerifier;
        string uri;
        uint96 fee;
        uint16 royaltyBps;
        uint8 modes;
    }

    /// @notice A registered version as stored. Slot 0 (owner, fee) and slot 1 (terms, status, gate kind, zk
    /// verifier) are what settlement reads; the gate's minimum balance is read only for min-balance gates.
    struct ModelVersion {
        address owner;
        uint96 fee;
        uint16 royaltyBps;
        uint8 modes;
        ModelStatus status;
        GateKind gate;
        uint40 registeredAt;
        address zkVerifier;
        uint96 gateMinBalance;
        bytes32 familyId;
        bytes32 fileHash;
        bytes32 runtimeHash;
        bytes32 zkCommitment;
    }

    /// @notice A family of versions: its owner, its number of versions and the version it recommends.
    struct Family {
        address owner;
        uint32 versionCount;
        bytes32 latest;
    }

    /// @notice A version was registered. `spec` holds everything needed to recompute its id.
    event ModelRegistered(bytes32 indexed modelId, bytes32 indexed familyId, address indexed owner, ModelSpec spec);
    /// @notice The family's recommended version changed.
    event LatestVersionSet(bytes32 indexed familyId, bytes32 indexed modelId);
    /// @notice A version's status changed.
    event ModelStatusChanged(bytes32 indexed modelId, ModelStatus status);
    /// @notice A version's price or royalty changed (pending requests keep the terms they were opened with).
    event ModelTermsUpdated(bytes32 indexed modelId, uint96 fee, uint16 royaltyBps);
    /// @notice A version's access gate changed.
    event ModelGateUpdated(bytes32 indexed modelId, GateKind gate, uint96 minBalance);
    /// @notice An account was added to or removed from a family's allowlist.
    event AllowlistUpdated(bytes32 indexed familyId, address indexed account, bool allowed);

    /// @notice The name is empty or longer than the limit.
    error InvalidName();
    /// @notice The model file hash is zero.
    error InvalidFileHash();
    /// @notice The runtime/config hash is zero.
    error InvalidRuntimeHash();
    /// @notice `modes` is empty or has an unknown bit.
    error InvalidModes(uint8 modes);
    /// @notice The zk mode was allowed without a weight commitment and a verifier contract.
    error ZkBindingRequired();
    /// @notice The zk weight commitment is not a BN254 field element.
    error InvalidZkCommitment(bytes32 zkCommitment);
    /// @notice The royalty is above the cap.
    error RoyaltyTooHigh(uint16 royaltyBps, uint16 maxBps);
    /// @notice This exact version is already registered.
    error ModelExists(bytes32 modelId);
    /// @notice No version has this id.
    error UnknownModel(bytes32 modelId);
    /// @notice No family has this id.
    error UnknownFamily(bytes32 familyId);
    /// @notice Only the owner may do this.
    error NotModelOwner(address caller, address owner);
    /// @notice The version does not accept new requests.
    error ModelNotActive(bytes32 modelId, ModelStatus status);
    /// @notice The status change is not allowed (a revoked version stays revoked).
    error InvalidStatusTransition(ModelStatus from, ModelStatus to);
    /// @notice The version belongs to another family.
    error WrongFamily(bytes32 modelId, bytes32 familyId);
    /// @notice The requested verification mode is not one the version allows.
    error ModeNotAllowed(bytes32 modelId, uint8 mode, uint8 allowed);
    /// @notice The requester holds less OPG than the version's gate requires.
    error BalanceBelowGate(address requester, uint256 balance, uint256 required);
    /// @notice The requester is not on the family's allowlist.
    error NotAllowlisted(address requester);
    /// @notice A min-balance gate needs a positive minimum; other gates take none.
    error InvalidGate();
    /// @notice Too many accounts in one allowlist update.
    error BatchTooLarge(uint256 length, uint256 max);

    /// @notice Register a new version in the caller's family `spec.name` (created on first use) and make
    /// it the family's latest.
    /// @param spec The commitment (file hash, runtime hash, optional zk binding), location and terms.
    /// @return modelId The content-derived id of the version.
    function registerModel(ModelSpec calldata spec) external returns (bytes32 modelId);

    /// @notice Point the family's `latest` at one of its active versions.
    function setLatest(bytes32 familyId, bytes32 modelId) external;

    /// @notice Deprecate, reactivate or revoke a version. Revoked is final.
    function setStatus(bytes32 modelId, ModelStatus status) external;

    /// @notice Change the price and royalty for future requests.
    function setTerms(bytes32 modelId, uint96 fee, uint16 royaltyBps) external;

    /// @notice Change who may open requests for a version.
    function setGate(bytes32 modelId, GateKind gate, uint96 minBalance) external;

    /// @notice Add or remove accounts on a family's allowlist.
    function setAllowed(bytes32 familyId, address[] calldata accounts, bool allowed) external;

    /// @notice Check that `requester` may open a request in `mode` and return the terms it will pay.
    /// @dev Reverts with the reason when it may not.
    function requestTerms(
        bytes32 modelId,
        address requester,
        uint8 mode
    ) external view returns (address owner, uint96 fee, uint16 royaltyBps);

    /// @notice The status of a version (`None` when unknown).
    function statusOf(bytes32 modelId) external view returns (ModelStatus);

    /// @notice What zk settlement checks a proof against: status, weight commitment and verifier.
    function zkBindingOf(
        bytes32 modelId
    ) external view returns (ModelStatus status, bytes32 zkCommitment, address zkVerifier);

    /// @notice The full record of a version.
    function getModel(bytes32 modelId) external view returns (ModelVersion memory);

    /// @notice The record of a family.
    function getFamily(bytes32 familyId) external view returns (Family memory);

    /// @notice Whether `account` is on the family's allowlist.
    function isAllowed(bytes32 familyId, address account) external view returns (bool);

    /// @notice The id of the family `name` owned by `owner`.
    function computeFamilyId(address owner, string calldata name) external pure returns (bytes32);

    /// @notice The id a version with this content has.
    function computeModelId(
        bytes32 familyId,
        bytes32 fileHash,
        bytes32 runtimeHash,
        bytes32 zkCommitment,
        address zkVerifier
    ) external pure returns (bytes32);
}
