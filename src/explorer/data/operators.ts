import type { Address, Hex } from "viem";
import {
  getOperator,
  getOperatorEndpoint,
  inferenceSettlementAbi,
  operatorRegistryAbi,
  type OperatorInfo,
} from "../../browser/index.js";
import type { Explorer } from "./context.js";

/** A signing key an operator used, from its registration or a rotation. */
export interface KeyPeriod {
  signer: Address;
  /** Where it became the operator's key. */
  fromBlock: bigint;
  transactionHash: Hex;
  /** The block of the rotation that replaced it. */
  untilBlock?: bigint;
}

/** A slash of an operator's stake. */
export interface SlashView {
  amount: bigint;
  recipient: Address;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** An endpoint the operator published (`EndpointSet`): the value as set, unchecked. */
export interface EndpointChange {
  endpoint: string;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** An operator: its record now, its keys over time, its slashes and how many requests it answered. */
export interface OperatorView {
  operator: Address;
  now: OperatorInfo;
  registeredBlock: bigint;
  keys: KeyPeriod[];
  slashes: SlashView[];
  /** Requests it settled (`RequestFulfilled`). */
  served: number;
  /** Every `EndpointSet`, oldest first. */
  endpoints: EndpointChange[];
  /** Its published quiet-mode gateway now, if it is an http(s) URL (`getOperatorEndpoint`). */
  endpoint?: string;
}

/** Every registered operator, from the registry's and the core's events and the registry's state. */
export async function loadOperators(explorer: Explorer): Promise<OperatorView[]> {
  const { deployment } = explorer;
  const [registry, settlement] = await Promise.all([
    explorer.logs.events(deployment.addresses.operators, operatorRegistryAbi),
    explorer.logs.events(deployment.addresses.settlement, inferenceSettlementAbi),
  ]);
  const served = new Map<Address, number>();
  for (const e of settlement) {
    if (e.eventName === "RequestFulfilled")
      served.set(e.args.operator, (served.get(e.args.operator) ?? 0) + 1);
  }
  const operators = new Map<Address, Omit<OperatorView, "now">>();
  for (const e of registry) {
    if (e.eventName === "OperatorRegistered") {
      operators.set(e.args.operator, {
        operator: e.args.operator,
        registeredBlock: e.blockNumber,
        keys: [{ signer: e.args.signer, fromBlock: e.blockNumber, transactionHash: e.transactionHash }],
        slashes: [],
        served: served.get(e.args.operator) ?? 0,
        endpoints: [],
      });
    } else if (e.eventName === "EndpointSet") {
      operators.get(e.args.operator)?.endpoints.push({
        endpoint: e.args.endpoint,
        blockNumber: e.blockNumber,
        transactionHash: e.transactionHash,
      });
    } else if (e.eventName === "SignerRotated") {
      const op = operators.get(e.args.operator);
      if (op === undefined) continue;
      const last = op.keys[op.keys.length - 1];
      if (last !== undefined) last.untilBlock = e.blockNumber;
      op.keys.push({
        signer: e.args.newSigner,
        fromBlock: e.blockNumber,
        transactionHash: e.transactionHash,
      });
    } else if (e.eventName === "Slashed") {
      operators.get(e.args.operator)?.slashes.push({
        amount: e.args.amount,
        recipient: e.args.recipient,
        blockNumber: e.blockNumber,
        transactionHash: e.transactionHash,
      });
    }
  }
  const list = [...operators.values()];
  const [now, endpoints] = await Promise.all([
    Promise.all(list.map((o) => getOperator(deployment.sdk, { operator: o.operator }))),
    Promise.all(
      list.map((o) =>
        o.endpoints.length === 0
          ? Promise.resolve(undefined)
          : getOperatorEndpoint(deployment.sdk, { operator: o.operator }).catch(() => undefined),
      ),
    ),
  ]);
  return list.map((o, i) => {
    const endpoint = endpoints[i];
    return { ...o, now: now[i]!, ...(endpoint === undefined ? {} : { endpoint }) };
  });
}
