// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IOperatorRegistry} from "../../contracts/interfaces/IOperatorRegistry.sol";
import {ProtocolFixture} from "./utils/ProtocolFixture.sol";

/// @title Operator registry properties
/// @notice A signer proof binds one key to one operator: a proof made for another operator, or by another key, never
/// registers or rotates; a key is never reused; unbonding never ends earlier than it was promised.
contract OperatorRegistryTest is ProtocolFixture {
    function setUp() public {
        _deployProtocol();
    }

    /// @notice A proof signed for operator A, submitted by anyone else, does not register (or rotate to) the key.
    function testFuzz_proofForAnotherOperatorNeverRegisters(uint256 keySeed, address a, address b) public {
        vm.assume(a != b && a != address(0) && b != address(0));
        uint256 key = _bound(keySeed, 1, SECP256K1_N - 1);
        address signer = vm.addr(key);
        bytes memory proofForA = _signerProof(key, a);

        vm.prank(b);
        vm.expectPartialRevert(IOperatorRegistry.SignerProofInvalid.selector);
        operators.register(signer, b, 0, proofForA);
        assertEq(operators.operatorOfSigner(signer), address(0), "not registered for b");

        // b registered with its own key cannot rotate to a's key with a's proof either.
        uint256 bKey = _key("b-key", uint256(uint160(b)));
        vm.assume(bKey != key);
        bytes memory proofForB = _signerProof(bKey, b);
        vm.prank(b);
        operators.register(vm.addr(bKey), b, 0, proofForB);
        vm.prank(b);
        vm.expectPartialRevert(IOperatorRegistry.SignerProofInvalid.selector);
        operators.rotateSigner(signer, proofForA);
        assertEq(operators.getOperator(b).signer, vm.addr(bKey), "b kept its key");

        // The proof works for a, once.
        vm.prank(a);
        operators.register(signer, a, 0, proofForA);
        assertEq(operators.operatorOfSigner(signer), a, "registered for a");
        vm.prank(b);
        vm.expectRevert(abi.encodeWithSelector(IOperatorRegistry.SignerAlreadyUsed.selector, signer));
        operators.rotateSigner(signer, proofForA);
    }

    /// @notice A proof signed by another key does not register the claimed key.
    function testFuzz_proofByAnotherKeyNeverRegisters(uint256 keySeed, uint256 otherSeed, address operator) public {
        vm.assume(operator != address(0));
        uint256 key = _bound(keySeed, 1, SECP256K1_N - 1);
        uint256 other = _bound(otherSeed, 1, SECP256K1_N - 1);
        vm.assume(key != other);
        address signer = vm.addr(key);
        bytes32 digest = operators.signerBindingDigest(operator, signer);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(other, digest);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IOperatorRegistry.SignerProofInvalid.selector, signer, vm.addr(other)));
        operators.register(signer, operator, 0, abi.encodePacked(r, s, v));
    }

    /// @notice However the delay changes, an unbonding never becomes withdrawable before its promised end.
    function testFuzz_unbondingNeverShortens(uint64 firstDelay, uint64 secondDelay, uint64 gap, uint96 amount) public {
        firstDelay = uint64(_bound(firstDelay, 0, operators.MAX_UNBONDING_DELAY()));
        secondDelay = uint64(_bound(secondDelay, 0, operators.MAX_UNBONDING_DELAY()));
        gap = uint64(_bound(gap, 0, 100 days));
        amount = uint96(_bound(amount, 2, 1e24));
        address operator = vm.addr(_key("operator", 0));
        vm.prank(governance);
        operators.setUnbondingDelay(firstDelay);
        _registerOperator(operator, _key("signer", 0), operator, amount);
        vm.prank(operator);
        operators.unbond(amount / 2);
        uint64 promised = operators.getOperator(operator).unbondingEnd;
        assertEq(promised, block.timestamp + firstDelay, "first end");
        vm.warp(block.timestamp + gap);
        vm.prank(governance);
        operators.setUnbondingDelay(secondDelay);
        vm.prank(operator);
        operators.unbond(amount - amount / 2);
        uint64 end = operators.getOperator(operator).unbondingEnd;
        assertGe(end, promised, "end moved earlier");
        assertGe(end, block.timestamp + secondDelay, "second unbonding shorter than its delay");
        if (block.timestamp < end) {
            vm.warp(end - 1);
            vm.prank(operator);
            vm.expectRevert(abi.encodeWithSelector(IOperatorRegistry.StillUnbonding.selector, end));
            operators.withdrawUnbonded(operator);
        }
        vm.warp(end);
        vm.prank(operator);
        operators.withdrawUnbonded(operator);
        assertEq(token.balanceOf(operator), amount, "all stake back");
        assertEq(token.balanceOf(address(operators)), 0, "registry empty");
    }
}
