/**
 * Gas per operation, whole transaction (21k intrinsic + calldata + execution), with warm accounts: every ledger slot
 * an operation credits already holds a balance, as it does for any active operator, owner and requester. One
 * definition for `npm run bench` (table, JSON, snapshot) and the snapshot test (`test/gas-snapshot.test.ts`).
 */
import { Signature, type ContractTransactionResponse } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { deployLocalSystem } from "../../src/devnet/deploy.js";
import { PROTOCOL_DEFAULTS } from "../../src/protocol/defaults.js";
import { irisRegistration } from "../../src/devnet/iris.js";
import {
  openedFrom,
  signPermit,
  signResultWithEthers,
  signSignerBindingWithEthers,
  type OpenedRequest,
} from "../../src/ethers/index.js";
import { loadIris } from "../../src/model/iris.js";
import { privateKeyToAccount } from "viem/accounts";
import { testAccountKey } from "../../src/devnet/accounts.js";
import {
  fieldToBytes32,
  hashQuietRequest,
  hashReceipt,
  LogTree,
  QUIET_MODE_BIT,
  quietModeDomain,
  receiptLeaf,
  signQuietRequest,
  signReceipt,
  zkOutputBytes,
  zkOutputHash,
  type QuietRequest,
  type Receipt,
  operatorRegistryDomain,
  resultClaim,
  resultMessage,
  signatureModeDomain,
  VerificationMode,
  type ResultFields,
} from "../../src/protocol/index.js";
import {
  buildZkInference,
  circuitInput,
  fixedPointForward,
  inputCommitment,
  prove,
  quantizeInput,
  settlementProof,
  toSolidityCalldata,
} from "../../src/zk/index.js";

const OPG = 10n ** 18n;
const ZERO_ADDRESS: Address = "0x0000000000000000000000000000000000000000";
const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

/** Gas used per operation, in the order measured. */
export type GasFigures = Record<string, number>;

/** What a measurement run produces. */
export interface GasMeasurement {
  gas: GasFigures;
  /** Witness and Groth16 times of each Iris proof made (the first one includes curve set-up). */
  proofs: { witnessMs: number; provingMs: number }[];
}

/**
 * Measure every operation on a fresh deployment in `connection` (a Hardhat network). `extraProofs` names more Iris
 * samples to prove after the measured zk fulfilment, for proving times (the first proof includes curve set-up).
 */
