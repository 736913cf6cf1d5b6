/** The answer of a settled request for people: the class(es), and the logits in signature mode. */
import type { Hex } from "viem";
import { decodeOutput, type DecodedOutput } from "../sdk/decode.js";

/**
 * Decode a result's output with the SDK's {@link decodeOutput} (`outputWidth` from a checked model file, else one
 * row); `undefined` when the bytes are not what the mode produces (the hash still identifies them).
 */
export function decodeAnswer(output: Hex, mode: number, outputWidth?: number): DecodedOutput | undefined {
  try {
    return decodeOutput(output, { mode, ...(outputWidth === undefined ? {} : { outputWidth }) });
  } catch {
    return undefined;
  }
}

const short = (value: number) => Number(value.toPrecision(6)).toString();

/** `answer: class 1 (logits -1.2, 3.4, 0.5)` lines for people. */
export function answerLines(answer: DecodedOutput | undefined, indent = "  "): string[] {
  if (answer === undefined)
    return [`${indent}answer: the output could not be decoded (its hash identifies it)`];
  return answer.classes.map((cls, i) => {
    const row = answer.logits?.[i];
    const sample = answer.classes.length > 1 ? ` (sample ${i + 1})` : "";
    const detail = row === undefined ? " (proven)" : ` (logits ${row.map(short).join(", ")})`;
    return `${indent}answer${sample}: class ${cls}${detail}`;
  });
}
