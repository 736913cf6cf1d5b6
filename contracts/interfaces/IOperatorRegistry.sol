// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IProtocolErrors} from "./IProtocolErrors.sol";

/// @title Operator registry interface
/// @notice Operators stake OPG, register a signing key (with a signature by that key: proof of possession) separate
/// from their payout address, rotate it, and unbond with a delay. Stake that is unbonding stays slashable until it is
/// withdrawn. Only the settlement contract can slash. An operator whose active stake is below the minimum cannot serve.
/// A key is never reused; a rotated-out key remembers when it was retired, so evidence signed with it counts only for
/// requests opened before its retirement. A registered operator may publish the URL of its quiet-mode gateway
/// (`setEndpoint`), so clients can find it; the URL is a pointer, not a credential: clients check every answer.
interface IOperatorRegistry is IProtocolErrors {
    /// @notice An operator's record. `unbonding` becomes withdrawable at `unbondingEnd`.
    struct Operator {
        address signer;
        uint96 stake;
        address payout;
        uint96 unbonding;
        uint64 unbondingEnd;
    }

    /// @notice Whom a signing key belongs (or belonged) to, and since when it is retired.
    /// @param operator The operator the key was registered to (zero if never).
    /// @param retiredAt When it was rotated out (zero while current).
    /// @param retiredAtRequest Settlement's next request id when it was rotated out: requests with a lower id were
    /// opened while the key could sign for them.
    struct SignerRecord {
        address operator;
        uint64 retiredAt;
        uint256 retiredAtRequest;
    }

    /// @notice An operator registered its signing key and payout address.
    event OperatorRegistered(address indexed operator, address indexed signer, address payout);
    /// @notice An operator replaced its signing key.
    event SignerRotated(address indexed operator, address indexed oldSigner, address indexed newSigner);
    /// @notice An operator changed its payout address.
    event PayoutChanged(address indexed operator, address payout);
    /// @notice Stake was added.
    event Staked(address indexed operator, uint256 amount, uint256 stake);
    /// @notice Stake moved to unbonding; all of it is withdrawable at `unbondingEnd` (never earlier than before).
    event UnbondingStarted(address indexed operator, uint256 amount, uint256 unbonding, uint64 unbondingEnd);
    /// @notice Unbonded stake was withdrawn.
    event Unbonded(address indexed operator, address indexed to, uint256 amount);
    /// @notice Stake was slashed by the settlement contract.
    event Slashed(address indexed operator, uint256 amount, address indexed recipient);
    /// @notice The minimum stake changed.
    event MinStakeSet(uint256 minStake);
    /// @notice The unbonding delay changed (for unbondings started from now on).
    event UnbondingDelaySet(uint64 delay);
    /// @notice The settlement contract (the only slasher) was bound, once.
    event SettlementBound(address settlement);
    /// @notice An operator published (or, with an empty string, cleared) its quiet-mode gateway URL.
    event EndpointSet(address indexed operator, string endpoint);

    /// @notice The operator is already registered.
    error AlreadyRegistered(address operator);
    /// @notice The operator is not registered.
    error UnknownOperator(address operator);
    /// @notice This signing key is, or was, registered to an operator; keys are never reused.
    error SignerAlreadyUsed(address signer);
    /// @notice The key's proof of possession was not signed by the key (for this operator, chain and registry).
    error SignerProofInvalid(address signer, address recovered);
    /// @notice The signature was made by a key that is not the operator's current key.
    error SignerMismatch(address operator, address signer);
    /// @notice The operator's active stake is below the minimum.
    error StakeBelowMinimum(address operator, uint256 stake, uint256 minStake);
    /// @notice More than the active stake was asked to unbond.
    error InsufficientStake(uint256 stake, uint256 requested);
    /// @notice Nothing is unbonding.
    error NothingUnbonding();
    /// @notice The unbonding delay has not passed.
    error StillUnbonding(uint64 unbondingEnd);
    /// @notice Only the settlement contract can slash.
    error NotSettlement(address caller);
    /// @notice The settlement contract is already bound.
    error SettlementAlreadyBound();
    /// @notice The minimum stake must be positive and fit in 96 bits.
    error InvalidMinStake();
    /// @notice The unbonding delay is above the cap.
    error UnbondingDelayTooLong(uint64 delay, uint64 maxDelay);
    /// @notice The endpoint URL is longer than the cap (in bytes).
    error EndpointTooLong(uint256 length, uint256 maxLength);

