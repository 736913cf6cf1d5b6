// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceSettlement} from "../../contracts/interfaces/IInferenceSettlement.sol";
import {IOperatorRegistry} from "../../contracts/interfaces/IOperatorRegistry.sol";
import {IProtocolErrors} from "../../contracts/interfaces/IProtocolErrors.sol";
import {ISignatureMode} from "../../contracts/interfaces/ISignatureMode.sol";
import {IZkMode} from "../../contracts/interfaces/IZkMode.sol";
import {ProtocolLimits} from "../../contracts/libraries/ProtocolLimits.sol";
import {Mode, ModeSet} from "../../contracts/types/Mode.sol";
import {ModelId} from "../../contracts/types/ModelId.sol";
import {ProtocolFixture} from "./utils/ProtocolFixture.sol";

/// @title Signature mode properties
/// @notice A result settles only exactly as its operator's current key signed it: a change to any signed field (the
/// request, its id, the operator, the output hash, the inline output, the URI) makes `fulfillSigned` revert. Two
/// signed results that differ for one real request slash the operator once. One mode never settles another's request.
contract SignatureModeTest is ProtocolFixture {
    address internal owner;
    address internal requester;
    address internal operator;
    address internal payout;
    uint256 internal signerKey;
    ModelId internal model;

    uint256 internal constant RESULT_FIELDS = 6;
    uint256 internal constant REQUEST_FIELDS = 12;

    function setUp() public {
        _deployProtocol();
        owner = vm.addr(_key("owner", 0));
        requester = vm.addr(_key("requester", 0));
        operator = vm.addr(_key("operator", 0));
        payout = vm.addr(_key("payout", 0));
        signerKey = _key("signer", 0);
        model = _registerModel(owner, "sig", ModeSet.wrap(0x07), 2e18, 1_500, true);
        _registerOperator(operator, signerKey, payout, MIN_STAKE * 2);
        _deposit(requester, 1e24);
    }

    function _openSig(bytes32 inputHash) internal returns (uint256 id, IInferenceSettlement.Request memory request) {
        IInferenceSettlement.RequestParams memory params = _params(model, SIGNATURE, type(uint96).max);
        params.inputHash = bytes32(uint256(inputHash) % _field());
        (id, request) = _open(requester, params);
    }

    function _result(
        bytes memory output,
        string memory uri
    ) internal view returns (IInferenceSettlement.Result memory) {
        return
            IInferenceSettlement.Result({
                operator: operator,
                outputHash: keccak256(abi.encode("output", output, uri)),
                output: output,
                outputUri: uri
            });
    }

    /// @notice The exact signed result settles, pays and records the signer; the same signature cannot settle again.
    function testFuzz_signedResultSettles(bytes32 inputHash, bytes memory output, string memory uri) public {
        (uint256 id, IInferenceSettlement.Request memory request) = _openSig(inputHash);
        IInferenceSettlement.Result memory result = _result(output, uri);
        if (output.length != 0) result.outputHash = keccak256(output);
        (bytes32 r, bytes32 vs) = _signResult(signerKey, request, id, result);
        uint256 before = core.balances(payout);
        signatureMode.fulfillSigned(request, id, result, r, vs);
        assertEq(uint256(core.requestStatus(id)), uint256(IInferenceSettlement.RequestStatus.Fulfilled), "status");
        uint256 royalty = (uint256(request.fee) * request.royaltyBps) / ProtocolLimits.BPS;
        uint256 protocolCut = (uint256(request.fee) * request.protocolFeeBps) / ProtocolLimits.BPS;
        assertEq(core.balances(payout) - before, request.fee - royalty - protocolCut, "operator paid");
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceSettlement.RequestNotPending.selector,
                id,
                IInferenceSettlement.RequestStatus.Fulfilled
            )
        );
        signatureMode.fulfillSigned(request, id, result, r, vs);
    }

    /// @notice Any one signed field changed after signing: `fulfillSigned` reverts (the recovered key is not the
    /// operator's, or the operator is unknown) and nothing settles.
    function testFuzz_changedSignedFieldReverts(
        bytes32 inputHash,
        bytes memory output,
        string memory uri,
        uint256 field,
        uint256 delta,
        uint256 requestField
    ) public {
        (uint256 id, IInferenceSettlement.Request memory request) = _openSig(inputHash);
        IInferenceSettlement.Result memory result = _result(output, uri);
        if (output.length != 0) result.outputHash = keccak256(output);
        (bytes32 r, bytes32 vs) = _signResult(signerKey, request, id, result);

        delta |= 1;
        field %= RESULT_FIELDS;
        uint256 changedId = id;
        bytes4 expected = IOperatorRegistry.SignerMismatch.selector;
        if (field == 0) {
            // Another operator: unknown to the registry.
            result.operator = address(uint160(operator) ^ uint160(delta));
            expected = IOperatorRegistry.UnknownOperator.selector;
        } else if (field == 1) {
            result.outputHash ^= bytes32(delta);
            // With inline output the new hash would also mismatch the output, but the signature is checked first.
        } else if (field == 2) {
            // Another inline output: added, or stripped by a relayer (the output hash stays the signed one).
            result.output = output.length == 0 ? abi.encodePacked(delta) : new bytes(0);
        } else if (field == 3) {
            result.outputUri = string.concat(uri, "#", vm.toString(delta));
        } else if (field == 4) {
            changedId = id ^ delta;
        } else {
            request = _mutateRequest(request, requestField % REQUEST_FIELDS, delta);
        }
        (bool ok, bytes memory err) = address(signatureMode).call(
            abi.encodeCall(ISignatureMode.fulfillSigned, (request, changedId, result, r, vs))
        );
        assertFalse(ok, "a changed signed field settled");
        assertRevertSelector(err, expected, "changed field");
        assertEq(uint256(core.requestStatus(id)), uint256(IInferenceSettlement.RequestStatus.Pending), "still pending");
    }

    /// @notice A mangled signature never settles: it does not recover, or recovers another key.
    function testFuzz_mangledSignatureReverts(bytes32 inputHash, bytes32 rDelta, bytes32 vsDelta) public {
        vm.assume(rDelta != 0 || vsDelta != 0);
        (uint256 id, IInferenceSettlement.Request memory request) = _openSig(inputHash);
        IInferenceSettlement.Result memory result = _result("", "ipfs://x");
        (bytes32 r, bytes32 vs) = _signResult(signerKey, request, id, result);
        (bool ok, bytes memory err) = address(signatureMode).call(
            abi.encodeCall(ISignatureMode.fulfillSigned, (request, id, result, r ^ rDelta, vs ^ vsDelta))
        );
        assertFalse(ok, "mangled signature settled");
        bytes4 selector = _selector(err);
        assertTrue(
            selector == IProtocolErrors.InvalidSignature.selector ||
                selector == IOperatorRegistry.SignerMismatch.selector,
            "mangled signature: InvalidSignature or SignerMismatch"
        );
    }

    function _mutateRequest(
        IInferenceSettlement.Request memory request,
        uint256 field,
        uint256 delta
    ) internal pure returns (IInferenceSettlement.Request memory) {
        if (field == 0) request.requester = address(uint160(request.requester) ^ uint160(delta));
        else if (field == 1) request.fee ^= uint96(delta);
        else if (field == 2) request.modelOwner = address(uint160(request.modelOwner) ^ uint160(delta));
        else if (field == 3) request.royaltyBps ^= uint16(delta);
        else if (field == 4) request.protocolFeeBps ^= uint16(delta);
        else if (field == 5) request.mode = Mode.wrap(Mode.unwrap(request.mode) ^ uint8(delta));
        else if (field == 6) request.deadline ^= uint64(delta);
        else if (field == 7) request.modelId = ModelId.wrap(ModelId.unwrap(request.modelId) ^ bytes32(delta));
        else if (field == 8) request.inputHash ^= bytes32(delta);
        else if (field == 9) request.operator = address(uint160(request.operator) ^ uint160(delta));
        else if (field == 10) request.callback = address(uint160(request.callback) ^ uint160(delta));
        else request.callbackGasLimit ^= uint32(delta);
        return request;
    }

    function _evidence(
        uint256 key,
        IInferenceSettlement.Request memory request,
        uint256 id,
        ISignatureMode.ResultClaim memory claim
    ) internal view returns (bytes memory) {
        bytes32 digest = signatureMode.resultDigest(id, keccak256(abi.encode(request)), claim, operator);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @notice Two different results signed for one real request slash the operator once: penalty (capped by the
    /// stake) taken, the reporter's reward credited, the rest to protocol fees; the same evidence is then used up.
    function testFuzz_equivocationSlashesOnce(
        bytes32 inputHash,
        bytes32 outputA,
        bytes32 outputB,
        uint96 penalty,
        uint16 rewardBps,
        bool settledFirst
    ) public {
        vm.assume(outputA != outputB);
        penalty = uint96(_bound(penalty, 1, MIN_STAKE * 3));
        rewardBps = uint16(_bound(rewardBps, 0, ProtocolLimits.BPS));
        vm.prank(governance);
        signatureMode.setSlashParams(penalty, rewardBps);
        (uint256 id, IInferenceSettlement.Request memory request) = _openSig(inputHash);
        if (settledFirst) {
            IInferenceSettlement.Result memory result = _result("", "");
            result.outputHash = outputA;
            (bytes32 r, bytes32 vs) = _signResult(signerKey, request, id, result);
            signatureMode.fulfillSigned(request, id, result, r, vs);
        }
        ISignatureMode.ResultClaim memory a = ISignatureMode.ResultClaim(outputA, keccak256(""), keccak256(""));
        ISignatureMode.ResultClaim memory b = ISignatureMode.ResultClaim(outputB, keccak256("b"), keccak256(""));
        bytes memory sigA = _evidence(signerKey, request, id, a);
        bytes memory sigB = _evidence(signerKey, request, id, b);

        address reporter = vm.addr(_key("reporter", 0));
        uint256 stakeBefore = operators.getOperator(operator).stake;
        uint256 registryBefore = token.balanceOf(address(operators));
        uint256 coreBefore = token.balanceOf(address(core));
        uint256 feesBefore = core.protocolFeesOf(SIGNATURE);
        vm.prank(reporter);
        uint256 slashed = signatureMode.reportEquivocation(request, id, operator, a, sigA, b, sigB);

        uint256 expectedSlash = penalty < stakeBefore ? penalty : stakeBefore;
        uint256 reward = (expectedSlash * rewardBps) / ProtocolLimits.BPS;
        assertEq(slashed, expectedSlash, "slashed");
        assertEq(operators.getOperator(operator).stake, stakeBefore - slashed, "stake reduced");
        assertEq(registryBefore - token.balanceOf(address(operators)), slashed, "left the registry");
        assertEq(token.balanceOf(address(core)) - coreBefore, slashed, "arrived in the core");
        assertEq(core.balances(reporter), reward, "reporter reward");
        assertEq(core.protocolFeesOf(SIGNATURE) - feesBefore, slashed - reward, "rest to protocol fees");

        vm.expectRevert(abi.encodeWithSelector(ISignatureMode.EvidenceAlreadyUsed.selector, id, operator));
        signatureMode.reportEquivocation(request, id, operator, b, sigB, a, sigA);
        vm.expectRevert(ISignatureMode.NotEquivocation.selector);
        signatureMode.reportEquivocation(request, id, operator, a, sigA, a, sigA);
    }

    /// @notice Evidence about a request that was never opened, or signed by a key that is not the operator's, or
    /// made after the evidence window, or by a key retired before the request, slashes nothing.
    function testFuzz_invalidEvidenceRejected(bytes32 inputHash, uint256 otherKey, uint256 late) public {
        otherKey = _bound(otherKey, 1, SECP256K1_N - 1);
        vm.assume(otherKey != signerKey);
        (uint256 id, IInferenceSettlement.Request memory request) = _openSig(inputHash);
        ISignatureMode.ResultClaim memory a = ISignatureMode.ResultClaim(bytes32("a"), keccak256(""), keccak256(""));
        ISignatureMode.ResultClaim memory b = ISignatureMode.ResultClaim(bytes32("b"), keccak256(""), keccak256(""));

        // Not the operator's key.
        bytes memory foreign = _evidence(otherKey, request, id, b);
        bytes memory own = _evidence(signerKey, request, id, a);
        vm.expectRevert(abi.encodeWithSelector(ISignatureMode.InvalidEvidence.selector, vm.addr(otherKey)));
        signatureMode.reportEquivocation(request, id, operator, a, own, b, foreign);

        // A request that was never opened under this id.
        IInferenceSettlement.Request memory fake = abi.decode(abi.encode(request), (IInferenceSettlement.Request));
        fake.fee += 1;
        bytes32 fakeHash = keccak256(abi.encode(fake));
        bytes memory fakeA = _evidence(signerKey, fake, id, a);
        bytes memory fakeB = _evidence(signerKey, fake, id, b);
        vm.expectRevert(abi.encodeWithSelector(ISignatureMode.UnknownRequest.selector, id, fakeHash));
        signatureMode.reportEquivocation(fake, id, operator, a, fakeA, b, fakeB);

        // A key rotated out before the request was opened.
        uint256 newKey = _key("signer", 1);
        bytes memory rotationProof = _signerProof(newKey, operator);
        vm.prank(operator);
        operators.rotateSigner(vm.addr(newKey), rotationProof);
        (uint256 laterId, IInferenceSettlement.Request memory later) = _openSig(inputHash ^ bytes32(uint256(1)));
        bytes memory laterA = _evidence(signerKey, later, laterId, a);
        bytes memory laterB = _evidence(signerKey, later, laterId, b);
        vm.expectRevert(
            abi.encodeWithSelector(ISignatureMode.KeyRetiredBeforeRequest.selector, vm.addr(signerKey), laterId)
        );
        signatureMode.reportEquivocation(later, laterId, operator, a, laterA, b, laterB);
        // ... but it still answers for the request opened while it was current, until the window closes.
        bytes memory oldA = _evidence(signerKey, request, id, a);
        bytes memory oldB = _evidence(signerKey, request, id, b);
        uint256 closedAt = uint256(request.deadline) + ProtocolLimits.EVIDENCE_WINDOW;
        uint256 snapshot = vm.snapshotState();
        vm.warp(closedAt);
        assertGt(signatureMode.reportEquivocation(request, id, operator, a, oldA, b, oldB), 0, "retired key slashed");
        vm.revertToState(snapshot);
        vm.warp(closedAt + _bound(late, 1, 365 days));
        vm.expectRevert(abi.encodeWithSelector(ISignatureMode.EvidenceExpired.selector, id, closedAt));
        signatureMode.reportEquivocation(request, id, operator, a, oldA, b, oldB);
    }

    /// @notice One mode never settles another's request: a validly signed zk request reverts `WrongMode`, and a valid
    /// zk proof for a signature request reverts `WrongMode` too.
    function testFuzz_modesCannotSettleEachOther(bytes32 inputHash, uint256 output) public {
        output = output % _field();
        IInferenceSettlement.RequestParams memory params = _params(model, ZK, type(uint96).max);
        params.inputHash = bytes32(uint256(inputHash) % _field());
        (uint256 zkId, IInferenceSettlement.Request memory zkRequest) = _open(requester, params);
        IInferenceSettlement.Result memory result = _result("", "");
        (bytes32 r, bytes32 vs) = _signResult(signerKey, zkRequest, zkId, result);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceSettlement.WrongMode.selector, zkId, ZK, address(signatureMode))
        );
        signatureMode.fulfillSigned(zkRequest, zkId, result, r, vs);

        (uint256 sigId, IInferenceSettlement.Request memory sigRequest) = _openSig(inputHash);
        IZkMode.ZkProof memory proof = _zkProof(sigRequest, sigId, output, operator);
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceSettlement.WrongMode.selector, sigId, SIGNATURE, address(zkMode))
        );
        zkMode.fulfillZk(sigRequest, sigId, output, proof);

        // The zk request settles through its own mode, for its own submitter only.
        proof = _zkProof(zkRequest, zkId, output, operator);
        vm.expectRevert(IZkMode.InvalidProof.selector);
        zkMode.fulfillZk(zkRequest, zkId, output, proof);
        vm.prank(operator);
        zkMode.fulfillZk(zkRequest, zkId, output, proof);
        assertEq(uint256(core.requestStatus(zkId)), uint256(IInferenceSettlement.RequestStatus.Fulfilled), "zk");
    }
}
