import type { Signer } from "ethers";
import type { Hex } from "viem";
import { resultTypesForEthers, type ResultMessage, type SettlementDomain } from "../protocol/typed-data.js";

/** Anything that signs EIP-712 typed data the ethers way (a `Wallet`, a Hardhat signer). */
export type ResultSigner = Pick<Signer, "signTypedData">;

/** Sign a result with an ethers signer, using the protocol's single typed-data definition. */
export async function signResultWithEthers(
  signer: ResultSigner,
  domain: SettlementDomain,
  message: ResultMessage,
): Promise<Hex> {
  return (await signer.signTypedData(domain, resultTypesForEthers(), { ...message })) as Hex;
}
