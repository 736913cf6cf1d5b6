// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IQuietMode} from "../../../contracts/interfaces/IQuietMode.sol";
import {IZkMode} from "../../../contracts/interfaces/IZkMode.sol";
import {VerificationModes} from "../../../contracts/libraries/VerificationModes.sol";
import {QuietMode} from "../../../contracts/modes/QuietMode.sol";
import {ModeSet} from "../../../contracts/types/Mode.sol";
import {ModelId} from "../../../contracts/types/ModelId.sol";
import {ProtocolFixture} from "../utils/ProtocolFixture.sol";

/// @title Quiet mode invariant handler
/// @notice Random sequences of quiet mode's entry points by payers, operators and challengers: funding, refund
/// requests and withdrawals, serving (a payer-signed voucher and an operator-signed receipt), committing the log,
/// redeeming vouchers, and wrong-output challenges (with the signal-hash stand-in verifier, so any output can be
/// "proven": the bookkeeping is what is tested here; soundness is the real verifier's, covered by the mocha tests).
/// Operator 0 is honest; operator 1 signs a wrong output when asked to. Every action predicts its outcome and the
/// ghost accounting the invariants compare with the contracts.
contract QuietHandler is ProtocolFixture {
    uint64 internal constant COMMIT_WINDOW = 1 hours;
    uint64 internal constant CHALLENGE_WINDOW = 1 hours;
    uint64 internal constant MAX_TTL = 1 hours;
    uint64 internal constant NOTICE = 3 hours;
    uint64 internal constant TTL = 30 minutes;
    uint256 internal constant PAYERS = 3;
    uint256 internal constant OPERATORS = 2;
    uint256 internal constant MODELS = 2;
    uint256 internal constant STAKE = 1_000e18;
    uint256 internal constant WALLET = 1e24;
    uint96 internal constant FEE = 1e18;

    struct Voucher {
        IQuietMode.QuietRequest request;
        bytes signature;
    }

    struct Served {
        IQuietMode.QuietRequest request;
        IQuietMode.Receipt receipt;
        bytes signature;
        uint256 truth;
        bool wrong;
        bool challenged;
    }

    /// @dev Ghost of a (payer, operator) channel.
    struct ChannelGhost {
        uint256 funded;
        uint256 withdrawn;
        uint256 paid;
        uint256 funds;
        uint64 refundAt;
    }

    /// @dev Ghost of a (payer, operator, model) sub-channel.
    struct SubGhost {
        uint64 nextIndex;
        uint96 signed;
        uint96 claimed;
        uint96 credit;
        uint96 struckFees;
        uint256 paid;
        bool hasVoucher;
    }

    QuietMode public quiet;
    uint256 public ghostTime;
    uint256 public slashedTotal;
    uint256 public wrongChallenges;

    address[PAYERS] public payers;
    uint256[PAYERS] internal _payerKeys;
    address[OPERATORS] public operatorAccounts;
    uint256[OPERATORS] internal _signerKeys;
    ModelId[MODELS] public modelIds;

    mapping(uint256 payer => mapping(uint256 operator => ChannelGhost)) internal _channelGhosts;
    mapping(uint256 payer => mapping(uint256 operator => mapping(uint256 model => SubGhost))) internal _subGhosts;
    mapping(uint256 payer => mapping(uint256 operator => mapping(uint256 model => Voucher))) internal _latest;
    mapping(uint256 operator => Served[]) internal _served;
    mapping(uint256 operator => uint256) public committedUpTo;

    constructor() {
        _deployCore();
        quiet = new QuietMode(core, COMMIT_WINDOW, CHALLENGE_WINDOW, MAX_TTL, NOTICE, PENALTY, REWARD_BPS);
        vm.prank(governance);
        core.bindMode(VerificationModes.QUIET, address(quiet));
        address owner = vm.addr(_key("model owner", 0));
        // Model 0: signed receipts only; model 1: a (stand-in) circuit, so wrong outputs can be proven.
        modelIds[0] = _registerModel(owner, "quiet-signed", _modes(1 | 4), FEE, 1_000, false);
        modelIds[1] = _registerModel(owner, "quiet-zk", _modes(2 | 4), FEE, 2_000, true);
        for (uint256 i; i < OPERATORS; ++i) {
            operatorAccounts[i] = vm.addr(_key("quiet operator", i));
            _signerKeys[i] = _key("quiet signer", i);
            _registerOperator(operatorAccounts[i], _signerKeys[i], vm.addr(_key("quiet payout", i)), STAKE);
        }
        for (uint256 i; i < PAYERS; ++i) {
            _payerKeys[i] = _key("quiet payer", i);
            payers[i] = vm.addr(_payerKeys[i]);
            _deposit(payers[i], WALLET);
            vm.prank(payers[i]);
            core.approveMode(VerificationModes.QUIET, type(uint256).max);
        }
        ghostTime = block.timestamp;
    }

    // ------------------------------------------------------------------ actions

    function warp(uint256 seconds_) external {
        ghostTime += _bound(seconds_, 1, 2 hours);
        vm.warp(ghostTime);
    }

    function fund(uint256 payerSeed, uint256 operatorSeed, uint256 amount) external {
        vm.warp(ghostTime);
        (uint256 p, uint256 o) = (payerSeed % PAYERS, operatorSeed % OPERATORS);
        amount = _bound(amount, 1, 50e18);
        vm.prank(payers[p]);
        quiet.fund(operatorAccounts[o], amount);
        ChannelGhost storage g = _channelGhosts[p][o];
        g.funded += amount;
        g.funds += amount;
        g.refundAt = 0;
    }

    function requestRefund(uint256 payerSeed, uint256 operatorSeed) external {
        vm.warp(ghostTime);
        (uint256 p, uint256 o) = (payerSeed % PAYERS, operatorSeed % OPERATORS);
        vm.prank(payers[p]);
        quiet.requestRefund(operatorAccounts[o]);
        _channelGhosts[p][o].refundAt = uint64(ghostTime) + NOTICE;
    }

    function withdrawChannel(uint256 payerSeed, uint256 operatorSeed) external {
        vm.warp(ghostTime);
        (uint256 p, uint256 o) = (payerSeed % PAYERS, operatorSeed % OPERATORS);
        ChannelGhost storage g = _channelGhosts[p][o];
        vm.prank(payers[p]);
        (bool ok, bytes memory err) = address(quiet).call(
            abi.encodeCall(IQuietMode.withdrawChannel, (operatorAccounts[o]))
        );
        if (g.refundAt == 0 || ghostTime < g.refundAt) {
            assertFalse(ok, "withdrew before the notice period");
            assertRevertSelector(err, IQuietMode.RefundNotDue.selector, "RefundNotDue");
            return;
        }
        assertTrue(ok, "a due refund failed");
        g.withdrawn += g.funds;
        g.funds = 0;
        g.refundAt = 0;
    }

    /// @notice A payer signs its next voucher for (operator, model); the operator answers with a signed receipt.
    function serve(uint256 payerSeed, uint256 operatorSeed, uint256 modelSeed, uint256 feeSeed, bool cheat) external {
        vm.warp(ghostTime);
        (uint256 p, uint256 o, uint256 m) = (payerSeed % PAYERS, operatorSeed % OPERATORS, modelSeed % MODELS);
        SubGhost storage sub = _subGhosts[p][o][m];
        uint96 fee = uint96(_bound(feeSeed, FEE, 5 * FEE));
        IQuietMode.QuietRequest memory request = IQuietMode.QuietRequest({
            payer: payers[p],
            operator: operatorAccounts[o],
            modelId: modelIds[m],
            inputHash: bytes32(uint256(keccak256(abi.encode(p, o, m, sub.nextIndex))) % _field()),
            fee: fee,
            cumulative: sub.signed + fee,
            index: sub.nextIndex,
            deadline: uint64(ghostTime) + TTL
        });
        bytes32 requestHash = quiet.hashRequest(request);
        _latest[p][o][m] = Voucher(request, _sign(_payerKeys[p], requestHash));
        sub.nextIndex += 1;
        sub.signed = request.cumulative;
        sub.hasVoucher = true;

        uint256 truth = uint256(request.inputHash) % 3;
        bool wrong = cheat && o == 1; // operator 0 never cheats
        IQuietMode.Receipt memory receipt = IQuietMode.Receipt({
            operator: operatorAccounts[o],
            seq: uint64(_served[o].length),
            request: requestHash,
            outputHash: keccak256(abi.encode(wrong ? (truth + 1) % 3 : truth)),
            time: uint64(ghostTime)
        });
        _served[o].push(
            Served(request, receipt, _sign(_signerKeys[o], quiet.hashReceipt(receipt)), truth, wrong, false)
        );
    }

    /// @notice The operator commits everything it served since its last batch, as one batch.
    function commit(uint256 operatorSeed) external {
        vm.warp(ghostTime);
        uint256 o = operatorSeed % OPERATORS;
        uint256 first = committedUpTo[o];
        uint256 count = _served[o].length - first;
        if (count == 0) return;
        bytes32[] memory level = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            level[i] = _leaf(quiet.hashReceipt(_served[o][first + i].receipt));
        }
        vm.prank(operatorAccounts[o]);
        quiet.commitBatch(uint64(first), uint32(count), _root(level), "ipfs://batch");
        committedUpTo[o] = first + count;
    }

    /// @notice The operator redeems the latest voucher of one sub-channel; predicted from the ghosts.
    function redeem(uint256 payerSeed, uint256 operatorSeed, uint256 modelSeed) external {
        vm.warp(ghostTime);
        (uint256 p, uint256 o, uint256 m) = (payerSeed % PAYERS, operatorSeed % OPERATORS, modelSeed % MODELS);
        SubGhost storage sub = _subGhosts[p][o][m];
        if (!sub.hasVoucher) return;
        Voucher memory v = _latest[p][o][m];
        IQuietMode.Voucher[] memory list = new IQuietMode.Voucher[](1);
        list[0] = IQuietMode.Voucher(v.request, v.signature);
        uint256 redeemableAt = uint256(v.request.deadline) + COMMIT_WINDOW + CHALLENGE_WINDOW;
        vm.prank(operatorAccounts[o]);
        (bool ok, bytes memory ret) = address(quiet).call(abi.encodeCall(IQuietMode.redeem, (list)));
        if (ghostTime <= redeemableAt) {
            assertFalse(ok, "redeemed before the challenge deadline");
            assertRevertSelector(ret, IQuietMode.NotFinal.selector, "NotFinal");
            return;
        }
        assertTrue(ok, "a final voucher did not redeem");
        uint256 paid = abi.decode(ret, (uint256));
        uint256 expected;
        if (v.request.cumulative > sub.claimed) {
            uint96 gross = v.request.cumulative - sub.claimed;
            uint96 applied = sub.credit < gross ? sub.credit : gross;
            sub.claimed = v.request.cumulative;
            sub.credit -= applied;
            uint256 due = gross - applied;
            ChannelGhost storage g = _channelGhosts[p][o];
            expected = due < g.funds ? due : g.funds;
            g.funds -= expected;
            g.paid += expected;
            sub.paid += expected;
        }
        assertEq(paid, expected, "redeemed amount");
    }

    /// @notice Anyone challenges a served receipt of the circuit model with a "proof" of the true output.
    function challengeOutput(uint256 operatorSeed, uint256 index, uint256 challengerSeed) external {
        vm.warp(ghostTime);
        uint256 o = operatorSeed % OPERATORS;
        if (_served[o].length == 0) return;
        Served storage s = _served[o][index % _served[o].length];
        if (ModelId.unwrap(s.request.modelId) != ModelId.unwrap(modelIds[1])) return;
        address challenger = vm.addr(_key("challenger", challengerSeed % 3));
        IZkMode.ZkProof memory proof = _proofOf(s, challenger);
        uint256 closedAt = uint256(s.request.deadline) + COMMIT_WINDOW + CHALLENGE_WINDOW;
        uint256 stakeBefore = _stakeOf(o);
        vm.prank(challenger);
        (bool ok, bytes memory ret) = address(quiet).call(
            abi.encodeCall(IQuietMode.challengeOutput, (s.receipt, s.request, s.signature, s.truth, proof))
        );
        if (ghostTime > closedAt) {
            assertFalse(ok, "challenged after the deadline");
            assertRevertSelector(ret, IQuietMode.ChallengeClosed.selector, "ChallengeClosed");
            return;
        }
        if (!s.wrong) {
            assertFalse(ok, "an honest receipt was challenged");
            assertRevertSelector(ret, IQuietMode.OutputMatches.selector, "OutputMatches");
            return;
        }
        if (s.challenged) {
            assertFalse(ok, "a wrong receipt was challenged twice");
            assertRevertSelector(ret, IQuietMode.ReceiptEvidenceUsed.selector, "ReceiptEvidenceUsed");
            return;
        }
        assertTrue(ok, "a proven wrong output was not struck");
        uint256 slashed = abi.decode(ret, (uint256));
        assertEq(stakeBefore - _stakeOf(o), slashed, "slashed stake");
        s.challenged = true;
        slashedTotal += slashed;
        wrongChallenges += 1;
        uint256 p = _payerIndex(s.request.payer);
        SubGhost storage sub = _subGhosts[p][o][1];
        sub.credit += s.request.fee;
        sub.struckFees += s.request.fee;
    }

    // ------------------------------------------------------------------ views for the invariants

    function channelGhost(uint256 p, uint256 o) external view returns (ChannelGhost memory) {
        return _channelGhosts[p][o];
    }

    function subGhost(uint256 p, uint256 o, uint256 m) external view returns (SubGhost memory) {
        return _subGhosts[p][o][m];
    }

    function servedCount(uint256 o) external view returns (uint256) {
        return _served[o].length;
    }

    function stakeOf(uint256 o) external view returns (uint256) {
        return _stakeOf(o);
    }

    function counts() external pure returns (uint256, uint256, uint256) {
        return (PAYERS, OPERATORS, MODELS);
    }

    function initialStake() external pure returns (uint256) {
        return STAKE;
    }

    // ------------------------------------------------------------------ helpers

    function _modes(uint8 bits) private pure returns (ModeSet) {
        return ModeSet.wrap(bits);
    }

    function _stakeOf(uint256 o) private view returns (uint256) {
        return operators.getOperator(operatorAccounts[o]).stake;
    }

    function _payerIndex(address payer) private view returns (uint256) {
        for (uint256 i; i < PAYERS; ++i) if (payers[i] == payer) return i;
        _fail("unknown payer");
    }

    function _sign(uint256 key, bytes32 structHash) private view returns (bytes memory) {
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", quiet.domainSeparator(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _proofOf(Served storage s, address challenger) private view returns (IZkMode.ZkProof memory proof) {
        (bytes32 zkCommitment, , ) = models.zkBindingOf(s.request.modelId);
        uint256[4] memory signals = [
            s.truth,
            uint256(zkCommitment),
            uint256(s.request.inputHash),
            quiet.quietBinding(s.receipt.operator, s.receipt.seq, challenger)
        ];
        proof.a[1] = 7;
        proof.a[0] = uint256(keccak256(abi.encode(proof.a[1], proof.b, proof.c, signals)));
    }

    function _leaf(bytes32 receiptHash) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), receiptHash));
    }

    /// @dev The positional log root (docs/quiet.md), written out plainly as a second implementation.
    function _root(bytes32[] memory level) private pure returns (bytes32) {
        uint256 width = level.length;
        while (width > 1) {
            uint256 next = (width + 1) / 2;
            for (uint256 i; i < next; ++i) {
                level[i] =
                    2 * i + 1 < width
                        ? keccak256(abi.encodePacked(bytes1(0x01), level[2 * i], level[2 * i + 1]))
                        : level[2 * i];
            }
            width = next;
        }
        return level[0];
    }
}
