import {
  inferenceConsumerAbi,
  inferenceSettlementAbi,
  modelRegistryAbi,
  operatorRegistryAbi,
  opgTokenAbi,
} from "./generated.js";

export { inferenceConsumerAbi, inferenceSettlementAbi, modelRegistryAbi, operatorRegistryAbi, opgTokenAbi };

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
