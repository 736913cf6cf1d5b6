import { operatorRegistryAbi } from "../../abi/index.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { OpgError } from "../errors.js";

/** The registry's cap on an endpoint URL, in UTF-8 bytes (`MAX_ENDPOINT_BYTES`). */
const MAX_ENDPOINT_BYTES = 256;

export interface SetOperatorEndpointParams {
  /**
   * The operator's quiet-mode gateway base URL, as clients should reach it (`https://operator.example:8080`): an
   * absolute `http:` or `https:` URL with a host, no credentials, at most 256 bytes. An empty string clears it.
   */
  url: string;
}

/**
 * Publish (or, with `url: ""`, clear) the wallet account's quiet-mode gateway URL in the operator registry, so
 * clients find it with `getOperatorEndpoint`. The account must be a registered operator (`UnknownOperator`
 * otherwise). The URL is checked here first, and a bad one throws `BadInput` before anything is sent.
 */
export function setOperatorEndpoint(
  ctx: OpgContext<"operators">,
  { url }: SetOperatorEndpointParams,
): Promise<WriteResult> {
  if (url !== "") checkEndpointUrl(url);
  return writeAndWait(ctx, {
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "setEndpoint",
    args: [url],
  });
}

/** Throw `BadInput` naming the problem unless `url` is one clients will accept (see `getOperatorEndpoint`). */
function checkEndpointUrl(url: string): void {
  const bad = (why: string) => new OpgError("BadInput", `endpoint url ${JSON.stringify(url)} ${why}`);
  if (typeof url !== "string") throw bad("is not a string");
  if (hasSpaceOrControl(url)) throw bad("contains whitespace or control characters");
  const bytes = new TextEncoder().encode(url).length;
  if (bytes > MAX_ENDPOINT_BYTES) throw bad(`is ${bytes} bytes, over the registry's ${MAX_ENDPOINT_BYTES}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad("is not an absolute URL (e.g. https://operator.example:8080)");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw bad(`must be http:// or https://, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === "") throw bad("has no host");
  if (parsed.username !== "" || parsed.password !== "") {
    throw bad("carries credentials: they would be public on chain");
  }
}

/** Whether `value` holds a space, a C0 control character or DEL (never part of a URL as published). */
function hasSpaceOrControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}
