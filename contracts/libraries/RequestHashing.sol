// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceSettlement} from "../interfaces/IInferenceSettlement.sol";

/// @title Request hashing
/// @notice The hash a request is committed as, `keccak256(abi.encode(request))`, computed straight from calldata: a
/// `Request` is 12 static words, so its calldata already is its ABI encoding. The core checks requests against their
/// commitment with it, and the signature mode signs over it, so both hash exactly the same bytes.
library RequestHashing {
    /// @notice `keccak256(abi.encode(request))` without re-encoding. Non-canonical calldata (dirty high bits) hashes
    /// differently, so it simply fails to match a commitment.
    /// @param request The request in calldata.
    /// @return hash The request's hash.
    function hashCalldata(IInferenceSettlement.Request calldata request) internal pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, request, 0x180)
            hash := keccak256(ptr, 0x180)
        }
    }
}
