/**
 * Canonical byte encodings of the protocol's model inputs and outputs.
 *
 * Features and logits travel as float32 little-endian values, concatenated row-major with no
 * header: a batch of N Iris samples is N * 4 * 4 bytes. Endianness is fixed explicitly (DataView),
 * never taken from the host. Small inputs travel on chain inside a request's input URI as a
 * base64 `data:` URI, so anyone can re-run a request from chain data alone.
 */

const FLOAT32_BYTES = 4;

/** The only media type and encoding accepted in an input/output data URI. */
export const DATA_URI_PREFIX = "data:application/octet-stream;base64,";

// Canonical (padded, standard alphabet) base64: groups of 4 chars, `=` padding only at the end.
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** float32 little-endian bytes of `values`; `what` names them in errors. Throws on non-finite values. */
export function encodeFloat32LE(values: ArrayLike<number>, what = "values"): Uint8Array {
  const bytes = new Uint8Array(values.length * FLOAT32_BYTES);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value)) {
      throw new RangeError(`${what}[${i}] is not a finite number: ${value}`);
    }
    view.setFloat32(i * FLOAT32_BYTES, value, true);
  }
  return bytes;
}

/**
 * Decodes float32 LE values. `groupSize`, when given, is the row width (features per sample,
 * classes per output): the byte length must then be a non-empty whole number of rows.
 */
export function decodeFloat32LE(bytes: Uint8Array, what = "values", groupSize?: number): Float32Array {
  if (groupSize !== undefined && (!Number.isInteger(groupSize) || groupSize <= 0)) {
    throw new RangeError(`${what}: row width must be a positive integer, got ${groupSize}`);
  }
  const rowBytes = FLOAT32_BYTES * (groupSize ?? 1);
  if (bytes.length === 0 || bytes.length % rowBytes !== 0) {
    const unit = groupSize === undefined ? "float32 values" : `rows of ${groupSize} float32 values`;
    throw new RangeError(
      `${what}: ${bytes.length} bytes is not a non-empty whole number of ${unit} (${rowBytes} bytes each)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(bytes.length / FLOAT32_BYTES);
  for (let i = 0; i < values.length; i++) {
    values[i] = view.getFloat32(i * FLOAT32_BYTES, true);
  }
  return values;
}

/**
 * Encodes one sample or a flattened row-major batch as float32 LE. Values are rounded to float32
 * here, so this encoding (not the original doubles) is what a model is run on. Throws on
 * non-finite values.
 */
export function encodeFeatures(features: readonly number[] | Float32Array): Uint8Array {
  if (features.length === 0) throw new RangeError("features: nothing to encode");
  return encodeFloat32LE(features, "features");
}

/**
 * Decodes float32 LE features. With `featuresPerSample` (4 for Iris) the length must be a whole
 * number of samples.
 */
export function decodeFeatures(bytes: Uint8Array, featuresPerSample?: number): Float32Array {
  return decodeFloat32LE(bytes, "features", featuresPerSample);
}

/** Encodes model output logits (one row or a flattened batch) as float32 LE. */
export function encodeLogits(logits: Float32Array): Uint8Array {
  if (logits.length === 0) throw new RangeError("logits: nothing to encode");
  return encodeFloat32LE(logits, "logits");
}

/**
 * Decodes float32 LE logits. With `classes` (3 for Iris) the length must be a whole number of rows.
 */
export function decodeLogits(bytes: Uint8Array, classes?: number): Float32Array {
  return decodeFloat32LE(bytes, "logits", classes);
}

/** Index of the largest value; the first one wins a tie. Throws on an empty input or NaN. */
export function argmax(values: ArrayLike<number>): number {
  if (values.length === 0) throw new RangeError("argmax of an empty array");
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (Number.isNaN(value)) throw new RangeError(`argmax: value ${i} is NaN`);
    if (value > (values[best] as number)) best = i;
  }
  return best;
}

/** Standard padded base64 of `bytes` (`btoa`: the same in Node and browsers). */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The bytes of standard base64 (`atob`); throws on a character outside the alphabet. */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** `data:application/octet-stream;base64,...` carrying `bytes` (canonical padded base64). */
export function toDataUri(bytes: Uint8Array): string {
  return DATA_URI_PREFIX + bytesToBase64(bytes);
}

/**
 * Bytes carried by a data URI made by {@link toDataUri}. Only that exact media type and canonical
 * base64 are accepted, so one payload has exactly one URI (what is hashed on chain is unambiguous).
 */
export function fromDataUri(uri: string): Uint8Array {
  if (!uri.startsWith(DATA_URI_PREFIX)) {
    throw new Error(`not a "${DATA_URI_PREFIX}..." URI: ${JSON.stringify(uri.slice(0, 64))}`);
  }
  const payload = uri.slice(DATA_URI_PREFIX.length);
  if (!BASE64_RE.test(payload)) throw new Error("data URI payload is not canonical base64");
  const bytes = base64ToBytes(payload);
  // The regex admits non-zero bits in the last char before padding ("QR==" and "QQ==" decode alike).
  if (bytesToBase64(bytes) !== payload) throw new Error("data URI payload is not canonical base64");
  return bytes;
}
