/**
 * Fetching a committed batch's data from its `dataUri`: http(s) only, a size cap and a timeout, parsed with the one
 * quiet JSON codec. Every failure is a reason code (the `reason` label of `opg_watch_skips_total`), never a throw.
 */
import { batchDataFromJson, QuietJsonError, type BatchData } from "../protocol/quiet-json.js";

/** Why a batch's data could not be used (this attempt; the batch is retried with backoff). */
export type FetchFailure =
  /** The URI is not http(s), or not a URL at all. */
  | "bad_uri"
  /** No answer: connection refused, DNS, TLS, or the timeout. */
  | "unreachable"
  /** An HTTP status other than 200. */
  | "http_status"
  /** The body is larger than the cap. */
  | "too_large"
  /** Not JSON, or not a batch (`batchDataFromJson` refused it). */
  | "malformed";

/** What a fetch gave: the batch, or a failure and its detail. */
export type FetchResult = { data: BatchData } | { failure: FetchFailure; detail: string };

/** Limits of one fetch. */
export interface FetchLimits {
  /** Largest body read (bytes). */
  maxBytes: number;
  /** Whole request timeout (ms). */
  timeoutMs: number;
}

/** 64 MiB (a full 65,536-receipt batch is about 60 MB of JSON) and 15 s. */
export const DEFAULT_FETCH_LIMITS: FetchLimits = { maxBytes: 64 * 1024 * 1024, timeoutMs: 15_000 };

/** Read a response body, stopping at `maxBytes` (undefined when the body is larger). */
async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Fetch and parse a batch's data. Never throws. */
export async function fetchBatchData(
  uri: string,
  limits: FetchLimits = DEFAULT_FETCH_LIMITS,
): Promise<FetchResult> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { failure: "bad_uri", detail: "the data URI is not a URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { failure: "bad_uri", detail: `the data URI's scheme ${url.protocol} is not http(s)` };
  }
  let body: Uint8Array | undefined;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(limits.timeoutMs), redirect: "error" });
    if (response.status !== 200) {
      await response.body?.cancel();
      return { failure: "http_status", detail: `HTTP ${response.status}` };
    }
    body = await readCapped(response, limits.maxBytes);
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause?.code;
    return {
      failure: "unreachable",
      detail: typeof cause === "string" ? cause : (error as Error).name || "fetch failed",
    };
  }
  if (body === undefined)
    return { failure: "too_large", detail: `the body is over ${limits.maxBytes} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { failure: "malformed", detail: "the body is not JSON" };
  }
  try {
    return { data: batchDataFromJson(json) };
  } catch (error) {
    if (error instanceof QuietJsonError) return { failure: "malformed", detail: error.message };
    throw error;
  }
}
