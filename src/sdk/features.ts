import { keccak256, type Hex } from "viem";
import { encodeFeatures, toDataUri } from "../model/encoding.js";
import { modeName, VerificationMode } from "../protocol/modes.js";
import { OpgError } from "./errors.js";

/** A request input ready to open: its canonical bytes, what the request commits to, and where it travels. */
export interface PreparedInput {
  features: number[];
  bytes: Uint8Array;
  inputHash: Hex;
  inputUri: string;
}

/**
 * The most samples (rows) one request may carry, by verification mode: what operator nodes accept. A request over
 * the cap is skipped by every node and ends refunded. (A zk proof covers one sample.)
 */
export const MAX_INPUT_ROWS: Readonly<Record<number, number>> = {
  [VerificationMode.Signature]: 64,
  [VerificationMode.Zk]: 1,
};

/** `"5.1, 3.5,1.4 0.2"` → numbers; a clear error names the bad item. */
export function parseFeatures(text: string): number[] {
  const items = text.split(/[\s,]+/).filter((s) => s !== "");
  if (items.length === 0) throw new OpgError("BadInput", "the input is empty: give comma-separated numbers");
  return items.map((item, i) => {
    const value = Number(item);
    if (!Number.isFinite(value))
      throw new OpgError("BadInput", `input value ${i + 1} is not a number: "${item}"`);
    return value;
  });
}

/** Refuse values that are not finite once rounded to float32 (e.g. 1e40), which is what the model is run on. */
export function checkFinite(features: readonly number[]): void {
  features.forEach((value, i) => {
    if (!Number.isFinite(Math.fround(value))) {
      throw new OpgError(
        "BadInput",
        `input value ${i + 1} (${value}) is not a finite float32 number: values must be within ±3.4e38`,
      );
    }
  });
}

/**
 * Check features against a model's input width before anything is paid for: every value finite once rounded to
 * float32 (the encoding the model runs on: 1e40 is +Infinity there), a whole number of samples of `inputWidth`
 * values, at most the mode's {@link MAX_INPUT_ROWS}. Throws `BadInput` naming the first problem, in values (not
 * bytes); returns the number of samples.
 */
export function checkFeatures(
  features: readonly number[],
  inputWidth: number,
  mode: number = VerificationMode.Signature,
): number {
  checkFinite(features);
  const plural = (n: number) => `${n} value${n === 1 ? "" : "s"}`;
  if (features.length === 0 || features.length % inputWidth !== 0) {
    throw new OpgError(
      "BadInput",
      `the model takes ${plural(inputWidth)} per sample, got ${plural(features.length)}: give a multiple of ${inputWidth} (one sample per ${inputWidth} values)`,
    );
  }
  const rows = features.length / inputWidth;
  const cap = MAX_INPUT_ROWS[mode] ?? 1;
  if (rows > cap) {
    throw new OpgError(
      "BadInput",
      `${rows} samples of ${plural(inputWidth)}, but a ${modeName(mode)}-mode request carries at most ${cap}`,
    );
  }
  return rows;
}

/**
 * Signature mode: encode features as float32 LE, carry them in a `data:` URI (so anyone can re-run the request from
 * chain data) and commit to them with keccak256. (Zk mode commits with the circuit's Poseidon hash: `prepareInput`
 * in the `/zk` subpath.)
 */
export function prepareSignatureInput(features: readonly number[]): PreparedInput {
  const bytes = encodeFeatures(features);
  return { features: [...features], bytes, inputHash: keccak256(bytes), inputUri: toDataUri(bytes) };
}
