import type { ContractTransactionReceipt, Interface, LogDescription } from "ethers";
import { toInferenceRequest, type InferenceRequest } from "../protocol/request.js";

/** Anything with an ethers `Interface` (typechain contracts, `ethers.Contract`). */
export interface HasInterface {
  interface: Interface;
}

/** Parse a log with `contract`'s interface; `null` for a log it does not know (another contract's event). */
function parseLog(
  contract: HasInterface,
  log: { topics: readonly string[]; data: string },
): LogDescription | null {
  try {
    return contract.interface.parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return null; // same topic, different ABI shape
  }
}

/** Every log of `receipt` that `contract`'s interface can parse as event `name`. */
export function findEvents(contract: HasInterface, receipt: ContractTransactionReceipt | null, name: string) {
  if (receipt === null) throw new Error(`no receipt: the transaction was dropped before emitting ${name}`);
  const found: LogDescription[] = [];
  for (const log of receipt.logs) {
    const parsed = parseLog(contract, log);
    if (parsed?.name === name) found.push(parsed);
  }
  return found;
}

/** The single event `name` in `receipt`; throws when it is missing. */
export function findEvent(contract: HasInterface, receipt: ContractTransactionReceipt | null, name: string) {
  const [event] = findEvents(contract, receipt, name);
  if (event === undefined) throw new Error(`event ${name} not found in transaction ${receipt?.hash}`);
  return event;
}

/** A request and its id, as announced by `RequestOpened`. */
export interface OpenedRequest {
  requestId: bigint;
  request: InferenceRequest;
  inputUri: string;
  receipt: ContractTransactionReceipt;
}

/** Read the `RequestOpened` event of an `open*` transaction. */
export function openedFrom(
  settlement: HasInterface,
  receipt: ContractTransactionReceipt | null,
): OpenedRequest {
  const event = findEvent(settlement, receipt, "RequestOpened");
  return {
    requestId: event.args.getValue("requestId") as bigint,
    request: toInferenceRequest(event.args.getValue("request") as Record<keyof InferenceRequest, unknown>),
    inputUri: event.args.getValue("inputUri") as string,
    receipt: receipt as ContractTransactionReceipt,
  };
}
