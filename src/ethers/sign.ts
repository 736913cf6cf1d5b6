import type { Signer } from "ethers";
import type { Hex } from "viem";
import {
  resultTypesForEthers,
  signerBindingTypesForEthers,
  type ProtocolDomain,
  type ResultMessage,
  type SignerBindingMessage,
} from "../protocol/typed-data.js";

/** Anything that signs EIP-712 typed data the ethers way (a `Wallet`, a Hardhat signer). */
export type TypedDataSigner = Pick<Signer, "signTypedData">;

/** Sign a result with an ethers signer, using the protocol's single typed-data definition. */
export async function signResultWithEthers(
  signer: TypedDataSigner,
  domain: ProtocolDomain,
  message: ResultMessage,
): Promise<Hex> {
  return (await signer.signTypedData(domain, resultTypesForEthers(), { ...message })) as Hex;
}

/** A signing key's proof of possession for `message.operator` (`OperatorRegistry.register` / `rotateSigner`). */
export async function signSignerBindingWithEthers(
  signer: TypedDataSigner,
  domain: ProtocolDomain,
  message: SignerBindingMessage,
): Promise<Hex> {
  return (await signer.signTypedData(domain, signerBindingTypesForEthers(), { ...message })) as Hex;
}
