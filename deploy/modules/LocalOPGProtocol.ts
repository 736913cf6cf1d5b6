import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { PROTOCOL_DEFAULTS } from "../../src/protocol/defaults.js";
import { buildProtocol } from "./protocol.js";

/** The protocol with a freshly deployed local OPG token (ERC-20 + EIP-2612), for local networks. */
export default buildModule("LocalOPGProtocol", (m) => {
  const supply = m.getParameter("opgSupply", PROTOCOL_DEFAULTS.opgSupply);
  const token = m.contract("OPGToken", [m.getAccount(0), supply]);
  return { token, ...buildProtocol(m, token) };
});
