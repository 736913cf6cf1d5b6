import { Signature, type Signer } from "ethers";
import type { OPGToken } from "../../typechain-types/index.js";
import { permitTypesForEthers } from "../protocol/permit.js";

/** EIP-2612 permit fields in the shape `InferenceSettlement.Permit` takes. */
export interface PermitSignature {
  value: bigint;
  deadline: bigint;
  v: number;
  r: string;
  s: string;
}

/** Sign an EIP-2612 permit of `value` OPG from `owner` to `spender`, read from the token's own domain. */
export async function signPermit(
  token: OPGToken,
  owner: Signer,
  spender: string,
  value: bigint,
  deadline: bigint,
): Promise<PermitSignature> {
  const ownerAddress = await owner.getAddress();
  const [domain, nonce] = await Promise.all([token.eip712Domain(), token.nonces(ownerAddress)]);
  const signature = await owner.signTypedData(
    {
      name: domain.name,
      version: domain.version,
      chainId: domain.chainId,
      verifyingContract: domain.verifyingContract,
    },
    permitTypesForEthers(),
    { owner: ownerAddress, spender, value, nonce, deadline },
  );
  const { v, r, s } = Signature.from(signature);
  return { value, deadline, v, r, s };
}