export async function measureGas(
  connection: NetworkConnection,
  extraProofs: readonly number[] = [],
): Promise<GasMeasurement> {
  const { ethers, networkHelpers } = connection;
  const { token, models, operators, settlement, signatureMode, zkMode, quietMode, chainId } =
    await deployLocalSystem(connection);
  const [governance, modelOwner, operator, payout, requester, keeper] = await ethers.getSigners();
  if (!governance || !modelOwner || !operator || !payout || !requester || !keeper) {
    throw new Error("the network needs 6 accounts");
  }
  const signerKey = new ethers.Wallet("0x1111111111111111111111111111111111111111111111111111111111111111");
  const nextKey = new ethers.Wallet("0x2222222222222222222222222222222222222222222222222222222222222222");
  const settlementAddress = (await settlement.getAddress()) as Address;
  const registryDomain = operatorRegistryDomain(chainId, (await operators.getAddress()) as Address);
  const domain = signatureModeDomain(chainId, (await signatureMode.getAddress()) as Address);
  const zkModeAddress = (await zkMode.getAddress()) as Address;
  const operatorAddress = operator.address as Address;

  const gas: GasFigures = {};
  async function measure(name: string, tx: Promise<ContractTransactionResponse>) {
    const receipt = await (await tx).wait();
    if (receipt === null) throw new Error(`${name}: no receipt`);
    gas[name] = Number(receipt.gasUsed);
    return receipt;
  }

  for (const account of [modelOwner, operator, requester]) {
    await (await token.connect(governance).transfer(account.address, 1_000_000n * OPG)).wait();
  }
  await (await token.connect(operator).approve(await operators.getAddress(), ethers.MaxUint256)).wait();
  await (await token.connect(requester).approve(settlementAddress, ethers.MaxUint256)).wait();

  // Realistic payloads: an Iris input (4 × float32) as a data: URI, and 3 float32 logits inline.
  const input = new Uint8Array(16).map((_, i) => 0x40 + i);
  const inputHash = keccak256(input);
  const inputUri = `data:application/octet-stream;base64,${Buffer.from(input).toString("base64")}`;
  const output = toHex(new Uint8Array(12).map((_, i) => 0x3f + i));

  const spec = {
    name: "iris-mlp",
    fileHash: keccak256(toHex("model v1")),
    runtimeHash: keccak256(toHex("runtime")),
    zkCommitment: ZERO_HASH,
    zkVerifier: ZERO_ADDRESS,
    zkVerifierCodeHash: ZERO_HASH,
    uri: "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    fee: 10n * OPG,
    royaltyBps: 1_000,
    modes: VerificationMode.Signature,
  };
  const registered = await measure("registerModel", models.connect(modelOwner).registerModel(spec));
  const modelId = models.interface.parseLog(registered.logs[0]!)!.args.getValue("modelId") as Hex;
  await measure(
    "registerModelVersion",
    models.connect(modelOwner).registerModel({ ...spec, fileHash: keccak256(toHex("model v2")) }),
  );

  const proof = (key: typeof signerKey) =>
    signSignerBindingWithEthers(key, registryDomain, {
      operator: operatorAddress,
      signer: key.address as Address,
    });
  await measure(
    "registerOperator",
    operators
      .connect(operator)
      .register(signerKey.address, payout.address, 1_000n * OPG, await proof(signerKey)),
  );
  await measure("stake", operators.connect(operator).stake(100n * OPG));
  await measure("deposit", settlement.connect(requester).deposit(1_000n * OPG));

  async function params() {
    const now = BigInt(await networkHelpers.time.latest());
    return {
      modelId,
      inputHash,
      maxFee: 10n * OPG,
      deadline: now + 600n,
      mode: VerificationMode.Signature,
      operator: ZERO_ADDRESS,
      callback: ZERO_ADDRESS,
      callbackGasLimit: 0,
      inputUri,
    };
  }
  async function open() {
    return openedFrom(
      settlement,
      await (await settlement.connect(requester).openRequest(await params())).wait(),
    );
  }
  async function sign(opened: OpenedRequest, result: ResultFields, key = signerKey) {
    return signResultWithEthers(key, domain, resultMessage(opened.requestId, opened.request, result));
  }
  const honest: ResultFields = {
    operator: operatorAddress,
    outputHash: keccak256(output),
    output,
    outputUri: "",
  };
  async function fulfil(opened: OpenedRequest) {
    const { r, yParityAndS } = Signature.from(await sign(opened, honest));
    return signatureMode
      .connect(operator)
      .fulfillSigned(opened.request, opened.requestId, honest, r, yParityAndS);
  }

  // Warm-up: one full cycle so every ledger slot touched below already holds a balance.
  await (await fulfil(await open())).wait();
  await (await settlement.connect(payout).withdraw(payout.address, 1n)).wait();

  const prepaid = openedFrom(
    settlement,
    await measure("requestPrepaid", settlement.connect(requester).openRequest(await params())),
  );
  await measure("requestWithTransfer", settlement.connect(requester).openRequestWithTransfer(await params()));
  const now = BigInt(await networkHelpers.time.latest());
  const permit = await signPermit(token, requester, settlementAddress, 10n * OPG, now + 3600n);
  await (await token.connect(requester).approve(settlementAddress, 0)).wait();
  await measure(
    "requestWithPermit",
    settlement.connect(requester).openRequestWithPermit(await params(), permit),
  );
  await (await token.connect(requester).approve(settlementAddress, ethers.MaxUint256)).wait();
  await measure("fulfillSigned", fulfil(prepaid));

  const expiring = await open();
  await networkHelpers.time.increase(601);
  await measure("refund", settlement.connect(keeper).refund(expiring.request, expiring.requestId));
  await measure("withdraw", settlement.connect(payout).withdraw(payout.address, 1n * OPG));
  await measure("collectProtocolFees", settlement.connect(keeper).collectProtocolFees());
  await measure("unbond", operators.connect(operator).unbond(50n * OPG));

  // Equivocation: two different results signed for one real request, reported by a keeper.
  const disputed = await open();
  const forked: ResultFields = { ...honest, output: "0x01", outputHash: keccak256("0x01") };
  const claims = [honest, forked].map((result) => resultClaim(result));
  const signatures = [await sign(disputed, honest), await sign(disputed, forked)];
  await measure(
    "reportEquivocation",
    signatureMode
      .connect(keeper)
      .reportEquivocation(
        disputed.request,
        disputed.requestId,
        operatorAddress,
        claims[0]!,
        signatures[0]!,
        claims[1]!,
        signatures[1]!,
      ),
  );
  await measure(
    "rotateSigner",
    operators.connect(operator).rotateSigner(nextKey.address, await proof(nextKey)),
  );

  // Zk: the example model's Groth16 circuit, a real proof per request (warm-up first, as above).
  const verifier = await ethers.deployContract("IrisMlpVerifier");
  const zk = await irisRegistration({
    fee: 10n * OPG,
    royaltyBps: 1_000,
    zkVerifier: (await verifier.getAddress()) as Address,
    name: "iris-mlp-zk",
  });
  const zkRegistered = await measure("registerZkModel", models.connect(modelOwner).registerModel(zk.spec));
  const zkModelId = models.interface.parseLog(zkRegistered.logs[0]!)!.args.getValue("modelId") as Hex;
  const iris = loadIris();
  const proofs: GasMeasurement["proofs"] = [];
  async function zkCycle(sample: number) {
    const features = iris.features[sample]!;
    const commitment = await inputCommitment(quantizeInput(features, zk.quantized), zk.quantized.params);
    const opened = openedFrom(
      settlement,
      await (
        await settlement.connect(requester).openRequest({
          ...(await params()),
          modelId: zkModelId,
          mode: VerificationMode.Zk,
          inputHash: fieldToBytes32(commitment),
        })
      ).wait(),
    );
    const built = await buildZkInference(zk.quantized, features, {
      chainId,
      zkMode: zkModeAddress,
      requestId: opened.requestId,
      submitter: operatorAddress,
    });
    const proven = await prove(built.input);
    proofs.push({ witnessMs: proven.witnessMs, provingMs: proven.provingMs });
    const args = settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
    return zkMode.connect(operator).fulfillZk(opened.request, opened.requestId, args.output, args.proof);
  }
  await (await zkCycle(0)).wait();
  await measure("fulfillZk", zkCycle(75));
  for (const sample of extraProofs) await (await zkCycle(sample)).wait();

  await measureQuiet(connection, {
    settlement,
    models,
    operators,
    quietMode,
    governance,
    operator,
    keeper,
    signingKey: nextKey.privateKey as Hex,
    zkSpec: zk.spec,
    quantized: zk.quantized,
    measure,
    gas,
  });
  return { gas, proofs };
}

