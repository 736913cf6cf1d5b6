/**
 * A local devnet: a standalone Hardhat node (JSON-RPC on 127.0.0.1:8545, or OPG_DEVNET_PORT), the protocol
 * deployed, the Iris model registered (signature and zk), accounts funded. Prints addresses and next steps;
 * Ctrl-C stops it.
 *
 *   npm run devnet
 */
import hre from "hardhat";
import { formatUnits } from "viem";
import { DEVNET_DEPLOYMENT_DIR, startDevnet } from "../src/devnet/devnet.js";

const port = Number(process.env.OPG_DEVNET_PORT ?? 8545);
const devnet = await startDevnet(hre, "127.0.0.1", port);
console.log(`OPG devnet: JSON-RPC ${devnet.url} (chain id ${devnet.chainId})\n`);
for (const [name, address] of Object.entries(devnet.addresses))
  console.log(`  ${name.padEnd(13)} ${address}`);
console.log(`  iris model    ${devnet.irisModelId} (signature | zk, fee 2 OPG)`);
console.log(`\n  addresses written by Ignition to ${DEVNET_DEPLOYMENT_DIR}/deployed_addresses.json\n`);
console.log(
  "Funded accounts (Hardhat's well-known test accounts: their keys are public, never use them elsewhere):",
);
for (const a of devnet.accounts) {
  const deposited = a.deposited > 0n ? `, ${formatUnits(a.deposited, 18)} OPG prepaid in settlement` : "";
  console.log(`  ${a.role.padEnd(12)} ${a.address}  ${formatUnits(a.opg, 18)} OPG${deposited}`);
}
console.log(
  `\nNext: point a client at ${devnet.url} with the addresses above (viem, ethers, or the SDK in src/).`,
);
console.log("Ctrl-C stops the devnet.");

const stop = async () => {
  await devnet.close();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
