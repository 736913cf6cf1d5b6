// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title OPG token for local networks
/// @notice A plain ERC-20 with EIP-2612 permit. The protocol contracts take the token address as a
/// constructor argument, so a real OPG deployment plugs in unchanged; this contract exists so that
/// local networks and tests run against a real token rather than a mock.
contract OPGToken is ERC20, ERC20Permit {
    /// @param holder Receives the whole fixed supply.
    /// @param supply Total supply in wei (18 decimals).
    constructor(address holder, uint256 supply) ERC20("OpenGradient", "OPG") ERC20Permit("OpenGradient") {
        _mint(holder, supply);
    }
}
