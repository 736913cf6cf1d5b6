// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {QuietMode} from "../../contracts/modes/QuietMode.sol";
import {InferenceSettlement} from "../../contracts/InferenceSettlement.sol";
import {ModelId} from "../../contracts/types/ModelId.sol";
import {QuietHandler} from "./invariant/QuietHandler.sol";
import {BaseTest} from "./utils/BaseTest.sol";

/// @notice Quiet mode's money over random sequences of every entry point (funding, refund requests, withdrawals,
/// serving, committing, redeeming, wrong-output challenges): the mode holds exactly its channels' funds, every channel
/// conserves what went in, no payer is charged more than it signed nor for a receipt proven wrong, no voucher pays
/// twice, and the honest operator is never slashed.
contract QuietInvariantsTest is BaseTest {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    QuietHandler internal handler;
    QuietMode internal quiet;
    InferenceSettlement internal core;

    function setUp() public {
        handler = new QuietHandler();
        quiet = handler.quiet();
        core = InferenceSettlement(address(quiet.settlement()));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory s = new bytes4[](12);
        s[0] = handler.warp.selector;
        s[1] = handler.fund.selector;
        s[2] = handler.requestRefund.selector;
        s[3] = handler.withdrawChannel.selector;
        s[4] = handler.serve.selector;
        s[5] = handler.commit.selector;
        s[6] = handler.redeem.selector;
        s[7] = handler.challengeOutput.selector;
        // Serving and redeeming carry the money: extra weight.
        s[8] = handler.serve.selector;
        s[9] = handler.redeem.selector;
        s[10] = handler.fund.selector;
        s[11] = handler.warp.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: s});
    }

    /// @notice The mode's ledger balance in the core is exactly the sum of its channels' funds, and each channel's
    /// funds are what went in less what was withdrawn and paid out.
    function invariant_channelConservation() public view {
        (uint256 payers, uint256 operators, ) = handler.counts();
        uint256 total;
        for (uint256 p; p < payers; ++p) {
            for (uint256 o; o < operators; ++o) {
                QuietHandler.ChannelGhost memory g = handler.channelGhost(p, o);
                (uint256 funds, uint64 refundAt) = quiet.channel(handler.payers(p), handler.operatorAccounts(o));
                assertEq(funds, g.funds, "channel funds");
                assertEq(uint256(refundAt), uint256(g.refundAt), "refund time");
                assertEq(g.funded, g.funds + g.withdrawn + g.paid, "channel conservation");
                total += funds;
            }
        }
        assertEq(core.balances(address(quiet)), total, "the mode holds exactly its channels' funds");
    }

    /// @notice No payer is charged more than it signed, nor for a receipt proven wrong; no voucher pays twice.
    function invariant_payerChargedAtMostWhatItSigned() public view {
        (uint256 payers, uint256 operators, uint256 modelCount) = handler.counts();
        for (uint256 p; p < payers; ++p) {
            for (uint256 o; o < operators; ++o) {
                for (uint256 m; m < modelCount; ++m) {
                    QuietHandler.SubGhost memory g = handler.subGhost(p, o, m);
                    ModelId modelId = handler.modelIds(m);
                    (uint96 claimed, uint96 credit) = quiet.subChannel(
                        handler.payers(p),
                        handler.operatorAccounts(o),
                        modelId
                    );
                    assertEq(uint256(claimed), uint256(g.claimed), "claimed");
                    assertEq(uint256(credit), uint256(g.credit), "credit");
                    assertLe(uint256(claimed), uint256(g.signed), "claimed more than the payer signed");
                    // Refunds applied so far are struck fees less the credit still pending.
                    uint256 applied = uint256(g.struckFees) - g.credit;
                    assertLe(g.paid + applied, uint256(claimed), "paid for a struck receipt, or twice");
                }
            }
        }
    }

    /// @notice Only proven wrong outputs slash: the honest operator keeps its stake, the cheat loses exactly what the
    /// challenges took.
    function invariant_onlyCheatsAreSlashed() public view {
        uint256 initial = handler.initialStake();
        assertEq(handler.stakeOf(0), initial, "the honest operator was slashed");
        assertEq(initial - handler.stakeOf(1), handler.slashedTotal(), "slashes add up");
    }
}
