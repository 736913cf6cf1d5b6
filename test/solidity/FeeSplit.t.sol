// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceSettlement} from "../../contracts/interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {ProtocolLimits} from "../../contracts/libraries/ProtocolLimits.sol";
import {ModeSet} from "../../contracts/types/Mode.sol";
import {ModelId} from "../../contracts/types/ModelId.sol";
import {ProtocolFixture} from "./utils/ProtocolFixture.sol";

/// @title Fee split properties
/// @notice For every fee and every royalty / protocol share within their caps, a settled request's fee (and a mode's
/// `payFee`) splits into royalty + protocol + operator share == fee, the operator share never negative, each credited
/// where the committed terms say, and nothing else in the ledger moves.
contract FeeSplitTest is ProtocolFixture {
    address internal owner;
    address internal requester;
    address internal payout;
    ModelId internal model;

    function setUp() public {
        _deployProtocol();
        owner = vm.addr(_key("owner", 0));
        requester = vm.addr(_key("requester", 0));
        payout = vm.addr(_key("payout", 0));
        model = _registerModel(owner, "split", ModeSet.wrap(0x05), 1e18, 1_000, false);
    }

    /// @notice The arithmetic alone: within the caps the three shares are non-negative and sum to the fee.
    function testFuzz_shareArithmetic(uint96 fee, uint16 royaltyBps, uint16 protocolBps) public pure {
        royaltyBps = uint16(_bound(royaltyBps, 0, ProtocolLimits.MAX_ROYALTY_BPS));
        protocolBps = uint16(_bound(protocolBps, 0, ProtocolLimits.MAX_PROTOCOL_FEE_BPS));
        uint256 royalty = (uint256(fee) * royaltyBps) / ProtocolLimits.BPS;
        uint256 protocolCut = (uint256(fee) * protocolBps) / ProtocolLimits.BPS;
        assertLe(royalty + protocolCut, fee, "royalty + protocol exceed the fee");
        assertEq(royalty + protocolCut + (fee - royalty - protocolCut), fee, "shares do not sum to the fee");
    }

    /// @notice A request settled through a mode credits exactly royalty, protocol share and operator share.
    function testFuzz_settledFeeSplitsExactly(
        uint96 fee,
        uint16 royaltyBps,
        uint16 protocolBps,
        bool payoutIsOwner
    ) public {
        fee = uint96(_bound(fee, 0, 1e26));
        royaltyBps = uint16(_bound(royaltyBps, 0, ProtocolLimits.MAX_ROYALTY_BPS));
        protocolBps = uint16(_bound(protocolBps, 0, ProtocolLimits.MAX_PROTOCOL_FEE_BPS));
        address to = payoutIsOwner ? owner : payout;

        vm.prank(governance);
        core.setProtocolFee(protocolBps);
        vm.prank(owner);
        models.setTerms(model, fee, royaltyBps);
        if (fee != 0) _deposit(requester, fee);

        (uint256 id, IInferenceSettlement.Request memory request) = _open(
            requester,
            _params(model, TEST_BIT, type(uint96).max)
        );
        assertEq(request.fee, fee, "committed fee");
        assertEq(core.balances(requester), 0, "fee escrowed");
        uint256 owedBefore = core.totalOwed();
        uint256 ownerBefore = core.balances(owner);
        uint256 payoutBefore = core.balances(payout);

        IInferenceSettlement.Result memory result = IInferenceSettlement.Result({
            operator: payout,
            outputHash: keccak256("out"),
            output: "out",
            outputUri: ""
        });
        testMode.settle(request, id, result, to, address(0));

        uint256 royalty = (uint256(fee) * royaltyBps) / ProtocolLimits.BPS;
        uint256 protocolCut = (uint256(fee) * protocolBps) / ProtocolLimits.BPS;
        uint256 operatorShare = fee - royalty - protocolCut;
        assertEq(core.protocolFeesOf(TEST_BIT), protocolCut, "protocol share");
        if (payoutIsOwner) {
            assertEq(core.balances(owner) - ownerBefore, royalty + operatorShare, "owner as payout");
        } else {
            assertEq(core.balances(owner) - ownerBefore, royalty, "royalty");
            assertEq(core.balances(payout) - payoutBefore, operatorShare, "operator share");
        }
        assertEq(core.totalOwed(), owedBefore, "settlement moves nothing in or out");
        assertEq(core.balances(requester), 0, "requester charged once");
        assertEq(
            core.totalOwed(),
            core.balances(owner) + core.balances(payout) + core.protocolFees(),
            "ledger sums to what is owed"
        );
        assertEq(uint256(core.requestStatus(id)), uint256(IInferenceSettlement.RequestStatus.Fulfilled), "status");
    }

    /// @notice `payFee` splits at the current protocol fee the same way, out of the mode's own ledger balance.
    function testFuzz_payFeeSplitsExactly(uint256 fee, uint16 royaltyBps, uint16 protocolBps) public {
        fee = _bound(fee, 1, 1e26);
        royaltyBps = uint16(_bound(royaltyBps, 0, ProtocolLimits.MAX_ROYALTY_BPS));
        protocolBps = uint16(_bound(protocolBps, 0, ProtocolLimits.MAX_PROTOCOL_FEE_BPS));
        vm.prank(governance);
        core.setProtocolFee(protocolBps);
        _deposit(requester, fee);
        vm.prank(requester);
        core.approveMode(TEST_BIT, fee);
        testMode.pull(requester, fee);
        assertEq(core.modeAllowance(requester, TEST_BIT), 0, "allowance spent");
        assertEq(core.balances(address(testMode)), fee, "pulled");

        testMode.payFee(fee, owner, royaltyBps, payout);

        uint256 royalty = (fee * royaltyBps) / ProtocolLimits.BPS;
        uint256 protocolCut = (fee * protocolBps) / ProtocolLimits.BPS;
        assertEq(core.balances(owner), royalty, "royalty");
        assertEq(core.balances(payout), fee - royalty - protocolCut, "operator share");
        assertEq(core.protocolFeesOf(TEST_BIT), protocolCut, "protocol share");
        assertEq(core.balances(address(testMode)), 0, "mode paid all");
        assertEq(core.totalOwed(), fee, "nothing created or lost");
    }

    /// @notice A royalty above the cap is refused by the registry and by `payFee`: the operator share stays >= 0.
    function testFuzz_royaltyAboveCapRefused(uint16 royaltyBps) public {
        royaltyBps = uint16(_bound(royaltyBps, ProtocolLimits.MAX_ROYALTY_BPS + 1, type(uint16).max));
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.RoyaltyTooHigh.selector, royaltyBps, ProtocolLimits.MAX_ROYALTY_BPS)
        );
        models.setTerms(model, 1e18, royaltyBps);
        vm.expectRevert(abi.encodeWithSelector(IInferenceSettlement.InvalidBps.selector, royaltyBps));
        testMode.payFee(1, owner, royaltyBps, payout);
    }

    /// @notice A protocol fee above the cap is refused.
    function testFuzz_protocolFeeAboveCapRefused(uint16 protocolBps) public {
        protocolBps = uint16(_bound(protocolBps, ProtocolLimits.MAX_PROTOCOL_FEE_BPS + 1, type(uint16).max));
        vm.prank(governance);
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceSettlement.ProtocolFeeTooHigh.selector,
                protocolBps,
                ProtocolLimits.MAX_PROTOCOL_FEE_BPS
            )
        );
        core.setProtocolFee(protocolBps);
    }
}
