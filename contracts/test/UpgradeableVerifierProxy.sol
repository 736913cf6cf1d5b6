// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TransparentUpgradeableProxy} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";

/// @title Upgradeable verifier proxy
/// @notice OpenZeppelin's transparent upgradeable proxy in front of a verifier implementation: what the registry must
/// refuse (`VerifierNotPure`), since its admin can upgrade the implementation, and so change what the verifier accepts,
/// while the proxy's code hash stays the same.
contract UpgradeableVerifierProxy is TransparentUpgradeableProxy {
    /// @param implementation The verifier implementation.
    /// @param admin The owner of the proxy's `ProxyAdmin`, who can upgrade.
    /// @param data The initialization call (delegated to the implementation).
    constructor(
        address implementation,
        address admin,
        bytes memory data
    ) payable TransparentUpgradeableProxy(implementation, admin, data) {}
}
