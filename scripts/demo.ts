/**
 * The whole protocol, end to end, on Hardhat's embedded network: deploy (the settlement core and its two verification
 * mode contracts), register the Iris model, stake an operator with a proof of possession of its signing key, open
 * requests (prepaid and with a permit), run the model for real, sign, fulfil through SignatureMode, split fees, prove
 * a zk request and fulfil it through ZkMode, withdraw, refund an expired request, reject forged results, and finally
 * audit results from chain data alone.
 *
 *   npm run demo
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Signature, Wallet, type ContractTransactionReceipt, type ContractTransactionResponse } from "ethers";
import { network } from "hardhat";
import { createPublicClient, custom, keccak256, toHex, type Address, type Hex } from "viem";
import { hardhat } from "viem/chains";
import { auditRequest } from "../src/audit/audit.js";
import { deployLocalSystem } from "../src/devnet/deploy.js";
import {
  decodeRevert,
  findEvent,
  formatRevert,
  openedFrom,
  signPermit,
  signResultWithEthers,
  signSignerBindingWithEthers,
  type OpenedRequest,
} from "../src/ethers/index.js";
import { irisRegistration } from "../src/devnet/iris.js";
import {
  decodeFeatures,
  encodeFeatures,
  decodeLogits,
  toDataUri,
  fromDataUri,
} from "../src/model/encoding.js";
import { inferBytes } from "../src/model/infer.js";
import { IRIS_CLASS_NAMES, loadIris } from "../src/model/iris.js";
import { loadModel, sha256Hex } from "../src/model/onnx-runtime.js";
import { DEFAULT_RUNTIME, runtimeHash } from "../src/model/runtime.js";
import {
  fieldToBytes32,
  modeName,
  operatorRegistryDomain,
  resultMessage,
  signatureModeDomain,
  splitFee,
  VerificationMode,
  zkOutputBytes,
  type InferenceRequest,
  type ResultFields,
} from "../src/protocol/index.js";
import {
  buildZkInference,
  fixedPointForward,
  inputCommitment,
  loadVerificationKey,
  prove,
  quantizeInput,
  releaseZk,
  settlementProof,
  snarkjsProof,
  toSolidityCalldata,
  verifyOffchain,
} from "../src/zk/index.js";

const OPG = 10n ** 18n;
const MODEL_PATH = join(import.meta.dirname, "../models/iris-mlp.onnx");
const FEE = 2n * OPG;
const ROYALTY_BPS = 1_000;

// ---------------------------------------------------------------------------------------------- report
let step = 0;
const opg = (wei: bigint) => {
  const whole = wei / OPG;
  const frac = (wei % OPG).toString().padStart(18, "0").replace(/0+$/, "");
  return `${whole.toLocaleString("en")}${frac === "" ? "" : `.${frac}`} OPG`;
};
const short = (h: string) => `${h.slice(0, 10)}…${h.slice(-6)}`;
const heading = (title: string) => {
  console.log(`\n${String(++step).padStart(2)}. ${title}`);
};
const line = (text: string, gas?: bigint) => {
  console.log(
    `    ${gas === undefined ? text : `${text.padEnd(68)} gas ${gas.toLocaleString("en").padStart(7)}`}`,
  );
};
async function sent(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction dropped");
  return receipt;
}
const softmax = (logits: Float32Array) => {
  const max = Math.max(...logits);
  const exps = Array.from(logits, (l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
};

// ---------------------------------------------------------------------------------------------- setup
console.log("OPG verifiable inference: end-to-end demo on Hardhat's embedded network");
const connection = await network.create();
const { ethers, networkHelpers } = connection;
const signers = await ethers.getSigners();
const [deployer, treasuryAccount, modelOwner, operator, payout, alice, bob, keeper, mallory] = signers;
if (
  !deployer ||
  !treasuryAccount ||
  !modelOwner ||
  !operator ||
  !payout ||
  !alice ||
  !bob ||
  !keeper ||
  !mallory
) {
  throw new Error("the embedded network has too few accounts");
}
const operatorKey = new ethers.Wallet(keccak256(toHex("opg demo: operator signing key")));

heading("Deploy the protocol (Ignition module deploy/modules/LocalOPGProtocol.ts)");
const { token, models, operators, settlement, signatureMode, zkMode, chainId } =
  await deployLocalSystem(connection);
const settlementAddress = (await settlement.getAddress()) as Address;
const signatureModeAddress = (await signatureMode.getAddress()) as Address;
const zkModeAddress = (await zkMode.getAddress()) as Address;
for (const [name, c] of Object.entries({
  "OPG token": token,
  ModelRegistry: models,
  OperatorRegistry: operators,
  "InferenceSettlement (core)": settlement,
  "SignatureMode (bit 1)": signatureMode,
  "ZkMode (bit 2)": zkMode,
})) {
  line(`${name.padEnd(27)} ${await c.getAddress()}`);
}
line(
  `the core settles; each mode contract verifies and is bound once to its bit: modeContract(1) = ${short(await settlement.modeContract(VerificationMode.Signature))}, modeContract(2) = ${short(await settlement.modeContract(VerificationMode.Zk))}`,
);
const contracts = [settlement, signatureMode, zkMode, operators, models, token];
await sent(settlement.connect(deployer).setTreasury(treasuryAccount.address));
for (const account of [modelOwner, operator, alice, bob])
  await sent(token.connect(deployer).transfer(account.address, 10_000n * OPG));
line(
  `chain id ${chainId}; treasury ${treasuryAccount.address}; 10,000 OPG sent to owner, operator, alice, bob`,
);

heading("Register the Iris model version: an immutable commitment to the file and its runtime");
const modelBytes = new Uint8Array(await readFile(MODEL_PATH));
const fileHash = sha256Hex(modelBytes);
const runtime = runtimeHash(DEFAULT_RUNTIME);
const registered = await sent(
  models.connect(modelOwner).registerModel({
    name: "iris-mlp",
    fileHash,
    runtimeHash: runtime,
    zkCommitment: `0x${"0".repeat(64)}`,
    zkVerifier: "0x0000000000000000000000000000000000000000",
    zkVerifierCodeHash: `0x${"0".repeat(64)}`,
    uri: "models/iris-mlp.onnx",
    fee: FEE,
    royaltyBps: ROYALTY_BPS,
    modes: VerificationMode.Signature,
  }),
);
const modelId = findEvent(models, registered, "ModelRegistered").args.getValue("modelId") as Hex;
line(`file models/iris-mlp.onnx (${modelBytes.length} bytes), sha256 ${fileHash}`);
line(
  `runtime ${DEFAULT_RUNTIME.runtime}@${DEFAULT_RUNTIME.version} ${DEFAULT_RUNTIME.backend}, hash ${short(runtime)}`,
);
line(`model id ${modelId} (derived from the content)`, registered.gasUsed);
line(
  `fee ${opg(FEE)} per inference, royalty ${ROYALTY_BPS / 100}% to the owner, protocol fee ${Number(await settlement.protocolFeeBps()) / 100}%`,
);

heading(
  "Stake an operator: 1,000 OPG; the signing key, kept apart from the payout address, proves possession (EIP-712)",
);
const operatorsAddress = (await operators.getAddress()) as Address;
const registryDomain = operatorRegistryDomain(chainId, operatorsAddress);
const signerProof = await signSignerBindingWithEthers(operatorKey, registryDomain, {
  operator: operator.address as Address,
  signer: operatorKey.address as Address,
});
await sent(token.connect(operator).approve(operatorsAddress, 1_000n * OPG));
const staked = await sent(
  operators.connect(operator).register(operatorKey.address, payout.address, 1_000n * OPG, signerProof),
);
line(
  `operator ${operator.address}, signing key ${operatorKey.address}, payout ${payout.address}`,
  staked.gasUsed,
);
line(`the key signed SignerBinding(operator, signer) for this chain and registry: ${short(signerProof)}`);

heading(
  "Open requests: alice pays from a prepaid balance, bob with an EIP-2612 permit in the same transaction",
);
await sent(token.connect(alice).approve(settlementAddress, 10n * OPG));
line("alice deposits 10 OPG", (await sent(settlement.connect(alice).deposit(10n * OPG))).gasUsed);
const iris = loadIris();
const samples = [0, 75, 120].map((i) => ({ features: iris.features[i]!, label: iris.labels[i]! }));
async function open(
  from: NonNullable<typeof alice>,
  sample: (typeof samples)[number],
  deadlineIn: bigint,
  permit = false,
): Promise<OpenedRequest> {
  const input = encodeFeatures(sample.features);
  const now = BigInt(await networkHelpers.time.latest());
  const params = {
    modelId,
    inputHash: keccak256(input),
    maxFee: FEE,
    deadline: now + deadlineIn,
    mode: VerificationMode.Signature,
    operator: "0x0000000000000000000000000000000000000000",
    callback: "0x0000000000000000000000000000000000000000",
    callbackGasLimit: 0,
    inputUri: toDataUri(input), // the input itself travels on chain, so anyone can re-run it
  };
  const receipt = permit
    ? await sent(
        settlement
          .connect(from)
          .openRequestWithPermit(params, await signPermit(token, from, settlementAddress, FEE, now + 600n)),
      )
    : await sent(settlement.connect(from).openRequest(params));
  const opened = openedFrom(settlement, receipt);
  line(
    `#${opened.requestId} by ${from === alice ? "alice" : "bob  "} ${permit ? "(permit) " : "(prepaid)"} input [${sample.features.join(", ")}] (a ${IRIS_CLASS_NAMES[sample.label]})`,
    receipt.gasUsed,
  );
  return opened;
}
const r1 = await open(alice, samples[0]!, 3600n);
const r2 = await open(bob, samples[1]!, 3600n, true);
const r3 = await open(alice, samples[2]!, 300n);
const r4 = await open(alice, samples[2]!, 3600n);
line(
  `bob's allowance to settlement after the permit: ${opg(await token.allowance(bob.address, settlementAddress))} (nothing left approved)`,
);

heading(
  "Operator: verify the committed model file, run it with onnxruntime-web, sign the result (EIP-712, for SignatureMode)",
);
const version = await models.getModel(modelId);
const model = await loadModel(MODEL_PATH, { expectedSha256: version.fileHash as Hex });
line(
  `loaded model, sha256 matches the registry (${short(version.fileHash)}); runtime hash matches: ${version.runtimeHash === runtime}`,
);
const domain = signatureModeDomain(chainId, signatureModeAddress);
/** A result as `fulfillSigned` takes it, its 65-byte signature and the compact `(r, vs)` form sent on chain. */
async function sign(
  requestId: bigint,
  request: InferenceRequest,
  result: ResultFields,
  key: Wallet = operatorKey,
) {
  const signature = await signResultWithEthers(key, domain, resultMessage(requestId, request, result));
  const { r, yParityAndS } = Signature.from(signature);
  return { result, signature, r, vs: yParityAndS };
}
async function serve(opened: OpenedRequest) {
  const input = fromDataUri(opened.inputUri);
  if (keccak256(input) !== opened.request.inputHash)
    throw new Error(`request ${opened.requestId}: input does not match its hash`);
  const output = await inferBytes(model, input);
  const logits = decodeLogits(output, 3);
  const probabilities = softmax(logits);
  const best = probabilities.indexOf(Math.max(...probabilities));
  const outputHash = keccak256(output);
  const signed = await sign(opened.requestId, opened.request, {
    operator: operator!.address as Address,
    outputHash,
    output: toHex(output),
    outputUri: "",
  });
  return { ...signed, outputHash, className: IRIS_CLASS_NAMES[best]!, confidence: probabilities[best]! };
}
const results = new Map<bigint, Awaited<ReturnType<typeof serve>>>();
for (const opened of [r1, r2, r4]) {
  const result = await serve(opened);
  results.set(opened.requestId, result);
  line(
    `#${opened.requestId}: ${result.className} (p = ${result.confidence.toFixed(3)}), output hash ${short(result.outputHash)}`,
  );
}

