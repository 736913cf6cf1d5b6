/**
 * Fixed-point and commitment parameters shared by the circuit (`circuits/mlp.circom`, template
 * `Mlp(L, SIZES, F, B, A, PER)`) and this TypeScript twin. A compiled circuit fixes one shape and
 * one parameter set; the values here must equal the template arguments in its main component.
 *
 * Browser-safe: no Node module in its import graph (the explorer's build refuses one). Where the
 * circuit's files live is Node-only: `IRIS_ZK_ARTIFACTS` in `./artifacts.js`.
 */

export interface ZkCircuitParams {
  /** F: fractional bits; a real value v is the integer round(v * 2^F) (half away from zero). */
  readonly fracBits: number;
  /** B: bit width of every weight, bias and input value; signed, in [-2^(B-1), 2^(B-1)). */
  readonly valueBits: number;
  /** A: every layer output q (scale 2^F) must satisfy -2^A <= q < 2^A, or no witness exists. */
  readonly actBits: number;
  /** PER: values packed into one field element before hashing (PER * B <= 252). */
  readonly packPer: number;
}

/** Parameters of `circuits/iris_mlp.circom`: `Mlp(3, [4, 16, 8, 3], 10, 16, 24, 15)`. */
export const IRIS_ZK_PARAMS: ZkCircuitParams = Object.freeze({
  fracBits: 10,
  valueBits: 16,
  actBits: 24,
  packPer: 15,
});

/** Layer widths the Iris circuit is compiled for. */
export const IRIS_ZK_SIZES: readonly number[] = Object.freeze([4, 16, 8, 3]);

/**
 * Size limits of the generic circuit and converter (beyond them constraints, setup time and
 * proving memory grow past what this repository measures; see docs/zk.md): at most
 * {@link MAX_LAYERS} dense layers, each at most {@link MAX_WIDTH} wide, at most
 * {@link MAX_PARAMS} weights and biases in all.
 */
export const MAX_LAYERS = 8;
export const MAX_WIDTH = 256;
export const MAX_PARAMS = 65_536;

/** Throws unless the parameters are ones the circuit template accepts. */
export function checkParams(params: ZkCircuitParams): void {
  const { fracBits, valueBits, actBits, packPer } = params;
  const ints = [fracBits, valueBits, actBits, packPer];
  if (!ints.every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(`zk params must be positive integers: ${JSON.stringify(params)}`);
  }
  if (packPer * valueBits > 252) throw new RangeError(`packPer * valueBits = ${packPer * valueBits} > 252`);
  if (actBits + fracBits + 2 > 252) throw new RangeError(`actBits + fracBits + 2 > 252`);
}
