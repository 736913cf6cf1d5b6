// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceSettlement} from "../../contracts/interfaces/IInferenceSettlement.sol";
import {IZkMode} from "../../contracts/interfaces/IZkMode.sol";
import {ModeSet} from "../../contracts/types/Mode.sol";
import {ModelId} from "../../contracts/types/ModelId.sol";
import {ProtocolFixture} from "./utils/ProtocolFixture.sol";

/// @title Zk mode properties
/// @notice A proof settles only the request, output and submitter it was made for: the public signals carry the
/// output, the weight commitment, the request's input hash and a binding of chain, zk mode, request id and submitter,
/// so any change to one of them makes the proof fail. Outputs outside the field and verifier code that changed since
/// registration are refused before the verifier runs. (The signal-hash verifier stands in for Groth16 here; the mocha
/// tests prove real Groth16 proofs.)
contract ZkModeTest is ProtocolFixture {
    address internal owner;
    address internal requester;
    address internal submitter;
    ModelId internal model;

    function setUp() public {
        _deployProtocol();
        owner = vm.addr(_key("owner", 0));
        requester = vm.addr(_key("requester", 0));
        submitter = vm.addr(_key("submitter", 0));
        model = _registerModel(owner, "zk", ModeSet.wrap(0x02), 3e18, 1_000, true);
        _deposit(requester, 1e24);
    }

    function _openZk(bytes32 inputHash) internal returns (uint256 id, IInferenceSettlement.Request memory request) {
        IInferenceSettlement.RequestParams memory params = _params(model, ZK, type(uint96).max);
        params.inputHash = bytes32(uint256(inputHash) % _field());
        (id, request) = _open(requester, params);
    }

    /// @notice The binding is the documented hash, shifted into the field.
    function testFuzz_bindingFormula(uint256 requestId, address who) public view {
        uint256 binding = zkMode.zkBinding(requestId, who);
        assertEq(
            binding,
            uint256(keccak256(abi.encode(block.chainid, address(zkMode), requestId, who))) >> 3,
            "zkBinding formula"
        );
        assertLt(binding, _field(), "binding is a field element");
    }

    /// @notice The proof made for (request, output, submitter) settles it and pays the submitter; changed, it fails.
    function testFuzz_proofBindsEverySignal(bytes32 inputHash, uint256 output, uint256 change, uint256 delta) public {
        output %= _field();
        (uint256 id, IInferenceSettlement.Request memory request) = _openZk(inputHash);
        IZkMode.ZkProof memory proof = _zkProof(request, id, output, submitter);
        delta = 1 + (delta % 1_000);
        change %= 5;

        address sender = submitter;
        uint256 claimed = output;
        IInferenceSettlement.Request memory sent = abi.decode(abi.encode(request), (IInferenceSettlement.Request));
        uint256 sentId = id;
        if (change == 0) claimed = (output + delta) % _field();
        else if (change == 1) sender = address(uint160(submitter) ^ uint160(delta));
        else if (change == 2) sent.inputHash = bytes32((uint256(request.inputHash) + delta) % _field());
        else if (change == 3) sentId = id + delta;
        IZkMode.ZkProof memory sentProof = abi.decode(abi.encode(proof), (IZkMode.ZkProof));
        if (change == 4) sentProof.b[1][0] ^= delta;
        vm.prank(sender);
        vm.expectRevert(IZkMode.InvalidProof.selector);
        zkMode.fulfillZk(sent, sentId, claimed, sentProof);

        uint256 before = core.balances(submitter);
        vm.prank(submitter);
        zkMode.fulfillZk(request, id, output, proof);
        assertEq(uint256(core.requestStatus(id)), uint256(IInferenceSettlement.RequestStatus.Fulfilled), "settled");
        assertGt(core.balances(submitter), before, "the submitter is the payout");
    }

    /// @notice An output that is not a field element is refused before the verifier runs.
    function testFuzz_outputOutsideFieldRefused(bytes32 inputHash, uint256 output) public {
        output = _bound(output, _field(), type(uint256).max);
        (uint256 id, IInferenceSettlement.Request memory request) = _openZk(inputHash);
        IZkMode.ZkProof memory proof = _zkProof(request, id, output, submitter);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(IZkMode.PublicSignalOutOfField.selector, 0, output));
        zkMode.fulfillZk(request, id, output, proof);
    }

    /// @notice Verifier code that changed since registration (here: etched) is refused, whatever it would answer.
    function testFuzz_changedVerifierCodeRefused(bytes32 inputHash, bytes memory code) public {
        // Code starting with 0xEF is not deployable (EIP-3541) or is an EIP-7702 designator: not "changed code".
        if (code.length != 0 && code[0] == 0xef) code[0] = 0x00;
        vm.assume(keccak256(code) != keccak256(address(verifier).code));
        (uint256 id, IInferenceSettlement.Request memory request) = _openZk(inputHash);
        IZkMode.ZkProof memory proof = _zkProof(request, id, 1, submitter);
        bytes32 pinned = address(verifier).codehash;
        vm.etch(address(verifier), code);
        bytes32 actual = address(verifier).codehash;
        vm.prank(submitter);
        vm.expectRevert(
            abi.encodeWithSelector(IZkMode.VerifierCodeChanged.selector, address(verifier), pinned, actual)
        );
        zkMode.fulfillZk(request, id, 1, proof);
    }

    /// @notice A request reserved for one operator cannot be settled by another submitter, even with a valid proof.
    function testFuzz_assignedOperatorOnly(bytes32 inputHash, address assigned) public {
        vm.assume(assigned != address(0) && assigned != submitter);
        IInferenceSettlement.RequestParams memory params = _params(model, ZK, type(uint96).max);
        params.inputHash = bytes32(uint256(inputHash) % _field());
        params.operator = assigned;
        (uint256 id, IInferenceSettlement.Request memory request) = _open(requester, params);
        IZkMode.ZkProof memory proof = _zkProof(request, id, 5, submitter);
        vm.prank(submitter);
        vm.expectRevert(abi.encodeWithSelector(IInferenceSettlement.OperatorNotAssigned.selector, id, assigned));
        zkMode.fulfillZk(request, id, 5, proof);
    }
}
