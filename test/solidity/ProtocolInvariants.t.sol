// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {InferenceSettlement} from "../../contracts/InferenceSettlement.sol";
import {IInferenceSettlement} from "../../contracts/interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {IOperatorRegistry} from "../../contracts/interfaces/IOperatorRegistry.sol";
import {ModelRegistry} from "../../contracts/ModelRegistry.sol";
import {OperatorRegistry} from "../../contracts/OperatorRegistry.sol";
import {OPGToken} from "../../contracts/OPGToken.sol";
import {TestMode} from "../../contracts/test/TestMode.sol";
import {Mode, ModeSet} from "../../contracts/types/Mode.sol";
import {ModelId} from "../../contracts/types/ModelId.sol";
import {HandlerBase} from "./invariant/HandlerBase.sol";
import {ProtocolHandler} from "./invariant/ProtocolHandler.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @title Protocol invariants
/// @notice Random sequences over every entry point of every contract (the handler's actions: ledger, requests,
/// refunds, protocol fees, sweeps, governance, the signature mode with real signatures, the zk mode, the mode hooks
/// through test modes, both registries, failing callbacks, time passing). After every call the contracts must agree
/// with each other and with the handler's ghost model.
/// @dev Runs × depth ≥ 10,000 calls per invariant (see the inline configuration); failOnRevert makes any handler
/// assertion (an outcome other than the predicted one) fail the run.
contract ProtocolInvariantsTest is BaseTest {
    /// @notice Selectors of a target contract for the fuzzer.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    ProtocolHandler internal handler;
    OPGToken internal token;
    InferenceSettlement internal core;
    OperatorRegistry internal operators;
    ModelRegistry internal models;

    function setUp() public {
        handler = new ProtocolHandler();
        address core_;
        address operators_;
        address models_;
        (token, models_, operators_, core_, , ) = handler.system();
        core = InferenceSettlement(core_);
        operators = OperatorRegistry(operators_);
        models = ModelRegistry(models_);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory actions = _actions();
        // The request life cycle is what most invariants are about: opening and settling get extra weight.
        bytes4[8] memory heavy = [
            handler.openRequest.selector,
            handler.openRequestWithTransfer.selector,
            handler.openRequestWithPermit.selector,
            handler.fulfillSigned.selector,
            handler.fulfillZk.selector,
            handler.modeSettle.selector,
            handler.refund.selector,
            handler.openRequest.selector
        ];
        bytes4[] memory weighted = new bytes4[](actions.length + 2 * heavy.length);
        for (uint256 i; i < actions.length; ++i) weighted[i] = actions[i];
        for (uint256 i; i < 2 * heavy.length; ++i) weighted[actions.length + i] = heavy[i % heavy.length];
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: weighted});
    }

    /// @dev Every handler action (one per entry point, plus time and stray transfers).
    function _actions() internal view returns (bytes4[] memory s) {
        s = new bytes4[](44);
        s[0] = handler.warp.selector;
        s[1] = handler.deposit.selector;
        s[2] = handler.depositFor.selector;
        s[3] = handler.depositWithPermit.selector;
        s[4] = handler.withdraw.selector;
        s[5] = handler.transferBalance.selector;
        s[6] = handler.approveMode.selector;
        s[7] = handler.openRequest.selector;
        s[8] = handler.openRequestWithTransfer.selector;
        s[9] = handler.openRequestWithPermit.selector;
        s[10] = handler.refund.selector;
        s[11] = handler.collectProtocolFees.selector;
        s[12] = handler.donate.selector;
        s[13] = handler.donateOther.selector;
        s[14] = handler.sweep.selector;
        s[15] = handler.setProtocolFee.selector;
        s[16] = handler.setTreasury.selector;
        s[17] = handler.retireMode.selector;
        s[18] = handler.bindMode.selector;
        s[19] = handler.handOverGovernance.selector;
        s[20] = handler.fulfillSigned.selector;
        s[21] = handler.reportEquivocation.selector;
        s[22] = handler.setSlashParams.selector;
        s[23] = handler.fulfillZk.selector;
        s[24] = handler.modePull.selector;
        s[25] = handler.modePayFee.selector;
        s[26] = handler.modeSlash.selector;
        s[27] = handler.modeSettle.selector;
        s[28] = handler.modeTransferBalance.selector;
        s[29] = handler.registerModel.selector;
        s[30] = handler.setModelStatus.selector;
        s[31] = handler.setTerms.selector;
        s[32] = handler.setGate.selector;
        s[33] = handler.setAllowed.selector;
        s[34] = handler.setLatest.selector;
        s[35] = handler.registerOperator.selector;
        s[36] = handler.operatorStake.selector;
        s[37] = handler.operatorUnbond.selector;
        s[38] = handler.operatorWithdrawUnbonded.selector;
        s[39] = handler.operatorRotateSigner.selector;
        s[40] = handler.operatorSetPayout.selector;
        s[41] = handler.setMinStake.selector;
        s[42] = handler.setUnbondingDelay.selector;
        s[43] = handler.rebindSettlement.selector;
    }

    // ------------------------------------------------------------------ helpers

    function _sumBalances() internal view returns (uint256 sum) {
        (uint256 ledger, , , ) = handler.accountCounts();
        for (uint256 i; i < ledger; ++i) sum += core.balances(handler.ledgerAccounts(i));
    }

    function _pendingFees() internal view returns (uint256 sum) {
        uint256 n = handler.requestCount();
        for (uint256 id = 1; id <= n; ++id) {
            if (core.requestStatus(id) != IInferenceSettlement.RequestStatus.Pending) continue;
            (IInferenceSettlement.Request memory request, ) = handler.requestOf(id);
            sum += request.fee;
        }
    }

    // ------------------------------------------------------------------ invariants

    /// @notice Escrow conservation: the core holds exactly what it owes plus stray transfers, and what it owes is
    /// every ledger balance, every pending fee and the protocol fees.
    function invariant_escrowConservation() public view {
        uint256 owed = core.totalOwed();
        uint256 held = token.balanceOf(address(core));
        assertEq(held, owed + handler.ghostStray(), "core balance == totalOwed + stray transfers");
        assertEq(held, handler.ghostCoreIn() - handler.ghostCoreOut(), "core balance == inflows - outflows");
        assertEq(
            owed,
            _sumBalances() + _pendingFees() + core.protocolFees(),
            "totalOwed == sum of balances + pending fees + protocol fees"
        );
        assertEq(owed, handler.ghostTotalOwed(), "totalOwed matches the model");
        assertEq(
            handler.otherToken().balanceOf(address(core)),
            handler.ghostOtherStray(),
            "other tokens held == stray other tokens"
        );
    }

    /// @notice The ledger matches the model account by account: balances, protocol fees per mode, mode allowances
    /// (never negative, pulls never above them), fee, treasury, modes and their contracts.
    function invariant_ledgerMatchesModel() public view {
        (uint256 ledger, , , uint256 userCount) = handler.accountCounts();
        for (uint256 i; i < ledger; ++i) {
            address account = handler.ledgerAccounts(i);
            assertEq(core.balances(account), handler.ghostBalance(account), "ledger balance");
        }
        uint256 fees;
        for (uint256 i; i < 8; ++i) {
            uint8 bit = uint8(1 << i);
            assertEq(core.protocolFeesOf(Mode.wrap(bit)), handler.ghostProtocolFees(bit), "protocol fees of mode");
            assertEq(core.modeContract(Mode.wrap(bit)), handler.ghostModeContract(bit), "mode contract");
            fees += handler.ghostProtocolFees(bit);
            for (uint256 u; u < userCount; ++u) {
                address user = handler.users(u);
                assertEq(core.modeAllowance(user, Mode.wrap(bit)), handler.ghostAllowance(user, bit), "allowance");
            }
        }
        assertEq(core.protocolFees(), fees, "protocolFees is the sum over modes");
        assertEq(core.protocolFeeBps(), handler.ghostProtocolFeeBps(), "protocol fee");
        assertEq(core.treasury(), handler.ghostTreasury(), "treasury");
        assertEq(ModeSet.unwrap(core.openModes()), handler.ghostOpen(), "open modes");
        assertEq(core.owner(), handler.ghostOwner(address(core)), "core governance");
    }

    /// @notice Requests: ids are 1..n in order and the counter never wraps; each request settles or refunds at most
    /// once (events counted), its status only moves Pending → Fulfilled / FulfilledCallbackFailed / Refunded, and its
    /// commitment stays.
    function invariant_requestLifecycle() public view {
        uint256 n = handler.requestCount();
        assertEq(core.nextRequestId(), n + 1, "next id follows the last opened");
        assertFalse(handler.illegalTransition(), "a status moved other than Pending -> settled/refunded");
        for (uint256 id = 1; id <= n; ++id) {
            (IInferenceSettlement.Request memory request, IInferenceSettlement.RequestStatus ghost) = handler.requestOf(
                id
            );
            IInferenceSettlement.RequestStatus status = core.requestStatus(id);
            assertEq(uint256(status), uint256(ghost), "status matches the model");
            uint256 fulfilled = handler.fulfilledEvents(id);
            uint256 refunded = handler.refundedEvents(id);
            assertLe(fulfilled + refunded, 1, "settled or refunded at most once");
            if (status == IInferenceSettlement.RequestStatus.Pending) {
                assertEq(fulfilled + refunded, 0, "pending: no settlement event");
            } else if (status == IInferenceSettlement.RequestStatus.Refunded) {
                assertEq(refunded, 1, "refunded: one RequestRefunded");
            } else {
                assertEq(fulfilled, 1, "settled: one RequestFulfilled");
            }
            assertTrue(core.isCommitted(id, keccak256(abi.encode(request))), "commitment survives");
        }
        assertFalse(core.isCommitted(n + 1, bytes32(0)), "nothing committed past the last id");
    }

    /// @notice Stake accounting: the registry holds exactly Σ (stake + unbonding), which is what was staked minus
    /// what was withdrawn and slashed (slashed stake went to the core: see escrow conservation); every operator and
    /// signing key record matches the model.
    function invariant_stakeAccounting() public view {
        (, uint256 operatorCount, , ) = handler.accountCounts();
        uint256 sum;
        for (uint256 i; i < operatorCount; ++i) {
            address operator = handler.operatorAccounts(i);
            IOperatorRegistry.Operator memory op = operators.getOperator(operator);
            HandlerBase.OperatorGhost memory g = handler.operatorGhost(operator);
            sum += uint256(op.stake) + op.unbonding;
            assertEq(op.stake, g.stake, "stake");
            assertEq(op.unbonding, g.unbonding, "unbonding");
            assertEq(op.unbondingEnd, g.unbondingEnd, "unbonding end");
            assertEq(op.payout, g.payout, "payout");
            assertEq(op.signer, g.registered ? vm.addr(g.signerKey) : address(0), "current signer");
            assertEq(operators.isEligible(operator), g.registered && g.stake >= handler.ghostMinStake(), "eligible");
        }
        uint256 held = token.balanceOf(address(operators));
        assertEq(held, sum, "registry balance == sum of stake + unbonding");
        assertEq(
            held,
            handler.ghostStakeIn() - handler.ghostUnbondedOut() - handler.ghostSlashed(),
            "registry balance == staked - withdrawn - slashed"
        );
        uint256 keys = handler.signerKeyCount();
        for (uint256 i; i < keys; ++i) {
            address signer = handler.signerAt(i);
            IOperatorRegistry.SignerRecord memory record = operators.signerRecord(signer);
            HandlerBase.SignerGhost memory g = handler.signerGhost(signer);
            assertEq(record.operator, g.operator, "key owner");
            assertEq(record.retiredAt, g.retiredAt, "key retired at");
            assertEq(record.retiredAtRequest, g.retiredAtRequest, "key retired at request");
        }
        assertEq(operators.minStake(), handler.ghostMinStake(), "min stake");
        assertEq(operators.unbondingDelay(), handler.ghostUnbondingDelay(), "unbonding delay");
    }

    /// @notice Models: every version's owner, terms, modes, status and gate match the model; families point at their
    /// latest version; allowlists match.
    function invariant_modelsMatchRegistry() public view {
        uint256 n = handler.modelCount();
        (, , , uint256 userCount) = handler.accountCounts();
        for (uint256 i; i < n; ++i) {
            HandlerBase.ModelGhost memory g = handler.modelAt(i);
            IModelRegistry.ModelVersion memory m = models.getModel(g.id);
            assertEq(m.owner, g.owner, "model owner");
            assertEq(m.fee, g.fee, "model fee");
            assertEq(m.royaltyBps, g.royaltyBps, "model royalty");
            assertEq(ModeSet.unwrap(m.modes), g.modes, "model modes");
            assertEq(uint256(m.status), uint256(g.status), "model status");
            assertEq(uint256(m.gate), uint256(g.gate), "model gate");
            assertEq(m.gateMinBalance, g.minBalance, "model gate minimum");
            assertEq(m.zkVerifier != address(0), g.zk, "zk binding");
            assertEq(
                ModelId.unwrap(models.getFamily(g.family).latest),
                ModelId.unwrap(handler.ghostLatest(g.family)),
                "latest"
            );
            for (uint256 u; u < userCount; ++u) {
                address user = handler.users(u);
                assertEq(models.isAllowed(g.family, user), handler.ghostAllowed(g.family, user), "allowlist");
            }
        }
    }

    /// @notice No stuck funds: every pending request is refundable exactly when it should be (deadline passed, model
    /// revoked or mode retired); past every deadline all are refundable; then every account can withdraw everything,
    /// the protocol fees can be collected, every operator can unbond and withdraw, and what is left in the core is
    /// exactly the sweepable excess (after the sweep: nothing). Checked on a snapshot, then rolled back.
    function invariant_noStuckFunds() public {
        uint256 snapshot = vm.snapshotState();
        uint256 now_ = handler.ghostTime();
        vm.warp(now_);
        uint256 n = handler.requestCount();
        uint256 latest = now_;
        address anyone = handler.users(0);
        for (uint256 id = 1; id <= n; ++id) {
            if (core.requestStatus(id) != IInferenceSettlement.RequestStatus.Pending) continue;
            (IInferenceSettlement.Request memory request, ) = handler.requestOf(id);
            bool refundable =
                now_ > request.deadline || handler.isRevoked(request.modelId) || !handler.modeIsOpen(request.mode);
            vm.prank(anyone);
            (bool ok, bytes memory err) = address(core).call(
                abi.encodeCall(IInferenceSettlement.refund, (request, id))
            );
            if (refundable) {
                assertTrue(ok, "a refundable request does not refund");
            } else {
                assertFalse(ok, "refunded before its deadline");
                assertRevertSelector(err, IInferenceSettlement.RequestNotExpired.selector, "not expired yet");
                if (request.deadline > latest) latest = request.deadline;
            }
        }
        vm.warp(latest + 1);
        for (uint256 id = 1; id <= n; ++id) {
            if (core.requestStatus(id) != IInferenceSettlement.RequestStatus.Pending) continue;
            (IInferenceSettlement.Request memory request, ) = handler.requestOf(id);
            vm.prank(anyone);
            core.refund(request, id);
        }
        (uint256 ledger, uint256 operatorCount, , ) = handler.accountCounts();
        for (uint256 i; i < ledger; ++i) {
            address account = handler.ledgerAccounts(i);
            uint256 balance = core.balances(account);
            if (balance == 0) continue;
            if (account.code.length != 0) {
                // A mode contract moves its balance to someone who withdraws it.
                TestMode(account).transferBalance(anyone, balance);
                account = anyone;
                balance = core.balances(anyone);
            }
            vm.prank(account);
            core.withdraw(account, balance);
        }
        if (core.protocolFees() != 0) core.collectProtocolFees();
        assertEq(core.totalOwed(), 0, "everything owed was paid out");
        assertEq(token.balanceOf(address(core)), handler.ghostStray(), "only the sweepable excess is left");
        if (handler.ghostStray() != 0) {
            vm.prank(core.owner());
            core.sweep(token, anyone);
        }
        assertEq(token.balanceOf(address(core)), 0, "the core is empty");

        uint256 end = block.timestamp;
        for (uint256 i; i < operatorCount; ++i) {
            address operator = handler.operatorAccounts(i);
            IOperatorRegistry.Operator memory op = operators.getOperator(operator);
            if (op.stake != 0) {
                vm.prank(operator);
                operators.unbond(op.stake);
            }
            uint64 unbondingEnd = operators.getOperator(operator).unbondingEnd;
            if (unbondingEnd > end) end = unbondingEnd;
        }
        vm.warp(end);
        for (uint256 i; i < operatorCount; ++i) {
            address operator = handler.operatorAccounts(i);
            if (operators.getOperator(operator).unbonding == 0) continue;
            vm.prank(operator);
            operators.withdrawUnbonded(operator);
        }
        assertEq(token.balanceOf(address(operators)), 0, "the registry is empty");
        vm.revertToState(snapshot);
    }

    /// @notice After each run: every call was accounted for and at most a tenth found nothing to do (the handler's
    /// inputs are bounded so calls act).
    function afterInvariant() public view {
        bytes4[] memory actions = _actions();
        uint256 succeeded;
        uint256 reverted;
        uint256 skipped;
        for (uint256 i; i < actions.length; ++i) {
            HandlerBase.ActionCount memory c = handler.counts(actions[i]);
            succeeded += c.succeeded;
            reverted += c.reverted;
            skipped += c.skipped;
        }
        assertEq(succeeded + reverted + skipped, handler.calls(), "every call is counted");
        assertLe(skipped * 10, handler.calls() + 50, "more than a tenth of the calls did nothing");
    }
}
