// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {InferenceSettlement} from "../../../contracts/InferenceSettlement.sol";
import {IInferenceSettlement} from "../../../contracts/interfaces/IInferenceSettlement.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {ISignatureMode} from "../../../contracts/interfaces/ISignatureMode.sol";
import {IZkMode} from "../../../contracts/interfaces/IZkMode.sol";
import {ProtocolLimits} from "../../../contracts/libraries/ProtocolLimits.sol";
import {VerificationModes} from "../../../contracts/libraries/VerificationModes.sol";
import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {SignatureMode} from "../../../contracts/modes/SignatureMode.sol";
import {ZkMode} from "../../../contracts/modes/ZkMode.sol";
import {OperatorRegistry} from "../../../contracts/OperatorRegistry.sol";
import {OPGToken} from "../../../contracts/OPGToken.sol";
import {TestMode} from "../../../contracts/test/TestMode.sol";
import {Mode, ModeSet} from "../../../contracts/types/Mode.sol";
import {ModelId} from "../../../contracts/types/ModelId.sol";
import {BaseTest} from "./BaseTest.sol";
import {SignalHashVerifier} from "./SignalHashVerifier.sol";

/// @title Protocol fixture
/// @notice Deploys the whole protocol as `deploy/modules/protocol.ts` does (token, registries, core, signature and zk
/// modes, bound), plus a `TestMode` on the spare bit 4 and a pure signal-hash zk verifier, and offers the steps every
/// test repeats: funding, registering operators (with a real signer proof) and models, building requests and signing.
abstract contract ProtocolFixture is BaseTest {
    uint256 internal constant SUPPLY = 1e27;
    uint256 internal constant MIN_STAKE = 100e18;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint16 internal constant PROTOCOL_FEE_BPS = 500;
    uint96 internal constant PENALTY = 40e18;
    uint16 internal constant REWARD_BPS = 2_500;
    uint256 internal constant START_TIME = 1_700_000_000;

    Mode internal constant SIGNATURE = VerificationModes.SIGNATURE;
    Mode internal constant ZK = VerificationModes.ZK;
    Mode internal constant TEST_BIT = Mode.wrap(1 << 2);

    address internal governance;
    address internal treasury;

    OPGToken internal token;
    ModelRegistry internal models;
    OperatorRegistry internal operators;
    InferenceSettlement internal core;
    SignatureMode internal signatureMode;
    ZkMode internal zkMode;
    TestMode internal testMode;
    SignalHashVerifier internal verifier;

    function _deployProtocol() internal {
        _deployCore();
        testMode = new TestMode(core, TEST_BIT);
        vm.prank(governance);
        core.bindMode(TEST_BIT, address(testMode));
        vm.label(address(testMode), "TestMode");
    }

    /// @dev Everything but the test mode: the token, the registries, the core, the signature and zk modes (bound) and
    /// the pure signal-hash verifier. Bit 4 stays free (for `TestMode`, or `QuietMode`).
    function _deployCore() internal {
        vm.warp(START_TIME);
        governance = vm.addr(_key("governance", 0));
        treasury = vm.addr(_key("treasury", 0));
        token = new OPGToken(address(this), SUPPLY);
        models = new ModelRegistry(token);
        operators = new OperatorRegistry(token, governance, MIN_STAKE, UNBONDING_DELAY);
        core = new InferenceSettlement(token, models, operators, governance, treasury, PROTOCOL_FEE_BPS);
        signatureMode = new SignatureMode(core, governance, PENALTY, REWARD_BPS);
        zkMode = new ZkMode(core);
        verifier = new SignalHashVerifier();
        vm.startPrank(governance);
        operators.bindSettlement(address(core));
        core.bindMode(SIGNATURE, address(signatureMode));
        core.bindMode(ZK, address(zkMode));
        vm.stopPrank();
        vm.label(address(token), "OPG");
        vm.label(address(models), "ModelRegistry");
        vm.label(address(operators), "OperatorRegistry");
        vm.label(address(core), "InferenceSettlement");
        vm.label(address(signatureMode), "SignatureMode");
        vm.label(address(zkMode), "ZkMode");
        vm.label(address(verifier), "SignalHashVerifier");
    }

    // ------------------------------------------------------------------ accounts

    function _fund(address account, uint256 amount) internal {
        token.transfer(account, amount);
    }

    /// @dev `account` deposits `amount` into its ledger balance.
    function _deposit(address account, uint256 amount) internal {
        _fund(account, amount);
        vm.startPrank(account);
        token.approve(address(core), amount);
        core.deposit(amount);
        vm.stopPrank();
    }

    /// @dev A 65-byte signature by `signerKey` over `SignerBinding(operator, signer)`.
    function _signerProof(uint256 signerKey, address operator) internal view returns (bytes memory) {
        bytes32 digest = operators.signerBindingDigest(operator, vm.addr(signerKey));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey, digest);
        return abi.encodePacked(r, s, v);
    }

    function _registerOperator(address operator, uint256 signerKey, address payout, uint256 stake) internal {
        bytes memory proof = _signerProof(signerKey, operator);
        _fund(operator, stake);
        vm.startPrank(operator);
        token.approve(address(operators), stake);
        operators.register(vm.addr(signerKey), payout, stake, proof);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ models

    function _modelSpec(
        string memory name,
        ModeSet modes,
        uint96 fee,
        uint16 royaltyBps,
        bool zk
    ) internal view returns (IModelRegistry.ModelSpec memory spec) {
        spec = IModelRegistry.ModelSpec({
            name: name,
            fileHash: keccak256(abi.encode("file", name)),
            runtimeHash: keccak256(abi.encode("runtime", name)),
            zkCommitment: zk ? bytes32(uint256(keccak256(abi.encode("weights", name))) % _field()) : bytes32(0),
            zkVerifier: zk ? address(verifier) : address(0),
            zkVerifierCodeHash: zk ? address(verifier).codehash : bytes32(0),
            uri: string.concat("ipfs://", name),
            fee: fee,
            royaltyBps: royaltyBps,
            modes: modes
        });
    }

    function _registerModel(
        address owner,
        string memory name,
        ModeSet modes,
        uint96 fee,
        uint16 royaltyBps,
        bool zk
    ) internal returns (ModelId modelId) {
        IModelRegistry.ModelSpec memory spec = _modelSpec(name, modes, fee, royaltyBps, zk);
        vm.prank(owner);
        modelId = models.registerModel(spec);
    }

    function _field() internal pure returns (uint256) {
        return ProtocolLimits.SNARK_SCALAR_FIELD;
    }

    // ------------------------------------------------------------------ requests

    function _params(
        ModelId modelId,
        Mode mode,
        uint96 maxFee
    ) internal view returns (IInferenceSettlement.RequestParams memory) {
        return
            IInferenceSettlement.RequestParams({
                modelId: modelId,
                inputHash: keccak256(abi.encode("input", block.timestamp)),
                maxFee: maxFee,
                deadline: uint64(block.timestamp + 1 hours),
                mode: mode,
                operator: address(0),
                callback: address(0),
                callbackGasLimit: 0,
                inputUri: "data:,input"
            });
    }

    /// @dev The request the core commits when `requester` opens `params` now.
    function _expectedRequest(
        address requester,
        IInferenceSettlement.RequestParams memory params
    ) internal view returns (IInferenceSettlement.Request memory) {
        (address owner, uint96 fee, uint16 royaltyBps) = models.requestTerms(
            params.modelId,
            requester,
            params.mode,
            params.inputHash
        );
        return
            IInferenceSettlement.Request({
                requester: requester,
                fee: fee,
                modelOwner: owner,
                royaltyBps: royaltyBps,
                protocolFeeBps: core.protocolFeeBps(),
                mode: params.mode,
                deadline: params.deadline,
                modelId: params.modelId,
                inputHash: params.inputHash,
                operator: params.operator,
                callback: params.callback,
                callbackGasLimit: params.callbackGasLimit
            });
    }

    /// @dev Open `params` from `requester`'s ledger balance; returns the id and the committed request.
    function _open(
        address requester,
        IInferenceSettlement.RequestParams memory params
    ) internal returns (uint256 requestId, IInferenceSettlement.Request memory request) {
        request = _expectedRequest(requester, params);
        vm.prank(requester);
        requestId = core.openRequest(params);
    }

    // ------------------------------------------------------------------ signatures

    function _claim(
        IInferenceSettlement.Result memory result
    ) internal pure returns (ISignatureMode.ResultClaim memory) {
        return
            ISignatureMode.ResultClaim({
                outputHash: result.outputHash,
                outputBytesHash: keccak256(result.output),
                outputUriHash: keccak256(bytes(result.outputUri))
            });
    }

    /// @dev The EIP-712 digest the signature mode checks, from the contract's own `resultDigest`.
    function _resultDigest(
        IInferenceSettlement.Request memory request,
        uint256 requestId,
        IInferenceSettlement.Result memory result
    ) internal view returns (bytes32) {
        return signatureMode.resultDigest(requestId, keccak256(abi.encode(request)), _claim(result), result.operator);
    }

    function _signResult(
        uint256 signerKey,
        IInferenceSettlement.Request memory request,
        uint256 requestId,
        IInferenceSettlement.Result memory result
    ) internal view returns (bytes32 r, bytes32 vs) {
        return vm.signCompact(signerKey, _resultDigest(request, requestId, result));
    }

    /// @dev A valid zk "proof" for the signal-hash verifier (the submitter is bound through `zkBinding`).
    function _zkProof(
        IInferenceSettlement.Request memory request,
        uint256 requestId,
        uint256 output,
        address submitter
    ) internal view returns (IZkMode.ZkProof memory proof) {
        (bytes32 commitment, , ) = models.zkBindingOf(request.modelId);
        uint256[4] memory signals = [
            output,
            uint256(commitment),
            uint256(request.inputHash),
            zkMode.zkBinding(requestId, submitter)
        ];
        proof.a[1] = 7;
        proof.b = [[uint256(1), 2], [uint256(3), 4]];
        proof.c = [uint256(5), 6];
        proof.a[0] = verifier.digest(proof.a[1], proof.b, proof.c, signals);
    }
}
