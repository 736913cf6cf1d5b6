import {
  inferenceConsumerAbi,
  inferenceSettlementAbi,
  inferenceSettlementBytecode,
  irisMlpVerifierAbi,
  irisMlpVerifierBytecode,
  irisMlpVerifierCodeHash,
  modelRegistryAbi,
  modelRegistryBytecode,
  operatorRegistryAbi,
  operatorRegistryBytecode,
  opgTokenAbi,
  opgTokenBytecode,
  signatureModeAbi,
  signatureModeBytecode,
  zkModeAbi,
  zkModeBytecode,
} from "./generated.js";

export {
  inferenceConsumerAbi,
  inferenceSettlementAbi,
  irisMlpVerifierAbi,
  irisMlpVerifierCodeHash,
  modelRegistryAbi,
  operatorRegistryAbi,
  opgTokenAbi,
  signatureModeAbi,
  zkModeAbi,
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
  signatureMode: signatureModeBytecode,
  zkMode: zkModeBytecode,
  irisMlpVerifier: irisMlpVerifierBytecode,
} as const;

/**
 * Every custom error any protocol contract can raise, so a revert bubbling up through a mode and the core (a
 * registry's `UnknownModel`, a token's `ERC20InsufficientAllowance`) decodes by name wherever it came from.
 */
export const protocolErrorsAbi = [
  ...inferenceSettlementAbi,
  ...signatureModeAbi,
  ...zkModeAbi,
  ...modelRegistryAbi,
  ...operatorRegistryAbi,
  ...opgTokenAbi,
].filter((item) => item.type === "error");
