/**
 * Parsing of the quiet-mode gateway's `POST /v1/infer` body (docs/operator.md, "Quiet mode gateway"): pure, no I/O.
 * Anything malformed is a `GatewayRejection` (400 `bad_request`) naming the field, never an exception.
 */
import { getAddress, isAddress, type Hex } from "viem";
import type { QuietRequest } from "../protocol/quiet.js";

/** Largest body the gateway reads (bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

const UINT64_MAX = 2n ** 64n - 1n;
const UINT96_MAX = 2n ** 96n - 1n;

/** A refused request: the HTTP status, a snake_case code (the metric's label) and what to fix. */
export class GatewayRejection {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly error: string,
  ) {}
}

/** Shorthand for a `GatewayRejection`. */
export function reject(status: number, code: string, error: string): GatewayRejection {
  return new GatewayRejection(status, code, error);
}

/** A parsed `POST /v1/infer` body. */
export interface InferBody {
  request: QuietRequest;
  /** The payer's 65-byte EIP-712 signature of `request`. */
  signature: Hex;
  /** The input bytes (decoded from base64). */
  input: Uint8Array;
}

const bad = (error: string) => reject(400, "bad_request", error);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function uint(value: unknown, name: string, max: bigint): bigint | GatewayRejection {
  if (typeof value !== "string" || !/^[0-9]{1,30}$/.test(value)) {
    return bad(`request.${name} must be a decimal string (an unsigned integer)`);
  }
  const parsed = BigInt(value);
  if (parsed > max) return bad(`request.${name} is out of range (at most ${max})`);
  return parsed;
}

function bytes32(value: unknown, name: string): Hex | GatewayRejection {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    return bad(`request.${name} must be 32 bytes of 0x-prefixed hex`);
  }
  return value.toLowerCase() as Hex;
}

function address(value: unknown, name: string): Hex | GatewayRejection {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    return bad(`request.${name} must be an address (20 bytes of 0x-prefixed hex)`);
  }
  return getAddress(value);
}

/** Standard base64 (with padding) of at most the body's size; returns the bytes or a rejection. */
function base64(value: unknown): Uint8Array | GatewayRejection {
  if (typeof value !== "string" || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    return bad("input must be the input bytes in standard base64 (with padding)");
  }
  const bytes = new Uint8Array(Buffer.from(value, "base64"));
  if (Buffer.from(bytes).toString("base64") !== value) {
    return bad("input is not canonical base64");
  }
  return bytes;
}

/**
 * The body of `POST /v1/infer`: `{ request: QuietRequest with bigints as decimal strings, signature: 65-byte hex,
 * input: base64 }`, or a 400 `bad_request` rejection naming the first bad field.
 */
export function parseInferBody(body: unknown): InferBody | GatewayRejection {
  if (!isRecord(body)) return bad('the body must be a JSON object {"request", "signature", "input"}');
  const raw = body.request;
  if (!isRecord(raw)) return bad("request must be an object (a QuietRequest, bigints as decimal strings)");
  const payer = address(raw.payer, "payer");
  if (payer instanceof GatewayRejection) return payer;
  const operator = address(raw.operator, "operator");
  if (operator instanceof GatewayRejection) return operator;
  const modelId = bytes32(raw.modelId, "modelId");
  if (modelId instanceof GatewayRejection) return modelId;
  const inputHash = bytes32(raw.inputHash, "inputHash");
  if (inputHash instanceof GatewayRejection) return inputHash;
  const fee = uint(raw.fee, "fee", UINT96_MAX);
  if (fee instanceof GatewayRejection) return fee;
  const cumulative = uint(raw.cumulative, "cumulative", UINT96_MAX);
  if (cumulative instanceof GatewayRejection) return cumulative;
  const index = uint(raw.index, "index", UINT64_MAX);
  if (index instanceof GatewayRejection) return index;
  const deadline = uint(raw.deadline, "deadline", UINT64_MAX);
  if (deadline instanceof GatewayRejection) return deadline;
  const signature = body.signature;
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    return bad("signature must be the payer's 65-byte EIP-712 signature as 0x-prefixed hex");
  }
  const input = base64(body.input);
  if (input instanceof GatewayRejection) return input;
  return {
    request: {
      payer: payer,
      operator: operator,
      modelId,
      inputHash,
      fee,
      cumulative,
      index,
      deadline,
    },
    signature: signature as Hex,
    input,
  };
}

/** A value with its bigints as decimal strings, for JSON answers. */
export function decimalStrings(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}
