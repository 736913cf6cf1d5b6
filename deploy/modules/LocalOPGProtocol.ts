import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildProtocol } from "./protocol.js";

/** The protocol with a freshly deployed local OPG token (ERC-20 + EIP-2612), for local networks. */
export default buildModule("LocalOPGProtocol", (m) => {
  const supply = m.getParameter("opgSupply", 1_000_000_000n * 10n ** 18n);
  const token = m.contract("OPGToken", [m.getAccount(0), supply]);
  return { token, ...buildProtocol(m, token) };
});
