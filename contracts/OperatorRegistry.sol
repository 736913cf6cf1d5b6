// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IInferenceSettlement} from "./interfaces/IInferenceSettlement.sol";
import {IOperatorRegistry} from "./interfaces/IOperatorRegistry.sol";
import {ProtocolLimits} from "./libraries/ProtocolLimits.sol";

/// @title Operator registry
/// @notice Staked operators and their signing keys. Governance (the owner) sets the minimum stake and
/// the unbonding delay; the settlement contract, bound once, is the only account that can slash.
/// @dev Token conservation: `token.balanceOf(this) == Σ (stake + unbonding)` over all operators. A signing key is
/// registered only with its own signature over `SignerBinding(operator, signer)` under this registry's EIP-712 domain
/// (chain id and address), so nobody can claim a key they do not hold, and a key's owner cannot be front-run out of it.
contract OperatorRegistry is IOperatorRegistry, EIP712, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice Longest unbonding delay governance can set.
    uint64 public constant MAX_UNBONDING_DELAY = ProtocolLimits.MAX_UNBONDING_DELAY;
    /// @inheritdoc IOperatorRegistry
    uint256 public constant MAX_ENDPOINT_BYTES = 256;
    /// @notice EIP-712 type a signing key signs to prove possession.
    bytes32 public constant SIGNER_BINDING_TYPEHASH = keccak256("SignerBinding(address operator,address signer)");

    /// @inheritdoc IOperatorRegistry
    IERC20 public immutable token;

    /// @notice The settlement contract: the only slasher. Shares a slot with the minimum stake, which is
    /// all that the eligibility check reads besides the operator's own record.
    address public settlement;
    uint96 private _minStake;
    /// @notice Delay between `unbond` and `withdrawUnbonded`.
    uint64 public unbondingDelay;

    mapping(address operator => Operator) private _operators;
    mapping(address signer => SignerRecord) private _signers;
    mapping(address operator => string url) private _endpoints;

    /// @param token_ The OPG token.
    /// @param governance The owner (governance).
    /// @param minStake_ Minimum active stake to serve.
    /// @param unbondingDelay_ Delay before unbonded stake can be withdrawn.
    constructor(
        IERC20 token_,
        address governance,
        uint256 minStake_,
        uint64 unbondingDelay_
    ) EIP712("OPG Operator Registry", "1") Ownable(governance) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        _setMinStake(minStake_);
        _setUnbondingDelay(unbondingDelay_);
    }

    /// @notice Restricts a function to the bound settlement contract.
    modifier onlySettlement() {
        if (msg.sender != settlement) revert NotSettlement(msg.sender);
        _;
    }

    /// @inheritdoc IOperatorRegistry
    function register(address signer, address payout, uint256 amount, bytes calldata signerProof) external {
        Operator storage op = _operators[msg.sender];
        if (op.signer != address(0)) revert AlreadyRegistered(msg.sender);
        if (signer == address(0) || payout == address(0)) revert ZeroAddress();
        _claimSigner(signer, signerProof);
        op.signer = signer;
        op.payout = payout;
        emit OperatorRegistered(msg.sender, signer, payout);
        if (amount != 0) _stake(op, amount);
    }

    /// @inheritdoc IOperatorRegistry
    function stake(uint256 amount) external {
        _stake(_registered(msg.sender), amount);
    }

    /// @inheritdoc IOperatorRegistry
    function rotateSigner(address newSigner, bytes calldata signerProof) external {
        Operator storage op = _registered(msg.sender);
        if (newSigner == address(0)) revert ZeroAddress();
        _claimSigner(newSigner, signerProof);
        address oldSigner = op.signer;
        op.signer = newSigner;
        // The old key stays mapped to this operator (it is never reused) but remembers its retirement: evidence it
        // signed counts only for requests opened before now. Without a bound settlement no request exists yet.
        SignerRecord storage retired = _signers[oldSigner];
        retired.retiredAt = uint64(block.timestamp);
        address settlement_ = settlement;
        if (settlement_ != address(0)) {
            retired.retiredAtRequest = IInferenceSettlement(settlement_).nextRequestId();
        }
        emit SignerRotated(msg.sender, oldSigner, newSigner);
    }

    /// @inheritdoc IOperatorRegistry
    function setPayout(address payout) external {
        Operator storage op = _registered(msg.sender);
        if (payout == address(0)) revert ZeroAddress();
        op.payout = payout;
        emit PayoutChanged(msg.sender, payout);
    }

    /// @inheritdoc IOperatorRegistry
    function setEndpoint(string calldata url) external {
        _registered(msg.sender);
        uint256 length = bytes(url).length;
        if (length > MAX_ENDPOINT_BYTES) revert EndpointTooLong(length, MAX_ENDPOINT_BYTES);
        _endpoints[msg.sender] = url;
        emit EndpointSet(msg.sender, url);
    }

    /// @inheritdoc IOperatorRegistry
    function unbond(uint256 amount) external {
        Operator storage op = _registered(msg.sender);
        if (amount == 0) revert InvalidAmount();
        uint256 active = op.stake;
        if (amount > active) revert InsufficientStake(active, amount);
        // Never earlier than an unbonding already under way: lowering the delay cannot free stake early.
        uint64 end = uint64(block.timestamp) + unbondingDelay;
        if (end < op.unbondingEnd) end = op.unbondingEnd;
        uint96 unbonding = op.unbonding + uint96(amount);
        op.stake = uint96(active - amount);
        op.unbonding = unbonding;
        op.unbondingEnd = end;
        emit UnbondingStarted(msg.sender, amount, unbonding, end);
    }

    /// @inheritdoc IOperatorRegistry
    function withdrawUnbonded(address to) external {
        Operator storage op = _registered(msg.sender);
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = op.unbonding;
        if (amount == 0) revert NothingUnbonding();
        if (block.timestamp < op.unbondingEnd) revert StillUnbonding(op.unbondingEnd);
        op.unbonding = 0;
        op.unbondingEnd = 0;
        emit Unbonded(msg.sender, to, amount);
        token.safeTransfer(to, amount);
    }

    /// @inheritdoc IOperatorRegistry
    function slash(
        address operator,
        uint256 amount,
        address recipient
    ) external onlySettlement returns (uint256 slashed) {
        Operator storage op = _registered(operator);
        if (recipient == address(0)) revert ZeroAddress();
        uint256 active = op.stake;
        uint256 unbonding = op.unbonding;
        uint256 fromActive = amount < active ? amount : active;
        uint256 rest = amount - fromActive;
        uint256 fromUnbonding = rest < unbonding ? rest : unbonding;
        slashed = fromActive + fromUnbonding;
        if (slashed == 0) return 0;
        op.stake = uint96(active - fromActive);
        op.unbonding = uint96(unbonding - fromUnbonding);
        emit Slashed(operator, slashed, recipient);
        token.safeTransfer(recipient, slashed);
    }

    /// @notice Bind the settlement contract, the only account allowed to slash. Callable once.
    function bindSettlement(address settlement_) external onlyOwner {
        if (settlement != address(0)) revert SettlementAlreadyBound();
        if (settlement_ == address(0)) revert ZeroAddress();
        settlement = settlement_;
        emit SettlementBound(settlement_);
    }

    /// @notice Set the minimum active stake to serve. Operators below it stop serving at once.
    function setMinStake(uint256 minStake_) external onlyOwner {
        _setMinStake(minStake_);
    }

    /// @notice Set the unbonding delay for unbondings started from now on.
    function setUnbondingDelay(uint64 delay) external onlyOwner {
        _setUnbondingDelay(delay);
    }

    /// @notice Disabled: governance can be handed over (in two steps) but never dropped, so the minimum stake and
    /// the unbonding delay stay adjustable.
    function renounceOwnership() public pure override {
        revert RenounceDisabled();
    }

    /// @inheritdoc IOperatorRegistry
    function payoutFor(address operator, address signer) external view returns (address payout) {
        Operator storage op = _operators[operator];
        address current = op.signer;
        if (current == address(0)) revert UnknownOperator(operator);
        if (current != signer) revert SignerMismatch(operator, signer);
        uint256 active = op.stake;
        uint256 min = _minStake;
        if (active < min) revert StakeBelowMinimum(operator, active, min);
        return op.payout;
    }

    /// @inheritdoc IOperatorRegistry
    function operatorOfSigner(address signer) external view returns (address) {
        return _signers[signer].operator;
    }

    /// @inheritdoc IOperatorRegistry
    function signerRecord(address signer) external view returns (SignerRecord memory) {
        return _signers[signer];
    }

    /// @inheritdoc IOperatorRegistry
    function signerBindingDigest(address operator, address signer) external view returns (bytes32) {
        return _signerBindingDigest(operator, signer);
    }

    /// @inheritdoc IOperatorRegistry
    function endpoint(address operator) external view returns (string memory) {
        return _endpoints[operator];
    }

    /// @inheritdoc IOperatorRegistry
    function getOperator(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    /// @inheritdoc IOperatorRegistry
    function isEligible(address operator) external view returns (bool) {
        Operator storage op = _operators[operator];
        return op.signer != address(0) && op.stake >= _minStake;
    }

    /// @inheritdoc IOperatorRegistry
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    function _stake(Operator storage op, uint256 amount) private {
        // Stake plus unbonding always fits in 96 bits, so `unbond` can never overflow.
        if (amount == 0 || amount > type(uint96).max - op.stake - op.unbonding) revert InvalidAmount();
        uint96 newStake = op.stake + uint96(amount);
        op.stake = newStake;
        emit Staked(msg.sender, amount, newStake);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _claimSigner(address signer, bytes calldata proof) private {
        if (_signers[signer].operator != address(0)) revert SignerAlreadyUsed(signer);
        (address recovered, ECDSA.RecoverError recoverError, ) = ECDSA.tryRecoverCalldata(
            _signerBindingDigest(msg.sender, signer),
            proof
        );
        if (recoverError != ECDSA.RecoverError.NoError) revert InvalidSignature();
        if (recovered != signer) revert SignerProofInvalid(signer, recovered);
        _signers[signer].operator = msg.sender;
    }

    function _signerBindingDigest(address operator, address signer) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(SIGNER_BINDING_TYPEHASH, operator, signer)));
    }

    function _registered(address operator) private view returns (Operator storage op) {
        op = _operators[operator];
        if (op.signer == address(0)) revert UnknownOperator(operator);
    }

    function _setMinStake(uint256 minStake_) private {
        if (minStake_ == 0 || minStake_ > type(uint96).max) revert InvalidMinStake();
        _minStake = uint96(minStake_);
        emit MinStakeSet(minStake_);
    }

    function _setUnbondingDelay(uint64 delay) private {
        if (delay > MAX_UNBONDING_DELAY) revert UnbondingDelayTooLong(delay, MAX_UNBONDING_DELAY);
        unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }
}
