// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IOperatorRegistry} from "../../../contracts/interfaces/IOperatorRegistry.sol";
import {IProtocolErrors} from "../../../contracts/interfaces/IProtocolErrors.sol";
import {ProtocolLimits} from "../../../contracts/libraries/ProtocolLimits.sol";
import {Mode, ModeSet} from "../../../contracts/types/Mode.sol";
import {FamilyId, ModelId} from "../../../contracts/types/ModelId.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @title Invariant handler: the model registry and the operator registry
abstract contract RegistryActions is HandlerBase {
    // ------------------------------------------------------------------ model registry

    function _ownerCaller(address owner, uint256 seed) internal view returns (address caller, bytes memory expected) {
        caller = owner;
        if (seed % 16 == 0) {
            caller = _user(seed >> 4);
            expected = abi.encodeWithSelector(IModelRegistry.NotModelOwner.selector, caller, owner);
        }
    }

    /// @dev A model: usually a registered one, rarely an unknown id.
    function _pickModel(uint256 seed) internal view returns (bool known, uint256 index, ModelId modelId) {
        index = (seed >> 5) % _models.length;
        known = seed % 32 != 0;
        modelId = known ? _models[index].id : ModelId.wrap(keccak256(abi.encode(seed, "unknown")));
    }

    function _spec(
        uint256 ownerSeed,
        uint256 modesSeed,
        uint256 termsSeed,
        uint256 defect
    ) internal returns (address owner, IModelRegistry.ModelSpec memory spec, bytes memory expected) {
        owner = owners[ownerSeed % owners.length];
        uint256 n = ++_nameCounter;
        uint8 modes = uint8(modesSeed) & 0x1f;
        if (modes == 0) modes = 0x05;
        bool zk = modes & Mode.unwrap(ZK) != 0 || (modesSeed >> 8) % 4 == 0;
        spec.name =
            (modesSeed >> 16) % 2 == 0
                ? string.concat("family-", vm.toString((modesSeed >> 17) % 3))
                : string.concat("model-", vm.toString(n));
        spec.fileHash = keccak256(abi.encode("file", n));
        spec.runtimeHash = keccak256(abi.encode("runtime", n % 3));
        spec.uri = "ipfs://model";
        spec.fee = uint96(_bound(termsSeed, 0, 50e18));
        spec.royaltyBps = uint16(_bound(termsSeed >> 96, 0, ProtocolLimits.MAX_ROYALTY_BPS));
        if (zk) {
            spec.zkCommitment = bytes32(uint256(keccak256(abi.encode("weights", n))) % _field());
            spec.zkVerifier = address(verifier);
            spec.zkVerifierCodeHash = address(verifier).codehash;
        }
        spec.modes = ModeSet.wrap(modes);
        if (defect == 0) {
            spec.name = "";
            expected = abi.encodeWithSelector(IModelRegistry.InvalidName.selector);
        } else if (defect == 1) {
            spec.fileHash = 0;
            expected = abi.encodeWithSelector(IModelRegistry.InvalidFileHash.selector);
        } else if (defect == 2) {
            spec.runtimeHash = 0;
            expected = abi.encodeWithSelector(IModelRegistry.InvalidRuntimeHash.selector);
        } else if (defect == 3) {
            spec.modes = ModeSet.wrap(0);
            expected = abi.encodeWithSelector(IModelRegistry.InvalidModes.selector, ModeSet.wrap(0));
        } else if (defect == 4) {
            spec.modes = ModeSet.wrap(modes | Mode.unwrap(ZK));
            spec.zkVerifier = address(0);
            spec.zkVerifierCodeHash = 0;
            expected = abi.encodeWithSelector(IModelRegistry.ZkBindingRequired.selector);
        } else if (defect == 5) {
            spec.zkCommitment = bytes32(_field() + (termsSeed % 1000));
            spec.zkVerifier = address(verifier);
            spec.zkVerifierCodeHash = address(verifier).codehash;
            expected = abi.encodeWithSelector(IModelRegistry.InvalidZkCommitment.selector, spec.zkCommitment);
        } else if (defect == 6) {
            spec.zkVerifier = address(verifier);
            spec.zkVerifierCodeHash = keccak256("other code");
            expected = abi.encodeWithSelector(
                IModelRegistry.VerifierCodeHashMismatch.selector,
                address(verifier),
                spec.zkVerifierCodeHash,
                address(verifier).codehash
            );
        } else if (defect == 7) {
            // A verifier with storage (the core itself): its code hash is right, its code is not pure.
            spec.zkVerifier = address(core);
            spec.zkVerifierCodeHash = address(core).codehash;
            expected = abi.encodePacked(IModelRegistry.VerifierNotPure.selector);
        } else if (defect == 8) {
            spec.royaltyBps = uint16(_bound(termsSeed >> 96, ProtocolLimits.MAX_ROYALTY_BPS + 1, 65_535));
            expected = abi.encodeWithSelector(
                IModelRegistry.RoyaltyTooHigh.selector,
                spec.royaltyBps,
                ProtocolLimits.MAX_ROYALTY_BPS
            );
        }
    }

    /// @notice `registerModel`: a new version (random modes, terms, zk binding with the pure signal-hash verifier),
    /// sometimes with one defect (each registration check), sometimes registered twice (`ModelExists`).
    function registerModel(uint256 ownerSeed, uint256 modesSeed, uint256 termsSeed, uint256 defectSeed) external step {
        uint256 defect = defectSeed % 16;
        // Past the cap only rejected registrations, so the model list stays small.
        if (_models.length >= MAX_MODELS && defect > 9) defect = defectSeed % 10;
        (address owner, IModelRegistry.ModelSpec memory spec, bytes memory expected) = _spec(
            ownerSeed,
            modesSeed,
            termsSeed,
            defect
        );
        FamilyId family = FamilyId.wrap(keccak256(abi.encode(owner, spec.name)));
        ModelId expectedId = ModelId.wrap(
            keccak256(
                abi.encode(
                    family,
                    spec.fileHash,
                    spec.runtimeHash,
                    spec.zkCommitment,
                    spec.zkVerifier,
                    spec.zkVerifierCodeHash
                )
            )
        );
        if (defect == 9 && _models.length >= MAX_MODELS) {
            // Register an existing version again: pick one and rebuild nothing, just expect ModelExists.
            return _registerDuplicate();
        }
        (, bytes memory ret) = _exec(
            owner,
            address(models),
            abi.encodeCall(IModelRegistry.registerModel, (spec)),
            expected
        );
        if (expected.length != 0) return;
        assertEq(ModelId.unwrap(abi.decode(ret, (ModelId))), ModelId.unwrap(expectedId), "content-derived model id");
        ModelGhost storage m = _models.push();
        m.id = expectedId;
        m.owner = owner;
        m.family = family;
        m.modes = ModeSet.unwrap(spec.modes);
        m.fee = spec.fee;
        m.royaltyBps = spec.royaltyBps;
        m.status = IModelRegistry.ModelStatus.Active;
        m.zk = spec.zkVerifier != address(0);
        ghostLatest[family] = expectedId;
        if (defect == 9) {
            _exec(
                owner,
                address(models),
                abi.encodeCall(IModelRegistry.registerModel, (spec)),
                abi.encodeWithSelector(IModelRegistry.ModelExists.selector, expectedId)
            );
        }
    }

    function _registerDuplicate() internal {
        // Rebuilding the exact spec of an existing version needs its name and hashes; the ghost does not keep them,
        // so re-register the fixture's first model, whose spec is deterministic.
        IModelRegistry.ModelSpec memory spec = _modelSpec("base", ModeSet.wrap(0x0d), 5e18, 1_000, false);
        _exec(
            owners[0],
            address(models),
            abi.encodeCall(IModelRegistry.registerModel, (spec)),
            abi.encodeWithSelector(IModelRegistry.ModelExists.selector, _models[0].id)
        );
    }

    /// @notice `setStatus`: deprecate, reactivate, or (rarely) revoke; invalid transitions and other callers revert.
    function setModelStatus(uint256 modelSeed, uint256 statusSeed, uint256 callerSeed) external step {
        (bool known, uint256 index, ModelId modelId) = _pickModel(modelSeed);
        uint256 s = statusSeed % 16;
        IModelRegistry.ModelStatus status =
            s == 0 && (statusSeed >> 4) % 2 == 0
                ? IModelRegistry.ModelStatus.Revoked
                : s == 1
                    ? IModelRegistry.ModelStatus.None
                    : s % 2 == 0
                        ? IModelRegistry.ModelStatus.Active
                        : IModelRegistry.ModelStatus.Deprecated;
        bytes memory expected;
        address caller;
        if (!known) {
            caller = owners[0];
            expected = abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, modelId);
        } else {
            ModelGhost storage m = _models[index];
            (caller, expected) = _ownerCaller(m.owner, callerSeed);
            if (
                expected.length == 0 &&
                (m.status == IModelRegistry.ModelStatus.Revoked ||
                    status == IModelRegistry.ModelStatus.None ||
                    status == m.status)
            ) {
                expected = abi.encodeWithSelector(IModelRegistry.InvalidStatusTransition.selector, m.status, status);
            }
        }
        _exec(caller, address(models), abi.encodeCall(IModelRegistry.setStatus, (modelId, status)), expected);
        if (expected.length == 0) _models[index].status = status;
    }

    /// @notice `setTerms` (pending requests keep their terms); royalty above the cap and other callers revert.
    function setTerms(uint256 modelSeed, uint256 feeSeed, uint256 royaltySeed, uint256 callerSeed) external step {
        (bool known, uint256 index, ModelId modelId) = _pickModel(modelSeed);
        uint96 fee = uint96(_bound(feeSeed, 0, 50e18));
        uint16 royaltyBps = uint16(
            royaltySeed % 16 == 0
                ? _bound(royaltySeed >> 4, ProtocolLimits.MAX_ROYALTY_BPS + 1, 65_535)
                : _bound(royaltySeed >> 4, 0, ProtocolLimits.MAX_ROYALTY_BPS)
        );
        bytes memory expected;
        address caller = owners[0];
        if (!known) {
            expected = abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, modelId);
        } else {
            (caller, expected) = _ownerCaller(_models[index].owner, callerSeed);
            if (expected.length == 0 && royaltyBps > ProtocolLimits.MAX_ROYALTY_BPS) {
                expected = abi.encodeWithSelector(
                    IModelRegistry.RoyaltyTooHigh.selector,
                    royaltyBps,
                    ProtocolLimits.MAX_ROYALTY_BPS
                );
            }
        }
        _exec(caller, address(models), abi.encodeCall(IModelRegistry.setTerms, (modelId, fee, royaltyBps)), expected);
        if (expected.length != 0) return;
        _models[index].fee = fee;
        _models[index].royaltyBps = royaltyBps;
    }

    /// @notice `setGate`: none, a minimum wallet balance or the family allowlist (invalid combinations revert).
    function setGate(uint256 modelSeed, uint256 gateSeed, uint256 minSeed, uint256 callerSeed) external step {
        (bool known, uint256 index, ModelId modelId) = _pickModel(modelSeed);
        uint256 g = gateSeed % 8;
        IModelRegistry.GateKind gate =
            g < 4
                ? IModelRegistry.GateKind.None
                : g < 6
                    ? IModelRegistry.GateKind.MinBalance
                    : IModelRegistry.GateKind.Allowlist;
        uint96 minBalance =
            gate == IModelRegistry.GateKind.MinBalance
                ? uint96(_bound(minSeed >> 2, 1, minSeed % 4 == 0 ? 2 * WALLET : WALLET / 2))
                : 0;
        bool invalid = (gateSeed >> 3) % 16 == 0;
        if (invalid) minBalance = minBalance == 0 ? 1 : 0;
        bytes memory expected;
        address caller = owners[0];
        if (!known) {
            expected = abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, modelId);
        } else {
            (caller, expected) = _ownerCaller(_models[index].owner, callerSeed);
            if (expected.length == 0 && invalid) expected = abi.encodeWithSelector(IModelRegistry.InvalidGate.selector);
        }
        _exec(caller, address(models), abi.encodeCall(IModelRegistry.setGate, (modelId, gate, minBalance)), expected);
        if (expected.length != 0) return;
        _models[index].gate = gate;
        _models[index].minBalance = minBalance;
    }

    /// @notice `setAllowed` for some users on a family's allowlist.
    function setAllowed(uint256 modelSeed, uint256 accountsSeed, bool allowed, uint256 callerSeed) external step {
        (bool known, uint256 index, ) = _pickModel(modelSeed);
        FamilyId family = known ? _models[index].family : FamilyId.wrap(keccak256(abi.encode(modelSeed)));
        // Usually a few users; rarely one more account than a batch may hold.
        bool tooMany = (accountsSeed >> 200) % 64 == 0;
        address[] memory accounts = new address[](
            tooMany ? ProtocolLimits.MAX_ALLOWLIST_BATCH + 1 : 1 + (accountsSeed % users.length)
        );
        for (uint256 i; i < accounts.length; ++i) accounts[i] = _user(accountsSeed >> (8 * ((i % 24) + 1)));
        bytes memory expected;
        address caller = owners[0];
        if (!known) {
            expected = abi.encodeWithSelector(IModelRegistry.UnknownFamily.selector, family);
        } else {
            (caller, expected) = _ownerCaller(_models[index].owner, callerSeed);
            if (expected.length == 0 && tooMany) {
                expected = abi.encodeWithSelector(
                    IModelRegistry.BatchTooLarge.selector,
                    accounts.length,
                    ProtocolLimits.MAX_ALLOWLIST_BATCH
                );
            }
        }
        _exec(
            caller,
            address(models),
            abi.encodeCall(IModelRegistry.setAllowed, (family, accounts, allowed)),
            expected
        );
        if (expected.length != 0) return;
        for (uint256 i; i < accounts.length; ++i) ghostAllowed[family][accounts[i]] = allowed;
    }

    /// @notice `setLatest`: point a family at one of its active versions (other families' or inactive versions
    /// revert).
    function setLatest(uint256 modelSeed, uint256 versionSeed, uint256 callerSeed) external step {
        ModelGhost storage familyModel = _models[modelSeed % _models.length];
        FamilyId family = familyModel.family;
        (bool known, uint256 index, ModelId modelId) = _pickModel(versionSeed);
        if (known && versionSeed % 4 != 0) {
            // Usually a version of the same family.
            for (uint256 i; i < _models.length; ++i) {
                uint256 j = (index + i) % _models.length;
                if (_models[j].family == family) {
                    index = j;
                    modelId = _models[j].id;
                    break;
                }
            }
        }
        (address caller, bytes memory expected) = _ownerCaller(familyModel.owner, callerSeed);
        if (expected.length == 0) {
            if (!known) expected = abi.encodeWithSelector(IModelRegistry.UnknownModel.selector, modelId);
            else if (_models[index].family != family) {
                expected = abi.encodeWithSelector(IModelRegistry.WrongFamily.selector, modelId, family);
            } else if (_models[index].status != IModelRegistry.ModelStatus.Active) {
                expected = abi.encodeWithSelector(
                    IModelRegistry.ModelNotActive.selector,
                    modelId,
                    _models[index].status
                );
            }
        }
        _exec(caller, address(models), abi.encodeCall(IModelRegistry.setLatest, (family, modelId)), expected);
        if (expected.length == 0) ghostLatest[family] = modelId;
    }

    // ------------------------------------------------------------------ operator registry

    /// @dev A signer proof for `operator` claiming `signer` (its key `key`), with an optional defect; returns the
    /// proof, the key to claim and the revert the claim gives (empty: valid).
    function _claim(
        address operator,
        uint256 key,
        uint256 defectSeed
    ) internal view returns (address signer, bytes memory proof, bytes memory expected) {
        signer = vm.addr(key);
        uint256 defect = defectSeed % 8;
        if (defect == 2 && _signerKeys.length != 0) {
            // A key that is (or was) someone's already.
            key = _signerKeys[(defectSeed >> 3) % _signerKeys.length];
            signer = vm.addr(key);
        }
        bytes32 digest = operators.signerBindingDigest(operator, signer);
        if (defect == 0) {
            // Signed by another key.
            digest = operators.signerBindingDigest(operator, signer);
            uint256 other = _key("other-key", defectSeed);
            (uint8 v0, bytes32 r0, bytes32 s0) = vm.sign(other, digest);
            proof = abi.encodePacked(r0, s0, v0);
        } else if (defect == 1) {
            // Signed by the key, but for another operator.
            address someoneElse = _user(defectSeed >> 3);
            (uint8 v1, bytes32 r1, bytes32 s1) = vm.sign(key, operators.signerBindingDigest(someoneElse, signer));
            proof = abi.encodePacked(r1, s1, v1);
        } else {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
            proof = abi.encodePacked(r, s, v);
            // A malformed signature (v neither 27 nor 28).
            if (defect == 3) proof[64] = bytes1(uint8(0));
        }
        if (_signers[signer].operator != address(0)) {
            expected = abi.encodeWithSelector(IOperatorRegistry.SignerAlreadyUsed.selector, signer);
        } else if (defect == 3) {
            expected = abi.encodeWithSelector(IProtocolErrors.InvalidSignature.selector);
        } else if (defect == 0 || defect == 1) {
            expected = abi.encodeWithSelector(
                IOperatorRegistry.SignerProofInvalid.selector,
                signer,
                ECDSA.recover(digest, _splitR(proof), _splitVs(proof))
            );
        }
    }

    function _splitR(bytes memory sig) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
        }
    }

    /// @dev The EIP-2098 `vs` of a 65-byte signature.
    function _splitVs(bytes memory sig) internal pure returns (bytes32) {
        bytes32 s;
        assembly ("memory-safe") {
            s := mload(add(sig, 0x40))
        }
        uint8 v = uint8(sig[64]);
        return bytes32(uint256(s) | (uint256(v - 27) << 255));
    }

    function _claimSigner(address operator, address signer, uint256 key) internal {
        _signers[signer].operator = operator;
        _signerKeys.push(key);
        _operators[operator].signerKey = key;
    }

    /// @notice `register` with a real signer proof and a first stake (sometimes registered already, a zero payout,
    /// a proof by another key or for another operator, a malformed proof, or a key already used).
    function registerOperator(
        uint256 operatorSeed,
        uint256 stakeSeed,
        uint256 payoutSeed,
        uint256 defectSeed
    ) external step {
        address operator = operatorAccounts[operatorSeed % operatorAccounts.length];
        OperatorGhost storage og = _operators[operator];
        uint256 key = _freshSignerKey();
        address payout = payoutSeed % 16 == 0 ? address(0) : _ledgerAccount(payoutSeed >> 4);
        uint256 amount = stakeSeed % 4 == 0 ? 0 : _bound(stakeSeed >> 2, 1, 400e18);
        (address signer, bytes memory proof, bytes memory claimError) = _claim(operator, key, defectSeed);
        bytes memory expected;
        if (og.registered) expected = abi.encodeWithSelector(IOperatorRegistry.AlreadyRegistered.selector, operator);
        else if (payout == address(0)) expected = abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
        else expected = claimError;
        vm.prank(operator);
        token.approve(address(operators), amount);
        _exec(
            operator,
            address(operators),
            abi.encodeCall(IOperatorRegistry.register, (signer, payout, amount, proof)),
            expected
        );
        if (expected.length != 0) return;
        og.registered = true;
        og.payout = payout;
        og.stake = uint96(amount);
        _claimSigner(operator, signer, key);
        ghostStakeIn += amount;
    }

    /// @notice `stake` more (sometimes zero, or by an unregistered operator).
    function operatorStake(uint256 operatorSeed, uint256 amountSeed) external step {
        address operator = _operator(operatorSeed);
        OperatorGhost storage og = _operators[operator];
        uint256 amount = amountSeed % 16 == 0 ? 0 : _bound(amountSeed >> 4, 1, 200e18);
        bytes memory expected;
        if (!og.registered) expected = abi.encodeWithSelector(IOperatorRegistry.UnknownOperator.selector, operator);
        else if (amount == 0) expected = abi.encodeWithSelector(IProtocolErrors.InvalidAmount.selector);
        vm.prank(operator);
        token.approve(address(operators), amount);
        _exec(operator, address(operators), abi.encodeCall(IOperatorRegistry.stake, (amount)), expected);
        if (expected.length != 0) return;
        og.stake += uint96(amount);
        ghostStakeIn += amount;
    }

    /// @notice `unbond` part of the active stake (never ending earlier than an unbonding under way).
    function operatorUnbond(uint256 operatorSeed, uint256 amountSeed) external step {
        address operator = _operator(operatorSeed);
        OperatorGhost storage og = _operators[operator];
        uint256 amount = _amount(amountSeed, og.stake);
        bytes memory expected;
        if (!og.registered) expected = abi.encodeWithSelector(IOperatorRegistry.UnknownOperator.selector, operator);
        else if (amount == 0) expected = abi.encodeWithSelector(IProtocolErrors.InvalidAmount.selector);
        else if (amount > og.stake) {
            expected = abi.encodeWithSelector(IOperatorRegistry.InsufficientStake.selector, og.stake, amount);
        }
        _exec(operator, address(operators), abi.encodeCall(IOperatorRegistry.unbond, (amount)), expected);
        if (expected.length != 0) return;
        uint64 end = uint64(ghostTime) + ghostUnbondingDelay;
        if (end < og.unbondingEnd) end = og.unbondingEnd;
        og.stake -= uint96(amount);
        og.unbonding += uint96(amount);
        og.unbondingEnd = end;
    }

    /// @notice `withdrawUnbonded` once the delay has passed (before it, nothing unbonding, or to zero: reverts).
    function operatorWithdrawUnbonded(uint256 operatorSeed, uint256 toSeed) external step {
        address operator = _operator(operatorSeed);
        if (operatorSeed % 4 != 0) {
            // Usually one whose unbonding has ended, if any.
            for (uint256 i; i < operatorAccounts.length; ++i) {
                OperatorGhost storage candidate = _operators[operatorAccounts[i]];
                if (candidate.unbonding != 0 && ghostTime >= candidate.unbondingEnd) {
                    operator = operatorAccounts[i];
                    break;
                }
            }
        }
        OperatorGhost storage og = _operators[operator];
        address to = toSeed % 16 == 0 ? address(0) : operator;
        bytes memory expected;
        if (!og.registered) expected = abi.encodeWithSelector(IOperatorRegistry.UnknownOperator.selector, operator);
        else if (to == address(0)) expected = abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
        else if (og.unbonding == 0) expected = abi.encodeWithSelector(IOperatorRegistry.NothingUnbonding.selector);
        else if (ghostTime < og.unbondingEnd) {
            expected = abi.encodeWithSelector(IOperatorRegistry.StillUnbonding.selector, og.unbondingEnd);
        }
        uint256 before = token.balanceOf(to);
        _exec(operator, address(operators), abi.encodeCall(IOperatorRegistry.withdrawUnbonded, (to)), expected);
        if (expected.length != 0) return;
        assertEq(token.balanceOf(to) - before, og.unbonding, "unbonded stake paid out");
        ghostUnbondedOut += og.unbonding;
        og.unbonding = 0;
        og.unbondingEnd = 0;
    }

    /// @notice `rotateSigner` to a fresh key with a real proof (the old key retires at the current request id).
    function operatorRotateSigner(uint256 operatorSeed, uint256 defectSeed) external step {
        address operator = _operator(operatorSeed);
        OperatorGhost storage og = _operators[operator];
        uint256 key = _freshSignerKey();
        (address signer, bytes memory proof, bytes memory claimError) = _claim(operator, key, defectSeed);
        bool zero = (defectSeed >> 16) % 32 == 0;
        if (zero) signer = address(0);
        bytes memory expected;
        if (!og.registered) expected = abi.encodeWithSelector(IOperatorRegistry.UnknownOperator.selector, operator);
        else if (zero) expected = abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
        else expected = claimError;
        _exec(operator, address(operators), abi.encodeCall(IOperatorRegistry.rotateSigner, (signer, proof)), expected);
        if (expected.length != 0) return;
        SignerGhost storage retired = _signers[vm.addr(og.signerKey)];
        retired.retiredAt = uint64(ghostTime);
        retired.retiredAtRequest = _requests.length + 1;
        _claimSigner(operator, signer, key);
    }

    /// @notice `setPayout` (sometimes zero).
    function operatorSetPayout(uint256 operatorSeed, uint256 payoutSeed) external step {
        address operator = _operator(operatorSeed);
        address payout = payoutSeed % 16 == 0 ? address(0) : _ledgerAccount(payoutSeed >> 4);
        bytes memory expected;
        if (!_operators[operator].registered) {
            expected = abi.encodeWithSelector(IOperatorRegistry.UnknownOperator.selector, operator);
        } else if (payout == address(0)) {
            expected = abi.encodeWithSelector(IProtocolErrors.ZeroAddress.selector);
        }
        _exec(operator, address(operators), abi.encodeCall(IOperatorRegistry.setPayout, (payout)), expected);
        if (expected.length == 0) _operators[operator].payout = payout;
    }

    /// @notice `bindSettlement` again: the slasher is bound once, for good.
    function rebindSettlement(uint256 seed, uint256 callerSeed) external step {
        (address caller, bytes memory expected) = _governor(address(operators), callerSeed);
        if (expected.length == 0) expected = abi.encodeWithSelector(IOperatorRegistry.SettlementAlreadyBound.selector);
        _exec(caller, address(operators), abi.encodeWithSignature("bindSettlement(address)", _user(seed)), expected);
    }

    /// @notice `setMinStake` by governance (zero or above 96 bits revert).
    function setMinStake(uint256 seed, uint256 callerSeed) external step {
        uint256 kind = seed % 16;
        uint256 value =
            kind == 0
                ? 0
                : kind == 1
                    ? uint256(type(uint96).max) + 1
                    : kind == 2
                        ? _bound(seed >> 4, 1, 300e18)
                        : _bound(seed >> 4, 1, 150e18);
        (address caller, bytes memory expected) = _governor(address(operators), callerSeed);
        if (expected.length == 0 && (value == 0 || value > type(uint96).max)) {
            expected = abi.encodeWithSelector(IOperatorRegistry.InvalidMinStake.selector);
        }
        _exec(caller, address(operators), abi.encodeWithSignature("setMinStake(uint256)", value), expected);
        if (expected.length == 0) ghostMinStake = value;
    }

    /// @notice `setUnbondingDelay` by governance (above the cap reverts).
    function setUnbondingDelay(uint256 seed, uint256 callerSeed) external step {
        uint64 delay = uint64(
            seed % 8 == 0 ? _bound(seed >> 3, 90 days + 1, 1_000 days) : _bound(seed >> 3, 0, 30 days)
        );
        (address caller, bytes memory expected) = _governor(address(operators), callerSeed);
        if (expected.length == 0 && delay > ProtocolLimits.MAX_UNBONDING_DELAY) {
            expected = abi.encodeWithSelector(
                IOperatorRegistry.UnbondingDelayTooLong.selector,
                delay,
                ProtocolLimits.MAX_UNBONDING_DELAY
            );
        }
        _exec(caller, address(operators), abi.encodeWithSignature("setUnbondingDelay(uint64)", delay), expected);
        if (expected.length == 0) ghostUnbondingDelay = delay;
    }
}
