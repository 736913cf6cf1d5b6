import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

/**
 * Solidity is compiled by the npm `solc` package (solcjs / WASM), pinned to the exact version below,
 * so a build never downloads a compiler. Keep `SOLC_VERSION` equal to the `solc` version in
 * package.json.
 */
const SOLC_VERSION = "0.8.37";
const soljson = createRequire(import.meta.url).resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    version: SOLC_VERSION,
    path: soljson,
    settings: {
      // Cancun: transient storage (EIP-1153) and MCOPY, live on Ethereum and the major L2s.
      // Nothing here needs Prague or later, so Cancun is the widest target that has both.
      evmVersion: "cancun",
      viaIR: true,
      optimizer: { enabled: true, runs: 10_000 },
    },
  },
  paths: { ignition: "deploy" },
  test: { mocha: { reporter: "./test/helpers/summary-reporter.cjs", timeout: 60_000 } },
  typechain: { outDir: "typechain-types" },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    // A standalone node started with `npx hardhat node` (or `npm run devnet`).
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
    // Any real EVM network: keys stay out of the repo in Hardhat's encrypted keystore
    // (`npx hardhat keystore set OPG_DEPLOYER_KEY`) or in the environment.
    remote: {
      type: "http",
      chainType: "generic",
      url: configVariable("OPG_RPC_URL"),
      accounts: [configVariable("OPG_DEPLOYER_KEY")],
    },
  },
});
