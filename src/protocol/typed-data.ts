import {
  hashTypedData,
  keccak256,
  parseSignature,
  signatureToCompactSignature,
  toHex,
  type Address,
  type Hex,
} from "viem";
import { hashRequest, type InferenceRequest } from "./request.js";

/** An EIP-712 domain of one of the protocol's contracts: name, version, chain and the contract itself. */
export interface ProtocolDomain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
}

/** EIP-712 domain name and version of `SignatureMode` (results are signed for it). */
export const SIGNATURE_MODE_DOMAIN_NAME = "OPG Signature Mode";
export const SIGNATURE_MODE_DOMAIN_VERSION = "1";
/** EIP-712 domain name and version of `OperatorRegistry` (signing keys prove possession under it). */
export const OPERATOR_REGISTRY_DOMAIN_NAME = "OPG Operator Registry";
export const OPERATOR_REGISTRY_DOMAIN_VERSION = "1";

/** The domain results are signed under: chain id and the `SignatureMode` contract. */
export function signatureModeDomain(chainId: bigint | number, signatureMode: Address): ProtocolDomain {
  return {
    name: SIGNATURE_MODE_DOMAIN_NAME,
    version: SIGNATURE_MODE_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: signatureMode,
  };
}

/** The domain a signing key proves possession under: chain id and the `OperatorRegistry` contract. */
export function operatorRegistryDomain(chainId: bigint | number, operatorRegistry: Address): ProtocolDomain {
  return {
    name: OPERATOR_REGISTRY_DOMAIN_NAME,
    version: OPERATOR_REGISTRY_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: operatorRegistry,
  };
}

/**
 * The signed result type (`SignatureMode.RESULT_TYPEHASH`). It binds every field a consumer or auditor receives: the
 * whole committed request through its hash, the output hash, the inline output bytes, the output URI and the
 * operator (the domain adds chain and contract; the payout comes from the registry).
 */
export const RESULT_TYPES = {
  InferenceResult: [
    { name: "requestId", type: "uint256" },
    { name: "requestHash", type: "bytes32" },
    { name: "outputHash", type: "bytes32" },
    { name: "output", type: "bytes" },
    { name: "outputUri", type: "string" },
    { name: "operator", type: "address" },
  ],
} as const;

/** The message an operator signs for a result. */
export interface ResultMessage {
  requestId: bigint;
  /** `hashRequest` of the request exactly as committed. */
  requestHash: Hex;
  outputHash: Hex;
  /** The inline output bytes (`0x` when the output travels by URI only). */
  output: Hex;
  outputUri: string;
  operator: Address;
}

/** A result as posted to `fulfillSigned` (`IInferenceSettlement.Result`). */
export interface ResultFields {
  operator: Address;
  outputHash: Hex;
  output: Hex;
  outputUri: string;
}

/** The message for `result` of request `requestId`. */
export function resultMessage(
  requestId: bigint,
  request: InferenceRequest,
  result: ResultFields,
): ResultMessage {
  return { requestId, requestHash: hashRequest(request), ...result };
}

/** Full typed data in the shape viem's `signTypedData` / `hashTypedData` / `recoverTypedDataAddress` take. */
export function resultTypedData(domain: ProtocolDomain, message: ResultMessage) {
  return { domain, types: RESULT_TYPES, primaryType: "InferenceResult", message } as const;
}

/** The EIP-712 digest `SignatureMode` verifies (`resultDigest`). */
export function resultDigest(domain: ProtocolDomain, message: ResultMessage): Hex {
  return hashTypedData(resultTypedData(domain, message));
}

/** An ECDSA signature in EIP-2098 compact form: `fulfillSigned` takes `(r, vs)` (64 bytes of calldata, not 97). */
export interface CompactSignature {
  r: Hex;
  vs: Hex;
}

/** The compact form of a 65-byte signature. */
export function compactSignature(signature: Hex): CompactSignature {
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature));
  return { r, vs: yParityAndS };
}

/** A signed result's output fields in hashed form (`ISignatureMode.ResultClaim`), as equivocation evidence. */
export interface ResultClaim {
  outputHash: Hex;
  outputBytesHash: Hex;
  outputUriHash: Hex;
}

/** The claim a result message makes, for `reportEquivocation`. */
export function resultClaim(
  message: Pick<ResultMessage, "outputHash" | "output" | "outputUri">,
): ResultClaim {
  return {
    outputHash: message.outputHash,
    outputBytesHash: keccak256(message.output),
    outputUriHash: keccak256(toHex(message.outputUri)),
  };
}

/** The result types in the mutable shape ethers' `signTypedData(domain, types, value)` takes. */
export function resultTypesForEthers(): Record<string, { name: string; type: string }[]> {
  return { InferenceResult: RESULT_TYPES.InferenceResult.map((field) => ({ ...field })) };
}

/** The type a signing key signs to prove possession (`OperatorRegistry.SIGNER_BINDING_TYPEHASH`). */
export const SIGNER_BINDING_TYPES = {
  SignerBinding: [
    { name: "operator", type: "address" },
    { name: "signer", type: "address" },
  ],
} as const;

/** What a signing key signs to be registered to `operator`. */
export interface SignerBindingMessage {
  operator: Address;
  signer: Address;
}

/** Full typed data of a proof of possession, for viem. */
export function signerBindingTypedData(domain: ProtocolDomain, message: SignerBindingMessage) {
  return { domain, types: SIGNER_BINDING_TYPES, primaryType: "SignerBinding", message } as const;
}

/** The signer-binding types in the mutable shape ethers takes. */
export function signerBindingTypesForEthers(): Record<string, { name: string; type: string }[]> {
  return { SignerBinding: SIGNER_BINDING_TYPES.SignerBinding.map((field) => ({ ...field })) };
}
