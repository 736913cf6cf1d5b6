import { expect } from "chai";
import { encodeAbiParameters, toHex } from "viem";
import { encodeLogits } from "../src/model/encoding.js";
import * as actions from "../src/sdk/actions/index.js";
import {
  checkFeatures,
  decodeOutput,
  decodeProtocolError,
  MAX_INPUT_ROWS,
  getRequestStatus,
  OpgError,
  prepareSignatureInput,
  VerificationMode,
  type OpgClient,
} from "../src/sdk/index.js";
import { rejection, serveSigned, startTestChain, type TestChain } from "./helpers/sdk-fixture.js";

async function opgRejection(promise: Promise<unknown>): Promise<OpgError> {
  const error = await rejection(promise);
  if (error instanceof OpgError) return error;
  throw new Error(`expected an OpgError, got ${String(error)}`);
}

describe("sdk actions", function () {
  this.timeout(120_000);
  let chain: TestChain;
  let requester: OpgClient;
  let operator: OpgClient;

  before(async () => {
    chain = await startTestChain();
    requester = chain.clientFor(4);
    operator = chain.clientFor(2);
  });
  after(async () => {
    await chain.close();
  });

  /** Open a permit-paid request for one Iris sample. */
  async function open(features: number[], ttl = 600n) {
    const input = prepareSignatureInput(features);
    return requester.openRequest({
      modelId: chain.irisModelId,
      inputHash: input.inputHash,
      inputUri: input.inputUri,
      ttl,
      pay: "permit",
    });
  }

  const serve = (requestId: bigint) => serveSigned(chain, requestId);

  it("binds every action, and only actions, to the client: `client.x(params)` is `x(client, params)`", async () => {
    const names = Object.entries(actions)
      .filter(([, value]) => typeof value === "function")
      .map(([name]) => name)
      .sort();
    const context = new Set(["publicClient", "walletClient", "addresses", "cache", "account"]);
    const bound = Object.keys(requester)
      .filter((key) => !context.has(key))
      .sort();
    expect(bound).to.deep.equal(names);
    expect(names).to.include.members(["openRequest", "waitForResult", "getRequestStatus", "getModel"]);
    // A bare context (what an operator node or an auditor has) is enough for the actions that need no more.
    const bare = {
      publicClient: requester.publicClient,
      addresses: { settlement: chain.addresses.settlement },
    };
    expect(await getRequestStatus(bare, { requestId: 123_456n })).to.equal("None");
  });

  it("waits for a result by event and decodes the answer: class and logits", async () => {
    const opened = await open([5.1, 3.5, 1.4, 0.2]);
    const waiting = requester.waitForResult({ requestId: opened.requestId, timeoutMs: 30_000 });
    const statuses: string[] = [];
    await serve(opened.requestId);
    const settled = await waiting;
    expect(settled.status).to.equal("Fulfilled");
    expect(settled.result?.operator).to.equal(operator.account()!.address);
    const decoded = decodeOutput(settled.result!.output, {
      mode: VerificationMode.Signature,
      outputWidth: 3,
    });
    expect(decoded.classes).to.deep.equal([0]); // setosa
    expect(decoded.logits).to.have.length(1);
    expect(decoded.logits![0]).to.have.length(3);
    // Already settled: it returns at once, with the same result.
    const again = await requester.waitForResult({
      requestId: opened.requestId,
      onPoll: (status) => statuses.push(status),
    });
    expect(again.result).to.deep.equal(settled.result);
    expect(statuses).to.deep.equal([]);
  });

  it("times out with ResultTimeout, names an expired request, returns a refunded one, rejects an unknown id", async () => {
    const opened = await open([6.6, 3, 4.4, 1.4], 120n);
    const polled: string[] = [];
    const timeout = await opgRejection(
      requester.waitForResult({
        requestId: opened.requestId,
        timeoutMs: 300,
        pollingIntervalMs: 50,
        onPoll: (status) => polled.push(status),
      }),
    );
    expect(timeout.code).to.equal("ResultTimeout");
    expect(timeout.message).to.match(/still Pending after 300 ms/);
    expect(polled.length).to.be.greaterThan(0);
    expect(new Set(polled)).to.deep.equal(new Set(["Pending"]));

    await chain.timeTravel(121);
    const expired = await opgRejection(requester.waitForResult({ requestId: opened.requestId }));
    expect(expired.code).to.equal("RequestExpired");
    expect(expired.message).to.match(/refund it/);

    await requester.refund({ requestId: opened.requestId });
    const refunded = await requester.waitForResult({ requestId: opened.requestId });
    expect(refunded.status).to.equal("Refunded");
    expect(refunded.result).to.equal(undefined);

    const unknown = await opgRejection(requester.waitForResult({ requestId: 999_999n }));
    expect(unknown.code).to.equal("UnknownRequest");
  });

  it("decodes outputs by the protocol's encodings and refuses outputs of another shape", () => {
    const logits = toHex(encodeLogits(new Float32Array([0.5, 2, -1, 3, 1, 0])));
    expect(decodeOutput(logits, { mode: VerificationMode.Signature, outputWidth: 3 })).to.deep.equal({
      classes: [1, 0],
      logits: [
        [0.5, 2, -1],
        [3, 1, 0],
      ],
    });
    // Without a width the whole output is one row.
    expect(decodeOutput(logits, { mode: VerificationMode.Signature }).classes).to.deep.equal([3]);
    const zkOutput = encodeAbiParameters([{ type: "uint256" }], [2n]);
    expect(decodeOutput(zkOutput, { mode: VerificationMode.Zk })).to.deep.equal({ classes: [2] });

    const bad = (output: `0x${string}`, options: Parameters<typeof decodeOutput>[1]) => {
      try {
        decodeOutput(output, options);
      } catch (error) {
        expect(error).to.be.instanceOf(OpgError);
        return (error as OpgError).message;
      }
      throw new Error("expected decodeOutput to throw");
    };
    expect(bad(logits, { mode: VerificationMode.Signature, outputWidth: 4 })).to.match(/rows of 4/);
    expect(bad("0x", { mode: VerificationMode.Signature })).to.match(/not float32 scores/);
    expect(bad(toHex(new Uint8Array([0, 0, 0xc0, 0x7f])), { mode: VerificationMode.Signature })).to.match(
      /NaN/,
    );
    expect(bad("0x01", { mode: VerificationMode.Zk })).to.match(/one 32-byte word, got 1 bytes/);
    expect(bad(`0x${"ff".repeat(32)}`, { mode: VerificationMode.Zk })).to.match(/not a class index/);
    expect(bad(logits, { mode: 4 })).to.match(/no output decoding is known for verification mode 4/);
  });

  it("checks features against a model's width in values, before anything is paid", () => {
    const message = (features: number[]) => {
      try {
        checkFeatures(features, 4);
      } catch (error) {
        expect(error).to.be.instanceOf(OpgError);
        return (error as OpgError).message;
      }
      return "ok";
    };
    expect(message([5.1, 3.5, 1.4, 0.2])).to.equal("ok");
    expect(message([5.1, 3.5, 1.4, 0.2, 6.6, 3, 4.4, 1.4])).to.equal("ok");
    expect(message([5.1, 3.5])).to.match(/the model takes 4 values per sample, got 2 values/);
    expect(message([])).to.match(/got 0 values/);
    expect(() => checkFeatures([1, 2, 3, 4, 5, 6, 7, 8], 4, VerificationMode.Zk)).to.throw(
      /2 samples of 4 values, but a zk-mode request carries at most 1/,
    );
    expect(message([5.1, 3.5, 1.4, 1e40])).to.match(
      /input value 4 \(1e\+40\) is not a finite float32 number/,
    );
    expect(
      message(new Array<number>(4 * (MAX_INPUT_ROWS[VerificationMode.Signature]! + 1)).fill(1)),
    ).to.match(/65 samples of 4 values, but a signature-mode request carries at most 64/);
  });

  it("moves ledger balance and sets a mode's allowance over it", async () => {
    const OPG = 10n ** 18n;
    const other = chain.clientFor(5);
    const to = other.account()!.address;
    const before = await other.getBalance();
    await requester.deposit({ amount: 5n * OPG });
    const mine = await requester.getBalance();
    await requester.transferBalance({ to, amount: OPG });
    expect(await other.getBalance()).to.equal(before + OPG);
    expect(await requester.getBalance()).to.equal(mine - OPG);
    const tooMuch = await rejection(requester.transferBalance({ to, amount: mine }));
    expect(decodeProtocolError(tooMuch)?.name).to.equal("InsufficientBalance");

    await requester.approveMode({ mode: VerificationMode.Signature, amount: 3n * OPG });
    expect(await requester.getModeAllowance({ mode: VerificationMode.Signature })).to.equal(3n * OPG);
    expect(
      await other.getModeAllowance({ mode: VerificationMode.Signature, owner: requester.account()!.address }),
    ).to.equal(3n * OPG);
    await requester.approveMode({ mode: VerificationMode.Signature, amount: 0n });
    expect(await requester.getModeAllowance({ mode: VerificationMode.Signature })).to.equal(0n);
  });
});
