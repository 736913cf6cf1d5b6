import { recoverTypedDataAddress, type Address, type Hex } from "viem";
import type { KeySigner } from "../modes/types.js";
import { operatorRegistryDomain, signerBindingTypedData } from "../protocol/typed-data.js";
import { OpgError } from "./errors.js";

/**
 * A signing key's proof of possession for `operator` (`OperatorRegistry.register` / `rotateSigner`): its EIP-712
 * signature over `SignerBinding(operator, signer)` under the registry's domain (chain id, registry address). The
 * proof is recovered here before it is returned, so a signer callback that signs with another key is refused before
 * any transaction.
 */
export async function signSignerProof(
  signer: KeySigner,
  chainId: bigint | number,
  operatorRegistry: Address,
  operator: Address,
): Promise<Hex> {
  const typedData = signerBindingTypedData(operatorRegistryDomain(chainId, operatorRegistry), {
    operator,
    signer: signer.address,
  });
  const proof = await signer.signTypedData(typedData);
  const recovered = await recoverTypedDataAddress({ ...typedData, signature: proof });
  if (recovered.toLowerCase() !== signer.address.toLowerCase()) {
    throw new OpgError(
      "BadSignerProof",
      `the signing key's proof of possession recovers ${recovered}, not ${signer.address}: sign it with the key itself`,
    );
  }
  return proof;
}
