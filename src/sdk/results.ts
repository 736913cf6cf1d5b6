import { keccak256 } from "viem";
import type { ResultFields } from "../protocol/typed-data.js";
import type { SignedResult } from "./types.js";

/** The fields of a signed result, defaults filled in (`outputHash` = keccak256 of the output, no URI). */
export function resultFields(result: SignedResult): ResultFields {
  return {
    operator: result.operator,
    outputHash: result.outputHash ?? keccak256(result.output),
    output: result.output,
    outputUri: result.outputUri ?? "",
  };
}
