/**
 * Checks of user input against the bounds the contracts enforce (`ProtocolLimits`, one definition in
 * `src/protocol/limits.ts`), so a value that would make a transaction revert is refused before anything is sent,
 * with a message that names the bound.
 */
import type { Address } from "viem";
import { ProtocolLimits } from "../protocol/limits.js";
import { OpgError } from "./errors.js";

const ZERO: Address = "0x0000000000000000000000000000000000000000";
const UINT96_MAX = 2n ** 96n - 1n;

/** A model family name: 1 to `MAX_NAME_LENGTH` bytes of UTF-8. */
export function checkModelName(name: string): string {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes === 0 || bytes > ProtocolLimits.MAX_NAME_LENGTH) {
    throw new OpgError(
      "BadInput",
      `the model name must be 1 to ${ProtocolLimits.MAX_NAME_LENGTH} bytes, "${name}" is ${bytes}`,
    );
  }
  return name;
}

/** Whole basis points from 0 to `max`. */
export function checkBps(value: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new OpgError("BadInput", `${what} must be whole basis points from 0 to ${max}, got ${value}`);
  }
  return value;
}

/** A model owner's royalty: at most `MAX_ROYALTY_BPS` (the protocol fee's cap takes the rest of 100%). */
export function checkRoyalty(bps: number, what = "the royalty"): number {
  return checkBps(bps, ProtocolLimits.MAX_ROYALTY_BPS, what);
}

/** An OPG amount that fits the contracts' 96-bit fields (fees, stakes, penalties). */
export function checkUint96(value: bigint, what: string): bigint {
  if (value < 0n || value > UINT96_MAX) {
    throw new OpgError("BadInput", `${what} is out of range (0 to 2^96 - 1 base units): ${value}`);
  }
  return value;
}

/** Seconds a request stays open: positive, at most `MAX_REQUEST_TTL`. */
export function checkTtl(ttl: bigint, what = "the time to live"): bigint {
  if (ttl <= 0n || ttl > ProtocolLimits.MAX_REQUEST_TTL) {
    throw new OpgError(
      "BadInput",
      `${what} must be 1 to ${ProtocolLimits.MAX_REQUEST_TTL} seconds (30 days), got ${ttl}`,
    );
  }
  return ttl;
}

/** A deadline after `now` and at most `MAX_REQUEST_TTL` after it. */
export function checkDeadline(deadline: bigint, now: bigint): bigint {
  const latest = now + ProtocolLimits.MAX_REQUEST_TTL;
  if (deadline <= now || deadline > latest) {
    throw new OpgError(
      "BadInput",
      `the deadline ${deadline} must be after the latest block's time ${now} and no later than ${latest} (30 days)`,
    );
  }
  return deadline;
}

/** A callback and its gas: none and zero, or a contract with 1 to `MAX_CALLBACK_GAS` gas. */
export function checkCallback(callback: Address | undefined, gasLimit: number | undefined): void {
  const gas = gasLimit ?? 0;
  if (callback === undefined || callback === ZERO) {
    if (gas !== 0) throw new OpgError("BadInput", "a callback gas limit needs a callback contract");
    return;
  }
  if (!Number.isInteger(gas) || gas <= 0 || gas > ProtocolLimits.MAX_CALLBACK_GAS) {
    throw new OpgError(
      "BadInput",
      `the callback gas limit must be 1 to ${ProtocolLimits.MAX_CALLBACK_GAS}, got ${gas}`,
    );
  }
}

/** A value that must be a BN254 field element (a zk request's input commitment). */
export function checkField(value: bigint, what: string): bigint {
  if (value < 0n || value >= ProtocolLimits.SNARK_SCALAR_FIELD) {
    throw new OpgError(
      "BadInput",
      `${what} is not a BN254 field element, so no proof could ever settle it: compute it with the circuit's Poseidon commitment`,
    );
  }
  return value;
}

/** The protocol fee governance may set: at most `MAX_PROTOCOL_FEE_BPS`. */
export function checkProtocolFee(bps: number, what = "the protocol fee"): number {
  return checkBps(bps, ProtocolLimits.MAX_PROTOCOL_FEE_BPS, what);
}

/** An unbonding delay: at most `MAX_UNBONDING_DELAY` seconds. */
export function checkUnbondingDelay(seconds: bigint, what = "the unbonding delay"): bigint {
  if (seconds < 0n || seconds > ProtocolLimits.MAX_UNBONDING_DELAY) {
    throw new OpgError(
      "BadInput",
      `${what} must be 0 to ${ProtocolLimits.MAX_UNBONDING_DELAY} seconds (90 days), got ${seconds}`,
    );
  }
  return seconds;
}
