/**
 * Validation of a request's input before any work: the URI (only inline canonical `data:` URIs are read), the
 * bytes against the served model's declared shape (a non-empty whole number of rows of its input width, within the
 * mode's row cap), and every value (finite as float32; in zk mode quantizable within the circuit's bits). Pure: no
 * I/O, no runtime. A request that fails is skipped with the reason, so it can never stop the node.
 */
import { DATA_URI_PREFIX, decodeFeatures, fromDataUri } from "../model/encoding.js";
import { VerificationMode } from "../protocol/modes.js";
import { MAX_INPUT_ROWS } from "../sdk/features.js";
import type { ZkCircuitParams } from "../zk/params.js";
import { quantizeValue } from "../zk/quantize.js";
import { skip, type SkipReason } from "./skip.js";

/** Longest input URI the node reads (characters); a valid request of the most rows (`MAX_INPUT_ROWS`) is far below. */
export const MAX_INPUT_URI_LENGTH = 8_192;

const FLOAT32_BYTES = 4;

/** What a mode accepts of a model's input. */
export interface InputShape {
  /** Features per row: the model's input width (from its ONNX file). */
  width: number;
  /** Most rows. */
  maxRows: number;
  /** Zk mode: every value must quantize within these parameters. */
  quantize?: ZkCircuitParams;
}

/** Validated features, or why the request is skipped. */
export type InputCheck = { features: Float32Array; rows: number } | { skip: SkipReason };

/** The shape mode bit `mode` accepts for a model of input width `width` (zk: with its circuit parameters). */
export function inputShape(mode: number, width: number, zkParams?: ZkCircuitParams): InputShape {
  // The row caps are the SDK's (`MAX_INPUT_ROWS`), which clients check before a request is paid for.
  const maxRows = MAX_INPUT_ROWS[mode] ?? 1;
  if (mode === VerificationMode.Zk) {
    return { width, maxRows, ...(zkParams === undefined ? {} : { quantize: zkParams }) };
  }
  return { width, maxRows };
}

/**
 * The bytes of an input URI, or why they cannot be read: over `MAX_INPUT_URI_LENGTH` (`oversized_input`), not a
 * `data:` URI (`input_unavailable`: the node fetches nothing remote), or not exactly the protocol's media type and
 * canonical base64 (`malformed_input`).
 */
export function readInputUri(uri: string): { bytes: Uint8Array } | { skip: SkipReason } {
  if (uri.length > MAX_INPUT_URI_LENGTH) {
    return {
      skip: skip("oversized_input", `input URI of ${uri.length} characters (cap ${MAX_INPUT_URI_LENGTH})`),
    };
  }
  if (!uri.startsWith("data:")) {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)?.[1];
    return {
      skip: skip(
        "input_unavailable",
        `input URI ${scheme === undefined ? "without a scheme" : `of scheme ${scheme}:`} is not read by this node ` +
          `(only inline "${DATA_URI_PREFIX}..." URIs are)`,
      ),
    };
  }
  try {
    return { bytes: fromDataUri(uri) };
  } catch (error) {
    return { skip: skip("malformed_input", error instanceof Error ? error.message : String(error)) };
  }
}

/** Check input bytes against `shape` and decode them. */
export function validateFeatures(bytes: Uint8Array, shape: InputShape): InputCheck {
  const rowBytes = FLOAT32_BYTES * shape.width;
  const rowsWord = `row${shape.maxRows === 1 ? "" : "s"}`;
  if (bytes.length > shape.maxRows * rowBytes) {
    return {
      skip: skip(
        "oversized_input",
        `${Math.floor(bytes.length / FLOAT32_BYTES)} values is more than ${shape.maxRows} ${rowsWord} of ${shape.width} values`,
      ),
    };
  }
  if (bytes.length === 0 || bytes.length % rowBytes !== 0) {
    return {
      skip: skip(
        "malformed_input",
        bytes.length % FLOAT32_BYTES === 0
          ? `${bytes.length / FLOAT32_BYTES} values: the model takes ${shape.width} values per sample (a non-empty whole number of samples)`
          : `${bytes.length} bytes is not a whole number of float32 values (4 bytes each)`,
      ),
    };
  }
  const features = decodeFeatures(bytes, shape.width);
  for (let i = 0; i < features.length; i++) {
    const value = features[i]!;
    if (!Number.isFinite(value)) {
      return { skip: skip("non_finite_input", `${where(i, shape.width)} is ${value} as float32`) };
    }
    if (shape.quantize !== undefined) {
      try {
        quantizeValue(value, shape.quantize, where(i, shape.width));
      } catch (error) {
        return { skip: skip("input_out_of_range", error instanceof Error ? error.message : String(error)) };
      }
    }
  }
  return { features, rows: features.length / shape.width };
}

/** Read and validate a request's input URI against `shape`: the bytes, or why the request is skipped. */
export function validateInput(
  uri: string,
  shape: InputShape,
): { bytes: Uint8Array; features: Float32Array; rows: number } | { skip: SkipReason } {
  const read = readInputUri(uri);
  if ("skip" in read) return read;
  const checked = validateFeatures(read.bytes, shape);
  return "skip" in checked ? checked : { bytes: read.bytes, ...checked };
}

function where(index: number, width: number): string {
  return `input[${Math.floor(index / width)}][${index % width}]`;
}