heading("Reject forged results (the attempts revert, each with its reason; nothing changes)");
/** Run `attempt`; it must revert: print the decoded reason. */
async function rejected(what: string, attempt: () => Promise<unknown>) {
  try {
    await attempt();
  } catch (error) {
    const decoded = decodeRevert(error, contracts);
    if (decoded === undefined) throw error;
    line(`${what.padEnd(60)} → ${formatRevert(decoded)}`);
    return;
  }
  throw new Error(`forgery accepted: ${what}`);
}
{
  const { request, requestId } = r4;
  const honest = results.get(requestId)!;
  const forgedOutput = toHex(encodeFeatures([0, 0, 9]));
  const submit = (req: InferenceRequest, id: bigint, result: ResultFields, r: string, vs: string) =>
    signatureMode.connect(mallory).fulfillSigned.staticCall(req, id, result, r, vs);
  await rejected("output swapped under the operator's real signature", () =>
    submit(
      request,
      requestId,
      { ...honest.result, outputHash: keccak256(forgedOutput), output: forgedOutput },
      honest.r,
      honest.vs,
    ),
  );
  await rejected("output stripped by a relayer (hash kept, bytes dropped)", () =>
    submit(request, requestId, { ...honest.result, output: "0x" }, honest.r, honest.vs),
  );
  await rejected("output URI added by a relayer", () =>
    submit(
      request,
      requestId,
      { ...honest.result, outputUri: "https://mallory.example/out" },
      honest.r,
      honest.vs,
    ),
  );
  await rejected("honest signature replayed on another request (#1)", () =>
    submit(r1.request, r1.requestId, honest.result, honest.r, honest.vs),
  );
  await rejected("fee cut: request re-posted with a smaller fee", () =>
    submit({ ...request, fee: 1n }, requestId, honest.result, honest.r, honest.vs),
  );
  const own = await sign(
    requestId,
    request,
    {
      operator: mallory.address as Address,
      outputHash: keccak256(forgedOutput),
      output: forgedOutput,
      outputUri: "",
    },
    new Wallet(keccak256(toHex("mallory's own key"))),
  );
  await rejected("result signed by mallory's own, unregistered key", () =>
    submit(request, requestId, own.result, own.r, own.vs),
  );
  // Registering a key takes that key's signature: nobody can claim a key they do not hold.
  const claimed = new Wallet(keccak256(toHex("a key mallory does not hold")));
  const forgedProof = await signSignerBindingWithEthers(mallory, registryDomain, {
    operator: mallory.address as Address,
    signer: claimed.address as Address,
  });
  await rejected("key registered without its proof (mallory signs for a key)", () =>
    operators.connect(mallory).register.staticCall(claimed.address, mallory.address, 0n, forgedProof),
  );
}