/** What the quiet-mode measurements need from the main run. */
interface QuietContext {
  settlement: Awaited<ReturnType<typeof deployLocalSystem>>["settlement"];
  models: Awaited<ReturnType<typeof deployLocalSystem>>["models"];
  operators: Awaited<ReturnType<typeof deployLocalSystem>>["operators"];
  quietMode: Awaited<ReturnType<typeof deployLocalSystem>>["quietMode"];
  governance: Awaited<ReturnType<NetworkConnection["ethers"]["getSigners"]>>[number];
  operator: QuietContext["governance"];
  keeper: QuietContext["governance"];
  /** The operator's current signing key. */
  signingKey: Hex;
  zkSpec: Awaited<ReturnType<typeof irisRegistration>>["spec"];
  quantized: Awaited<ReturnType<typeof irisRegistration>>["quantized"];
  measure: (name: string, tx: Promise<ContractTransactionResponse>) => Promise<unknown>;
  gas: GasFigures;
}

/**
 * Quiet mode (issue #10): the deployment's QuietMode (bit 4, default windows); a 1,024-receipt batch committed after a warm-up batch; a
 * receipt accepted on chain (`verifyReceiptOnChain`: what the check adds to a consumer's own transaction, calldata
 * and execution, without the 21,000 intrinsic); the example consumer admitting an applicant from its final receipt in
 * the same batch (`quietConsumerAdmit`: `IrisGatedAllowlist.admitQuiet`, whole transaction: the check, the operator's
 * eligibility and one fresh storage slot); the three challenges (a real Groth16 proof for the wrong output); and one
 * redemption of 8 channels' vouchers (`quietRedeem`: per channel).
 */
