/**
 * The payer's side of an operator's quiet-mode gateway wire format (docs/operator.md, "Quiet mode gateway"): one
 * `POST /v1/infer`, its refusals as `OperatorRefusedError`, and the shape check of its 200 answer. Used by `infer`.
 */
import type { Hex } from "viem";
import type { QuietRequest } from "../protocol/quiet.js";
import {
  inferAnswerFromJson,
  isJsonObject,
  QuietJsonError,
  quietRequestToJson,
  type InferAnswer,
} from "../protocol/quiet-json.js";
import { OpgError } from "./errors.js";

/** The `fetch` `infer` posts with (the global one by default). */
export type InferFetch = (url: string, init: RequestInit) => Promise<Response>;

/** The JSON body of `POST /v1/infer`: the request with its bigints as decimal strings, the signature, base64 input. */
export function inferBody(request: QuietRequest, signature: Hex, input: Uint8Array): string {
  return JSON.stringify({
    request: quietRequestToJson(request),
    signature,
    input: Buffer.from(input).toString("base64"),
  });
}

/** An operator's refusal of a quiet request (`OpgError` `OperatorRefused`), with its HTTP status and error code. */
export class OperatorRefusedError extends OpgError {
  constructor(
    /** The HTTP status the gateway answered. */
    readonly status: number,
    /** The gateway's snake_case code (`insufficient_funds`, `unknown_model`, …; `http_<status>` when it gave none). */
    readonly reason: string,
    /** The gateway's explanation. */
    readonly detail: string,
  ) {
    super("OperatorRefused", `the operator refused the request (${status} ${reason}): ${detail}`);
  }
}

export function malformed(what: string): never {
  throw new OpgError("ReceiptRejected", `receipt rejected: the operator's answer is malformed (${what})`);
}

/** The gateway's 200 body, checked for shape (its content is checked by `verifyQuietReceipt`). */
export function parseAnswer(body: unknown): InferAnswer {
  try {
    return inferAnswerFromJson(body);
  } catch (error) {
    if (error instanceof QuietJsonError) malformed(error.message);
    throw error;
  }
}

/** The gateway's error body as a refusal (any body: a proxy's HTML page is a refusal too). */
async function refusal(response: Response): Promise<OperatorRefusedError> {
  const text = await response.text().catch(() => "");
  let code = `http_${response.status}`;
  let detail = text.slice(0, 200) || response.statusText || "no explanation given";
  try {
    const body: unknown = JSON.parse(text);
    if (isJsonObject(body)) {
      if (typeof body.code === "string" && /^[a-z0-9_]{1,64}$/.test(body.code)) code = body.code;
      if (typeof body.error === "string") detail = body.error.slice(0, 500);
    }
  } catch {
    // not JSON: keep the text
  }
  return new OperatorRefusedError(response.status, code, detail);
}

/** A POST that got no answer (connection refused or reset, timeout): the request may or may not have been served. */
export class NetworkFailure extends Error {
  override readonly name = "NetworkFailure";
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * POST a body to a gateway's `/v1/infer` once: the parsed JSON of a 200 answer. Throws `OperatorRefusedError` for any
 * other status, `NetworkFailure` when no answer was read (the caller may retry the same body), and `ReceiptRejected`
 * for a 200 answer that is not JSON.
 */
export async function postInfer(
  doFetch: InferFetch,
  url: string,
  body: string,
  timeoutMs: number,
): Promise<unknown> {
  let response: Response;
  let text: string;
  try {
    response = await doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200) throw await refusal(response);
    text = await response.text();
  } catch (error) {
    if (error instanceof OperatorRefusedError) throw error;
    throw new NetworkFailure(error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    malformed("the body is not JSON");
  }
}
