import type { Address } from "viem";
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
