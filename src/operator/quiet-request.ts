/**
 * Parsing of the quiet-mode gateway's `POST /v1/infer` body (docs/operator.md, "Quiet mode gateway"): pure, no I/O.
 * Anything malformed is a `GatewayRejection` (400 `bad_request`) naming the field, never an exception.
 */
import type { Hex } from "viem";
import type { QuietRequest } from "../protocol/quiet.js";
import { isJsonObject, jsonHex, QuietJsonError, quietRequestFromJson } from "../protocol/quiet-json.js";

/** Largest body the gateway reads (bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

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
  if (!isJsonObject(body)) return bad('the body must be a JSON object {"request", "signature", "input"}');
  let request: QuietRequest;
  let signature: Hex;
  try {
    request = quietRequestFromJson(body.request);
    signature = jsonHex(body.signature, "signature", 65);
  } catch (error) {
    if (error instanceof QuietJsonError) return bad(error.message);
    throw error;
  }
  const input = base64(body.input);
  if (input instanceof GatewayRejection) return input;
  return { request, signature, input };
}
