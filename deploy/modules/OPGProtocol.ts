import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildProtocol } from "./protocol.js";

/**
 * The protocol on a network that already has OPG: pass its address as the `opgToken` parameter, e.g.
 * `npx hardhat ignition deploy deploy/modules/OPGProtocol.ts --network remote --parameters params.json`.
 */
export default buildModule("OPGProtocol", (m) => {
  const token = m.contractAt("OPGToken", m.getParameter<string>("opgToken"));
  return { token, ...buildProtocol(m, token) };
});
