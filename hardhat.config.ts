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

const SETTINGS = {
  // Cancun: transient storage (EIP-1153) and MCOPY, live on Ethereum and the major L2s.
  // Nothing here needs Prague or later, so Cancun is the widest target that has both.
  evmVersion: "cancun",
  viaIR: true,
  optimizer: { enabled: true, runs: 10_000 },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    compilers: [{ version: SOLC_VERSION, path: soljson, settings: SETTINGS }],
    overrides: {
      // A zk verifier must pass the registry's pure-bytecode scan: without the IPFS hash in its metadata tail, no
      // random hash byte can look like a JUMPDEST followed by code (docs/zk.md, "Compiling a verifier").
      "contracts/verifiers/IrisMlpVerifier.sol": {
        version: SOLC_VERSION,
        path: soljson,
        settings: { ...SETTINGS, metadata: { bytecodeHash: "none" } },
      },
    },
  },
  paths: { ignition: "deploy" },
  test: {
    // Two test files at a time (each in its own worker process): most wait on devnets, so the suite takes about half
    // the time on two cores. Every devnet has its own port and Ignition journal, so files never share state.
    mocha: { reporter: "./test/helpers/summary-reporter.cjs", timeout: 60_000, parallel: true, jobs: 2 },
    // Solidity tests (test/solidity): fuzz tests and invariant campaigns run by Hardhat's own runner (EDR).
    // `default` is what `npm test` runs: every invariant makes runs × depth = 15,000 handler calls, and any
    // handler call whose outcome differs from the predicted one fails the run (failOnRevert). `deep` is a soak:
    // `npx hardhat test solidity --test-profile deep` (about 8 minutes on 2 cores).
    solidity: {
      profiles: {
        default: { fuzz: { runs: 256 }, invariant: { runs: 50, depth: 300, failOnRevert: true } },
        deep: { fuzz: { runs: 10_000 }, invariant: { runs: 100, depth: 1_000, failOnRevert: true } },
      },
    },
  },
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
