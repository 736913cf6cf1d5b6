// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Operator registry interface
/// @notice Operators stake OPG, register a signing key separate from their payout address, rotate it,
/// and unbond with a delay. Stake that is unbonding stays slashable until it is withdrawn. Only the
/// settlement contract can slash. An operator whose active stake is below the minimum cannot serve.
interface IOperatorRegistry {
    /// @notice An operator's record. `unbonding` becomes withdrawable at `unbondingEnd`.
    struct Operator {
        address signer;
        uint96 stake;
        address payout;
        uint96 unbonding;
        uint64 unbondingEnd;
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

    /// @notice The operator is already registered.
    error AlreadyRegistered(address operator);
    /// @notice The operator is not registered.
    error UnknownOperator(address operator);
    /// @notice A zero address was given where an account is needed.
    error ZeroAddress();
    /// @notice This signing key is, or was, registered to an operator; keys are never reused.
    error SignerAlreadyUsed(address signer);
    /// @notice The signature was made by a key that is not the operator's current key.
    error SignerMismatch(address operator, address signer);
    /// @notice The operator's active stake is below the minimum.
    error StakeBelowMinimum(address operator, uint256 stake, uint256 minStake);
    /// @notice Amount is zero or does not fit.
    error InvalidAmount();
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
    /// @notice Governance cannot be renounced, only transferred.
    error RenounceDisabled();
    /// @notice The unbonding delay is above the cap.
    error UnbondingDelayTooLong(uint64 delay, uint64 maxDelay);

    /// @notice Register the caller as an operator with a signing key, a payout address and a first stake.
    function register(address signer, address payout, uint256 amount) external;

    /// @notice Add stake (pulled from the caller with `transferFrom`).
    function stake(uint256 amount) external;

    /// @notice Replace the signing key. The old key stops serving at once.
    function rotateSigner(address newSigner) external;

    /// @notice Change the payout address.
    function setPayout(address payout) external;

    /// @notice Move `amount` of active stake to unbonding; it can be withdrawn after the delay.
    function unbond(uint256 amount) external;

    /// @notice Withdraw all unbonded stake whose delay has passed to `to`.
    function withdrawUnbonded(address to) external;

    /// @notice Slash up to `amount` from an operator (active stake first, then unbonding) to `recipient`.
    /// @return slashed The amount actually taken.
    function slash(address operator, uint256 amount, address recipient) external returns (uint256 slashed);

    /// @notice Check that `signer` is the current key of `operator` and the operator may serve.
    /// @dev Reverts with the reason when it may not.
    /// @return payout Where the operator's earnings go.
    function payoutFor(address operator, address signer) external view returns (address payout);

    /// @notice The operator a signing key belongs (or belonged) to; zero if never registered.
    function operatorOfSigner(address signer) external view returns (address);

    /// @notice An operator's record.
    function getOperator(address operator) external view returns (Operator memory);

    /// @notice Whether the operator may serve now.
    function isEligible(address operator) external view returns (bool);

    /// @notice The minimum active stake to serve.
    function minStake() external view returns (uint256);
}
