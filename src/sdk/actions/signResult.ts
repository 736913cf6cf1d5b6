import type { Account, Hex } from "viem";
import { signResult as signWithKey } from "../../modes/signature/sign.js";
import type { KeySigner } from "../../modes/types.js";
import { VerificationMode } from "../../protocol/modes.js";
import type { InferenceRequest } from "../../protocol/request.js";
import { chainIdOf, type OpgContext } from "../context.js";
import { OpgError } from "../errors.js";
import { resultFields } from "../results.js";
import type { SignedResult } from "../types.js";
import { getModeContract } from "./getModeContract.js";

export interface SignResultParams {
  /** The operator's signing key, or a JSON-RPC account that signs through the wallet client. */
  signer: KeySigner | Account;
  requestId: bigint;
  request: InferenceRequest;
  result: SignedResult;
}

/**
 * The EIP-712 signature of a result, by the operator's signing key, under the domain of this deployment's
 * `SignatureMode` (found through the core).
 */
export async function signResult(ctx: OpgContext<"settlement">, params: SignResultParams): Promise<Hex> {
  const { signer } = params;
  let key: KeySigner;
  if ("signTypedData" in signer && typeof signer.signTypedData === "function") {
    key = signer;
  } else {
    const wallet = ctx.walletClient;
    if (wallet === undefined) {
      throw new OpgError(
        "NoAccount",
        "a JSON-RPC account can only sign through a wallet client: pass walletClient",
      );
    }
    key = {
      address: signer.address,
      signTypedData: ((typedData: Parameters<KeySigner["signTypedData"]>[0]) =>
        wallet.signTypedData({ account: signer, ...typedData })) as KeySigner["signTypedData"],
    };
  }
  const [chainId, signatureMode] = await Promise.all([
    chainIdOf(ctx),
    getModeContract(ctx, { mode: VerificationMode.Signature }),
  ]);
  return signWithKey(
    key,
    chainId,
    signatureMode,
    params.requestId,
    params.request,
    resultFields(params.result),
  );
}