heading("Fulfil: the verified results settle and the fee is split (credited to balances)");
for (const opened of [r1, r2, r4]) {
  const signed = results.get(opened.requestId)!;
  const receipt = await sent(
    signatureMode
      .connect(operator)
      .fulfillSigned(opened.request, opened.requestId, signed.result, signed.r, signed.vs),
  );
  line(
    `#${opened.requestId} fulfilled with ${modeName(opened.request.mode)} verification (SignatureMode → core)`,
    receipt.gasUsed,
  );
}
line("(the first fulfilment creates the payout, royalty and protocol balance slots: 3 × 20k gas, once)");
const split = splitFee(FEE, ROYALTY_BPS, r1.request.protocolFeeBps);
line(
  `per request: operator ${opg(split.operator)}, model owner ${opg(split.royalty)}, protocol ${opg(split.protocol)}`,
);

heading("Zk verification: a request that requires a proof that the committed model produced the output");
const verifier = await ethers.deployContract("IrisMlpVerifier", [], modelOwner);
const verifierAddress = (await verifier.getAddress()) as Address;
line(
  `model owner deploys IrisMlpVerifier ${verifierAddress} (snarkjs-generated from circuits/iris_mlp.circom)`,
);
const zk = await irisRegistration({ fee: FEE, royaltyBps: ROYALTY_BPS, zkVerifier: verifierAddress });
const zkRegistered = await sent(models.connect(modelOwner).registerModel(zk.spec));
const zkModelId = findEvent(models, zkRegistered, "ModelRegistered").args.getValue("modelId") as Hex;
line(
  `same file, plus weight commitment ${short(zk.spec.zkCommitment)}, verifier and its code hash ${short(zk.spec.zkVerifierCodeHash)}: a new version`,
  zkRegistered.gasUsed,
);
line(`model id ${zkModelId}, now the family's latest; modes: signature | zk`);
const zkSample = { features: iris.features[100]!, label: iris.labels[100]! };
const zkInputBytes = encodeFeatures(zkSample.features);
const zkCommitInput = async (bytes: Uint8Array) =>
  fieldToBytes32(
    await inputCommitment(quantizeInput(decodeFeatures(bytes, 4), zk.quantized), zk.quantized.params),
  );
