import { expect } from "chai";
import { createPublicClient, http, keccak256, toHex, zeroAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { IRIS_MODEL_PATH } from "../src/devnet/iris.js";
import { inferBytes } from "../src/model/infer.js";
import { loadModel, type LoadedModel } from "../src/model/onnx-runtime.js";
import {
  auditWithModel,
  decodeProtocolError,
  explain,
  parseAddresses,
  prepareInput,
  readAddresses,
  type OpgClient,
  type OpenedRequestEvent,
} from "../src/sdk/index.js";
import {
  accountKey,
  MODEL_FEE,
  OPERATOR_SIGNING_KEY,
  OPG,
  startTestChain,
  type TestChain,
} from "./helpers/sdk-fixture.js";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

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

  /** What an operator node does: run the model on the input from the data: URI, sign, fulfil. */
  async function serve(requestId: bigint) {
    const info = await operator.getRequest(requestId);
    const { fromDataUri } = await import("../src/model/encoding.js");
    const output = await inferBytes(model, fromDataUri(info.inputUri));
    const outputHash = keccak256(output);
    const operatorAddress = operator.account()!.address;
    const signature = await operator.signResult(privateKeyToAccount(OPERATOR_SIGNING_KEY), {
      requestId,
      modelId: info.request.modelId,
      inputHash: info.request.inputHash,
      outputHash,
      operator: operatorAddress,
    });
    return operator.fulfillSigned(
      info.request,
      requestId,
      { operator: operatorAddress, outputHash, output: toHex(output) },
      signature,
    );
  }

  it("reads addresses from an Ignition deployment and rejects bad ones clearly", async () => {
    expect(await readAddresses(chain.deploymentDir)).to.deep.equal(chain.addresses);
    expect(parseAddresses({ ...chain.addresses })).to.deep.equal(chain.addresses);
    expect(() => parseAddresses({ ...chain.addresses, models: "0x1234" })).to.throw(
      /models is not an address/,
    );
    expect(() => parseAddresses({ token: chain.addresses.token })).to.throw(/no "models"/);
  });

  it("registers, shows, lists and revokes models", async () => {
    const owner = chain.clientFor(1);
    const iris = await owner.getModel(chain.irisModelId);
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
    await owner.revokeModel(second.modelId);
    expect((await owner.getModel(second.modelId)).status).to.equal("Revoked");
    const error = await rejection(
      requester.openRequest({ modelId: second.modelId, inputHash: keccak256("0x01"), maxFee: OPG }),
    );
    expect(decodeProtocolError(error)?.name).to.equal("ModelNotActive");
  });

  it("deposits with a permit, opens prepaid and permit requests, fulfils, audits, refunds and withdraws", async () => {
    await requester.deposit(10n * OPG);
    expect(await requester.balance()).to.equal(10n * OPG);

    const seen: OpenedRequestEvent[] = [];
    const unwatch = requester.watchRequests((r) => void seen.push(r), {
      modelIds: [chain.irisModelId],
      pollingInterval: 100,
    });

    const input = await prepareInput([5.1, 3.5, 1.4, 0.2]);
    const prepaid = await requester.openRequest({ modelId: chain.irisModelId, ...input }, { pay: "prepaid" });
    expect(prepaid.request.fee).to.equal(MODEL_FEE);
    expect(await requester.balance()).to.equal(8n * OPG);
    const permitted = await requester.openRequest(
      { modelId: chain.irisModelId, ...(await prepareInput([6.6, 3, 4.4, 1.4])), ttl: 600n },
      { pay: "permit" },
    );
    expect((await requester.getRequest(permitted.requestId)).status).to.equal("Pending");

    const fulfilled = await serve(prepaid.requestId);
    expect(fulfilled.gasUsed > 0n).to.equal(true);
    const info = await requester.getRequest(prepaid.requestId);
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

    const early = await rejection(requester.refund(permitted.requestId));
    expect(decodeProtocolError(early)?.name).to.equal("RequestNotExpired");
    await chain.timeTravel(601);
    const refunded = await chain.clientFor(5).refund(permitted.requestId);
    expect(refunded.amount).to.equal(MODEL_FEE);
    expect((await requester.getRequest(permitted.requestId)).status).to.equal("Refunded");
    expect(await requester.balance()).to.equal(10n * OPG);

    const withdrawn = await requester.withdraw();
    expect(withdrawn.amount).to.equal(10n * OPG);
    expect(await requester.balance()).to.equal(0n);

    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    unwatch();
    expect(seen.map((r) => r.requestId)).to.include.members([prepaid.requestId, permitted.requestId]);
  });

  it("decodes and explains errors: unknown model, insufficient balance and allowance, unreachable RPC", async () => {
    const unknown: Hex = `0x${"12".repeat(32)}`;
    const e1 = await rejection(requester.getModel(unknown));
    expect(decodeProtocolError(e1)).to.deep.equal({ name: "UnknownModel", args: [unknown] });
    expect(explain(e1)).to.contain(`unknown model ${unknown}`);

    const poor = chain.clientFor(5);
    const input = await prepareInput([1, 2, 3, 4]);
    const e2 = await rejection(
      poor.openRequest({ modelId: chain.irisModelId, ...input }, { pay: "prepaid" }),
    );
    expect(decodeProtocolError(e2)?.name).to.equal("InsufficientBalance");
    expect(explain(e2)).to.match(/deposit/);
    const e3 = await rejection(
      requester.openRequest({ modelId: chain.irisModelId, ...input }, { pay: "transfer" }),
    );
    expect(decodeProtocolError(e3)?.name).to.equal("ERC20InsufficientAllowance");
    expect(explain(e3)).to.match(/approve .*--pay permit/);
    const e4 = await rejection(
      requester.openRequest({ modelId: chain.irisModelId, ...input, maxFee: 1n }, { pay: "prepaid" }),
    );
    expect(decodeProtocolError(e4)?.name).to.equal("FeeAboveMax");

    const dead = createPublicClient({ transport: http("http://127.0.0.1:9", { retryCount: 0 }) });
    const e5 = await rejection(dead.getChainId());
    expect(explain(e5)).to.match(/cannot reach the RPC at http:\/\/127\.0\.0\.1:9/);
    expect(zeroAddress).to.be.a("string");
  });

  it("has the operator's registration and stake", async () => {
    const info = await operator.getOperator(operator.account()!.address);
    expect(info.stake).to.equal(1_000n * OPG);
    expect(info.eligible).to.equal(true);
    expect(info.payout).to.equal(privateKeyToAccount(accountKey(3)).address);
  });
});
