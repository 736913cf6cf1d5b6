import { expect } from "chai";
import {
  createPublicClient,
  getAddress,
  hexToBytes,
  http,
  keccak256,
  toHex,
  zeroAddress,
  zeroHash,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readFile } from "node:fs/promises";
import { irisMlpVerifierAbi, irisMlpVerifierCodeHash, protocolErrorsAbi } from "../src/abi/index.js";
import { protocolBytecode } from "../src/abi/bytecode.js";
import { IRIS_MODEL_PATH, irisRegistration } from "../src/devnet/iris.js";
import { auditRequest } from "../src/audit/audit.js";
import { fromDataUri, toDataUri } from "../src/model/encoding.js";
import { sha256Hex } from "../src/model/hash.js";
import { inferBytes } from "../src/model/infer.js";
import { loadModel, type LoadedModel } from "../src/model/onnx-runtime.js";
import {
  auditWithModel,
  MODE_MODULES,
  modeModule,
  modeModulesIn,
  signatureModeModule,
  zkModeModule,
} from "../src/audit/index.js";
import { prepareInput } from "../src/zk/index.js";
import {
  computeModelId,
  decodeProtocolError,
  explain,
  explainProtocolError,
  OpgError,
  parseAddresses,
  ProtocolLimits,
  readAddresses,
  VerificationMode,
  compactSignature,
  decodeFulfillSigned,
  decodeFulfillZk,
  SIGNED_FULFILMENT_GAS,
  signResultWithKey as signResult,
  type KeySigner,
  type OpgClient,
  type OpenedRequestEvent,
} from "../src/sdk/index.js";
import {
  accountKey,
  MODEL_FEE,
  OPERATOR_SIGNING_KEY,
  OPG,
  rejection,
  serveSigned,
  startTestChain,
  type TestChain,
} from "./helpers/sdk-fixture.js";

