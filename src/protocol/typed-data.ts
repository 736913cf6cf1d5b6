import { hashTypedData, type Address, type Hex } from "viem";

/** EIP-712 domain name and version of `InferenceSettlement`. */
export const SETTLEMENT_DOMAIN_NAME = "OPG Inference Settlement";
export const SETTLEMENT_DOMAIN_VERSION = "1";

/** The signed result type. Every field identifies what ran; the domain adds chain id and contract. */
export const RESULT_TYPES = {
  InferenceResult: [
    { name: "requestId", type: "uint256" },
    { name: "modelId", type: "bytes32" },
    { name: "inputHash", type: "bytes32" },
    { name: "outputHash", type: "bytes32" },
    { name: "operator", type: "address" },
  ],
} as const;

/** The message an operator signs for a result. */
export interface ResultMessage {
  requestId: bigint;
  modelId: Hex;
  inputHash: Hex;
  outputHash: Hex;
  operator: Address;
}

/** Domain of a settlement deployment. */
export interface SettlementDomain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
}

export function settlementDomain(chainId: bigint | number, verifyingContract: Address): SettlementDomain {
  return {
    name: SETTLEMENT_DOMAIN_NAME,
    version: SETTLEMENT_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract,
  };
}

/** Full typed data in the shape viem's `signTypedData` / `hashTypedData` take. */
export function resultTypedData(domain: SettlementDomain, message: ResultMessage) {
  return { domain, types: RESULT_TYPES, primaryType: "InferenceResult", message } as const;
}

/** The EIP-712 digest the contract verifies (`InferenceSettlement.resultDigest`). */
export function resultDigest(domain: SettlementDomain, message: ResultMessage): Hex {
  return hashTypedData(resultTypedData(domain, message));
}

/** The types in the mutable shape ethers' `signTypedData(domain, types, value)` takes. */
export function resultTypesForEthers(): Record<string, { name: string; type: string }[]> {
  return { InferenceResult: RESULT_TYPES.InferenceResult.map((field) => ({ ...field })) };
}