const zkOpened = openedFrom(
  settlement,
  await sent(
    settlement.connect(alice).openRequest({
      modelId: zkModelId,
      inputHash: await zkCommitInput(zkInputBytes), // the circuit's Poseidon commitment to the quantized input
      maxFee: FEE,
      deadline: BigInt(await networkHelpers.time.latest()) + 3600n,
      mode: VerificationMode.Zk,
      operator: "0x0000000000000000000000000000000000000000",
      callback: "0x0000000000000000000000000000000000000000",
      callbackGasLimit: 0,
      inputUri: toDataUri(zkInputBytes),
    }),
  ),
);
line(
  `#${zkOpened.requestId} by alice (prepaid, mode zk) input [${zkSample.features.join(", ")}] (a ${IRIS_CLASS_NAMES[zkSample.label]})`,
  zkOpened.receipt.gasUsed,
);
const built = await buildZkInference(zk.quantized, zkSample.features, {
  chainId,
  zkMode: zkModeAddress,
  requestId: zkOpened.requestId,
  submitter: operator.address as Address,
});
const proven = await prove(built.input, {
  onProgress: (p) => {
    if (p.phase === "witness") process.stdout.write("    proving: witness… ");
    else if (p.phase === "proving")
      process.stdout.write(`${(p.witnessMs ?? 0).toFixed(0)} ms; Groth16 proof… `);
    else console.log(`${(p.provingMs ?? 0).toFixed(0)} ms; done in ${p.ms.toFixed(0)} ms`);
  },
});
const vkey = await loadVerificationKey();
line(
  `off-chain verification of the proof with circuits/build/verification_key.json: ${await verifyOffchain(vkey, proven.publicSignals, proven.proof)}`,
);
const zkArgs = settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
await rejected("the operator's proof copied from the mempool by mallory", () =>
  zkMode
    .connect(mallory)
    .fulfillZk.staticCall(zkOpened.request, zkOpened.requestId, zkArgs.output, zkArgs.proof),
);
{
  // A zk request demands a proof: the operator's real key signing an answer for it does not settle it.
  const output = zkOutputBytes(zkArgs.output);
  const signed = await sign(zkOpened.requestId, zkOpened.request, {
    operator: operator.address as Address,
    outputHash: keccak256(output),
    output,
    outputUri: "",
  });
  await rejected("the zk request answered with a signature (SignatureMode)", () =>
    signatureMode
      .connect(operator)
      .fulfillSigned.staticCall(zkOpened.request, zkOpened.requestId, signed.result, signed.r, signed.vs),
  );
}
const zkFulfilled = await sent(
  zkMode.connect(operator).fulfillZk(zkOpened.request, zkOpened.requestId, zkArgs.output, zkArgs.proof),
);
line(
  `#${zkOpened.requestId} fulfilled with zk verification (ZkMode → core): class ${zkArgs.output} (${IRIS_CLASS_NAMES[Number(zkArgs.output)]}); the proof is bound to this chain, ZkMode, request and submitter`,
  zkFulfilled.gasUsed,
);

