import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Address, type Hex } from "viem";
import { protocolErrorsAbi } from "../abi/index.js";
import { modeModule, type FulfilmentTx } from "../modes/index.js";
import { modeName } from "../protocol/modes.js";
import type { StoredRequest } from "./store.js";

/**
 * The transaction that settles a computed request, built by its mode's module: to the contract the core bound to
 * the request's mode bit (`modeContracts`), with `operator` as the result's operator and sender.
 */
export function fulfilmentTransaction(
  stored: StoredRequest,
  modeContracts: ReadonlyMap<number, Address>,
  operator: Address,
): FulfilmentTx {
  const { request, requestId, result } = stored;
  if (result === undefined) throw new Error(`request ${requestId} has no computed result`);
  const mode = modeModule(request.mode);
  const contract = modeContracts.get(request.mode);
  if (mode === undefined || contract === undefined) {
    throw new Error(`request ${requestId}: no live contract for mode ${modeName(request.mode)}`);
  }
  return mode.fulfilment(contract, operator, { request, requestId, result });
}

/** The custom error name of a reverted call, if it is one. */
export function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName;
  const raw = error.walk((e) => typeof (e as { data?: unknown }).data === "string") as {
    data?: string;
  } | null;
  if (typeof raw?.data === "string" && raw.data.startsWith("0x") && raw.data.length >= 10) {
    try {
      return decodeErrorResult({ abi: protocolErrorsAbi, data: raw.data as Hex }).errorName;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
