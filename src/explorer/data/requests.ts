import type { Address, Hex } from "viem";
import { inferenceSettlementAbi, toInferenceRequest, type InferenceRequest } from "../../browser/index.js";
import type { Explorer } from "./context.js";

/** Where a request stands, from the core's events. */
export type RequestState = "pending" | "fulfilled" | "refunded";

/** One request, as the core's events tell it. */
export interface RequestRow {
  requestId: bigint;
  request: InferenceRequest;
  inputUri: string;
  openedBlock: bigint;
  openedTx: Hex;
  state: RequestState;
  /** The operator that answered (fulfilled requests). */
  operator?: Address;
  /** The key that signed the result (zero for zk). */
  signer?: Address;
  /** The block and transaction that settled or refunded it. */
  closedBlock?: bigint;
  closedTx?: Hex;
  /** The refunded amount (refunded requests). */
  refunded?: bigint;
}

/** Every request opened at the core, newest first. */
export async function loadRequests(explorer: Explorer): Promise<RequestRow[]> {
  const events = await explorer.logs.events(explorer.deployment.addresses.settlement, inferenceSettlementAbi);
  const rows = new Map<bigint, RequestRow>();
  for (const event of events) {
    if (event.eventName === "RequestOpened") {
      rows.set(event.args.requestId, {
        requestId: event.args.requestId,
        request: toInferenceRequest(event.args.request),
        inputUri: event.args.inputUri,
        openedBlock: event.blockNumber,
        openedTx: event.transactionHash,
        state: "pending",
      });
    } else if (event.eventName === "RequestFulfilled") {
      const row = rows.get(event.args.requestId);
      if (row === undefined) continue;
      Object.assign(row, {
        state: "fulfilled",
        operator: event.args.operator,
        signer: event.args.signer,
        closedBlock: event.blockNumber,
        closedTx: event.transactionHash,
      } satisfies Partial<RequestRow>);
    } else if (event.eventName === "RequestRefunded") {
      const row = rows.get(event.args.requestId);
      if (row === undefined) continue;
      Object.assign(row, {
        state: "refunded",
        refunded: event.args.amount,
        closedBlock: event.blockNumber,
        closedTx: event.transactionHash,
      } satisfies Partial<RequestRow>);
    }
  }
  return [...rows.values()].sort((a, b) => (a.requestId < b.requestId ? 1 : -1));
}
