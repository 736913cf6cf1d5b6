import { getAddress, isAddress, type Address } from "viem";
import { operatorRegistryAbi } from "../../abi/index.js";
import type { OpgContext } from "../context.js";
import { OpgError } from "../errors.js";

export interface GetOperatorEndpointParams {
  /** The operator account (not its signing key). */
  operator: Address;
}

/**
 * The quiet-mode gateway URL an operator published in the registry (`setEndpoint`), or `undefined` when it published
 * none. The value is the operator's own, unchecked input: anything but an absolute `http:` or `https:` URL with a host
 * (a `javascript:` or `file:` URL, a relative path, an unparsable string) is returned as `undefined` too, never
 * passed on. A URL is only a locator: every answer from it is still verified (`verifyQuietReceipt`).
 */
export async function getOperatorEndpoint(
  ctx: OpgContext<"operators">,
  { operator }: GetOperatorEndpointParams,
): Promise<string | undefined> {
  if (!isAddress(operator, { strict: false })) {
    throw new OpgError("BadAddress", `operator is not an address: ${String(operator)}`);
  }
  const published = await ctx.publicClient.readContract({
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "endpoint",
    args: [getAddress(operator)],
  });
  return isHttpUrl(published) ? published : undefined;
}

/** Whether `value` is an absolute http(s) URL with a host and no surrounding whitespace or control characters. */
function isHttpUrl(value: string): boolean {
  // `new URL` silently strips leading/trailing whitespace and C0 controls: refuse them rather than "fix" them.
  if (value === "" || hasSpaceOrControl(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
}

/** Whether `value` holds a space, a C0 control character or DEL (never part of a URL as published). */
function hasSpaceOrControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}