heading("Refund: request #3 was never served; after its deadline anyone may refund it");
await networkHelpers.time.increaseTo(r3.request.deadline + 1n);
const refund = await sent(settlement.connect(keeper).refund(r3.request, r3.requestId));
line(`keeper refunds #${r3.requestId}: ${opg(r3.request.fee)} back to alice's balance`, refund.gasUsed);

heading("Withdraw (pull payments)");
for (const [name, who] of [
  ["operator payout", payout],
  ["zk submitter", operator],
  ["model owner", modelOwner],
  ["alice", alice],
] as const) {
  const balance = await settlement.balances(who.address);
  const receipt = await sent(settlement.connect(who).withdraw(who.address, balance));
  line(`${name.padEnd(16)} withdraws ${opg(balance)}`, receipt.gasUsed);
}
const collected = await settlement.protocolFees();
line(
  `treasury collects ${opg(collected)} of protocol fees`,
  (await sent(settlement.connect(keeper).collectProtocolFees())).gasUsed,
);
const held = await token.balanceOf(settlementAddress);
line(`settlement now holds ${opg(held)}: everything owed was paid out, nothing is stuck`);
if (held !== 0n) throw new Error("escrow is not empty");

heading(
  "Audit request #1 from chain data alone (events, settling transaction, registry state, the input on chain)",
);
const client = createPublicClient({
  chain: { ...hardhat, id: Number(chainId) },
  transport: custom(connection.provider),
});
const report = await auditRequest({
  client,
  settlement: settlementAddress,
  requestId: r1.requestId,
  modelFile: modelBytes,
  sha256: sha256Hex,
  runtimeHash: runtime,
  runModel: (input) => inferBytes(model, input),
});
for (const c of report.checks) line(`${c.ok ? "✓" : "✗"} ${c.name.padEnd(40)} ${c.detail}`);
console.log(
  `\n    Verdict: ${report.verdict.toUpperCase()}. Request #${r1.requestId} was answered by model iris-mlp (sha256 ${short(fileHash)}) ` +
    `on input [${samples[0]!.features.join(", ")}], signed by the staked key ${short(report.result?.signer ?? "")} of operator ${short(operator.address)}.`,
);
heading(`Audit the zk request #${zkOpened.requestId} from chain data alone`);
const zkReport = await auditRequest({
  client,
  settlement: settlementAddress,
  requestId: zkOpened.requestId,
  modelFile: modelBytes,
  sha256: sha256Hex,
  runtimeHash: runtime,
  verifyZkProof: (signals, proof) => verifyOffchain(vkey, signals, snarkjsProof(proof)),
  zkInputCommitment: zkCommitInput,
  runZkModel: (bytes) =>
    Promise.resolve(
      BigInt(fixedPointForward(zk.quantized, quantizeInput(decodeFeatures(bytes, 4), zk.quantized)).label),
    ),
});
for (const c of zkReport.checks) line(`${c.ok ? "✓" : "✗"} ${c.name.padEnd(40)} ${c.detail}`);
console.log(
  `\n    Verdict: ${zkReport.verdict.toUpperCase()}. Request #${zkOpened.requestId} was answered with class ${BigInt(zkReport.result?.output ?? "0x0")} ` +
    `(${IRIS_CLASS_NAMES[Number(BigInt(zkReport.result?.output ?? "0x0"))]}), proven from the committed weights and input.`,
);
if (zkReport.result?.output !== zkOutputBytes(zkArgs.output)) throw new Error("zk audit saw another output");
await releaseZk();

const refundedReport = await auditRequest({ client, settlement: settlementAddress, requestId: r3.requestId });
console.log(`    Request #${r3.requestId}: ${refundedReport.verdict}.`);
await model.release();
if (
  report.verdict !== "verified" ||
  zkReport.verdict !== "verified" ||
  refundedReport.verdict !== "refunded"
) {
  process.exitCode = 1;
}
