import {
  inferenceSettlementBytecode,
  irisMlpVerifierBytecode,
  modelRegistryBytecode,
  operatorRegistryBytecode,
  opgTokenBytecode,
  quietModeBytecode,
  signatureModeBytecode,
  zkModeBytecode,
} from "./generated-bytecode.js";

/**
 * Creation bytecode of the contracts a deployment creates (none needs library linking; the export script
 * refuses one that does), for `deployProtocol` and any other viem `deployContract`. Kept apart from the ABIs:
 * only deployments load it.
 */
export const protocolBytecode = {
  opgToken: opgTokenBytecode,
  modelRegistry: modelRegistryBytecode,
  operatorRegistry: operatorRegistryBytecode,
  inferenceSettlement: inferenceSettlementBytecode,
  signatureMode: signatureModeBytecode,
  zkMode: zkModeBytecode,
  quietMode: quietModeBytecode,
  irisMlpVerifier: irisMlpVerifierBytecode,
} as const;
