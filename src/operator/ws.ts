import type { Logger } from "pino";
import { createPublicClient, getAbiItem, toEventSelector, webSocket, type Address, type Hex } from "viem";
import { inferenceSettlementAbi } from "../abi/index.js";
import { backoffDelay, errorSummary, redactUrl, type BackoffPolicy } from "./backoff.js";

/** The WebSocket subscription as `/health` reports it. */
export interface WsHealth {
  enabled: boolean;
  connected: boolean;
  /** Times the socket dropped or could not be opened. */
  drops: number;
  /** Passes started by a notification. */
  wakeups: number;
  lastError?: string;
}

/** `/health`'s `ws` for a node without a WebSocket endpoint. */
export const WS_DISABLED: WsHealth = { enabled: false, connected: false, drops: 0, wakeups: 0 };

/** What a `WakeSubscription` needs. */
export interface WakeSubscriptionOptions {
  /** WebSocket RPC endpoint (`ws://` or `wss://`). */
  url: string;
  /** The settlement contract whose logs wake the node. */
  settlement: Address;
  /** Delays between reconnection attempts. */
  backoff: BackoffPolicy;
  log: Logger;
  /** Called on every notification, and once the subscription is (re)established. */
  onWake: () => void;
}

/** Topic 0 of the events that wake the node: a new request, or a settlement (ours to confirm, or lost). */
const WAKE_TOPICS: Hex[] = [
  toEventSelector(getAbiItem({ abi: inferenceSettlementAbi, name: "RequestOpened" })),
  toEventSelector(getAbiItem({ abi: inferenceSettlementAbi, name: "RequestFulfilled" })),
];

/**
 * Subscription to the settlement's `RequestOpened` / `RequestFulfilled` logs over a WebSocket; every notification
 * wakes the node. viem's own reconnection is off: a drop is logged, counted, and retried here with the same backoff
 * schedule as RPC failures, without limit, while polling over HTTP goes on.
 */
export class WakeSubscription {
  private running = false;
  private state: Omit<WsHealth, "enabled"> & { failures: number; generation: number } = {
    connected: false,
    drops: 0,
    wakeups: 0,
    failures: 0,
    generation: 0,
  };
  private timer?: NodeJS.Timeout;
  private close?: () => Promise<void>;

  constructor(private readonly options: WakeSubscriptionOptions) {}

  /** Connect (in the background), and keep reconnecting until `stop`. */
  start(): void {
    this.running = true;
    void this.connect();
  }

  /** Stop reconnecting and close the socket. */
  async stop(): Promise<void> {
    this.running = false;
    this.state.generation += 1;
    clearTimeout(this.timer);
    const close = this.close;
    this.close = undefined;
    this.state.connected = false;
    await close?.();
  }

  /** The subscription as `/health` reports it. */
  health(): WsHealth {
    const { connected, drops, wakeups, lastError } = this.state;
    return { enabled: true, connected, drops, wakeups, ...(lastError === undefined ? {} : { lastError }) };
  }

  private async connect(): Promise<void> {
    const { url } = this.options;
    if (!this.running) return;
    const generation = ++this.state.generation;
    const client = createPublicClient({
      transport: webSocket(url, { reconnect: false, keepAlive: { interval: 15_000 }, timeout: 10_000 }),
    });
    const close = async () => {
      await client.transport
        .getRpcClient()
        .then((rpc) => {
          rpc.close();
        })
        .catch(() => undefined);
    };
    try {
      let timeout: NodeJS.Timeout | undefined;
      const subscribed = client.transport.subscribe({
        params: ["logs", { address: this.options.settlement, topics: [WAKE_TOPICS] }],
        onData: () => {
          if (generation !== this.state.generation) return;
          this.state.wakeups += 1;
          this.options.onWake();
        },
        onError: (error: unknown) => {
          void this.dropped(generation, error, close);
        },
      });
      await Promise.race([
        subscribed,
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => {
            reject(new Error("eth_subscribe got no answer within 10 s"));
          }, 10_000);
        }),
      ]).finally(() => {
        clearTimeout(timeout);
      });
      if (this.stale(generation)) {
        await close();
        return;
      }
      this.close = close;
      this.state.connected = true;
      this.state.failures = 0;
      this.options.log.info(
        { ws: redactUrl(url) },
        "websocket subscribed: new requests wake the node at once",
      );
      // Anything that happened while the socket was down is found by the scan; run it now rather than later.
      this.options.onWake();
    } catch (error) {
      await this.dropped(generation, error, close);
    }
  }

  /** Whether a connection attempt was superseded (dropped, or the node stopped) while it awaited. */
  private stale(generation: number): boolean {
    return generation !== this.state.generation || !this.running;
  }

  /** The socket closed or failed (once per connection): log it and reconnect after a backoff delay. */
  private async dropped(generation: number, error: unknown, close: () => Promise<void>): Promise<void> {
    const { state } = this;
    if (generation !== state.generation) return;
    state.generation += 1; // later callbacks of this connection are ignored
    state.connected = false;
    state.drops += 1;
    state.failures += 1;
    state.lastError = errorSummary(error);
    this.close = undefined;
    await close();
    if (!this.running) return;
    const delay = backoffDelay(state.failures, this.options.backoff);
    this.options.log.warn(
      { ws: redactUrl(this.options.url), err: state.lastError, reconnectInMs: delay },
      "websocket down; polling continues, reconnecting",
    );
    this.timer = setTimeout(() => {
      void this.connect();
    }, delay);
  }
}