    /// @notice Register the caller as an operator with a signing key, a payout address and a first stake.
    /// @param signer The signing key's address.
    /// @param payout Where earnings are credited.
    /// @param amount First stake (pulled with `transferFrom`; zero for none).
    /// @param signerProof EIP-712 signature by `signer` over `SignerBinding(operator, signer)` (registry domain).
    function register(address signer, address payout, uint256 amount, bytes calldata signerProof) external;

    /// @notice Add stake (pulled from the caller with `transferFrom`).
    /// @param amount The stake to add.
    function stake(uint256 amount) external;

    /// @notice Replace the signing key. The old key stops serving at once and is retired.
    /// @param newSigner The new key's address.
    /// @param signerProof EIP-712 signature by `newSigner` over `SignerBinding(operator, newSigner)`.
    function rotateSigner(address newSigner, bytes calldata signerProof) external;

    /// @notice Change the payout address.
    /// @param payout The new payout address.
    function setPayout(address payout) external;

    /// @notice Publish the caller's quiet-mode gateway URL (e.g. `https://operator.example`), or clear it with an
    /// empty string. Only a registered operator may; the URL stays published through unbonding and slashing (it is
    /// only a locator: whether the operator may serve is `isEligible`). The registry does not parse it: clients
    /// accept only http(s) URLs.
    /// @param url The URL, at most `MAX_ENDPOINT_BYTES` bytes; empty to clear.
    function setEndpoint(string calldata url) external;

    /// @notice Move `amount` of active stake to unbonding; it can be withdrawn after the delay.
    /// @param amount The stake to unbond.
    function unbond(uint256 amount) external;

    /// @notice Withdraw all unbonded stake whose delay has passed to `to`.
    /// @param to The recipient.
    function withdrawUnbonded(address to) external;

    /// @notice Slash up to `amount` from an operator (active stake first, then unbonding) to `recipient`.
    /// @param operator The operator.
    /// @param amount The most to take.
    /// @param recipient Receives the slashed tokens.
    /// @return slashed The amount actually taken.
    function slash(address operator, uint256 amount, address recipient) external returns (uint256 slashed);

    /// @notice Check that `signer` is the current key of `operator` and the operator may serve.
    /// @dev Reverts with the reason when it may not.
    /// @param operator The operator.
    /// @param signer The key that signed.
    /// @return payout Where the operator's earnings go.
    function payoutFor(address operator, address signer) external view returns (address payout);

    /// @notice The operator a signing key belongs (or belonged) to; zero if never registered.
    /// @param signer The key.
    /// @return The operator.
    function operatorOfSigner(address signer) external view returns (address);

    /// @notice Whom a key belongs to and when it was retired.
    /// @param signer The key.
    /// @return The record.
    function signerRecord(address signer) external view returns (SignerRecord memory);

    /// @notice The EIP-712 digest a key signs to prove possession for `operator`.
    /// @param operator The operator.
    /// @param signer The key.
    /// @return The digest.
    function signerBindingDigest(address operator, address signer) external view returns (bytes32);

    /// @notice An operator's published quiet-mode gateway URL (empty if none).
    /// @param operator The operator.
    /// @return The URL, as the operator set it: untrusted input for clients.
    function endpoint(address operator) external view returns (string memory);

    /// @notice The longest endpoint URL, in bytes.
    /// @return The cap.
    function MAX_ENDPOINT_BYTES() external view returns (uint256); // solhint-disable-line func-name-mixedcase

    /// @notice An operator's record.
    /// @param operator The operator.
    /// @return The record.
    function getOperator(address operator) external view returns (Operator memory);

    /// @notice Whether the operator may serve now.
    /// @param operator The operator.
    /// @return Whether it is registered and staked at least the minimum.
    function isEligible(address operator) external view returns (bool);

    /// @notice The minimum active stake to serve.
    /// @return The minimum.
    function minStake() external view returns (uint256);

    /// @notice The OPG token operators stake.
    /// @return The token.
    function token() external view returns (IERC20);

    /// @notice The settlement contract, the only slasher (zero until bound).
    /// @return The settlement.
    function settlement() external view returns (address);
}
