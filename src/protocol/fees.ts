import { ProtocolLimits } from "./limits.js";

/** Basis-point denominator, as `ProtocolLimits.BPS`. */
export const BPS = BigInt(ProtocolLimits.BPS);

/** How a fee is split, exactly as `InferenceSettlement` does it (the operator takes the rounding dust). */
export interface FeeSplit {
  royalty: bigint;
  protocol: bigint;
  operator: bigint;
}

export function splitFee(fee: bigint, royaltyBps: number, protocolFeeBps: number): FeeSplit {
  const royalty = (fee * BigInt(royaltyBps)) / BPS;
  const protocol = (fee * BigInt(protocolFeeBps)) / BPS;
  return { royalty, protocol, operator: fee - royalty - protocol };
}