describe("sdk", function () {
  this.timeout(120_000);
  let chain: TestChain;
  let requester: OpgClient;
  let operator: OpgClient;
  let model: LoadedModel;

  before(async () => {
    chain = await startTestChain();
    requester = chain.clientFor(4);
    operator = chain.clientFor(2);
    model = await loadModel(IRIS_MODEL_PATH);
  });
  after(async () => {
    await model.release();
    await chain.close();
  });

  const serve = (requestId: bigint) => serveSigned(chain, requestId);

  it("reads addresses from an Ignition deployment and rejects bad ones clearly", async () => {
    expect(await readAddresses(chain.deploymentDir)).to.deep.equal(chain.addresses);
    expect(parseAddresses({ ...chain.addresses })).to.deep.equal(chain.addresses);
    // The Ignition file names the mode contracts too; clients read them from the core, and they agree.
    expect(chain.addresses.signatureMode).to.equal(
      await requester.getModeContract({ mode: VerificationMode.Signature }),
    );
    expect(chain.addresses.zkMode).to.equal(await requester.getModeContract({ mode: VerificationMode.Zk }));
    expect(await requester.getOpenModes()).to.deep.equal([
      { mode: 1, name: "signature", contract: chain.addresses.signatureMode },
      { mode: 2, name: "zk", contract: chain.addresses.zkMode },
      { mode: 4, name: "quiet", contract: chain.addresses.quietMode },
    ]);
    expect(() => parseAddresses({ ...chain.addresses, models: "0x1234" })).to.throw(
      /models is not an address/,
    );
    expect(() => parseAddresses({ token: chain.addresses.token })).to.throw(/no "models"/);
  });

  it("registers, shows, lists and revokes models", async () => {
    const owner = chain.clientFor(1);
    const iris = await owner.getModel({ modelId: chain.irisModelId });
    expect(iris.status).to.equal("Active");
    expect(iris.fee).to.equal(MODEL_FEE);
    const second = await owner.registerModel({
      name: "iris-copy",
      fileHash: iris.fileHash,
      runtimeHash: iris.runtimeHash,
      uri: "models/iris-mlp.onnx",
      fee: OPG,
      royaltyBps: 500,
    });
    expect(second.gasUsed > 0n).to.equal(true);
    const listed = await owner.listModels();
    expect(listed.map((m) => m.modelId)).to.include.members([chain.irisModelId, second.modelId]);
    await owner.revokeModel({ modelId: second.modelId });
    expect((await owner.getModel({ modelId: second.modelId })).status).to.equal("Revoked");
    const error = await rejection(
      requester.openRequest({ modelId: second.modelId, inputHash: keccak256("0x01"), maxFee: OPG }),
    );
    expect(decodeProtocolError(error)?.name).to.equal("ModelNotActive");
  });

  it("deposits with a permit, opens prepaid and permit requests, fulfils, audits, refunds and withdraws", async () => {
    await requester.deposit({ amount: 10n * OPG });
    expect(await requester.getBalance()).to.equal(10n * OPG);

    const seen: OpenedRequestEvent[] = [];
    const unwatch = requester.watchRequests({
      onRequest: (r) => void seen.push(r),
      modelIds: [chain.irisModelId],
      pollingInterval: 100,
    });

    const input = await prepareInput([5.1, 3.5, 1.4, 0.2]);
    const prepaid = await requester.openRequest({ modelId: chain.irisModelId, ...input, pay: "prepaid" });
    expect(prepaid.request.fee).to.equal(MODEL_FEE);
    expect(await requester.getBalance()).to.equal(8n * OPG);
    const permitted = await requester.openRequest({
      modelId: chain.irisModelId,
      ...(await prepareInput([6.6, 3, 4.4, 1.4])),
      ttl: 600n,
      pay: "permit",
    });
    expect((await requester.getRequest({ requestId: permitted.requestId })).status).to.equal("Pending");

    const fulfilled = await serve(prepaid.requestId);
    expect(fulfilled.gasUsed > 0n).to.equal(true);
    const info = await requester.getRequest({ requestId: prepaid.requestId });
    expect(info.status).to.equal("Fulfilled");
    expect(info.result?.signer).to.equal(privateKeyToAccount(OPERATOR_SIGNING_KEY).address);

    const report = await auditWithModel({
      publicClient: requester.publicClient,
      settlement: chain.addresses.settlement,
      requestId: prepaid.requestId,
      modelFile: IRIS_MODEL_PATH,
    });
    expect(report.verdict, JSON.stringify(report.checks)).to.equal("verified");
    expect(report.checks.map((c) => c.name)).to.include("re-executed output matches the result");

    const early = await rejection(requester.refund({ requestId: permitted.requestId }));
    expect(decodeProtocolError(early)?.name).to.equal("RequestNotExpired");
    await chain.timeTravel(601);
    const refunded = await chain.clientFor(5).refund({ requestId: permitted.requestId });
    expect(refunded.amount).to.equal(MODEL_FEE);
    expect((await requester.getRequest({ requestId: permitted.requestId })).status).to.equal("Refunded");
    expect(await requester.getBalance()).to.equal(10n * OPG);

    const withdrawn = await requester.withdraw();
    expect(withdrawn.amount).to.equal(10n * OPG);
    expect(await requester.getBalance()).to.equal(0n);

    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    unwatch();
    expect(seen.map((r) => r.requestId)).to.include.members([prepaid.requestId, permitted.requestId]);
  });

  it("decodes and explains errors: unknown model, insufficient balance and allowance, unreachable RPC", async () => {
    const unknown: Hex = `0x${"12".repeat(32)}`;
    const e1 = await rejection(requester.getModel({ modelId: unknown }));
    expect(decodeProtocolError(e1)).to.deep.equal({ name: "UnknownModel", args: [unknown] });
    expect(explain(e1)).to.contain(`unknown model ${unknown}`);

    const poor = chain.clientFor(5);
    const input = await prepareInput([1, 2, 3, 4]);
    const e2 = await rejection(poor.openRequest({ modelId: chain.irisModelId, ...input, pay: "prepaid" }));
    expect(decodeProtocolError(e2)?.name).to.equal("InsufficientBalance");
    expect(explain(e2)).to.match(/deposit/);
    const e3 = await rejection(
      requester.openRequest({ modelId: chain.irisModelId, ...input, pay: "transfer" }),
    );
    expect(decodeProtocolError(e3)?.name).to.equal("ERC20InsufficientAllowance");
    expect(explain(e3)).to.match(
      /approve it for the amount \(approve\) or pay with a permit \(pay: "permit"\)/,
    );
    expect(explain(e3)).to.not.match(/--/); // SDK words: no command-line flags
    const e4 = await rejection(
      requester.openRequest({ modelId: chain.irisModelId, ...input, maxFee: 1n, pay: "prepaid" }),
    );
    expect(decodeProtocolError(e4)?.name).to.equal("FeeAboveMax");

    const dead = createPublicClient({ transport: http("http://127.0.0.1:9", { retryCount: 0 }) });
    const e5 = await rejection(dead.getChainId());
    expect(explain(e5)).to.match(/cannot reach the RPC at http:\/\/127\.0\.0\.1:9/);
    expect(zeroAddress).to.be.a("string");
  });

  it("registers a zk version with the verifier's code hash read from the chain; checks name, royalty and verifier first", async () => {
    const owner = chain.clientFor(1);
    const ownerAddress = owner.account()!.address;
    const hash = await owner.walletClient!.deployContract({
      abi: irisMlpVerifierAbi,
      bytecode: protocolBytecode.irisMlpVerifier,
      account: owner.account()!,
      chain: owner.walletClient!.chain,
    });
    const { contractAddress } = await owner.publicClient.waitForTransactionReceipt({ hash });
    const verifier = getAddress(contractAddress!);
    const iris = await irisRegistration({ fee: MODEL_FEE, royaltyBps: 1_000, zkVerifier: verifier });
    const spec = {
      name: "iris-zk-sdk",
      fileHash: iris.spec.fileHash,
      runtimeHash: iris.spec.runtimeHash,
      uri: iris.spec.uri,
      fee: MODEL_FEE,
      royaltyBps: 1_000,
      zkCommitment: iris.spec.zkCommitment,
      zkVerifier: verifier,
    };
    const nonce = await owner.publicClient.getTransactionCount({ address: ownerAddress });
    const refusals: [Promise<unknown>, RegExp][] = [
      [owner.registerModel({ ...spec, name: "" }), /model name must be 1 to 64 bytes/],
      [owner.registerModel({ ...spec, name: "x".repeat(65) }), /model name must be 1 to 64 bytes, .* is 65/],
      [
        owner.registerModel({ ...spec, royaltyBps: 8_001 }),
        /royalty must be whole basis points from 0 to 8000/,
      ],
      [owner.registerModel({ ...spec, fee: 2n ** 96n }), /fee is out of range/],
      [
        owner.registerModel({ ...spec, zkVerifier: privateKeyToAccount(accountKey(9)).address }),
        /has no contract code on chain/,
      ],
    ];
    for (const [attempt, message] of refusals) {
      const error = await rejection(attempt);
      expect(error).to.be.instanceOf(OpgError);
      expect(explain(error)).to.match(message);
    }
    expect(await owner.publicClient.getTransactionCount({ address: ownerAddress })).to.equal(nonce);

    // A stated code hash that is not the verifier's is the registry's to refuse, by name.
    const wrong = await rejection(owner.registerModel({ ...spec, zkVerifierCodeHash: keccak256("0x01") }));
    expect(decodeProtocolError(wrong)?.name).to.equal("VerifierCodeHashMismatch");
    expect(explain(wrong)).to.match(/reads it from the chain/);

    const registered = await owner.registerModel(spec);
    expect(registered.zkVerifierCodeHash).to.equal(irisMlpVerifierCodeHash);
    const info = await owner.getModel({ modelId: registered.modelId });
    expect(info).to.include({ zkVerifier: verifier, zkVerifierCodeHash: irisMlpVerifierCodeHash, modes: 3 });
    expect(registered.modelId).to.equal(
      computeModelId({ ...info, zkVerifierCodeHash: irisMlpVerifierCodeHash }),
    );
  });

  it("registers an operator only after checking the proof, the key, the account and the balance; rotates its key", async () => {
    const index = 6;
    const client = chain.clientFor(index);
    const address = client.account()!.address;
    const keyA = privateKeyToAccount(`0x${"a1".repeat(32)}`);
    const keyB = privateKeyToAccount(`0x${"b2".repeat(32)}`);
    const state = async () => ({
      nonce: await client.publicClient.getTransactionCount({ address }),
      allowance: await client.getAllowance({ owner: address, spender: chain.addresses.operators }),
    });
    const before = await state();

    // A signer callback that signs with another key: refused before anything is sent.
    const impostor: KeySigner = { address: keyA.address, signTypedData: keyB.signTypedData };
    const e1 = await rejection(
      client.registerOperator({ signer: impostor, payout: address, amount: 1_000n * OPG }),
    );
    expect(e1).to.be.instanceOf(OpgError);
    expect((e1 as OpgError).code).to.equal("BadSignerProof");
    // A key registered to another operator (keys are never reused).
    const e2 = await rejection(
      client.registerOperator({
        signer: privateKeyToAccount(OPERATOR_SIGNING_KEY),
        payout: address,
        amount: 1_000n * OPG,
      }),
    );
    expect(decodeProtocolError(e2)?.name).to.equal("SignerAlreadyUsed");
    expect(explain(e2)).to.match(/never reused; use a fresh key/);
    // Not enough OPG for the stake: no approve either.
    const e3 = await rejection(
      client.registerOperator({ signer: keyA, payout: address, amount: 1_000n * OPG }),
    );
    expect(explain(e3)).to.match(/holds 0 OPG, less than the stake of 1000 OPG/);
    // An account already registered.
    const e4 = await rejection(operator.registerOperator({ signer: keyA, payout: address, amount: 0n }));
    expect(decodeProtocolError(e4)?.name).to.equal("AlreadyRegistered");
    expect(await state()).to.deep.equal(before);

    await chain.clientFor(0).transferToken({ to: address, amount: 1_000n * OPG });
    // A callback-style signer (here wrapping a local key): the SDK asks it for the proof.
    const callback: KeySigner = { address: keyA.address, signTypedData: (data) => keyA.signTypedData(data) };
    await client.registerOperator({ signer: callback, payout: address, amount: 1_000n * OPG });
    expect(await client.getOperator({ operator: address })).to.include({
      signer: keyA.address,
      eligible: true,
    });

    await client.rotateSigner({ signer: keyB });
    expect((await client.getOperator({ operator: address })).signer).to.equal(keyB.address);
    const nonce = await client.publicClient.getTransactionCount({ address });
    const e5 = await rejection(client.rotateSigner({ signer: keyA }));
    expect(decodeProtocolError(e5)?.name).to.equal("SignerAlreadyUsed");
    const e6 = await rejection(client.rotateSigner({ signer: impostor }));
    expect((e6 as OpgError).code).to.equal("BadSignerProof");
    expect(await client.publicClient.getTransactionCount({ address })).to.equal(nonce);
  });

  it("signs every field of a result: a stripped output or another URI is rejected by name; a URI-only result settles and audits", async () => {
    const key = privateKeyToAccount(OPERATOR_SIGNING_KEY);
    const opened = await requester.openRequest({
      modelId: chain.irisModelId,
      ...(await prepareInput([5.9, 3, 5.1, 1.8])),
      pay: "permit",
    });
    const info = await operator.getRequest({ requestId: opened.requestId });
    const output = toHex(await inferBytes(model, fromDataUri(info.inputUri)));
    const operatorAddress = operator.account()!.address;
    const honest = { operator: operatorAddress, output };
    const signature = await operator.signResult({
      signer: key,
      requestId: opened.requestId,
      request: opened.request,
      result: honest,
    });
    for (const forged of [
      { ...honest, outputHash: keccak256(output), output: "0x" as Hex },
      { ...honest, outputUri: "https://relayer.example/out" },
    ]) {
      const error = await rejection(
        chain
          .clientFor(5)
          .fulfillSigned({ request: opened.request, requestId: opened.requestId, result: forged, signature }),
      );
      expect(decodeProtocolError(error)?.name).to.equal("SignerMismatch");
      expect(explain(error)).to.match(/a field of the signed result was changed/);
    }
    // The output by URI only, signed as such: anyone may relay it unchanged.
    const byUri = {
      operator: operatorAddress,
      outputHash: keccak256(output),
      output: "0x" as Hex,
      outputUri: toDataUri(hexToBytes(output)),
    };
    const uriSignature = await operator.signResult({
      signer: key,
      requestId: opened.requestId,
      request: opened.request,
      result: byUri,
    });
    await chain.clientFor(5).fulfillSigned({
      request: opened.request,
      requestId: opened.requestId,
      result: byUri,
      signature: uriSignature,
    });
    const settled = await requester.getRequest({ requestId: opened.requestId });
    expect(settled.result).to.include({ output: "0x", outputUri: byUri.outputUri, signer: key.address });
    const report = await auditWithModel({
      publicClient: requester.publicClient,
      settlement: chain.addresses.settlement,
      requestId: opened.requestId,
    });
    expect(report.verdict, JSON.stringify(report.checks)).to.equal("verified");
    expect(report.checks.find((c) => c.name === "inline output matches output hash")?.detail).to.match(
      /output given by URI only/,
    );

    // The audit rejects a model file that is not the committed one.
    const wrongFile = new Uint8Array(await readFile(IRIS_MODEL_PATH));
    wrongFile[0] = wrongFile[0]! ^ 1;
    const rejected = await auditRequest({
      client: requester.publicClient,
      settlement: chain.addresses.settlement,
      requestId: opened.requestId,
      modelFile: wrongFile,
      sha256: sha256Hex,
    });
    expect(rejected.verdict).to.equal("rejected");
    expect(rejected.checks.filter((c) => !c.ok).map((c) => c.name)).to.deep.equal([
      "model file matches the commitment",
    ]);
  });

  it("checks request inputs against the protocol limits before sending anything", async () => {
    const address = requester.account()!.address;
    const nonce = await requester.publicClient.getTransactionCount({ address });
    const input = await prepareInput([1, 2, 3, 4]);
    const base = { modelId: chain.irisModelId, ...input };
    const callback = privateKeyToAccount(accountKey(9)).address;
    const cases: [Parameters<OpgClient["openRequest"]>[0], RegExp][] = [
      [{ ...base, ttl: ProtocolLimits.MAX_REQUEST_TTL + 1n }, /time to live must be 1 to 2592000 seconds/],
      [{ ...base, ttl: 0n }, /time to live must be 1 to/],
      [{ ...base, deadline: 1n }, /the deadline 1 must be after the latest block's time/],
      [{ ...base, callbackGasLimit: 100_000 }, /a callback gas limit needs a callback contract/],
      [{ ...base, callback, callbackGasLimit: 0 }, /callback gas limit must be 1 to 2500000/],
      [
        { ...base, callback, callbackGasLimit: ProtocolLimits.MAX_CALLBACK_GAS + 1 },
        /callback gas limit must be 1 to 2500000/,
      ],
      [
        { ...base, mode: VerificationMode.Zk, inputHash: `0x${"ff".repeat(32)}` },
        /zk input commitment is not a BN254 field element/,
      ],
      [{ ...base, mode: 3 as VerificationMode }, /verification mode 3 has no on-chain request/],
      [{ ...base, mode: VerificationMode.Quiet }, /verification mode 4 has no on-chain request/],
    ];
    for (const [params, message] of cases) {
      const error = await rejection(requester.openRequest({ ...params, pay: "permit" }));
      expect(error, String(message)).to.be.instanceOf(OpgError);
      expect(explain(error)).to.match(message);
    }
    expect(await requester.publicClient.getTransactionCount({ address })).to.equal(nonce);
  });

  it("explains every protocol custom error by name, with what to fix", () => {
    const names = [...new Set(protocolErrorsAbi.map((e) => e.name))];
    expect(names).to.include.members([
      "SignerProofInvalid",
      "ModeNotOpen",
      "WrongMode",
      "VerifierCodeHashMismatch",
      "VerifierNotPure",
      "VerifierCodeChanged",
      "InputNotInField",
      "RequestIdsExhausted",
      "NothingToSweep",
    ]);
    for (const name of names) {
      const text = explainProtocolError({ name, args: [1n, 2n, 3n] });
      expect(text, name).not.to.match(/^the contract rejected the call/);
    }
    expect(explainProtocolError({ name: "ModeNotOpen", args: [2] })).to.match(
      /mode zk is not open on this deployment/,
    );
    expect(explainProtocolError({ name: "VerifierNotPure", args: [zeroAddress, 7n, 0x54] })).to.match(
      /opcode 0x54 at offset 7/,
    );
  });

  it("has the operator's registration and stake", async () => {
    const info = await operator.getOperator({ operator: operator.account()!.address });
    expect(info.stake).to.equal(1_000n * OPG);
    expect(info.eligible).to.equal(true);
    expect(info.payout).to.equal(privateKeyToAccount(accountKey(3)).address);
  });
});

describe("verification mode modules", () => {
  const request = {
    requester: privateKeyToAccount(accountKey(4)).address,
    fee: MODEL_FEE,
    modelOwner: privateKeyToAccount(accountKey(1)).address,
    royaltyBps: 1_000,
    protocolFeeBps: 500,
    mode: VerificationMode.Signature,
    deadline: 1_000n,
    modelId: keccak256("0x01"),
    inputHash: keccak256("0x02"),
    operator: zeroAddress,
    callback: zeroAddress,
    callbackGasLimit: 50_000,
  };

  it("are keyed by mode bit, one module per contract", () => {
    expect([...MODE_MODULES.keys()]).to.deep.equal([VerificationMode.Signature, VerificationMode.Zk]);
    expect(modeModule(1)?.contractName).to.equal("SignatureMode");
    expect(modeModule(2)?.contractName).to.equal("ZkMode");
    expect(modeModule(4)).to.equal(undefined);
    expect(modeModulesIn(3).map((m) => m.name)).to.deep.equal(["signature", "zk"]);
    expect(modeModulesIn(4)).to.deep.equal([]);
  });

  it("build fulfilments to their mode's contract, with the signature compacted and gas for the callback", async () => {
    const key = privateKeyToAccount(OPERATOR_SIGNING_KEY);
    const modeContract = privateKeyToAccount(accountKey(8)).address;
    const operatorAddress = privateKeyToAccount(accountKey(2)).address;
    const output = toHex("logits");
    const fields = { operator: operatorAddress, outputHash: keccak256(output), output, outputUri: "" };
    const signature = await signResult(key, 31337n, modeContract, 7n, request, fields);
    const tx = signatureModeModule.fulfilment(modeContract, operatorAddress, {
      requestId: 7n,
      request,
      result: { mode: "signature", output, outputHash: fields.outputHash, signature },
    });
    expect(tx.to).to.equal(modeContract);
    expect(tx.gas).to.equal(SIGNED_FULFILMENT_GAS + 50_000n + 50_000n / 63n + 20_000n);
    const decoded = decodeFulfillSigned(tx.data)!;
    expect(decoded.requestId).to.equal(7n);
    expect(decoded.request).to.deep.equal(request);
    expect(decoded.result).to.deep.equal(fields);
    expect(decoded.signature).to.deep.equal(compactSignature(signature));
    expect(decodeFulfillZk(tx.data)).to.equal(undefined);
    expect(() =>
      zkModeModule.fulfilment(modeContract, operatorAddress, {
        requestId: 7n,
        request,
        result: { mode: "signature", output, outputHash: fields.outputHash, signature },
      }),
    ).to.throw(/holds a signature result/);
  });

  it("fail the signature and proof checks of a settlement relayed through another contract, naming both", async () => {
    for (const mode of [signatureModeModule, zkModeModule]) {
      const checks: { name: string; ok: boolean; detail: string }[] = [];
      const modeContract = privateKeyToAccount(accountKey(8)).address;
      const relay = privateKeyToAccount(accountKey(9)).address;
      await mode.auditSettlement({
        client: createPublicClient({ transport: http("http://127.0.0.1:9", { retryCount: 0 }) }),
        chainId: 31337n,
        settlement: zeroAddress,
        modeContract,
        requestId: 7n,
        request,
        result: {
          operator: relay,
          payout: relay,
          signer: zeroAddress,
          outputHash: zeroHash,
          output: "0x",
          outputUri: "",
          transactionHash: zeroHash,
          blockNumber: 1n,
        },
        transaction: { from: relay, to: relay, input: "0x12345678" },
        model: {
          fileHash: zeroHash,
          runtimeHash: zeroHash,
          owner: zeroAddress,
          familyId: zeroHash,
          zkCommitment: zeroHash,
          zkVerifier: zeroAddress,
          zkVerifierCodeHash: zeroHash,
        },
        tools: {},
        check: (name, ok, detail) => checks.push({ name, ok, detail }),
      });
      expect(checks).to.have.length(1);
      expect(checks[0]!.ok).to.equal(false);
      expect(checks[0]!.detail)
        .to.contain(`sent to ${relay}`)
        .and.to.contain(`${mode.contractName} ${modeContract}`);
    }
  });
});
