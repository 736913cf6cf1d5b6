/**
 * The quiet-mode JSON codec (src/protocol/quiet-json.ts): every structure survives a round trip through JSON text,
 * and every malformed field is refused with a `QuietJsonError` naming it (property-based, fixed seed).
 */
import { expect } from "chai";
import fc from "fast-check";
import { getAddress, type Hex } from "viem";
import { GatewayRejection, parseInferBody } from "../src/operator/quiet-request.js";
import type { QuietRequest, Receipt } from "../src/protocol/quiet.js";
import {
  batchDataFromJson,
  batchDataToJson,
  inferAnswerFromJson,
  inferAnswerToJson,
  QuietJsonError,
  quietRequestFromJson,
  quietRequestToJson,
  receiptFromJson,
  receiptInclusionFromJson,
  receiptInclusionToJson,
  receiptRecordFromJson,
  receiptRecordToJson,
  receiptToJson,
  type BatchData,
  type QuietReceiptRecord,
} from "../src/protocol/quiet-json.js";

const SEED = 20261130;
function run<T>(property: fc.IProperty<T>): void {
  fc.assert(property, { seed: SEED, numRuns: 200 });
}

const hexBytes = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((b): Hex => `0x${Buffer.from(b).toString("hex")}`);
const anyBytes = fc.uint8Array({ maxLength: 64 }).map((b): Hex => `0x${Buffer.from(b).toString("hex")}`);
const address = hexBytes(20).map((h) => getAddress(h));
const uint = (bits: number) => fc.bigInt({ min: 0n, max: 2n ** BigInt(bits) - 1n });

const request: fc.Arbitrary<QuietRequest> = fc.record({
  payer: address,
  operator: address,
  modelId: hexBytes(32),
  inputHash: hexBytes(32),
  fee: uint(96),
  cumulative: uint(96),
  index: uint(64),
  deadline: uint(64),
});
const receipt: fc.Arbitrary<Receipt> = fc.record({
  operator: address,
  seq: uint(64),
  request: hexBytes(32),
  outputHash: hexBytes(32),
  time: uint(64),
});

/** Through JSON text, as a file or an HTTP body carries it. */
const text = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

/** The error a parser throws for `value`, or undefined when it parses. */
function failure(parse: (value: unknown) => unknown, value: unknown): QuietJsonError | undefined {
  try {
    parse(value);
    return undefined;
  } catch (error) {
    if (error instanceof QuietJsonError) return error;
    throw error;
  }
}

