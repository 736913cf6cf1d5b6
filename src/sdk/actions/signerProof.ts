import type { Hex } from "viem";
import type { KeySigner } from "../../modes/types.js";
import { chainIdOf, requireAccount, type OpgContext } from "../context.js";
import { signSignerProof } from "../signer-proof.js";

export interface SignerProofParams {
  /** The signing key: a local account, or an object whose `signTypedData` asks the key's holder. */
  signer: KeySigner;
}

/** The signing key's EIP-712 proof of possession for the wallet's account, checked before it is returned. */
export async function signerProof(ctx: OpgContext<"operators">, { signer }: SignerProofParams): Promise<Hex> {
  return signSignerProof(signer, await chainIdOf(ctx), ctx.addresses.operators, requireAccount(ctx).address);
}
