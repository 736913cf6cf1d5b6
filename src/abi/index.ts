import {
  inferenceConsumerAbi,
  inferenceSettlementAbi,
  irisMlpVerifierAbi,
  irisMlpVerifierCodeHash,
  modelRegistryAbi,
  operatorRegistryAbi,
  opgTokenAbi,
  quietModeAbi,
  signatureModeAbi,
  zkModeAbi,
} from "./generated.js";

export {
  inferenceConsumerAbi,
  inferenceSettlementAbi,
  irisMlpVerifierAbi,
  irisMlpVerifierCodeHash,
  modelRegistryAbi,
  operatorRegistryAbi,
  opgTokenAbi,
  quietModeAbi,
  signatureModeAbi,
  zkModeAbi,
};

/**
 * Every custom error any protocol contract can raise, so a revert bubbling up through a mode and the core (a
 * registry's `UnknownModel`, a token's `ERC20InsufficientAllowance`) decodes by name wherever it came from.
 */
export const protocolErrorsAbi = [
  ...inferenceSettlementAbi,
  ...signatureModeAbi,
  ...zkModeAbi,
  ...quietModeAbi,
  ...modelRegistryAbi,
  ...operatorRegistryAbi,
  ...opgTokenAbi,
].filter((item) => item.type === "error");