async function measureQuiet(connection: NetworkConnection, c: QuietContext): Promise<void> {
  const { ethers, networkHelpers } = connection;
  const { settlement, models, governance, operator, keeper, measure, gas } = c;
  const quiet = c.quietMode;
  const quietAddress = (await quiet.getAddress()) as Address;
  // Enough stake for the three challenges below (the signature-mode equivocation above took some), and to stay
  // eligible after them: the example consumer admits only from an eligible operator's receipts.
  await (await c.operators.connect(operator).stake(6n * PROTOCOL_DEFAULTS.quietPenalty)).wait();
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const domain = quietModeDomain(chainId, quietAddress);
  const signer = privateKeyToAccount(c.signingKey);
  const operatorAddress = operator.address as Address;
  const [modelOwner] = (await ethers.getSigners()).slice(1, 2);
  const register = async (spec: typeof c.zkSpec) => {
    const receipt = await (await models.connect(modelOwner).registerModel(spec)).wait();
    return models.interface.parseLog(receipt!.logs[0]!)!.args.getValue("modelId") as Hex;
  };
  const modelId = await register({
    ...c.zkSpec,
    name: "iris-quiet-signed",
    zkCommitment: ZERO_HASH,
    zkVerifier: ZERO_ADDRESS,
    zkVerifierCodeHash: ZERO_HASH,
    modes: VerificationMode.Signature | VerificationMode.Quiet,
  });
  const zkModelId = await register({
    ...c.zkSpec,
    name: "iris-quiet-zk",
    modes: VerificationMode.Zk | VerificationMode.Quiet,
  });

  // Eight payers, each with a funded channel to the operator and one signed request.
  const token = await ethers.getContractAt("OPGToken", await settlement.token());
  const now = BigInt(await networkHelpers.time.latest());
  const payers = Array.from({ length: 8 }, (_, i) => privateKeyToAccount(testAccountKey(6 + i)));
  const vouchers: { request: QuietRequest; signature: Hex }[] = [];
  for (const [i, payer] of payers.entries()) {
    const account = await ethers.getSigner(payer.address);
    await (await token.connect(governance).transfer(payer.address, 100n * OPG)).wait();
    await (await token.connect(account).approve(await settlement.getAddress(), 100n * OPG)).wait();
    await (await settlement.connect(account).deposit(100n * OPG)).wait();
    await (await settlement.connect(account).approveMode(QUIET_MODE_BIT, 50n * OPG)).wait();
    await (await quiet.connect(account).fund(operatorAddress, 50n * OPG)).wait();
    const request: QuietRequest = {
      payer: payer.address,
      operator: operatorAddress,
      modelId,
      inputHash: keccak256(toHex(`quiet input ${i}`)),
      fee: 10n * OPG,
      cumulative: 10n * OPG,
      index: 0n,
      deadline: now + 300n,
    };
    vouchers.push({ request, signature: await signQuietRequest(payer, domain, request) });
  }
  const signed = async (request: QuietRequest, seq: bigint, outputHash: Hex) => {
    const receipt: Receipt = {
      operator: operatorAddress,
      seq,
      request: hashQuietRequest(request),
      outputHash,
      time: now,
    };
    return { receipt, signature: await signReceipt(signer, domain, receipt) };
  };

  // The log: a warm-up batch (seq 0), then 1,024 receipts: the eight payers' (seq 1–8), then others.
  const warm = await signed(vouchers[0]!.request, 0n, keccak256("0x00"));
  await (
    await quiet.connect(operator).commitBatch(0, 1, receiptLeaf(hashReceipt(warm.receipt)), "ipfs://warm")
  ).wait();
  const receipts = await Promise.all(
    vouchers.map((v, i) => signed(v.request, BigInt(1 + i), keccak256(toHex(i)))),
  );
  // The example consumer's applicant (the first payer): a setosa from the zk-circuit version, at seq 10.
  const applicantRequest: QuietRequest = {
    ...vouchers[0]!.request,
    modelId: zkModelId,
    inputHash: keccak256(toHex("applicant's committed measurements")),
  };
  const applicantOutput = zkOutputBytes(0n);
  const applicant = await signed(applicantRequest, 10n, keccak256(applicantOutput));
  const leaves = Array.from({ length: 1024 }, (_, i) =>
    i < receipts.length
      ? receiptLeaf(hashReceipt(receipts[i]!.receipt))
      : i === 9
        ? receiptLeaf(hashReceipt(applicant.receipt))
        : keccak256(toHex(`leaf ${i}`)),
  );
  // The cheat the omission challenge shows: seq 3's signed receipt is not the leaf committed for it.
  const omitted = receipts[2]!;
  leaves[2] = keccak256(toHex("another leaf"));
  const tree = LogTree.fromLeaves(leaves);
  const committed = (await measure(
    "quietCommit1024",
    quiet.connect(operator).commitBatch(1, 1024, tree.root, "https://operator.example/batches/1"),
  )) as { blockNumber: number };
  gas.quietGasPerInference = Math.round((gas.quietCommit1024! / 1024) * 10) / 10;
  const committedAt = BigInt((await ethers.provider.getBlock(committed.blockNumber))!.timestamp);
  const batch = { root: tree.root, firstSeq: 1n, count: 1024, committedAt };

  const forked = await signed(vouchers[1]!.request, 1n, keccak256("0x99")); // a second receipt for seq 1
  await measure(
    "challengeEquivocation",
    quiet
      .connect(keeper)
      .challengeEquivocation(
        receipts[0]!.receipt,
        vouchers[0]!.request,
        receipts[0]!.signature,
        forked.receipt,
        vouchers[1]!.request,
        forked.signature,
      ),
  );
  await measure(
    "challengeOmission",
    quiet
      .connect(keeper)
      .challengeOmission(
        omitted.receipt,
        vouchers[2]!.request,
        omitted.signature,
        1n,
        batch,
        leaves[2],
        tree.proof(2),
      ),
  );

  // A wrong output for the zk model, proven with the real circuit (bound to the challenger).
  const iris = loadIris();
  const quantizedInput = quantizeInput(iris.features[0]!, c.quantized);
  const truth = BigInt(fixedPointForward(c.quantized, quantizedInput).label);
  const zkRequest: QuietRequest = {
    ...vouchers[0]!.request,
    modelId: zkModelId,
    inputHash: fieldToBytes32(await inputCommitment(quantizedInput, c.quantized.params)),
    index: 1n,
    cumulative: 20n * OPG,
  };
  const wrong = await signed(zkRequest, 5_000n, zkOutputHash((truth + 1n) % 3n));
  const binding = await quiet.quietBinding(operatorAddress, 5_000n, keeper.address);
  const proven = await prove(circuitInput(c.quantized, quantizedInput, binding));
  const args = settlementProof(toSolidityCalldata(proven.proof, proven.publicSignals));
  await measure(
    "challengeWrongOutput",
    quiet.connect(keeper).challengeOutput(wrong.receipt, zkRequest, wrong.signature, args.output, args.proof),
  );

  // Final: accepted on chain, and redeemed.
  await networkHelpers.time.increaseTo(
    now + 300n + PROTOCOL_DEFAULTS.quietCommitWindow + PROTOCOL_DEFAULTS.quietChallengeWindow + 1n,
  );
  const estimate = await quiet.verifyReceipt.estimateGas(
    receipts[0]!.receipt,
    vouchers[0]!.request,
    1n,
    batch,
    tree.proof(0),
  );
  gas.verifyReceiptOnChain = Number(estimate) - 21_000;
  const gate = await ethers.deployContract("IrisGatedAllowlist", [
    await settlement.getAddress(),
    zkModelId,
    VerificationMode.Zk | VerificationMode.Quiet,
    0,
    3_600,
  ]);
  await measure(
    "quietConsumerAdmit",
    gate
      .connect(await ethers.getSigner(payers[0]!.address))
      .admitQuiet(applicant.receipt, applicantRequest, 1n, batch, tree.proof(9), applicantOutput),
  );
  await measure(
    "quietRedeem8",
    quiet.connect(operator).redeem(vouchers.map((v) => ({ request: v.request, signature: v.signature }))),
  );
  gas.quietRedeem = Math.round(gas.quietRedeem8! / vouchers.length);
}
