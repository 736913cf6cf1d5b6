// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IInferenceSettlement} from "../../../contracts/interfaces/IInferenceSettlement.sol";
import {IOperatorRegistry} from "../../../contracts/interfaces/IOperatorRegistry.sol";
import {IProtocolErrors} from "../../../contracts/interfaces/IProtocolErrors.sol";
import {ISignatureMode} from "../../../contracts/interfaces/ISignatureMode.sol";
import {IZkMode} from "../../../contracts/interfaces/IZkMode.sol";
import {ProtocolLimits} from "../../../contracts/libraries/ProtocolLimits.sol";
import {TestMode} from "../../../contracts/test/TestMode.sol";
import {Mode} from "../../../contracts/types/Mode.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @title Invariant handler: the signature mode, the zk mode and the mode hooks (through test modes)
abstract contract ModeActions is HandlerBase {
    /// @dev Output bytes of a pseudo-random length (0..64).
    function _output(uint256 seed) internal pure returns (bytes memory output) {
        uint256 length = seed % 65;
        output = new bytes(length);
        for (uint256 i; i < length; ++i) output[i] = bytes1(uint8(uint256(keccak256(abi.encode(seed, i)))));
    }

    /// @dev `_settleError` for a request whose calldata may have been changed (a field other than its mode).
    function _settleErrorTampered(
        uint256 index,
        bool tampered,
        address caller,
        address resultOperator,
        address payout,
        bytes memory output,
        bytes32 outputHash
    ) internal view returns (bytes memory) {
        RequestGhost storage g = _requests[index];
        if (
            tampered &&
            ghostModeContract[Mode.unwrap(g.request.mode)] == caller &&
            g.status == IInferenceSettlement.RequestStatus.Pending
        ) return abi.encodeWithSelector(IInferenceSettlement.RequestMismatch.selector, index + 1);
        return _settleError(index, caller, resultOperator, payout, output, outputHash);
    }

    // ------------------------------------------------------------------ signature mode

    struct SignedPlan {
        uint256 index;
        IInferenceSettlement.Request request;
        IInferenceSettlement.Result result;
        address operator;
        uint256 key;
        bytes32 r;
        bytes32 vs;
        address recovered;
    }

    function _signedPlan(
        uint256 index,
        uint256 operatorSeed,
        uint256 outputSeed,
        uint256 tamperSeed
    ) internal view returns (SignedPlan memory plan) {
        plan.index = index;
        plan.request = _requests[index].request;
        plan.operator =
            plan.request.operator != address(0) && operatorSeed % 8 != 0
                ? plan.request.operator
                : _operator(operatorSeed >> 3);
        OperatorGhost storage og = _operators[plan.operator];
        uint256 which = (operatorSeed >> 8) % 32;
        plan.key = og.registered ? og.signerKey : _key("unregistered", operatorSeed);
        if (which == 0 && _signerKeys.length != 0) plan.key = _signerKeys[(operatorSeed >> 12) % _signerKeys.length];
        if (which == 1) plan.key = _key("foreign", operatorSeed);

        bytes memory output = outputSeed % 3 == 0 ? new bytes(0) : _output(outputSeed >> 2);
        bytes32 outputHash = output.length != 0 ? keccak256(output) : keccak256(abi.encode(outputSeed));
        if (outputSeed % 32 == 1 && output.length != 0) outputHash ^= bytes32(uint256(1));
        plan.result = IInferenceSettlement.Result({
            operator: plan.operator,
            outputHash: outputHash,
            output: output,
            outputUri: outputSeed % 2 == 0 ? "" : "ipfs://out"
        });
        (plan.r, plan.vs) = vm.signCompact(plan.key, _resultDigest(plan.request, index + 1, plan.result));
        plan.recovered = vm.addr(plan.key);
        if (tamperSeed % 32 == 0) {
            // A relayer changes a signed field: the signature now recovers another key.
            uint256 field = (tamperSeed >> 4) % 3;
            if (field == 0) plan.result.outputUri = string.concat(plan.result.outputUri, "#");
            else if (field == 1) plan.result.output = plan.result.output.length == 0 ? bytes("x") : new bytes(0);
            else plan.result.outputHash ^= bytes32(uint256(2));
            plan.recovered = ECDSA.recover(_resultDigest(plan.request, index + 1, plan.result), plan.r, plan.vs);
        }
    }

    /// @notice `fulfillSigned` with a real signature by the operator's current key (sometimes a retired, foreign or
    /// unregistered key, a changed field, an operator not assigned, a stake below the minimum, a request of another
    /// mode, expired, settled or revoked: each with its exact revert).
    function fulfillSigned(
        uint256 requestSeed,
        uint256 operatorSeed,
        uint256 outputSeed,
        uint256 tamperSeed,
        uint256 callbackSeed
    ) external step {
        (bool found, uint256 index) = _pickRequest(requestSeed, Mode.unwrap(SIGNATURE));
        if (!found) return _skip();
        SignedPlan memory plan = _signedPlan(index, operatorSeed, outputSeed, tamperSeed);
        OperatorGhost storage og = _operators[plan.operator];
        bytes memory expected;
        if (!og.registered) {
            expected = abi.encodeWithSelector(IOperatorRegistry.UnknownOperator.selector, plan.operator);
        } else if (vm.addr(og.signerKey) != plan.recovered) {
            expected = abi.encodeWithSelector(IOperatorRegistry.SignerMismatch.selector, plan.operator, plan.recovered);
        } else if (og.stake < ghostMinStake) {
            expected = abi.encodeWithSelector(
                IOperatorRegistry.StakeBelowMinimum.selector,
                plan.operator,
                og.stake,
                ghostMinStake
            );
        } else {
            expected = _settleError(
                index,
                address(signatureMode),
                plan.operator,
                og.payout,
                plan.result.output,
                plan.result.outputHash
            );
        }
        bytes memory data = abi.encodeCall(
            ISignatureMode.fulfillSigned,
            (plan.request, index + 1, plan.result, plan.r, plan.vs)
        );
        IInferenceSettlement.RequestStatus predicted = _armCallback(index, callbackSeed, address(signatureMode), data);
        uint256 received = _consumerReceived(index);
        _exec(_user(callbackSeed >> 8), address(signatureMode), data, expected);
        if (expected.length == 0) _applySettlement(index, og.payout, predicted, received, plan.result.outputHash);
    }

    function _equivocationKey(address operator, uint256 seed) internal view returns (uint256 key) {
        OperatorGhost storage og = _operators[operator];
        uint256 which = seed % 8;
        key = og.registered ? og.signerKey : _key("unregistered", seed);
        if (which == 4 || which == 5) {
            // One of the operator's retired keys, if any.
            for (uint256 i; i < _signerKeys.length; ++i) {
                uint256 k = _signerKeys[((seed % _signerKeys.length) + i) % _signerKeys.length];
                SignerGhost storage sg = _signers[vm.addr(k)];
                if (sg.operator == operator && sg.retiredAt != 0) return k;
            }
        } else if (which == 6 && _signerKeys.length != 0) {
            key = _signerKeys[(seed >> 3) % _signerKeys.length];
        } else if (which == 7) {
            key = _key("foreign", seed);
        }
    }

    function _evidenceSig(
        uint256 key,
        IInferenceSettlement.Request memory request,
        uint256 id,
        address operator,
        ISignatureMode.ResultClaim memory claim
    ) internal view returns (bytes memory) {
        bytes32 digest = signatureMode.resultDigest(id, keccak256(abi.encode(request)), claim, operator);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    struct Evidence {
        uint256 index;
        uint256 id;
        IInferenceSettlement.Request request;
        bool tampered;
        address operator;
        address signer;
        ISignatureMode.ResultClaim a;
        ISignatureMode.ResultClaim b;
        bytes sigA;
        bytes sigB;
        address reporter;
    }

    function _evidence(
        uint256 requestSeed,
        uint256 operatorSeed,
        uint256 keySeed,
        uint256 claimSeed
    ) internal view returns (Evidence memory e) {
        e.index = requestSeed % _requests.length;
        if (requestSeed % 4 != 0) {
            for (uint256 i; i < _requests.length; ++i) {
                uint256 j = (e.index + i) % _requests.length;
                if (ghostTime <= uint256(_requests[j].request.deadline) + ProtocolLimits.EVIDENCE_WINDOW) {
                    e.index = j;
                    break;
                }
            }
        }
        e.id = e.index + 1;
        e.request = _requests[e.index].request;
        e.tampered = (requestSeed >> 128) % 32 == 1;
        if (e.tampered) e.request.fee ^= 1;
        // Usually the request's assigned operator, else any operator account.
        e.operator =
            e.request.operator != address(0) && operatorSeed % 4 != 0
                ? e.request.operator
                : _operator(operatorSeed >> 2);
        uint256 key = _equivocationKey(e.operator, keySeed);
        e.signer = vm.addr(key);
        e.a = ISignatureMode.ResultClaim({
            outputHash: keccak256(abi.encode(claimSeed, "a")),
            outputBytesHash: keccak256(abi.encode(claimSeed, "bytes")),
            outputUriHash: keccak256("")
        });
        e.b = ISignatureMode.ResultClaim({
            outputHash: claimSeed % 16 == 0 ? e.a.outputHash : keccak256(abi.encode(claimSeed, "b")),
            outputBytesHash: keccak256(""),
            outputUriHash: keccak256(abi.encode(claimSeed, "uri"))
        });
        e.sigA = _evidenceSig(key, e.request, e.id, e.operator, e.a);
        e.sigB = _evidenceSig(key, e.request, e.id, e.operator, e.b);
    }

    /// @dev Amount `slash` takes from an operator: active stake first, then unbonding.
    function _slashAmounts(
        address operator,
        uint256 amount
    ) internal view returns (uint256 fromActive, uint256 fromUnbonding) {
        OperatorGhost storage og = _operators[operator];
        fromActive = amount < og.stake ? amount : og.stake;
        uint256 rest = amount - fromActive;
        fromUnbonding = rest < og.unbonding ? rest : og.unbonding;
    }

    function _applySlash(
        address operator,
        uint256 fromActive,
        uint256 fromUnbonding,
        address beneficiary,
        uint16 rewardBps,
        uint8 mode
    ) internal returns (uint256 slashed) {
        OperatorGhost storage og = _operators[operator];
        slashed = fromActive + fromUnbonding;
        og.stake -= uint96(fromActive);
        og.unbonding -= uint96(fromUnbonding);
        uint256 reward = (slashed * rewardBps) / ProtocolLimits.BPS;
        ghostBalance[beneficiary] += reward;
        ghostProtocolFees[mode] += slashed - reward;
        ghostTotalOwed += slashed;
        ghostCoreIn += slashed;
        ghostSlashed += slashed;
    }

    /// @notice `reportEquivocation` with two real signatures over different results for a request (sometimes the
    /// same result, a request never opened, late evidence, a foreign or retired key, evidence already used, nothing
    /// to slash, or the signature mode retired).
    function reportEquivocation(
        uint256 requestSeed,
        uint256 operatorSeed,
        uint256 keySeed,
        uint256 claimSeed,
        uint256 reporterSeed
    ) external step {
        if (_requests.length == 0) return _skip();
        Evidence memory e = _evidence(requestSeed, operatorSeed, keySeed, claimSeed);
        e.reporter = _user(reporterSeed);
        uint256 closedAt = uint256(e.request.deadline) + ProtocolLimits.EVIDENCE_WINDOW;
        SignerGhost storage sg = _signers[e.signer];
        (uint256 fromActive, uint256 fromUnbonding) = _slashAmounts(e.operator, ghostPenalty);
        bytes memory expected;
        if (e.a.outputHash == e.b.outputHash) {
            expected = abi.encodeWithSelector(ISignatureMode.NotEquivocation.selector);
        } else if (e.tampered) {
            expected = abi.encodeWithSelector(
                ISignatureMode.UnknownRequest.selector,
                e.id,
                keccak256(abi.encode(e.request))
            );
        } else if (ghostTime > closedAt) {
            expected = abi.encodeWithSelector(ISignatureMode.EvidenceExpired.selector, e.id, closedAt);
        } else if (sg.operator != e.operator) {
            expected = abi.encodeWithSelector(ISignatureMode.InvalidEvidence.selector, e.signer);
        } else if (sg.retiredAt != 0 && e.id >= sg.retiredAtRequest) {
            expected = abi.encodeWithSelector(
                ISignatureMode.KeyRetiredBeforeRequest.selector,
                e.signer,
                sg.retiredAtRequest
            );
        } else if (ghostEvidenceUsed[e.id][e.operator]) {
            expected = abi.encodeWithSelector(ISignatureMode.EvidenceAlreadyUsed.selector, e.id, e.operator);
        } else if (ghostModeContract[Mode.unwrap(SIGNATURE)] != address(signatureMode)) {
            expected = abi.encodeWithSelector(IInferenceSettlement.NotModeContract.selector, address(signatureMode));
        } else if (fromActive + fromUnbonding == 0) {
            expected = abi.encodeWithSelector(ISignatureMode.NothingToSlash.selector, e.operator);
        }
        (, bytes memory ret) = _exec(
            e.reporter,
            address(signatureMode),
            abi.encodeCall(ISignatureMode.reportEquivocation, (e.request, e.id, e.operator, e.a, e.sigA, e.b, e.sigB)),
            expected
        );
        if (expected.length != 0) return;
        ghostEvidenceUsed[e.id][e.operator] = true;
        uint256 slashed = _applySlash(
            e.operator,
            fromActive,
            fromUnbonding,
            e.reporter,
            ghostRewardBps,
            Mode.unwrap(SIGNATURE)
        );
        assertEq(abi.decode(ret, (uint256)), slashed, "reportEquivocation returns the amount slashed");
    }

    /// @notice `setSlashParams` by governance (sometimes a reward above 100%, sometimes not governance).
    function setSlashParams(uint256 penaltySeed, uint256 rewardSeed, uint256 callerSeed) external step {
        uint96 penalty = penaltySeed % 16 == 0 ? 0 : uint96(_bound(penaltySeed >> 4, 1, 300e18));
        uint16 rewardBps = uint16(
            rewardSeed % 16 == 0 ? _bound(rewardSeed >> 4, 10_001, 65_535) : _bound(rewardSeed >> 4, 0, 10_000)
        );
        (address caller, bytes memory expected) = _governor(address(signatureMode), callerSeed);
        if (expected.length == 0 && rewardBps > ProtocolLimits.BPS) {
            expected = abi.encodeWithSelector(ISignatureMode.RewardTooHigh.selector, rewardBps);
        }
        _exec(
            caller,
            address(signatureMode),
            abi.encodeCall(ISignatureMode.setSlashParams, (penalty, rewardBps)),
            expected
        );
        if (expected.length != 0) return;
        ghostPenalty = penalty;
        ghostRewardBps = rewardBps;
    }

    // ------------------------------------------------------------------ zk mode

    /// @notice `fulfillZk` with a proof the signal-hash verifier accepts for this request, output and submitter
    /// (sometimes an output outside the field, a changed proof, another mode's request, a model without a verifier,
    /// an unassigned submitter, expired, settled or revoked).
    function fulfillZk(
        uint256 requestSeed,
        uint256 submitterSeed,
        uint256 outputSeed,
        uint256 tamperSeed,
        uint256 callbackSeed
    ) external step {
        (bool found, uint256 index) = _pickRequest(requestSeed, Mode.unwrap(ZK));
        if (!found) return _skip();
        IInferenceSettlement.Request memory request = _requests[index].request;
        uint256 id = index + 1;
        address submitter =
            request.operator != address(0) && submitterSeed % 8 != 0
                ? request.operator
                : _eoaAccount(submitterSeed >> 3);
        uint256 output = outputSeed % 16 == 0 ? _field() + ((outputSeed >> 4) % 1e6) : outputSeed % _field();
        IZkMode.ZkProof memory proof = _zkProof(request, id, output, submitter);
        bool tampered = tamperSeed % 16 == 0;
        if (tampered) proof.c[0] ^= 1;

        (, address verifierAddress, bytes32 pinned) = models.zkBindingOf(request.modelId);
        bytes32 actual = verifierAddress.codehash;
        bytes memory outputBytes = abi.encode(output);
        bytes memory expected;
        if (actual != pinned) {
            expected = abi.encodeWithSelector(IZkMode.VerifierCodeChanged.selector, verifierAddress, pinned, actual);
        } else if (output >= _field()) {
            expected = abi.encodeWithSelector(IZkMode.PublicSignalOutOfField.selector, 0, output);
        } else if (verifierAddress.code.length == 0) {
            expected = EMPTY_REVERT;
        } else if (tampered) {
            expected = abi.encodeWithSelector(IZkMode.InvalidProof.selector);
        } else {
            expected = _settleError(index, address(zkMode), submitter, submitter, outputBytes, keccak256(outputBytes));
        }
        bytes memory data = abi.encodeCall(IZkMode.fulfillZk, (request, id, output, proof));
        IInferenceSettlement.RequestStatus predicted = _armCallback(index, callbackSeed, address(zkMode), data);
        uint256 received = _consumerReceived(index);
        _exec(submitter, address(zkMode), data, expected);
        if (expected.length == 0) _applySettlement(index, submitter, predicted, received, keccak256(outputBytes));
    }

    // ------------------------------------------------------------------ mode hooks via test modes

    /// @dev Usually a live test mode, sometimes any (a retired one exercises `NotModeContract`).
    function _testMode(uint256 seed) internal view returns (TestMode mode, uint8 bit, bytes memory notLive) {
        uint256 n = hookModes.length;
        mode = hookModes[(seed >> 2) % n];
        if (seed % 4 != 0) {
            for (uint256 i; i < n; ++i) {
                TestMode candidate = hookModes[(((seed >> 2) % n) + i) % n];
                if (ghostModeContract[Mode.unwrap(candidate.mode())] == address(candidate)) {
                    mode = candidate;
                    break;
                }
            }
        }
        bit = Mode.unwrap(mode.mode());
        if (ghostModeContract[bit] != address(mode)) {
            notLive = abi.encodeWithSelector(IInferenceSettlement.NotModeContract.selector, address(mode));
        }
    }

    /// @notice `pull` within the payer's allowance to the mode (sometimes zero, above the allowance or the balance,
    /// or by a retired mode).
    function modePull(uint256 modeSeed, uint256 payerSeed, uint256 amountSeed) external step {
        (TestMode mode, uint8 bit, bytes memory expected) = _testMode(modeSeed);
        address payer = _user(payerSeed);
        if (payerSeed % 4 != 0) {
            // Usually a payer who allowed this mode something.
            for (uint256 i; i < users.length; ++i) {
                address candidate = _user((payerSeed % users.length) + i);
                if (ghostAllowance[candidate][bit] != 0 && ghostBalance[candidate] != 0) {
                    payer = candidate;
                    break;
                }
            }
        }
        uint256 allowance = ghostAllowance[payer][bit];
        uint256 available = ghostBalance[payer];
        uint256 kind = amountSeed % 8;
        uint256 cap = allowance < available ? allowance : available;
        uint256 amount;
        if (kind == 0) amount = 0;
        else if (kind == 1 && allowance != type(uint256).max) amount = allowance + 1;
        else amount = cap == 0 ? 1 : _bound(amountSeed >> 3, 1, cap);
        if (expected.length == 0) {
            if (allowance < amount) {
                expected = abi.encodeWithSelector(
                    IInferenceSettlement.InsufficientModeAllowance.selector,
                    allowance,
                    amount
                );
            } else {
                expected = _debitError(payer, amount);
            }
        }
        _exec(payer, address(mode), abi.encodeCall(TestMode.pull, (payer, amount)), expected);
        if (expected.length != 0) return;
        assertLe(amount, allowance, "pulled more than allowed");
        ghostBalance[payer] -= amount;
        ghostBalance[address(mode)] += amount;
        if (allowance != type(uint256).max) ghostAllowance[payer][bit] = allowance - amount;
    }

    /// @notice `payFee` out of the mode's own ledger balance (sometimes an invalid royalty, a zero payout or owner,
    /// more than the mode holds, or a retired mode).
    function modePayFee(
        uint256 modeSeed,
        uint256 feeSeed,
        uint256 ownerSeed,
        uint256 royaltySeed,
        uint256 payoutSeed
    ) external step {
        (TestMode mode, uint8 bit, bytes memory expected) = _testMode(modeSeed);
        uint256 fee = _amount(feeSeed, ghostBalance[address(mode)]);
        address owner = ownerSeed % 16 == 0 ? address(0) : _ledgerAccount(ownerSeed >> 4);
        address payout = payoutSeed % 16 == 0 ? address(0) : _ledgerAccount(payoutSeed >> 4);
        uint16 royaltyBps = uint16(
            royaltySeed % 16 == 0
                ? _bound(royaltySeed >> 4, ProtocolLimits.MAX_ROYALTY_BPS + 1, 65_535)
                : _bound(royaltySeed >> 4, 0, ProtocolLimits.MAX_ROYALTY_BPS)
        );
        if (expected.length == 0) {
            if (royaltyBps > ProtocolLimits.MAX_ROYALTY_BPS) {
                expected = abi.encodeWithSelector(IInferenceSettlement.InvalidBps.selector, royaltyBps);
            } else if (payout == address(0) || (royaltyBps != 0 && owner == address(0))) {
                expected = abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
            } else {
                expected = _debitError(address(mode), fee);
            }
        }
        _exec(
            _user(feeSeed >> 128),
            address(mode),
            abi.encodeCall(TestMode.payFee, (fee, owner, royaltyBps, payout)),
            expected
        );
        if (expected.length != 0) return;
        uint256 royalty = (fee * royaltyBps) / ProtocolLimits.BPS;
        uint256 protocolCut = (fee * ghostProtocolFeeBps) / ProtocolLimits.BPS;
        ghostBalance[address(mode)] -= fee;
        ghostBalance[owner] += royalty;
        ghostProtocolFees[bit] += protocolCut;
        ghostBalance[payout] += fee - royalty - protocolCut;
    }

    /// @notice `slash` through a mode (sometimes an unknown operator, an invalid reward, a zero beneficiary, or a
    /// retired mode); slashing more than the stake takes what there is, active stake first.
    function modeSlash(
        uint256 modeSeed,
        uint256 operatorSeed,
        uint256 amountSeed,
        uint256 beneficiarySeed,
        uint256 rewardSeed
    ) external step {
        (TestMode mode, uint8 bit, bytes memory expected) = _testMode(modeSeed);
        address operator =
            operatorSeed % 16 == 0
                ? address(uint160(uint256(keccak256(abi.encode(operatorSeed)))))
                : _operator(operatorSeed >> 4);
        uint256 amount = amountSeed % 8 == 0 ? _bound(amountSeed >> 3, 0, 600e18) : _bound(amountSeed >> 3, 0, 50e18);
        address beneficiary = beneficiarySeed % 16 == 0 ? address(0) : _ledgerAccount(beneficiarySeed >> 4);
        uint16 rewardBps = uint16(
            rewardSeed % 16 == 0 ? _bound(rewardSeed >> 4, 10_001, 65_535) : _bound(rewardSeed >> 4, 0, 10_000)
        );
        if (expected.length == 0) {
            if (rewardBps > ProtocolLimits.BPS) {
                expected = abi.encodeWithSelector(IInferenceSettlement.InvalidBps.selector, rewardBps);
            } else if (beneficiary == address(0) && rewardBps != 0) {
                expected = abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
            } else if (!_operators[operator].registered) {
                expected = abi.encodeWithSelector(IOperatorRegistry.UnknownOperator.selector, operator);
            }
        }
        (uint256 fromActive, uint256 fromUnbonding) = _slashAmounts(operator, amount);
        (, bytes memory ret) = _exec(
            _user(amountSeed >> 128),
            address(mode),
            abi.encodeCall(TestMode.slash, (operator, amount, beneficiary, rewardBps)),
            expected
        );
        if (expected.length != 0) return;
        uint256 slashed = _applySlash(operator, fromActive, fromUnbonding, beneficiary, rewardBps, bit);
        assertEq(abi.decode(ret, (uint256)), slashed, "slash returns the amount taken");
    }

    /// @notice `settle` through a test mode, unverified (what the core guarantees whatever a mode does): only for
    /// its own bit's pending requests, before the deadline, the assigned operator, a consistent inline output.
    function modeSettle(
        uint256 modeSeed,
        uint256 requestSeed,
        uint256 outputSeed,
        uint256 payoutSeed,
        uint256 callbackSeed
    ) external step {
        (TestMode mode, uint8 bit, ) = _testMode(modeSeed);
        (bool found, uint256 index) = _pickRequest(requestSeed, bit);
        if (!found) return _skip();
        if (modeSeed % 4 != 0) {
            // Usually settle through the live test mode of a pending request's bit, if there is one.
            uint256 n = _requests.length;
            for (uint256 i; i < n; ++i) {
                uint256 j = (index + i) % n;
                address live = ghostModeContract[Mode.unwrap(_requests[j].request.mode)];
                if (!_pending(j) || live == address(0) || !isLedgerAccount[live]) continue;
                index = j;
                mode = TestMode(live);
                break;
            }
        }
        IInferenceSettlement.Request memory request = _requests[index].request;
        bool tampered = (requestSeed >> 128) % 32 == 1;
        if (tampered) request.fee ^= 1;
        address resultOperator =
            request.operator != address(0) && outputSeed % 16 != 0 ? request.operator : _ledgerAccount(outputSeed >> 4);
        bytes memory output = outputSeed % 3 == 0 ? new bytes(0) : _output(outputSeed >> 8);
        bytes32 outputHash = output.length != 0 ? keccak256(output) : keccak256(abi.encode(outputSeed));
        if ((outputSeed >> 16) % 16 == 0) outputHash ^= bytes32(uint256(1));
        IInferenceSettlement.Result memory result = IInferenceSettlement.Result({
            operator: resultOperator,
            outputHash: outputHash,
            output: output,
            outputUri: "ipfs://test"
        });
        address payout = payoutSeed % 32 == 0 ? address(0) : _ledgerAccount(payoutSeed >> 5);
        address signer = address(uint160(payoutSeed >> 96));
        bytes memory expected = _settleErrorTampered(
            index,
            tampered,
            address(mode),
            resultOperator,
            payout,
            output,
            outputHash
        );
        bytes memory data = abi.encodeCall(TestMode.settle, (request, index + 1, result, payout, signer));
        IInferenceSettlement.RequestStatus predicted = _armCallback(index, callbackSeed, address(mode), data);
        uint256 received = _consumerReceived(index);
        _exec(_user(callbackSeed >> 8), address(mode), data, expected);
        if (expected.length == 0) _applySettlement(index, payout, predicted, received, outputHash);
    }

    /// @notice A test mode moves its own ledger balance (how a mode refunds a payer); not gated by liveness.
    function modeTransferBalance(uint256 modeSeed, uint256 toSeed, uint256 amountSeed) external step {
        TestMode mode = hookModes[modeSeed % hookModes.length];
        address to = toSeed % 16 == 0 ? address(0) : _ledgerAccount(toSeed >> 4);
        uint256 amount = _amount(amountSeed, ghostBalance[address(mode)]);
        bytes memory expected =
            to == address(0)
                ? abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector)
                : _debitError(address(mode), amount);
        _exec(
            _user(amountSeed >> 128),
            address(mode),
            abi.encodeCall(TestMode.transferBalance, (to, amount)),
            expected
        );
        if (expected.length != 0) return;
        ghostBalance[address(mode)] -= amount;
        ghostBalance[to] += amount;
    }
}
