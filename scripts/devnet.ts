/**
 * A local devnet: a standalone Hardhat node (JSON-RPC on 127.0.0.1:8545, or OPG_DEVNET_PORT), the protocol
 * deployed (the settlement core and its three verification mode contracts), the Iris model registered (signature, zk
 * and quiet), accounts funded. Prints addresses and the commands that
 * run an operator, send a request and audit it; Ctrl-C stops it.
 *
 *   npm run devnet                       # one block per transaction (automine)
 *   npm run devnet -- --block-time 1000  # a block every second, like a real chain (or OPG_DEVNET_BLOCK_TIME)
 */
import { relative } from "node:path";
import hre from "hardhat";
import { formatUnits } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { testAccountKey } from "../src/devnet/accounts.js";
import { DEVNET_DEPLOYMENT_DIR, startDevnet } from "../src/devnet/devnet.js";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";

const args = process.argv.slice(2);
const flag = args.indexOf("--block-time");
const blockTimeRaw = flag >= 0 ? args[flag + 1] : process.env.OPG_DEVNET_BLOCK_TIME;
const blockTimeMs = blockTimeRaw === undefined || blockTimeRaw === "" ? undefined : Number(blockTimeRaw);
if (blockTimeMs !== undefined && (!Number.isInteger(blockTimeMs) || blockTimeMs <= 0)) {
  console.error(
    `--block-time needs a positive whole number of milliseconds (e.g. 1000), got "${blockTimeRaw}"`,
  );
  process.exit(1);
}
const port = Number(process.env.OPG_DEVNET_PORT ?? 8545);
const devnet = await startDevnet(hre, "127.0.0.1", port, blockTimeMs === undefined ? {} : { blockTimeMs });

const mining = blockTimeMs === undefined ? "automine" : `a block every ${blockTimeMs} ms`;
console.log(`OPG devnet: JSON-RPC ${devnet.url} (chain id ${devnet.chainId}, ${mining})\n`);
for (const [name, address] of Object.entries(devnet.addresses))
  console.log(`  ${name.padEnd(13)} ${address}`);
console.log(`  iris model    ${devnet.irisModelId} (signature | zk | quiet, fee 2 OPG)`);
const addressesDir = relative(process.cwd(), DEVNET_DEPLOYMENT_DIR);
console.log(`\n  addresses written by Ignition to ${addressesDir}/deployed_addresses.json\n`);
console.log(
  "Funded accounts (Hardhat's well-known test accounts: their keys are public, never use them elsewhere):",
);
for (const a of devnet.accounts) {
  const deposited = a.deposited > 0n ? `, ${formatUnits(a.deposited, 18)} OPG prepaid in settlement` : "";
  console.log(`  ${a.role.padEnd(12)} ${a.address}  ${formatUnits(a.opg, 18)} OPG${deposited}`);
}

// A fresh signing key for the operator's node, separate from its staking account.
const signerKey = generatePrivateKey();
const operator = devnet.accounts[2]!.address;
const modelFile = relative(process.cwd(), IRIS_MODEL_PATH);
console.log(`
Next, in another terminal (the keys below are this devnet's public test keys and a fresh signing key):

  export OPG_RPC_URL=${devnet.url} OPG_ADDRESSES=${addressesDir}
  npx opg modes      # the verification modes and their contracts, read from the settlement

  # 1. the operator (account #2) registers a signing key (OPG_SIGNER_KEY signs its proof of possession), stakes,
  #    and serves the Iris model (signature requests are signed with that key, zk requests proven), with its
  #    quiet-mode gateway on :8547 (published in the operator registry; receipts committed every 2 s)
  export OPG_PRIVATE_KEY=${testAccountKey(2)} OPG_SIGNER_KEY=${signerKey}
  npx opg operator register --payout ${operator} --stake 1000
  npx opg operator serve --model ${devnet.irisModelId} --model-file ${modelFile} --health-port 9464 \\
    --quiet-port 8547 --public-url http://127.0.0.1:8547

  # 2. the requester (account #3, 100 OPG prepaid) asks, in a third terminal (same OPG_RPC_URL, OPG_ADDRESSES)
  export OPG_PRIVATE_KEY=${testAccountKey(3)}
  npx opg request --model ${devnet.irisModelId} --input 5.1,3.5,1.4,0.2 --wait
  npx opg request --model ${devnet.irisModelId} --input 6.3,3.3,6,2.5 --mode zk --wait
  #    quiet mode: fund a channel once, then each inference is one HTTP round trip and no transaction
  npx opg channel fund ${operator} 20
  npx opg infer --operator ${operator} --model ${devnet.irisModelId} --input 5.9,3,5.1,1.8

  # 3. anyone checks what ran, from chain data and the model file (request 1: signature, request 2: zk)
  #    (after restarting the devnet, run these steps again: the node keeps one state file per chain)
  npx opg status 1
  npx opg audit 1
  npx opg audit 2
  npx opg audit --receipt <the receipt file opg infer printed>

  # 4. or see it all in a browser (the page reads the chain itself, and audits in the browser)
  npm run explorer    # then open http://127.0.0.1:4173/?rpc=${encodeURIComponent(devnet.url)}&settlement=${devnet.addresses.settlement}
`);
console.log("Ctrl-C stops the devnet.");

const stop = async () => {
  await devnet.close();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
