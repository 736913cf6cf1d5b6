// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceSettlement} from "../../../contracts/interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IProtocolErrors} from "../../../contracts/interfaces/IProtocolErrors.sol";
import {ProtocolLimits} from "../../../contracts/libraries/ProtocolLimits.sol";
import {OPGToken} from "../../../contracts/OPGToken.sol";
import {TestConsumer} from "../../../contracts/test/TestConsumer.sol";
import {TestMode} from "../../../contracts/test/TestMode.sol";
import {Mode} from "../../../contracts/types/Mode.sol";
import {FamilyId, ModelId} from "../../../contracts/types/ModelId.sol";
import {ProtocolFixture} from "../utils/ProtocolFixture.sol";
import {Vm} from "../utils/Vm.sol";

/// @title Invariant handler: state and helpers
/// @notice The ghost model of the whole protocol that the handler keeps next to the real contracts: every ledger
/// balance, protocol fee, allowance, request, model, operator and signer record, and every token flow in and out of
/// the core and the operator registry. Each action predicts its outcome from the ghosts (success, or the exact revert
/// the contracts must give, in the order they check), performs it as the right account, checks the result and applies
/// the predicted effects; the invariants then compare the contracts with the ghosts after every call.
abstract contract HandlerBase is ProtocolFixture {
    // ------------------------------------------------------------------ ghost types

    struct OperatorGhost {
        bool registered;
        uint256 signerKey;
        address payout;
        uint96 stake;
        uint96 unbonding;
        uint64 unbondingEnd;
    }

    struct SignerGhost {
        address operator;
        uint64 retiredAt;
        uint256 retiredAtRequest;
    }

    struct ModelGhost {
        ModelId id;
        address owner;
        FamilyId family;
        uint8 modes;
        uint96 fee;
        uint16 royaltyBps;
        IModelRegistry.ModelStatus status;
        IModelRegistry.GateKind gate;
        uint96 minBalance;
        bool zk;
    }

    struct RequestGhost {
        IInferenceSettlement.Request request;
        IInferenceSettlement.RequestStatus status;
    }

    /// @notice Calls per action: succeeded as predicted, reverted as predicted, or nothing to do.
    struct ActionCount {
        uint256 succeeded;
        uint256 reverted;
        uint256 skipped;
    }

    // ------------------------------------------------------------------ constants

    /// @dev Expected outcome marker: the call reverts with empty data.
    bytes internal constant EMPTY_REVERT = hex"00";
    uint256 internal constant USERS = 4;
    uint256 internal constant OPERATORS = 4;
    uint256 internal constant PRE_REGISTERED_OPERATORS = 2;
    uint256 internal constant MAX_MODELS = 12;
    uint256 internal constant WALLET = 1e25;
    bytes32 internal constant PERMIT_TYPEHASH = keccak256(
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
    );

    /// @dev How a call to an address without code fails: on chain the caller's ABI decoding reverts with no data;
    /// the Solidity test runner (like Foundry) reverts such a call itself with "call to non-contract address ...".
    function _isCallToNoCode(bytes memory ret) internal pure returns (bool) {
        if (ret.length == 0) return true;
        if (ret.length < 0x60) return false;
        bytes32 head;
        assembly ("memory-safe") {
            head := mload(add(ret, 0x60))
        }
        return bytes20(head) == bytes20("call to non-contract");
    }

    // ------------------------------------------------------------------ actors

    OPGToken public otherToken;
    uint256[] internal userKeys;
    address[] public users;
    address[] public owners;
    address[] public operatorAccounts;
    address[] public payouts;
    address[] public treasuries;
    address[] public governors;
    address[] public ledgerAccounts;
    mapping(address account => bool) public isLedgerAccount;
    TestConsumer[] public consumers;
    address public eoaCallback;
    TestMode[] public hookModes;

    // ------------------------------------------------------------------ ghosts

    uint256 public ghostTime;
    mapping(address account => uint256) public ghostBalance;
    mapping(uint8 mode => uint256) public ghostProtocolFees;
    mapping(address account => mapping(uint8 mode => uint256)) public ghostAllowance;
    uint256 public ghostTotalOwed;
    /// @notice OPG sent to the core outside the ledger and not swept yet.
    uint256 public ghostStray;
    uint256 public ghostOtherStray;
    uint256 public ghostCoreIn;
    uint256 public ghostCoreOut;
    uint8 public ghostBound;
    uint8 public ghostOpen;
    mapping(uint8 mode => address) public ghostModeContract;
    uint16 public ghostProtocolFeeBps;
    address public ghostTreasury;
    mapping(address ownable => address) public ghostOwner;

    mapping(address operator => OperatorGhost) internal _operators;
    mapping(address signer => SignerGhost) internal _signers;
    uint256[] internal _signerKeys;
    uint256 internal _keyCounter;
    uint256 public ghostMinStake;
    uint64 public ghostUnbondingDelay;
    uint96 public ghostPenalty;
    uint16 public ghostRewardBps;
    uint256 public ghostStakeIn;
    uint256 public ghostUnbondedOut;
    uint256 public ghostSlashed;

    ModelGhost[] internal _models;
    mapping(FamilyId family => mapping(address account => bool)) public ghostAllowed;
    mapping(FamilyId family => ModelId) public ghostLatest;
    uint256 internal _nameCounter;

    RequestGhost[] internal _requests;
    mapping(uint256 requestId => uint256) public fulfilledEvents;
    mapping(uint256 requestId => uint256) public refundedEvents;
    mapping(uint256 requestId => mapping(address operator => bool)) public ghostEvidenceUsed;
    /// @notice Set if any action saw a status move other than Pending → settled or refunded.
    bool public illegalTransition;

    uint256 public calls;
    mapping(bytes4 selector => ActionCount) internal _counts;
    /// @dev Outcome of the current action's main call: 0 none yet (counts as succeeded), 1 succeeded, 2 reverted as
    /// predicted, 3 skipped.
    uint256 private _outcome;

    // ------------------------------------------------------------------ step

    /// @dev Every action runs at the ghost clock, records the core's events and is counted once.
    modifier step() {
        vm.warp(ghostTime);
        _outcome = 0;
        vm.recordLogs();
        _;
        _countEvents();
        ++calls;
        ActionCount storage c = _counts[msg.sig];
        if (_outcome == 2) ++c.reverted;
        else if (_outcome == 3) ++c.skipped;
        else ++c.succeeded;
    }

    function _skip() internal {
        _outcome = 3;
    }

    /// @dev Count `RequestFulfilled` / `RequestRefunded` per request id, as the core emitted them.
    function _countEvents() private {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(core) || logs[i].topics.length < 2) continue;
            bytes32 topic = logs[i].topics[0];
            if (topic == IInferenceSettlement.RequestFulfilled.selector) {
                ++fulfilledEvents[uint256(logs[i].topics[1])];
            } else if (topic == IInferenceSettlement.RequestRefunded.selector) {
                ++refundedEvents[uint256(logs[i].topics[1])];
            }
        }
    }

    /// @dev Call `target` as `from` and check the outcome: `expected` empty → must succeed; `EMPTY_REVERT` → must
    /// revert without data; 4 bytes → must revert with that selector; longer → must revert with exactly that data.
    function _exec(
        address from,
        address target,
        bytes memory data,
        bytes memory expected
    ) internal returns (bool ok, bytes memory ret) {
        vm.prank(from);
        (ok, ret) = target.call(data);
        if (expected.length == 0) {
            if (!ok) _fail(string.concat("unexpected revert: ", vm.toString(ret)));
            if (_outcome == 0) _outcome = 1;
            return (ok, ret);
        }
        if (ok) _fail(string.concat("expected a revert: ", vm.toString(expected)));
        if (expected.length == 1) assertTrue(_isCallToNoCode(ret), "expected the revert of a call to no code");
        else if (expected.length == 4) assertRevertSelector(ret, _selector(expected), "revert");
        else assertEq(ret, expected, "revert data");
        if (_outcome == 0) _outcome = 2;
    }

    // ------------------------------------------------------------------ actors

    function _newAccount(string memory label, uint256 index) internal returns (address account) {
        account = vm.addr(_key(label, index));
        vm.label(account, string.concat(label, vm.toString(index)));
    }

    function _addLedgerAccount(address account) internal {
        if (isLedgerAccount[account]) return;
        isLedgerAccount[account] = true;
        ledgerAccounts.push(account);
    }

    function _user(uint256 seed) internal view returns (address) {
        return users[seed % users.length];
    }

    function _userKey(address user) internal view returns (uint256) {
        for (uint256 i; i < users.length; ++i) if (users[i] == user) return userKeys[i];
        revert AssertionFailed("not a user");
    }

    function _ledgerAccount(uint256 seed) internal view returns (address) {
        return ledgerAccounts[seed % ledgerAccounts.length];
    }

    /// @dev A ledger account that is an EOA (not a test mode contract).
    function _eoaAccount(uint256 seed) internal view returns (address account) {
        uint256 n = ledgerAccounts.length;
        for (uint256 i; i < n; ++i) {
            account = ledgerAccounts[((seed % n) + i) % n];
            if (account.code.length == 0) return account;
        }
    }

    /// @dev Usually an EOA ledger account with a balance to spend; sometimes any EOA ledger account.
    function _fundedAccount(uint256 seed) internal view returns (address account) {
        uint256 n = ledgerAccounts.length;
        if (seed % 4 != 0) {
            for (uint256 i; i < n; ++i) {
                account = ledgerAccounts[((seed % n) + i) % n];
                if (account.code.length == 0 && ghostBalance[account] != 0) return account;
            }
        }
        return _eoaAccount(seed);
    }

    /// @dev Usually a registered operator that may serve (else a registered one), sometimes any operator account.
    function _operator(uint256 seed) internal view returns (address) {
        uint256 n = operatorAccounts.length;
        uint256 start = (seed >> 2) % n;
        if (seed % 8 != 0) {
            for (uint256 i; i < n; ++i) {
                OperatorGhost storage og = _operators[operatorAccounts[(start + i) % n]];
                if (og.registered && og.stake >= ghostMinStake) return operatorAccounts[(start + i) % n];
            }
            for (uint256 i; i < n; ++i) {
                if (_operators[operatorAccounts[(start + i) % n]].registered) return operatorAccounts[(start + i) % n];
            }
        }
        return operatorAccounts[start];
    }

    /// @dev The current owner of `ownable`, or (rarely) someone else to exercise `OwnableUnauthorizedAccount`.
    function _governor(address ownable, uint256 seed) internal view returns (address caller, bytes memory expected) {
        caller = ghostOwner[ownable];
        if (seed % 16 == 0) {
            caller = _user(seed >> 4);
            expected = abi.encodeWithSignature("OwnableUnauthorizedAccount(address)", caller);
        }
    }

    function _freshSignerKey() internal returns (uint256) {
        return _key("signer", ++_keyCounter);
    }

    // ------------------------------------------------------------------ amounts

    /// @dev An amount for spending `available`: usually within it, sometimes zero or above it.
    function _amount(uint256 seed, uint256 available) internal pure returns (uint256) {
        uint256 kind = seed % 16;
        if (kind == 0) return 0;
        if (kind == 1) return available + 1 + ((seed >> 4) % 1e18);
        if (available == 0) return 1 + ((seed >> 4) % 1e18);
        return _bound(seed >> 4, 1, available);
    }

    function _debitError(address account, uint256 amount) internal view returns (bytes memory) {
        if (amount == 0) return abi.encodeWithSelector(IProtocolErrors.InvalidAmount.selector);
        uint256 available = ghostBalance[account];
        if (available < amount) {
            return abi.encodeWithSelector(IInferenceSettlement.InsufficientBalance.selector, available, amount);
        }
        return "";
    }

    // ------------------------------------------------------------------ requests

    function _pending(uint256 index) internal view returns (bool) {
        return _requests[index].status == IInferenceSettlement.RequestStatus.Pending;
    }

    /// @dev A request index: usually a pending one of `mode` (any mode when 0), sometimes any request at all.
    function _pickRequest(uint256 seed, uint8 mode) internal view returns (bool found, uint256 index) {
        uint256 n = _requests.length;
        if (n == 0) return (false, 0);
        if (seed % 8 == 0) return (true, (seed >> 3) % n);
        uint256 start = (seed >> 3) % n;
        // Preferably one that can still be settled (before its deadline), else a pending one of the mode.
        for (uint256 pass; pass < 2; ++pass) {
            for (uint256 i; i < n; ++i) {
                uint256 j = (start + i) % n;
                if (!_pending(j)) continue;
                if (mode != 0 && Mode.unwrap(_requests[j].request.mode) != mode) continue;
                if (pass == 0 && ghostTime > _requests[j].request.deadline) continue;
                return (true, j);
            }
        }
        // Nothing pending in this mode: any pending request (other modes exercise WrongMode), else any request.
        for (uint256 i; i < n; ++i) {
            uint256 j = (start + i) % n;
            if (_pending(j)) return (true, j);
        }
        return (true, start);
    }

    function _modelOf(ModelId modelId) internal view returns (bool known, ModelGhost storage model) {
        for (uint256 i; i < _models.length; ++i) {
            if (_models[i].id == modelId) return (true, _models[i]);
        }
        return (false, _models[0]);
    }

    function _isRevoked(ModelId modelId) internal view returns (bool) {
        (bool known, ModelGhost storage model) = _modelOf(modelId);
        return known && model.status == IModelRegistry.ModelStatus.Revoked;
    }

    /// @dev What `core.settle` reverts with when `caller` settles request `index` this way (empty: it succeeds).
    function _settleError(
        uint256 index,
        address caller,
        address resultOperator,
        address payout,
        bytes memory output,
        bytes32 outputHash
    ) internal view returns (bytes memory) {
        RequestGhost storage g = _requests[index];
        IInferenceSettlement.Request storage r = g.request;
        uint256 id = index + 1;
        if (ghostModeContract[Mode.unwrap(r.mode)] != caller) {
            return abi.encodeWithSelector(IInferenceSettlement.WrongMode.selector, id, r.mode, caller);
        }
        if (g.status != IInferenceSettlement.RequestStatus.Pending) {
            return abi.encodeWithSelector(IInferenceSettlement.RequestNotPending.selector, id, g.status);
        }
        if (ghostTime > r.deadline) {
            return abi.encodeWithSelector(IInferenceSettlement.RequestExpired.selector, id, r.deadline);
        }
        if (r.operator != address(0) && r.operator != resultOperator) {
            return abi.encodeWithSelector(IInferenceSettlement.OperatorNotAssigned.selector, id, r.operator);
        }
        if (payout == address(0)) return abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
        if (output.length != 0 && keccak256(output) != outputHash) {
            return
                abi.encodeWithSelector(IInferenceSettlement.OutputHashMismatch.selector, outputHash, keccak256(output));
        }
        if (_isRevoked(r.modelId)) {
            return abi.encodeWithSelector(IInferenceSettlement.ModelRevoked.selector, r.modelId);
        }
        return "";
    }

    /// @dev Prepare the request's callback for a settlement and predict the status it leads to (0 = gas-dependent).
    /// A re-entering consumer tries `reentry` (the settlement itself, again): it must fail, so the callback fails.
    function _armCallback(
        uint256 index,
        uint256 seed,
        address reentryTarget,
        bytes memory reentry
    ) internal returns (IInferenceSettlement.RequestStatus predicted) {
        IInferenceSettlement.Request storage r = _requests[index].request;
        if (r.callback == address(0)) return IInferenceSettlement.RequestStatus.Fulfilled;
        if (r.callback.code.length == 0) return IInferenceSettlement.RequestStatus.FulfilledCallbackFailed;
        TestConsumer consumer = TestConsumer(r.callback);
        TestConsumer.Behaviour behaviour = TestConsumer.Behaviour(seed % 5);
        consumer.setBehaviour(behaviour);
        if (behaviour == TestConsumer.Behaviour.Reenter) consumer.setReentry(reentryTarget, reentry);
        if (
            behaviour == TestConsumer.Behaviour.Revert ||
            behaviour == TestConsumer.Behaviour.BurnGas ||
            behaviour == TestConsumer.Behaviour.Reenter
        ) return IInferenceSettlement.RequestStatus.FulfilledCallbackFailed;
        if (behaviour == TestConsumer.Behaviour.Accept && r.callbackGasLimit >= 300_000) {
            return IInferenceSettlement.RequestStatus.Fulfilled;
        }
        if (behaviour == TestConsumer.Behaviour.ReturnBomb && r.callbackGasLimit >= 200_000) {
            return IInferenceSettlement.RequestStatus.Fulfilled;
        }
        return IInferenceSettlement.RequestStatus.None;
    }

    /// @dev Apply a settlement that succeeded: split the fee per the committed terms and record the status the core
    /// reached (checked against the prediction when there is one).
    function _applySettlement(
        uint256 index,
        address payout,
        IInferenceSettlement.RequestStatus predicted,
        uint256 consumerReceivedBefore,
        bytes32 outputHash
    ) internal {
        RequestGhost storage g = _requests[index];
        IInferenceSettlement.Request storage r = g.request;
        uint256 id = index + 1;
        if (g.status != IInferenceSettlement.RequestStatus.Pending) illegalTransition = true;
        uint256 fee = r.fee;
        if (fee != 0) {
            uint256 royalty = (fee * r.royaltyBps) / ProtocolLimits.BPS;
            uint256 protocolCut = (fee * r.protocolFeeBps) / ProtocolLimits.BPS;
            ghostBalance[r.modelOwner] += royalty;
            ghostProtocolFees[Mode.unwrap(r.mode)] += protocolCut;
            ghostBalance[payout] += fee - royalty - protocolCut;
        }
        IInferenceSettlement.RequestStatus actual = core.requestStatus(id);
        if (predicted != IInferenceSettlement.RequestStatus.None) {
            assertEq(uint256(actual), uint256(predicted), "callback outcome");
        } else {
            assertTrue(
                actual == IInferenceSettlement.RequestStatus.Fulfilled ||
                    actual == IInferenceSettlement.RequestStatus.FulfilledCallbackFailed,
                "settled status"
            );
        }
        if (r.callback != address(0) && r.callback.code.length != 0) {
            TestConsumer consumer = TestConsumer(r.callback);
            if (actual == IInferenceSettlement.RequestStatus.FulfilledCallbackFailed) {
                assertEq(consumer.received(), consumerReceivedBefore, "failed callback recorded nothing");
            } else if (consumer.behaviour() == TestConsumer.Behaviour.Accept) {
                assertEq(consumer.received(), consumerReceivedBefore + 1, "callback received");
                assertEq(consumer.lastRequestId(), id, "callback request id");
                assertEq(consumer.lastOutputHash(), outputHash, "callback output hash");
            }
        }
        g.status = actual;
    }

    function _consumerReceived(uint256 index) internal view returns (uint256) {
        address callback = _requests[index].request.callback;
        if (callback == address(0) || callback.code.length == 0) return 0;
        return TestConsumer(callback).received();
    }

    // ------------------------------------------------------------------ views for the invariants

    /// @notice Every action the handler counts, with its outcomes.
    function counts(bytes4 selector) external view returns (ActionCount memory) {
        return _counts[selector];
    }

    /// @notice Number of requests opened (ids 1..n).
    function requestCount() external view returns (uint256) {
        return _requests.length;
    }

    /// @notice Request `id` as committed and its ghost status.
    function requestOf(
        uint256 id
    ) external view returns (IInferenceSettlement.Request memory, IInferenceSettlement.RequestStatus) {
        RequestGhost storage g = _requests[id - 1];
        return (g.request, g.status);
    }

    /// @notice Number of models registered.
    function modelCount() external view returns (uint256) {
        return _models.length;
    }

    /// @notice A registered model's ghost.
    function modelAt(uint256 index) external view returns (ModelGhost memory) {
        return _models[index];
    }

    /// @notice An operator's ghost.
    function operatorGhost(address operator) external view returns (OperatorGhost memory) {
        return _operators[operator];
    }

    /// @notice A signing key's ghost record.
    function signerGhost(address signer) external view returns (SignerGhost memory) {
        return _signers[signer];
    }

    /// @notice Number of signing keys ever claimed.
    function signerKeyCount() external view returns (uint256) {
        return _signerKeys.length;
    }

    /// @notice The address of the `i`-th signing key claimed.
    function signerAt(uint256 i) external view returns (address) {
        return vm.addr(_signerKeys[i]);
    }

    /// @notice Counts of accounts by role.
    function accountCounts()
        external
        view
        returns (uint256 ledger, uint256 operatorCount, uint256 modeCount, uint256 userCount)
    {
        return (ledgerAccounts.length, operatorAccounts.length, hookModes.length, users.length);
    }

    /// @notice Whether `mode` bit is bound and open in the ghosts.
    function modeIsOpen(Mode mode) external view returns (bool) {
        return ghostOpen & Mode.unwrap(mode) != 0;
    }

    /// @notice Whether model `modelId` is revoked in the ghosts.
    function isRevoked(ModelId modelId) external view returns (bool) {
        return _isRevoked(modelId);
    }

    /// @notice The deployed system.
    function system()
        external
        view
        returns (OPGToken, address models_, address operators_, address core_, address signatureMode_, address zkMode_)
    {
        return (token, address(models), address(operators), address(core), address(signatureMode), address(zkMode));
    }
}
