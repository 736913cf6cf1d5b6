/** Signed integers as BN254 field elements, the way circom and snarkjs read them. */
import { SNARK_SCALAR_FIELD } from "../protocol/zk.js";

/** `value mod p` in [0, p): a negative x becomes p - |x|. */
export function toField(value: bigint): bigint {
  const r = value % SNARK_SCALAR_FIELD;
  return r < 0n ? r + SNARK_SCALAR_FIELD : r;
}

/** The signed integer a field element stands for: elements above (p - 1) / 2 are negative. */
export function fromField(element: bigint): bigint {
  if (element < 0n || element >= SNARK_SCALAR_FIELD)
    throw new RangeError(`${element} is not a field element`);
  return element > SNARK_SCALAR_FIELD / 2n ? element - SNARK_SCALAR_FIELD : element;
}

/** floor(a / b) for b > 0, also for negative a (BigInt division truncates toward zero). */
export function floorDiv(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new RangeError("floorDiv needs a positive divisor");
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}
