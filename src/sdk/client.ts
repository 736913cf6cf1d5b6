import type { PublicClient, WalletClient } from "viem";
import type { ProtocolAddresses } from "./addresses.js";
import { createCache, type OpgContext } from "./context.js";
import * as actions from "./actions/index.js";

export type { WriteResult } from "./context.js";
export type * from "./types.js";

export type OpgPublicClient = PublicClient;
export type OpgWalletClient = WalletClient;

/** What a client is made of: viem clients and the deployment's addresses. */
export interface OpgClientConfig {
  publicClient: OpgPublicClient;
  /** Needed for writes and signatures; its account sends every transaction. */
  walletClient?: OpgWalletClient;
  addresses: ProtocolAddresses;
}

type Actions = typeof actions;
type Bound<F> = F extends (ctx: never, ...args: infer A) => infer R ? (...args: A) => R : never;
/** Every action, its first argument bound to the client. */
export type OpgActions = {
  [K in keyof Actions as Actions[K] extends (ctx: never, ...args: never[]) => unknown ? K : never]: Bound<
    Actions[K]
  >;
};

/**
 * A client for the protocol: the context every action takes (viem clients, addresses and a cache of immutable chain
 * facts) decorated with every action bound to it, so `client.getModel({ modelId })` is `getModel(client, { modelId })`.
 * Writes are simulated first, so a revert surfaces as a named protocol error before anything is sent.
 */
export function createOpgClient(config: OpgClientConfig): OpgClient {
  const ctx: OpgContext = {
    publicClient: config.publicClient,
    walletClient: config.walletClient,
    addresses: config.addresses,
    cache: createCache(),
  };
  const bound: Record<string, unknown> = {};
  for (const [name, action] of Object.entries(actions)) {
    if (typeof action === "function") {
      bound[name] = (...args: unknown[]) =>
        (action as (c: OpgContext, ...a: unknown[]) => unknown)(ctx, ...args);
    }
  }
  return { ...ctx, account: () => config.walletClient?.account, ...(bound as OpgActions) };
}

/** A protocol client: its context, the wallet's account (if any), and every action bound to it. */
export type OpgClient = OpgContext & { account: () => WalletClient["account"] } & OpgActions;
