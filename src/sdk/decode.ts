import { hexToBytes, hexToBigInt, type Hex } from "viem";
import { argmax, decodeLogits } from "../model/encoding.js";
import { VerificationMode } from "../protocol/modes.js";
import { OpgError } from "./errors.js";

/** A decoded model output: the answer (a class per row) and, when the output carries them, the raw scores. */
export interface DecodedOutput {
  /** The predicted class of each row (argmax of its scores; for zk mode, the proven class). */
  classes: number[];
  /** Signature mode: each row's scores (float32 logits), as the runtime produced them. */
  logits?: number[][];
}

export interface DecodeOutputOptions {
  /** The request's verification mode (`VerificationMode`). */
  mode: number;
  /** Scores per row (the model's output width, 3 for the Iris example); default: the whole output is one row. */
  outputWidth?: number;
}

/**
 * Decode a settled result's output by the protocol's output encoding: signature mode carries the runtime's
 * float32 little-endian scores row by row (the class is each row's argmax); zk mode carries the circuit's public
 * output, the class, as one 32-byte word. Throws `BadInput` on an output that is not of that shape.
 */
export function decodeOutput(output: Hex, options: DecodeOutputOptions): DecodedOutput {
  if (options.mode === VerificationMode.Zk) {
    if (output.length !== 66) {
      throw new OpgError("BadInput", `a zk output is one 32-byte word, got ${(output.length - 2) / 2} bytes`);
    }
    const value = hexToBigInt(output);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new OpgError("BadInput", `the zk output ${value} is not a class index`);
    }
    return { classes: [Number(value)] };
  }
  if (options.mode !== VerificationMode.Signature) {
    throw new OpgError("BadInput", `no output decoding is known for verification mode ${options.mode}`);
  }
  const bytes = hexToBytes(output);
  const width = options.outputWidth ?? bytes.length / 4;
  try {
    const flat = decodeLogits(bytes, width);
    const logits: number[][] = [];
    for (let i = 0; i < flat.length; i += width) logits.push(Array.from(flat.subarray(i, i + width)));
    return { classes: logits.map((row) => argmax(row)), logits };
  } catch (error) {
    throw new OpgError(
      "BadInput",
      `the output is not float32 scores in rows of ${width}: ${(error as Error).message}`,
    );
  }
}
