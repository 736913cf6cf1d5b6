// A dApp's whole use of OPG: read a model, pay for one inference, wait for the verified answer.
// Run: OPG_RPC_URL=… OPG_ADDRESSES=… OPG_PRIVATE_KEY=… OPG_MODEL=… node dapp.mjs
import { createPublicClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  createOpgClient,
  decodeOutput,
  prepareSignatureInput,
  readAddresses,
  VerificationMode,
} from "opg-verifiable-inference";

const transport = http(process.env.OPG_RPC_URL);
const opg = createOpgClient({
  publicClient: createPublicClient({ transport, pollingInterval: 250 }),
  walletClient: createWalletClient({ transport, account: privateKeyToAccount(process.env.OPG_PRIVATE_KEY) }),
  addresses: await readAddresses(process.env.OPG_ADDRESSES),
});

const modelId = process.env.OPG_MODEL;
const model = await opg.getModel({ modelId });
console.log(`model ${modelId.slice(0, 10)}…: ${model.status}, fee ${model.fee} wei OPG`);

// The input travels on chain in the request, committed to by its hash: anyone can re-run it later.
const input = prepareSignatureInput([5.1, 3.5, 1.4, 0.2]);
const { requestId } = await opg.openRequest({
  modelId,
  inputHash: input.inputHash,
  inputUri: input.inputUri,
});
console.log(`opened request #${requestId} (fee escrowed from the prepaid balance); waiting for an operator…`);

const { result } = await opg.waitForResult({ requestId, timeoutMs: 60_000 });
const { classes, logits } = decodeOutput(result.output, { mode: VerificationMode.Signature, outputWidth: 3 });
const species = ["setosa", "versicolor", "virginica"][classes[0]];
console.log(
  `answer: class ${classes[0]} (${species}), logits ${logits[0].map((v) => v.toFixed(2)).join(", ")}`,
);
console.log(`signed by operator ${result.operator} in transaction ${result.transactionHash}`);