describe("quiet JSON codec", function () {
  it("round-trips requests, receipts and answers through JSON text", function () {
    run(
      fc.property(request, receipt, hexBytes(65), anyBytes, (q, r, signature, output) => {
        expect(quietRequestFromJson(text(quietRequestToJson(q)))).to.deep.equal(q);
        expect(receiptFromJson(text(receiptToJson(r)))).to.deep.equal(r);
        const answer = { receipt: r, signature, output, outputHash: r.outputHash };
        expect(inferAnswerFromJson(text(inferAnswerToJson(answer)))).to.deep.equal(answer);
      }),
    );
  });

  it("round-trips receipt records (the receipt file), batches and inclusions", function () {
    const record: fc.Arbitrary<QuietReceiptRecord> = fc.record(
      {
        chainId: fc.integer({ min: 1, max: 2 ** 40 }),
        quietMode: address,
        operatorUrl: fc.constant("http://127.0.0.1:8547"),
        request,
        requestSignature: hexBytes(65),
        receipt,
        signature: hexBytes(65),
        output: anyBytes,
        outputHash: hexBytes(32),
        input: anyBytes,
      },
      {
        requiredKeys: [
          "chainId",
          "quietMode",
          "request",
          "requestSignature",
          "receipt",
          "signature",
          "output",
          "outputHash",
        ],
      },
    );
    const entry = fc.record({
      receipt,
      signature: hexBytes(65),
      request,
      requestSignature: hexBytes(65),
      output: anyBytes,
    });
    const batch: fc.Arbitrary<BatchData> = fc.array(entry, { minLength: 1, maxLength: 5 }).chain((receipts) =>
      fc.record({
        firstSeq: uint(64),
        count: fc.constant(receipts.length),
        root: hexBytes(32),
        batchIndex: uint(64),
        committedAt: uint(64),
        receipts: fc.constant(receipts),
      }),
    );
    const inclusion = fc.record({
      batchIndex: uint(64),
      root: hexBytes(32),
      firstSeq: uint(64),
      count: fc.integer({ min: 1, max: 65_536 }),
      committedAt: uint(64),
      proof: fc.array(hexBytes(32), { maxLength: 16 }),
    });
    run(
      fc.property(record, batch, inclusion, (rec, b, inc) => {
        expect(receiptRecordFromJson(text(receiptRecordToJson(rec)))).to.deep.equal(rec);
        expect(batchDataFromJson(text(batchDataToJson(b)))).to.deep.equal(b);
        expect(receiptInclusionFromJson(text(receiptInclusionToJson(inc)))).to.deep.equal(inc);
      }),
    );
  });

  it("accepts addresses and hex in any case, and answers them checksummed / lower case", function () {
    const q = fc.sample(request, { seed: SEED, numRuns: 1 })[0]!;
    const json = quietRequestToJson(q);
    const shouted = {
      ...json,
      payer: json.payer.toLowerCase(),
      modelId: json.modelId.toUpperCase().replace("0X", "0x"),
    };
    const parsed = quietRequestFromJson(shouted);
    expect(parsed.payer).to.equal(getAddress(json.payer));
    expect(parsed.modelId).to.equal(json.modelId.toLowerCase());
  });

  describe("refuses every malformed field, naming it", function () {
    const q = fc.sample(request, { seed: SEED, numRuns: 1 })[0]!;
    const good = quietRequestToJson(q);
    const bad: [keyof typeof good, unknown][] = [
      ["payer", "0x1234"],
      ["payer", 42],
      ["operator", null],
      ["modelId", "0x" + "ab".repeat(31)],
      ["modelId", "ab".repeat(32)],
      ["inputHash", "0x" + "zz".repeat(32)],
      ["fee", 5],
      ["fee", "-1"],
      ["fee", "1.5"],
      ["fee", "01"],
      ["fee", "0x10"],
      ["fee", " 1"],
      ["fee", (2n ** 96n).toString()],
      ["cumulative", (2n ** 96n).toString()],
      ["index", (2n ** 64n).toString()],
      ["deadline", ""],
      ["deadline", "1e9"],
    ];
    for (const [field, value] of bad) {
      it(`request.${field} = ${JSON.stringify(value)}`, function () {
        const error = failure(quietRequestFromJson, { ...good, [field]: value });
        expect(error?.field).to.equal(`request.${field}`);
        const rejected = parseInferBody({
          request: { ...good, [field]: value },
          signature: "0x" + "11".repeat(65),
          input: "AAAA",
        });
        expect(rejected).to.be.instanceOf(GatewayRejection);
        expect((rejected as GatewayRejection).error).to.include(`request.${field}`);
        expect((rejected as GatewayRejection).status).to.equal(400);
      });
    }
    it("a missing field, an array, a string for the whole request", function () {
      const { fee: _fee, ...missing } = good;
      expect(failure(quietRequestFromJson, missing)?.field).to.equal("request.fee");
      expect(failure(quietRequestFromJson, [good])?.field).to.equal("request");
      expect(failure(quietRequestFromJson, JSON.stringify(good))?.field).to.equal("request");
    });
  });

  it("refuses a batch whose count is not its entries, and an inclusion proof deeper than any batch", function () {
    const r = fc.sample(receipt, { seed: SEED, numRuns: 1 })[0]!;
    const q = fc.sample(request, { seed: SEED, numRuns: 1 })[0]!;
    const entry = {
      receipt: r,
      signature: ("0x" + "11".repeat(65)) as Hex,
      request: q,
      requestSignature: ("0x" + "22".repeat(65)) as Hex,
      output: "0x01" as Hex,
    };
    const json = batchDataToJson({
      firstSeq: 0n,
      count: 1,
      root: ("0x" + "33".repeat(32)) as Hex,
      batchIndex: 0n,
      committedAt: 1n,
      receipts: [entry],
    });
    expect(failure(batchDataFromJson, { ...json, count: 2 })?.field).to.equal("receipts");
    expect(failure(batchDataFromJson, { ...json, count: 0 })?.field).to.equal("count");
    expect(
      failure(batchDataFromJson, {
        ...json,
        receipts: [{ ...(json.receipts as object[])[0], signature: "0x11" }],
      })?.field,
    ).to.equal("receipts[0].signature");
    const inclusion = {
      batchIndex: "0",
      root: "0x" + "33".repeat(32),
      firstSeq: "0",
      count: 1,
      committedAt: "1",
      proof: [] as string[],
    };
    expect(
      failure(receiptInclusionFromJson, { ...inclusion, proof: Array(17).fill("0x" + "44".repeat(32)) })
        ?.field,
    ).to.equal("inclusion.proof");
    expect(failure(receiptInclusionFromJson, { ...inclusion, proof: ["0x44"] })?.field).to.equal(
      "inclusion.proof[0]",
    );
  });

  it("refuses a receipt file without a chain id or with a short signature", function () {
    const r = fc.sample(receipt, { seed: SEED, numRuns: 1 })[0]!;
    const q = fc.sample(request, { seed: SEED, numRuns: 1 })[0]!;
    const json = receiptRecordToJson({
      chainId: 31337,
      quietMode: r.operator,
      request: q,
      requestSignature: ("0x" + "11".repeat(65)) as Hex,
      receipt: r,
      signature: ("0x" + "22".repeat(65)) as Hex,
      output: "0x",
      outputHash: r.outputHash,
    });
    expect(failure(receiptRecordFromJson, { ...json, chainId: "31337" })?.field).to.equal("chainId");
    expect(failure(receiptRecordFromJson, { ...json, chainId: 0 })?.field).to.equal("chainId");
    expect(failure(receiptRecordFromJson, { ...json, signature: "0x22" })?.field).to.equal("signature");
    expect(
      failure(receiptRecordFromJson, { ...json, receipt: { ...(json.receipt as object), seq: 3 } })?.field,
    ).to.equal("receipt.seq");
  });
});
