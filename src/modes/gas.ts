/**
 * A fulfilment's gas cap: what the mode's verification and the core's settlement need at most (`base`), plus the
 * callback's exact allowance, the 1/64 the EIP-150 rule keeps back from it, and the call's own overhead.
 */
export function fulfilmentGas(base: bigint, callbackGasLimit: number): bigint {
  const callback = BigInt(callbackGasLimit);
  return base + callback + callback / 63n + (callback > 0n ? 20_000n : 0n);
}
