// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceSettlement} from "../../contracts/interfaces/IInferenceSettlement.sol";
import {Mode, ModeSet} from "../../contracts/types/Mode.sol";
import {ModelId} from "../../contracts/types/ModelId.sol";
import {TestConsumer} from "../../contracts/test/TestConsumer.sol";
import {ProtocolFixture} from "./utils/ProtocolFixture.sol";

/// @title Request commitment round trip
/// @notice A request opened with any valid parameters is committed as `keccak256(abi.encode(request))`: `isCommitted`
/// holds for it, before and after settlement or refund, and fails for the same request with any one field changed or
/// under another id; settling or refunding with a changed field reverts `RequestMismatch`.
contract RequestCommitmentTest is ProtocolFixture {
    address internal owner;
    address internal requester;
    ModelId internal model;
    TestConsumer internal consumer;

    uint256 internal constant FIELDS = 12;

    function setUp() public {
        _deployProtocol();
        owner = vm.addr(_key("owner", 0));
        requester = vm.addr(_key("requester", 0));
        model = _registerModel(owner, "commit", ModeSet.wrap(0x05), 3e18, 2_000, false);
        consumer = new TestConsumer();
        _deposit(requester, 1e24);
    }

    function _openFuzzed(
        bytes32 inputHash,
        uint64 ttl,
        address assigned,
        bool withCallback,
        uint32 gasLimit
    ) internal returns (uint256 id, IInferenceSettlement.Request memory request) {
        IInferenceSettlement.RequestParams memory params = _params(model, TEST_BIT, type(uint96).max);
        params.inputHash = inputHash;
        params.deadline = uint64(block.timestamp + _bound(ttl, 1, core.MAX_REQUEST_TTL()));
        params.operator = assigned;
        if (withCallback) {
            params.callback = address(consumer);
            params.callbackGasLimit = uint32(_bound(gasLimit, 1, core.MAX_CALLBACK_GAS()));
        }
        (id, request) = _open(requester, params);
    }

    /// @dev `request` with field `field` changed by xor with `delta | 1` (never a no-op).
    function _mutate(
        IInferenceSettlement.Request memory request,
        uint256 field,
        uint256 delta
    ) internal pure returns (IInferenceSettlement.Request memory m) {
        m = IInferenceSettlement.Request({
            requester: request.requester,
            fee: request.fee,
            modelOwner: request.modelOwner,
            royaltyBps: request.royaltyBps,
            protocolFeeBps: request.protocolFeeBps,
            mode: request.mode,
            deadline: request.deadline,
            modelId: request.modelId,
            inputHash: request.inputHash,
            operator: request.operator,
            callback: request.callback,
            callbackGasLimit: request.callbackGasLimit
        });
        delta |= 1;
        if (field == 0) m.requester = address(uint160(m.requester) ^ uint160(delta));
        else if (field == 1) m.fee ^= uint96(delta);
        else if (field == 2) m.modelOwner = address(uint160(m.modelOwner) ^ uint160(delta));
        else if (field == 3) m.royaltyBps ^= uint16(delta);
        else if (field == 4) m.protocolFeeBps ^= uint16(delta);
        else if (field == 5) m.mode = Mode.wrap(Mode.unwrap(m.mode) ^ uint8(delta));
        else if (field == 6) m.deadline ^= uint64(delta);
        else if (field == 7) m.modelId = ModelId.wrap(ModelId.unwrap(m.modelId) ^ bytes32(delta));
        else if (field == 8) m.inputHash ^= bytes32(delta);
        else if (field == 9) m.operator = address(uint160(m.operator) ^ uint160(delta));
        else if (field == 10) m.callback = address(uint160(m.callback) ^ uint160(delta));
        else m.callbackGasLimit ^= uint32(delta);
    }

    /// @notice Open → committed; any one field changed → not committed; another id → not committed.
    function testFuzz_commitmentRoundTrip(
        bytes32 inputHash,
        uint64 ttl,
        address assigned,
        bool withCallback,
        uint32 gasLimit,
        uint256 field,
        uint256 delta
    ) public {
        (uint256 id, IInferenceSettlement.Request memory request) = _openFuzzed(
            inputHash,
            ttl,
            assigned,
            withCallback,
            gasLimit
        );
        bytes32 hash = core.hashRequest(request);
        assertEq(hash, keccak256(abi.encode(request)), "hashRequest is keccak256(abi.encode(request))");
        assertTrue(core.isCommitted(id, hash), "opened request is committed");
        assertFalse(core.isCommitted(id + 1, hash), "not under the next id");
        assertFalse(core.isCommitted(id - 1, hash), "not under id 0");

        IInferenceSettlement.Request memory changed = _mutate(request, field % FIELDS, delta);
        bytes32 changedHash = core.hashRequest(changed);
        assertFalse(core.isCommitted(id, changedHash), "a changed field is not committed");

        vm.expectRevert(abi.encodeWithSelector(IInferenceSettlement.RequestMismatch.selector, id));
        core.refund(changed, id);
        IInferenceSettlement.Result memory result = IInferenceSettlement.Result({
            operator: request.operator == address(0) ? requester : request.operator,
            outputHash: keccak256("x"),
            output: "x",
            outputUri: ""
        });
        if (Mode.unwrap(changed.mode) == Mode.unwrap(TEST_BIT)) {
            vm.expectRevert(abi.encodeWithSelector(IInferenceSettlement.RequestMismatch.selector, id));
            testMode.settle(changed, id, result, requester, address(0));
        }
    }

    /// @notice The commitment survives settlement and refund (only the status byte changes).
    function testFuzz_commitmentSurvivesSettlement(bytes32 inputHash, uint64 ttl, bool settle) public {
        (uint256 id, IInferenceSettlement.Request memory request) = _openFuzzed(inputHash, ttl, address(0), false, 0);
        bytes32 hash = core.hashRequest(request);
        if (settle) {
            IInferenceSettlement.Result memory result = IInferenceSettlement.Result({
                operator: requester,
                outputHash: keccak256("y"),
                output: "",
                outputUri: "ipfs://y"
            });
            testMode.settle(request, id, result, requester, address(0));
            assertEq(uint256(core.requestStatus(id)), uint256(IInferenceSettlement.RequestStatus.Fulfilled), "s");
        } else {
            vm.warp(request.deadline + 1);
            core.refund(request, id);
            assertEq(uint256(core.requestStatus(id)), uint256(IInferenceSettlement.RequestStatus.Refunded), "r");
        }
        assertTrue(core.isCommitted(id, hash), "still committed");
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceSettlement.RequestNotPending.selector,
                id,
                settle ? IInferenceSettlement.RequestStatus.Fulfilled : IInferenceSettlement.RequestStatus.Refunded
            )
        );
        core.refund(request, id);
    }

    /// @notice The deadline is the last second a request can settle; refunding starts the second after (while the
    /// model and the mode stay live), so there is no instant where both or neither are possible.
    function testFuzz_deadlineIsTheLastSecondToSettle(uint64 ttl, bool settleAtDeadline) public {
        (uint256 id, IInferenceSettlement.Request memory request) = _openFuzzed(bytes32(0), ttl, address(0), false, 0);
        IInferenceSettlement.Result memory result = IInferenceSettlement.Result({
            operator: requester,
            outputHash: keccak256("z"),
            output: "z",
            outputUri: ""
        });
        vm.warp(request.deadline);
        vm.expectRevert(abi.encodeWithSelector(IInferenceSettlement.RequestNotExpired.selector, id, request.deadline));
        core.refund(request, id);
        if (settleAtDeadline) {
            testMode.settle(request, id, result, requester, address(0));
            assertEq(uint256(core.requestStatus(id)), uint256(IInferenceSettlement.RequestStatus.Fulfilled), "s");
            return;
        }
        vm.warp(uint256(request.deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(IInferenceSettlement.RequestExpired.selector, id, request.deadline));
        testMode.settle(request, id, result, requester, address(0));
        core.refund(request, id);
        assertEq(uint256(core.requestStatus(id)), uint256(IInferenceSettlement.RequestStatus.Refunded), "r");
    }

    /// @notice Ids never wrap: the last id is 2^64 - 2, after which opening reverts `RequestIdsExhausted`.
    function testFuzz_requestIdsNeverWrap(uint64 start) public {
        start = uint64(_bound(start, type(uint64).max - 3, type(uint64).max - 1));
        // Slot 2 (after Ownable's owner and Ownable2Step's pending owner) packs treasury (20 bytes),
        // protocolFeeBps (2), nextRequestId (8), bound modes (1), open modes (1).
        bytes32 slot = bytes32(uint256(2));
        uint256 packed = uint256(vm.load(address(core), slot));
        assertEq(address(uint160(packed)), treasury, "slot 2 holds the treasury");
        assertEq(uint64(packed >> 176), core.nextRequestId(), "and the next request id");
        packed = (packed & ~(uint256(type(uint64).max) << 176)) | (uint256(start) << 176);
        vm.store(address(core), slot, bytes32(packed));
        assertEq(core.nextRequestId(), start, "id moved");
        assertEq(core.protocolFeeBps(), PROTOCOL_FEE_BPS, "neighbours untouched");

        uint256 last;
        for (uint256 id = start; id < type(uint64).max; ++id) {
            (last, ) = _openFuzzed(bytes32(id), 1 hours, address(0), false, 0);
            assertEq(last, id, "ids are consecutive");
        }
        assertEq(last, type(uint64).max - 1, "last id is 2^64 - 2");
        assertEq(core.nextRequestId(), type(uint64).max, "counter parked at 2^64 - 1");
        IInferenceSettlement.RequestParams memory params = _params(model, TEST_BIT, type(uint96).max);
        vm.prank(requester);
        vm.expectRevert(IInferenceSettlement.RequestIdsExhausted.selector);
        core.openRequest(params);
        assertEq(core.nextRequestId(), type(uint64).max, "no wrap");
    }
}
