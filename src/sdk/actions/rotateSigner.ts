import { operatorRegistryAbi } from "../../abi/index.js";
import type { KeySigner } from "../../modes/types.js";
import { writeAndWait, type OpgContext, type WriteResult } from "../context.js";
import { signerProof } from "./signerProof.js";

export interface RotateSignerParams {
  /** The new signing key (signs its proof of possession here). */
  signer: KeySigner;
}

/**
 * Replace the operator's signing key. The old key stops serving at once; results it signs for later requests are
 * not accepted.
 */
export async function rotateSigner(
  ctx: OpgContext<"operators">,
  { signer }: RotateSignerParams,
): Promise<WriteResult> {
  const proof = await signerProof(ctx, { signer });
  return writeAndWait(ctx, {
    address: ctx.addresses.operators,
    abi: operatorRegistryAbi,
    functionName: "rotateSigner",
    args: [signer.address, proof],
  });
}
