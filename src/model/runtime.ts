/**
 * The runtime descriptor: everything besides the model file that determines the bytes of a
 * result. Its hash is registered on chain next to the model's sha256 as the model version's
 * runtime/config hash, so an operator and a verifier agree on how a model is executed.
 */
import { sha256Hex, type Hex } from "./hash.js";

export interface RuntimeDescriptor {
  /** npm package that executes the model. */
  readonly runtime: "onnxruntime-web";
  /** Exact package version; a session refuses to run on any other. */
  readonly version: string;
  /** Execution provider. */
  readonly backend: "wasm";
  /** WebAssembly threads; 1 keeps float summation order fixed (and is all Node supports). */
  readonly threads: number;
  /** ONNX Runtime graph optimisation level used when creating the session. */
  readonly graphOptimizationLevel: "disabled" | "basic" | "extended" | "all";
  /** Byte encoding of the request input (see encoding.ts). */
  readonly inputEncoding: "float32le";
  /** Byte encoding of the result output (see encoding.ts). */
  readonly outputEncoding: "float32le";
}

/** The descriptor this repository runs and registers models with. */
export const DEFAULT_RUNTIME: RuntimeDescriptor = Object.freeze({
  runtime: "onnxruntime-web",
  version: "1.30.0",
  backend: "wasm",
  threads: 1,
  graphOptimizationLevel: "all",
  inputEncoding: "float32le",
  outputEncoding: "float32le",
});

/** JSON values that have a canonical form here: no undefined, functions or non-finite numbers. */
export type CanonicalJson =
  null | boolean | number | string | readonly CanonicalJson[] | { readonly [key: string]: CanonicalJson };

/**
 * Canonical JSON: object keys sorted by UTF-16 code units (JavaScript's default sort, as in
 * RFC 8785), no whitespace, array order kept, JSON.stringify for strings and numbers. For the
 * ASCII keys and integers / short strings of a descriptor this coincides with RFC 8785 (JCS).
 */
export function canonicalJson(value: CanonicalJson): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`canonical JSON has no form for ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item: CanonicalJson) => canonicalJson(item)).join(",")}]`;
  }
  const object = value as { readonly [key: string]: CanonicalJson };
  const members = Object.keys(object)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key] as CanonicalJson)}`);
  return `{${members.join(",")}}`;
}

/** sha256 of the descriptor's canonical JSON (UTF-8), 0x-hex: the on-chain runtime/config hash. */
export function runtimeHash(descriptor: RuntimeDescriptor): Hex {
  return sha256Hex(new TextEncoder().encode(canonicalJson({ ...descriptor })));
}
