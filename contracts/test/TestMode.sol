// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IInferenceSettlement} from "../interfaces/IInferenceSettlement.sol";
import {IVerificationMode} from "../interfaces/IVerificationMode.sol";
import {Mode} from "../types/Mode.sol";

/// @title Test mode
/// @notice A verification mode that verifies nothing: it forwards whatever its caller asks to the core's mode hooks.
/// Tests bind it to a spare mode bit to exercise the hooks a future mode (quiet receipts) builds on, and to show what
/// the core itself guarantees whatever a mode does: conservation, no double settlement, allowances, live modes only.
contract TestMode is IVerificationMode {
    /// @inheritdoc IVerificationMode
    IInferenceSettlement public immutable settlement;
    Mode private immutable _mode;

    /// @param settlement_ The core.
    /// @param mode_ The bit this contract declares.
    constructor(IInferenceSettlement settlement_, Mode mode_) {
        settlement = settlement_;
        _mode = mode_;
    }

    /// @inheritdoc IVerificationMode
    function mode() external view returns (Mode) {
        return _mode;
    }

    /// @notice Forward `settle` unverified.
    function settle(
        IInferenceSettlement.Request calldata request,
        uint256 requestId,
        IInferenceSettlement.Result calldata result,
        address payout,
        address signer
    ) external {
        settlement.settle(request, requestId, result, payout, signer);
    }

    /// @notice Forward `pull`.
    function pull(address payer, uint256 amount) external {
        settlement.pull(payer, amount);
    }

    /// @notice Forward `payFee`.
    function payFee(uint256 fee, address modelOwner, uint16 royaltyBps, address payout) external {
        settlement.payFee(fee, modelOwner, royaltyBps, payout);
    }

    /// @notice Forward `slash`.
    function slash(address operator, uint256 amount, address beneficiary, uint16 rewardBps) external returns (uint256) {
        return settlement.slash(operator, amount, beneficiary, rewardBps);
    }

    /// @notice Move this contract's own ledger balance (how a mode refunds a payer).
    function transferBalance(address to, uint256 amount) external {
        settlement.transferBalance(to, amount);
    }
}
