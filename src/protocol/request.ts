import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";

/** A request as committed on chain (`IInferenceSettlement.Request`). */
export interface InferenceRequest {
  requester: Address;
  fee: bigint;
  modelOwner: Address;
  royaltyBps: number;
  protocolFeeBps: number;
  mode: number;
  deadline: bigint;
  modelId: Hex;
  inputHash: Hex;
  operator: Address;
  callback: Address;
  callbackGasLimit: number;
}

/** ABI components of `Request`, in declaration order (the order the commitment hashes them). */
export const REQUEST_COMPONENTS = [
  { name: "requester", type: "address" },
  { name: "fee", type: "uint96" },
  { name: "modelOwner", type: "address" },
  { name: "royaltyBps", type: "uint16" },
  { name: "protocolFeeBps", type: "uint16" },
  { name: "mode", type: "uint8" },
  { name: "deadline", type: "uint64" },
  { name: "modelId", type: "bytes32" },
  { name: "inputHash", type: "bytes32" },
  { name: "operator", type: "address" },
  { name: "callback", type: "address" },
  { name: "callbackGasLimit", type: "uint32" },
] as const;

/** The commitment a pending request is stored as: `keccak256(abi.encode(request))`. */
export function hashRequest(request: InferenceRequest): Hex {
  return keccak256(encodeAbiParameters([{ type: "tuple", components: REQUEST_COMPONENTS }], [request]));
}

/**
 * Normalise a `Request` decoded by any library (ethers `Result`, viem object) into an `InferenceRequest`.
 * Field access by name keeps this independent of positional decoding.
 */
export function toInferenceRequest(decoded: Record<keyof InferenceRequest, unknown>): InferenceRequest {
  return {
    requester: String(decoded.requester) as Address,
    fee: BigInt(decoded.fee as bigint | number | string),
    modelOwner: String(decoded.modelOwner) as Address,
    royaltyBps: Number(decoded.royaltyBps),
    protocolFeeBps: Number(decoded.protocolFeeBps),
    mode: Number(decoded.mode),
    deadline: BigInt(decoded.deadline as bigint | number | string),
    modelId: String(decoded.modelId) as Hex,
    inputHash: String(decoded.inputHash) as Hex,
    operator: String(decoded.operator) as Address,
    callback: String(decoded.callback) as Address,
    callbackGasLimit: Number(decoded.callbackGasLimit),
  };
}
