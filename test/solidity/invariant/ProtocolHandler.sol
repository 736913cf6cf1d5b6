// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {OPGToken} from "../../../contracts/OPGToken.sol";
import {TestConsumer} from "../../../contracts/test/TestConsumer.sol";
import {Mode, ModeSet} from "../../../contracts/types/Mode.sol";
import {ModelId} from "../../../contracts/types/ModelId.sol";
import {CoreActions} from "./CoreActions.sol";
import {ModeActions} from "./ModeActions.sol";
import {RegistryActions} from "./RegistryActions.sol";

/// @title Protocol invariant handler
/// @notice Deploys the protocol (as the deployment module does, plus a test mode on bit 4 and the signal-hash zk
/// verifier), sets up the actors (users with permit keys, model owners, operators with signer keys, payouts,
/// treasuries, governors, callback consumers) and exposes one action per entry point of every contract, each with
/// bounded inputs and a predicted outcome.
contract ProtocolHandler is CoreActions, ModeActions, RegistryActions {
    constructor() {
        _deployProtocol();
        otherToken = new OPGToken(address(this), 1e24);
        vm.label(address(otherToken), "OtherToken");
        ghostTime = block.timestamp;

        for (uint256 i; i < USERS; ++i) {
            uint256 key = _key("user", i);
            userKeys.push(key);
            users.push(vm.addr(key));
            vm.label(users[i], string.concat("user", vm.toString(i)));
        }
        for (uint256 i; i < 3; ++i) owners.push(_newAccount("owner", i));
        for (uint256 i; i < OPERATORS; ++i) operatorAccounts.push(_newAccount("operator", i));
        for (uint256 i; i < 2; ++i) payouts.push(_newAccount("payout", i));
        treasuries.push(treasury);
        treasuries.push(_newAccount("treasury", 1));
        governors.push(governance);
        governors.push(_newAccount("governance", 1));
        eoaCallback = _newAccount("eoa-callback", 0);
        for (uint256 i; i < 2; ++i) {
            consumers.push(new TestConsumer());
            vm.label(address(consumers[i]), string.concat("consumer", vm.toString(i)));
        }

        for (uint256 i; i < users.length; ++i) _addLedgerAccount(users[i]);
        for (uint256 i; i < owners.length; ++i) _addLedgerAccount(owners[i]);
        for (uint256 i; i < operatorAccounts.length; ++i) _addLedgerAccount(operatorAccounts[i]);
        for (uint256 i; i < payouts.length; ++i) _addLedgerAccount(payouts[i]);
        for (uint256 i; i < treasuries.length; ++i) _addLedgerAccount(treasuries[i]);
        _addLedgerAccount(address(testMode));
        hookModes.push(testMode);

        // The deployment's configuration, as ghosts.
        uint8 bound = Mode.unwrap(SIGNATURE) | Mode.unwrap(ZK) | Mode.unwrap(TEST_BIT);
        ghostBound = bound;
        ghostOpen = bound;
        ghostModeContract[Mode.unwrap(SIGNATURE)] = address(signatureMode);
        ghostModeContract[Mode.unwrap(ZK)] = address(zkMode);
        ghostModeContract[Mode.unwrap(TEST_BIT)] = address(testMode);
        ghostProtocolFeeBps = PROTOCOL_FEE_BPS;
        ghostTreasury = treasury;
        ghostOwner[address(core)] = governance;
        ghostOwner[address(signatureMode)] = governance;
        ghostOwner[address(operators)] = governance;
        ghostMinStake = MIN_STAKE;
        ghostUnbondingDelay = UNBONDING_DELAY;
        ghostPenalty = PENALTY;
        ghostRewardBps = REWARD_BPS;

        for (uint256 i; i < users.length; ++i) _fund(users[i], WALLET);
        for (uint256 i; i < operatorAccounts.length; ++i) _fund(operatorAccounts[i], WALLET);

        // Two operators registered and staked; the others register during the run.
        for (uint256 i; i < PRE_REGISTERED_OPERATORS; ++i) {
            address operator = operatorAccounts[i];
            uint256 key = _freshSignerKey();
            uint96 stake = uint96(2 * MIN_STAKE);
            _registerOperator(operator, key, payouts[i], stake);
            OperatorGhost storage og = _operators[operator];
            og.registered = true;
            og.payout = payouts[i];
            og.stake = stake;
            _claimSigner(operator, vm.addr(key), key);
            ghostStakeIn += stake;
        }

        // Three models: signature / test modes; zk with the signal-hash verifier; free of charge.
        _addModel(owners[0], "base", ModeSet.wrap(0x0d), 5e18, 1_000, false);
        _addModel(owners[1], "zk", ModeSet.wrap(0x07), 2e18, 500, true);
        _addModel(owners[2], "free", ModeSet.wrap(0x05), 0, 0, false);

        // Every user starts with some prepaid balance.
        for (uint256 i; i < users.length; ++i) {
            _deposit(users[i], 1e21);
            ghostBalance[users[i]] += 1e21;
            ghostTotalOwed += 1e21;
            ghostCoreIn += 1e21;
        }
    }

    function _addModel(
        address owner,
        string memory name,
        ModeSet modes,
        uint96 fee,
        uint16 royaltyBps,
        bool zk
    ) private {
        ModelId id = _registerModel(owner, name, modes, fee, royaltyBps, zk);
        ModelGhost storage m = _models.push();
        m.id = id;
        m.owner = owner;
        m.family = models.computeFamilyId(owner, name);
        m.modes = ModeSet.unwrap(modes);
        m.fee = fee;
        m.royaltyBps = royaltyBps;
        m.status = models.statusOf(id);
        m.zk = zk;
        ghostLatest[m.family] = id;
    }
}
