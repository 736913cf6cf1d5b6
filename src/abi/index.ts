import {
  inferenceConsumerAbi,
  inferenceSettlementAbi,
  inferenceSettlementBytecode,
  irisMlpVerifierAbi,
  irisMlpVerifierBytecode,
  modelRegistryAbi,
  modelRegistryBytecode,
  operatorRegistryAbi,
  operatorRegistryBytecode,
  opgTokenAbi,
  opgTokenBytecode,
} from "./generated.js";

export {
  inferenceConsumerAbi,
  inferenceSettlementAbi,
  irisMlpVerifierAbi,
  modelRegistryAbi,
  operatorRegistryAbi,
  opgTokenAbi,
};

/**
 * Creation bytecode of the contracts a deployment creates (none needs library linking; the export script
 * refuses one that does), for `deployProtocol` and any other viem `deployContract`.
 */
export const protocolBytecode = {
  opgToken: opgTokenBytecode,
  modelRegistry: modelRegistryBytecode,
  operatorRegistry: operatorRegistryBytecode,
  inferenceSettlement: inferenceSettlementBytecode,
  irisMlpVerifier: irisMlpVerifierBytecode,
} as const;

/**
 * Every custom error any protocol contract can raise, so a revert bubbling up through settlement (a registry's
 * `UnknownModel`, a token's `ERC20InsufficientAllowance`) decodes by name wherever it came from.
 */
export const protocolErrorsAbi = [
  ...inferenceSettlementAbi,
  ...modelRegistryAbi,
  ...operatorRegistryAbi,
  ...opgTokenAbi,
].filter((item) => item.type === "error");
