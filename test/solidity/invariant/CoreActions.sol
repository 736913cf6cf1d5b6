// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IInferenceSettlement} from "../../../contracts/interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IProtocolErrors} from "../../../contracts/interfaces/IProtocolErrors.sol";
import {ProtocolLimits} from "../../../contracts/libraries/ProtocolLimits.sol";
import {TestMode} from "../../../contracts/test/TestMode.sol";
import {Mode} from "../../../contracts/types/Mode.sol";
import {ModelId} from "../../../contracts/types/ModelId.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @title Invariant handler: the core's ledger, requests and governance
abstract contract CoreActions is HandlerBase {
    // ------------------------------------------------------------------ time

    /// @notice Let time pass: usually minutes to days, sometimes past every deadline and unbonding, sometimes to
    /// exactly a pending request's deadline or the second after it (the boundary between settling and refunding).
    function warp(uint256 seconds_) external step {
        uint256 kind = seconds_ % 8;
        if (kind == 1 && _requests.length != 0) {
            uint256 n = _requests.length;
            uint256 start = (seconds_ >> 3) % n;
            for (uint256 i; i < n; ++i) {
                uint256 j = (start + i) % n;
                uint256 deadline = _requests[j].request.deadline;
                if (!_pending(j) || deadline < ghostTime) continue;
                ghostTime = deadline + ((seconds_ >> 16) % 2);
                return;
            }
        }
        uint256 dt = kind == 0 ? _bound(seconds_ >> 3, 1, 40 days) : _bound(seconds_ >> 3, 1, 2 days);
        ghostTime += dt;
    }

    // ------------------------------------------------------------------ ledger

    function _depositError(address account, uint256 amount) internal pure returns (bytes memory) {
        if (account == address(0)) return abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
        if (amount == 0) return abi.encodeWithSelector(IProtocolErrors.InvalidAmount.selector);
        return "";
    }

    function _applyDeposit(address account, uint256 amount) internal {
        ghostBalance[account] += amount;
        ghostTotalOwed += amount;
        ghostCoreIn += amount;
    }

    /// @notice `deposit` from a user's wallet (approved first).
    function deposit(uint256 userSeed, uint256 amountSeed) external step {
        address user = _user(userSeed);
        uint256 amount = amountSeed % 16 == 0 ? 0 : _bound(amountSeed >> 4, 1, token.balanceOf(user) / 4 + 1);
        vm.prank(user);
        token.approve(address(core), amount);
        bytes memory expected = _depositError(user, amount);
        _exec(user, address(core), abi.encodeCall(IInferenceSettlement.deposit, (amount)), expected);
        if (expected.length == 0) _applyDeposit(user, amount);
    }

    /// @notice `depositFor` any ledger account (sometimes the zero address).
    function depositFor(uint256 userSeed, uint256 accountSeed, uint256 amountSeed) external step {
        address user = _user(userSeed);
        address account = accountSeed % 16 == 0 ? address(0) : _ledgerAccount(accountSeed >> 4);
        uint256 amount = amountSeed % 16 == 0 ? 0 : _bound(amountSeed >> 4, 1, token.balanceOf(user) / 4 + 1);
        vm.prank(user);
        token.approve(address(core), amount);
        bytes memory expected = _depositError(account, amount);
        _exec(user, address(core), abi.encodeCall(IInferenceSettlement.depositFor, (account, amount)), expected);
        if (expected.length == 0) _applyDeposit(account, amount);
    }

    function _permit(
        address owner,
        uint256 value,
        uint256 deadline
    ) internal view returns (IInferenceSettlement.Permit memory p) {
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, owner, address(core), value, token.nonces(owner), deadline)
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_userKey(owner), digest);
        p = IInferenceSettlement.Permit({value: value, deadline: deadline, v: v, r: r, s: s});
    }

    /// @dev A permit for `value`: valid; or front-run (already spent, the allowance it set still there); or garbage
    /// with no allowance. Returns the permit and the allowance the core will find.
    function _permitFor(
        address owner,
        uint256 value,
        uint256 kind
    ) internal returns (IInferenceSettlement.Permit memory p, uint256 allowance) {
        vm.prank(owner);
        token.approve(address(core), 0);
        p = _permit(owner, value, ghostTime + 1 hours);
        kind %= 8;
        if (kind == 0) {
            // Someone front-runs the permit: it is spent, the allowance is set, the call must still work.
            token.permit(owner, address(core), p.value, p.deadline, p.v, p.r, p.s);
        } else if (kind == 1) {
            // A permit that does not verify, and no allowance.
            p.s = bytes32(uint256(p.s) ^ 1);
            return (p, 0);
        }
        return (p, value);
    }

    /// @notice `depositWithPermit` with a signed permit (valid, front-run or invalid).
    function depositWithPermit(uint256 userSeed, uint256 amountSeed, uint256 kind) external step {
        address user = _user(userSeed);
        uint256 amount = _bound(amountSeed, 1, token.balanceOf(user) / 4 + 1);
        (IInferenceSettlement.Permit memory p, uint256 allowance) = _permitFor(user, amount, kind);
        bytes memory expected;
        if (allowance < amount) {
            expected = abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector,
                address(core),
                allowance,
                amount
            );
        }
        _exec(user, address(core), abi.encodeCall(IInferenceSettlement.depositWithPermit, (amount, p)), expected);
        if (expected.length == 0) _applyDeposit(user, amount);
    }

    /// @notice `withdraw` by an EOA ledger account to a wallet (sometimes to the zero address).
    function withdraw(uint256 accountSeed, uint256 toSeed, uint256 amountSeed) external step {
        address account = _fundedAccount(accountSeed);
        uint256 kind = toSeed % 16;
        address to =
            kind == 0
                ? address(0)
                : kind < 8
                    ? account
                    : address(uint160(uint256(keccak256(abi.encode(toSeed)))));
        uint256 amount = _amount(amountSeed, ghostBalance[account]);
        bytes memory expected =
            to == address(0)
                ? abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector)
                : _debitError(account, amount);
        uint256 walletBefore = token.balanceOf(to);
        _exec(account, address(core), abi.encodeCall(IInferenceSettlement.withdraw, (to, amount)), expected);
        if (expected.length != 0) return;
        ghostBalance[account] -= amount;
        ghostTotalOwed -= amount;
        ghostCoreOut += amount;
        assertEq(token.balanceOf(to) - walletBefore, amount, "withdrawn to the wallet");
    }

    /// @notice `transferBalance` between ledger accounts (sometimes to the zero address).
    function transferBalance(uint256 fromSeed, uint256 toSeed, uint256 amountSeed) external step {
        address from = _fundedAccount(fromSeed);
        address to = toSeed % 16 == 0 ? address(0) : _ledgerAccount(toSeed >> 4);
        uint256 amount = _amount(amountSeed, ghostBalance[from]);
        bytes memory expected =
            to == address(0) ? abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector) : _debitError(from, amount);
        _exec(from, address(core), abi.encodeCall(IInferenceSettlement.transferBalance, (to, amount)), expected);
        if (expected.length != 0) return;
        ghostBalance[from] -= amount;
        ghostBalance[to] += amount;
    }

    /// @notice `approveMode` for a single bit (sometimes not a single bit), any amount including unlimited.
    function approveMode(uint256 userSeed, uint8 modeSeed, uint256 amountSeed) external step {
        address user = _user(userSeed);
        uint8 bits = modeSeed % 16 == 0 ? uint8(modeSeed >> 4) : uint8(1) << (modeSeed % 8);
        if (modeSeed % 4 == 1) bits = Mode.unwrap(hookModes[(modeSeed >> 2) % hookModes.length].mode());
        Mode mode = Mode.wrap(bits);
        uint256 amount = amountSeed % 8 == 0 ? type(uint256).max : _bound(amountSeed >> 3, 0, 1e22);
        bytes memory expected =
            mode.isSingle() ? bytes("") : abi.encodeWithSelector(IInferenceSettlement.InvalidMode.selector, mode);
        _exec(user, address(core), abi.encodeCall(IInferenceSettlement.approveMode, (mode, amount)), expected);
        if (expected.length == 0) ghostAllowance[user][bits] = amount;
    }

    // ------------------------------------------------------------------ requests

    /// @notice How a request is paid for.
    enum Payment {
        Ledger,
        Transfer,
        Permit
    }

    struct OpenPlan {
        address requester;
        IInferenceSettlement.RequestParams params;
        bool knownModel;
        uint256 modelIndex;
        uint96 fee;
        address modelOwner;
        uint16 royaltyBps;
    }

    /// @dev Random but mostly valid request parameters; each defect (invalid mode, closed mode, deadline, callback,
    /// unknown model, out-of-field zk input, fee above the maximum) shows up now and then.
    function _plan(uint256 userSeed, uint256 seed) internal view returns (OpenPlan memory plan) {
        plan.requester = _user(userSeed);
        plan.knownModel = seed % 64 != 0;
        plan.modelIndex = (seed >> 6) % _models.length;
        if (seed % 4 != 0) plan.modelIndex = _openableModel(plan.modelIndex, plan.requester);
        ModelGhost storage model = _models[plan.modelIndex];
        IInferenceSettlement.RequestParams memory p = plan.params;
        p.modelId = plan.knownModel ? model.id : ModelId.wrap(keccak256(abi.encode(seed)));
        uint256 r = uint256(keccak256(abi.encode(seed, "open")));

        // Mode: one of the model's (an open one if any), sometimes any bit, rarely not a single bit.
        uint8 bits = model.modes & ghostOpen != 0 && r % 8 != 0 ? model.modes & ghostOpen : model.modes;
        // Zk requests are the rarest kind (only zk models allow them): half the time take zk when allowed.
        if (bits & Mode.unwrap(ZK) != 0 && (r >> 32) % 2 == 0) bits = Mode.unwrap(ZK);
        uint8 mode;
        uint256 pick = (r >> 8) % 8;
        for (uint256 i; i < 8; ++i) {
            uint8 bit = uint8(1) << uint8((pick + i) % 8);
            if (bits & bit != 0) {
                mode = bit;
                break;
            }
        }
        if (r % 32 == 0) mode = uint8(1) << uint8((r >> 5) % 8);
        if (r % 64 == 1) mode = uint8(r >> 16) & 0x0f;
        p.mode = Mode.wrap(mode);

        p.inputHash = keccak256(abi.encode(r, "input"));
        if (mode == Mode.unwrap(ZK) && r % 16 != 2) p.inputHash = bytes32(uint256(p.inputHash) % _field());

        uint256 ttl =
            (r >> 20) % 4 == 0 ? _bound(r >> 24, 1, ProtocolLimits.MAX_REQUEST_TTL) : _bound(r >> 24, 1, 3 days);
        p.deadline = uint64(ghostTime + ttl);
        if (r % 32 == 3) p.deadline = uint64(ghostTime);
        if (r % 32 == 4) p.deadline = uint64(ghostTime + ProtocolLimits.MAX_REQUEST_TTL + 1);

        uint256 who = (r >> 64) % 8;
        p.operator =
            who < 4
                ? address(0)
                : who < 7
                    ? _operator(r >> 67)
                    : _user(r >> 67);

        uint256 cb = (r >> 72) % 8;
        if (cb < 3) {
            p.callback = address(0);
        } else if (cb < 7) {
            p.callback = address(consumers[(r >> 75) % consumers.length]);
            p.callbackGasLimit =
                (r >> 80) % 16 == 0 ? ProtocolLimits.MAX_CALLBACK_GAS : uint32(_bound(r >> 84, 1, 400_000));
        } else {
            p.callback = eoaCallback;
            p.callbackGasLimit = uint32(_bound(r >> 84, 1, 100_000));
        }
        if (r % 64 == 5) p.callbackGasLimit = p.callback == address(0) ? 1 : ProtocolLimits.MAX_CALLBACK_GAS + 1;
        if (r % 64 == 6 && p.callback != address(0)) p.callbackGasLimit = 0;

        plan.fee = model.fee;
        plan.modelOwner = model.owner;
        plan.royaltyBps = model.royaltyBps;
        p.maxFee = r % 16 == 7 && plan.fee != 0 ? plan.fee - 1 : uint96(_bound(r >> 96, plan.fee, type(uint96).max));
        p.inputUri = "data:,x";
    }

    /// @dev From `start` on, the first model `requester` may open a request for now (active, gate passed, an open
    /// mode); `start` if none.
    function _openableModel(uint256 start, address requester) internal view returns (uint256) {
        uint256 n = _models.length;
        for (uint256 i; i < n; ++i) {
            uint256 j = (start + i) % n;
            ModelGhost storage m = _models[j];
            if (m.status != IModelRegistry.ModelStatus.Active || m.modes & ghostOpen == 0) continue;
            if (m.gate == IModelRegistry.GateKind.MinBalance && token.balanceOf(requester) < m.minBalance) continue;
            if (m.gate == IModelRegistry.GateKind.Allowlist && !ghostAllowed[m.family][requester]) continue;
            return j;
        }
        return start;
    }

    /// @dev The revert `openRequest*` gives for this plan before payment (empty: it gets to payment).
    function _openError(OpenPlan memory plan) internal view returns (bytes memory) {
        IInferenceSettlement.RequestParams memory p = plan.params;
        Mode mode = p.mode;
        if (!mode.isSingle()) return abi.encodeWithSelector(IInferenceSettlement.InvalidMode.selector, mode);
        if (ghostOpen & Mode.unwrap(mode) == 0) {
            return abi.encodeWithSelector(IInferenceSettlement.ModeNotOpen.selector, mode);
        }
        uint64 latest = uint64(ghostTime) + ProtocolLimits.MAX_REQUEST_TTL;
        if (p.deadline <= ghostTime || p.deadline > latest) {
            return abi.encodeWithSelector(IInferenceSettlement.InvalidDeadline.selector, p.deadline, latest);
        }
        if (
            p.callback == address(0)
                ? p.callbackGasLimit != 0
                : (p.callbackGasLimit == 0 || p.callbackGasLimit > ProtocolLimits.MAX_CALLBACK_GAS)
        ) {
            return
                abi.encodeWithSelector(
                    IInferenceSettlement.InvalidCallback.selector,
                    p.callback,
                    p.callbackGasLimit,
                    ProtocolLimits.MAX_CALLBACK_GAS
                );
        }
        if (!plan.knownModel) return abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, p.modelId);
        ModelGhost storage model = _models[plan.modelIndex];
        if (model.status != IModelRegistry.ModelStatus.Active) {
            return abi.encodeWithSelector(IModelRegistry.ModelNotActive.selector, p.modelId, model.status);
        }
        if (model.modes & Mode.unwrap(mode) == 0) {
            return abi.encodeWithSelector(IModelRegistry.ModeNotAllowed.selector, p.modelId, mode, model.modes);
        }
        if (mode == ZK && uint256(p.inputHash) >= _field()) {
            return abi.encodeWithSelector(IModelRegistry.InputNotInField.selector, p.inputHash);
        }
        if (model.gate == IModelRegistry.GateKind.MinBalance) {
            uint256 balance = token.balanceOf(plan.requester);
            if (balance < model.minBalance) {
                return
                    abi.encodeWithSelector(
                        IModelRegistry.BalanceBelowGate.selector,
                        plan.requester,
                        balance,
                        model.minBalance
                    );
            }
        } else if (model.gate == IModelRegistry.GateKind.Allowlist && !ghostAllowed[model.family][plan.requester]) {
            return abi.encodeWithSelector(IModelRegistry.NotAllowlisted.selector, plan.requester);
        }
        if (plan.fee > p.maxFee) {
            return abi.encodeWithSelector(IInferenceSettlement.FeeAboveMax.selector, plan.fee, p.maxFee);
        }
        return "";
    }

    function _open(uint256 userSeed, uint256 seed, Payment payment) internal {
        OpenPlan memory plan = _plan(userSeed, seed);
        bytes memory expected = _openError(plan);
        bytes memory data;
        if (payment == Payment.Ledger) {
            if (expected.length == 0 && ghostBalance[plan.requester] < plan.fee) {
                expected = abi.encodeWithSelector(
                    IInferenceSettlement.InsufficientBalance.selector,
                    ghostBalance[plan.requester],
                    plan.fee
                );
            }
            data = abi.encodeCall(IInferenceSettlement.openRequest, (plan.params));
        } else if (payment == Payment.Transfer) {
            // Usually approve the fee; sometimes leave whatever allowance is there.
            if (seed % 4 != 0) {
                vm.prank(plan.requester);
                token.approve(address(core), plan.fee);
            }
            uint256 allowance = token.allowance(plan.requester, address(core));
            if (expected.length == 0 && plan.fee != 0 && allowance < plan.fee) {
                expected = abi.encodeWithSelector(
                    IERC20Errors.ERC20InsufficientAllowance.selector,
                    address(core),
                    allowance,
                    plan.fee
                );
            }
            data = abi.encodeCall(IInferenceSettlement.openRequestWithTransfer, (plan.params));
        } else {
            (IInferenceSettlement.Permit memory permit, uint256 allowance) = _permitFor(
                plan.requester,
                plan.fee,
                seed >> 8
            );
            if (expected.length == 0 && plan.fee != 0 && allowance < plan.fee) {
                expected = abi.encodeWithSelector(
                    IERC20Errors.ERC20InsufficientAllowance.selector,
                    address(core),
                    allowance,
                    plan.fee
                );
            }
            data = abi.encodeCall(IInferenceSettlement.openRequestWithPermit, (plan.params, permit));
        }
        uint256 expectedId = _requests.length + 1;
        (, bytes memory ret) = _exec(plan.requester, address(core), data, expected);
        if (expected.length != 0) return;

        assertEq(abi.decode(ret, (uint256)), expectedId, "request ids are consecutive");
        IInferenceSettlement.RequestParams memory p = plan.params;
        IInferenceSettlement.Request memory request = IInferenceSettlement.Request({
            requester: plan.requester,
            fee: plan.fee,
            modelOwner: plan.modelOwner,
            royaltyBps: plan.royaltyBps,
            protocolFeeBps: ghostProtocolFeeBps,
            mode: p.mode,
            deadline: p.deadline,
            modelId: p.modelId,
            inputHash: p.inputHash,
            operator: p.operator,
            callback: p.callback,
            callbackGasLimit: p.callbackGasLimit
        });
        assertTrue(core.isCommitted(expectedId, keccak256(abi.encode(request))), "opened request is committed");
        RequestGhost storage g = _requests.push();
        g.request = request;
        g.status = IInferenceSettlement.RequestStatus.Pending;
        if (payment == Payment.Ledger) {
            ghostBalance[plan.requester] -= plan.fee;
        } else {
            ghostTotalOwed += plan.fee;
            ghostCoreIn += plan.fee;
        }
    }

    /// @notice `openRequest` paid from the ledger.
    function openRequest(uint256 userSeed, uint256 seed) external step {
        _open(userSeed, seed, Payment.Ledger);
    }

    /// @notice `openRequestWithTransfer`.
    function openRequestWithTransfer(uint256 userSeed, uint256 seed) external step {
        _open(userSeed, seed, Payment.Transfer);
    }

    /// @notice `openRequestWithPermit` (valid, front-run or invalid permits).
    function openRequestWithPermit(uint256 userSeed, uint256 seed) external step {
        _open(userSeed, seed, Payment.Permit);
    }

    /// @notice `refund` by anyone: a pending request after its deadline, or at once when revoked or retired;
    /// otherwise the exact revert (not expired, not pending, request data changed).
    function refund(uint256 seed, uint256 callerSeed) external step {
        (bool found, uint256 index) = _pickRequest(seed, 0);
        if (!found) return _skip();
        if (seed % 2 == 0) {
            // Usually one that can be refunded now, if any.
            uint256 n = _requests.length;
            for (uint256 i; i < n; ++i) {
                uint256 j = (index + i) % n;
                IInferenceSettlement.Request storage q = _requests[j].request;
                if (
                    _pending(j) &&
                    (ghostTime > q.deadline || _isRevoked(q.modelId) || ghostOpen & Mode.unwrap(q.mode) == 0)
                ) {
                    index = j;
                    break;
                }
            }
        }
        RequestGhost storage g = _requests[index];
        IInferenceSettlement.Request memory request = g.request;
        uint256 id = index + 1;
        bool tampered = seed % 16 == 1;
        if (tampered) request.inputHash = bytes32(uint256(request.inputHash) ^ 1);
        bytes memory expected;
        if (g.status != IInferenceSettlement.RequestStatus.Pending) {
            expected = abi.encodeWithSelector(IInferenceSettlement.RequestNotPending.selector, id, g.status);
        } else if (tampered) {
            expected = abi.encodeWithSelector(IInferenceSettlement.RequestMismatch.selector, id);
        } else if (
            ghostTime <= request.deadline && !_isRevoked(request.modelId) && ghostOpen & Mode.unwrap(request.mode) != 0
        ) {
            expected = abi.encodeWithSelector(IInferenceSettlement.RequestNotExpired.selector, id, request.deadline);
        }
        _exec(_user(callerSeed), address(core), abi.encodeCall(IInferenceSettlement.refund, (request, id)), expected);
        if (expected.length != 0) return;
        if (g.status != IInferenceSettlement.RequestStatus.Pending) illegalTransition = true;
        g.status = IInferenceSettlement.RequestStatus.Refunded;
        ghostBalance[request.requester] += request.fee;
    }

    // ------------------------------------------------------------------ protocol

    function _totalProtocolFees() internal view returns (uint256 total) {
        for (uint256 i; i < 8; ++i) total += ghostProtocolFees[uint8(1 << i)];
    }

    /// @notice `collectProtocolFees` by anyone.
    function collectProtocolFees(uint256 callerSeed) external step {
        uint256 total = _totalProtocolFees();
        bytes memory expected =
            total == 0 ? abi.encodeWithSelector(IInferenceSettlement.NothingToCollect.selector) : bytes("");
        uint256 before = token.balanceOf(ghostTreasury);
        _exec(_user(callerSeed), address(core), abi.encodeCall(IInferenceSettlement.collectProtocolFees, ()), expected);
        if (expected.length != 0) return;
        for (uint256 i; i < 8; ++i) ghostProtocolFees[uint8(1 << i)] = 0;
        ghostTotalOwed -= total;
        ghostCoreOut += total;
        assertEq(token.balanceOf(ghostTreasury) - before, total, "treasury received the fees");
    }

    /// @notice A stray OPG transfer straight to the core (not a deposit): owed to nobody, sweepable.
    function donate(uint256 userSeed, uint256 amountSeed) external step {
        address user = _user(userSeed);
        uint256 amount = _bound(amountSeed, 1, 1e21);
        vm.prank(user);
        token.transfer(address(core), amount);
        ghostStray += amount;
        ghostCoreIn += amount;
    }

    /// @notice A transfer of another token to the core (all of it sweepable).
    function donateOther(uint256 amountSeed) external step {
        uint256 amount = _bound(amountSeed, 1, 1e21);
        otherToken.transfer(address(core), amount);
        ghostOtherStray += amount;
    }

    /// @notice `sweep` of OPG (only the excess over what is owed) or of another token (all of it).
    function sweep(uint256 assetSeed, uint256 toSeed, uint256 callerSeed) external step {
        bool opg = assetSeed % 2 == 0;
        IERC20 asset = opg ? IERC20(address(token)) : IERC20(address(otherToken));
        address to = toSeed % 16 == 0 ? address(0) : _user(toSeed >> 4);
        (address caller, bytes memory expected) = _governor(address(core), callerSeed);
        uint256 amount = opg ? ghostStray : ghostOtherStray;
        if (expected.length == 0) {
            if (to == address(0)) expected = abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
            else if (amount == 0) {
                expected = abi.encodeWithSelector(IInferenceSettlement.NothingToSweep.selector, asset);
            }
        }
        uint256 before = asset.balanceOf(to);
        _exec(caller, address(core), abi.encodeCall(IInferenceSettlement.sweep, (asset, to)), expected);
        if (expected.length != 0) return;
        assertEq(asset.balanceOf(to) - before, amount, "swept exactly the excess");
        if (opg) {
            ghostStray = 0;
            ghostCoreOut += amount;
        } else {
            ghostOtherStray = 0;
        }
    }

    /// @notice `setProtocolFee` by governance (sometimes above the cap, sometimes not governance).
    function setProtocolFee(uint256 bpsSeed, uint256 callerSeed) external step {
        uint16 bps = uint16(bpsSeed % 8 == 0 ? _bound(bpsSeed >> 3, 2_001, 65_535) : _bound(bpsSeed >> 3, 0, 2_000));
        (address caller, bytes memory expected) = _governor(address(core), callerSeed);
        if (expected.length == 0 && bps > ProtocolLimits.MAX_PROTOCOL_FEE_BPS) {
            expected = abi.encodeWithSelector(
                IInferenceSettlement.ProtocolFeeTooHigh.selector,
                bps,
                ProtocolLimits.MAX_PROTOCOL_FEE_BPS
            );
        }
        _exec(caller, address(core), abi.encodeCall(IInferenceSettlement.setProtocolFee, (bps)), expected);
        if (expected.length == 0) ghostProtocolFeeBps = bps;
    }

    /// @notice `setTreasury` by governance (sometimes the zero address).
    function setTreasury(uint256 seed, uint256 callerSeed) external step {
        address to = seed % 16 == 0 ? address(0) : treasuries[seed % treasuries.length];
        (address caller, bytes memory expected) = _governor(address(core), callerSeed);
        if (expected.length == 0 && to == address(0)) {
            expected = abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
        }
        _exec(caller, address(core), abi.encodeCall(IInferenceSettlement.setTreasury, (to)), expected);
        if (expected.length == 0) ghostTreasury = to;
    }

    /// @notice `retireMode`: usually a spare test mode; the signature, zk and first test modes only rarely, so a run
    /// keeps exercising them; sometimes a bit that is not open.
    function retireMode(uint256 seed, uint256 callerSeed) external step {
        uint8 bit = uint8(1) << uint8(seed % 8);
        if ((seed >> 16) % 4 != 0) {
            // Usually an open spare bit, if any.
            for (uint256 i = 3; i < 8; ++i) {
                uint8 spare = uint8(1) << uint8(i);
                if (ghostOpen & spare != 0) {
                    bit = spare;
                    break;
                }
            }
        }
        bool core3 = bit == Mode.unwrap(SIGNATURE) || bit == Mode.unwrap(ZK) || bit == Mode.unwrap(TEST_BIT);
        if (core3 && (seed >> 3) % 64 != 0) bit = uint8(1) << uint8(3 + ((seed >> 9) % 5));
        Mode mode = Mode.wrap(bit);
        (address caller, bytes memory expected) = _governor(address(core), callerSeed);
        if (expected.length == 0 && ghostModeContract[bit] == address(0)) {
            expected = abi.encodeWithSelector(IInferenceSettlement.ModeNotOpen.selector, mode);
        }
        _exec(caller, address(core), abi.encodeCall(IInferenceSettlement.retireMode, (mode)), expected);
        if (expected.length != 0) return;
        ghostModeContract[bit] = address(0);
        ghostOpen &= ~bit;
    }

    /// @notice `bindMode` of a fresh test mode to a spare bit (once per bit; sometimes a contract declaring another
    /// bit, or a bit already bound, or not a single bit).
    function bindMode(uint256 seed, uint256 callerSeed) external step {
        uint8 bit = seed % 16 == 0 ? uint8(seed >> 4) : uint8(1) << uint8(2 + ((seed >> 4) % 6));
        Mode mode = Mode.wrap(bit);
        bool mismatch = (seed >> 8) % 8 == 0;
        Mode declared = mismatch ? Mode.wrap(uint8(1) << uint8((Mode.unwrap(mode) == 0x80 ? 0 : 7))) : mode;
        TestMode target = new TestMode(core, declared);
        (address caller, bytes memory expected) = _governor(address(core), callerSeed);
        if (expected.length == 0) {
            if (!mode.isSingle()) expected = abi.encodeWithSelector(IInferenceSettlement.InvalidMode.selector, mode);
            else if (ghostBound & bit != 0) {
                expected = abi.encodeWithSelector(IInferenceSettlement.ModeAlreadyBound.selector, mode);
            } else if (mismatch) {
                expected = abi.encodeWithSelector(
                    IInferenceSettlement.ModeContractMismatch.selector,
                    address(target),
                    mode
                );
            }
        }
        _exec(caller, address(core), abi.encodeCall(IInferenceSettlement.bindMode, (mode, address(target))), expected);
        if (expected.length != 0) return;
        ghostBound |= bit;
        ghostOpen |= bit;
        ghostModeContract[bit] = address(target);
        hookModes.push(target);
        _addLedgerAccount(address(target));
        vm.label(address(target), string.concat("TestMode", vm.toString(uint256(bit))));
    }

    /// @notice Governance of the core, the signature mode or the operator registry handed over in two steps (and
    /// renouncing refused).
    function handOverGovernance(uint256 which, uint256 seed) external step {
        uint256 w = which % 3;
        address ownable =
            w == 0
                ? address(core)
                : w == 1
                    ? address(signatureMode)
                    : address(operators);
        address current = ghostOwner[ownable];
        if (seed % 4 == 0) {
            _exec(
                current,
                ownable,
                abi.encodeWithSignature("renounceOwnership()"),
                abi.encodeWithSelector(IProtocolErrors.RenounceDisabled.selector)
            );
            return;
        }
        address next = governors[seed % governors.length];
        vm.prank(current);
        (bool ok, ) = ownable.call(abi.encodeWithSignature("transferOwnership(address)", next));
        assertTrue(ok, "transferOwnership");
        _exec(next, ownable, abi.encodeWithSignature("acceptOwnership()"), "");
        ghostOwner[ownable] = next;
    }
}
