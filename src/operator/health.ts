import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { formatUnits, type Address } from "viem";
import type { RequestState, WithdrawalState } from "./store.js";
import type { WsHealth } from "./ws.js";

/** RPC health as `/health` reports it. */
export interface RpcHealth {
  consecutiveFailures: number;
  /** When the next pass runs, if the last one failed (ms from now). */
  retryInMs?: number;
  lastError?: string;
  /** ISO time of the last pass that completed without RPC errors. */
  lastSuccessAt?: string;
}

/** What the loop keeps about RPC failures (times in ms since the epoch). */
export interface RpcState {
  consecutiveFailures: number;
  retryAt?: number;
  lastError?: string;
  lastSuccessAt?: number;
}

/** `/health`: the original `ok`, `operator`, `lastBlock`, `requests`; then `rpc`, `ws`, `withdrawals`. */
export interface HealthReport {
  ok: boolean;
  operator: Address;
  lastBlock: string;
  requests: Record<RequestState, number>;
  rpc: RpcHealth;
  ws: WsHealth;
  withdrawals: { enabled: boolean; open: number; confirmed: number; failed: number; withdrawn: string };
}

/** The node's state that `/health` is built from. */
export interface HealthSnapshot {
  running: boolean;
  operator: Address;
  lastBlock: bigint;
  requests: Record<RequestState, number>;
  rpc: RpcState;
  ws: WsHealth;
  withdrawalsEnabled: boolean;
  withdrawals: Record<WithdrawalState, number> & { withdrawn: bigint };
}

/** The `/health` report of a snapshot. */
export function healthReport(snapshot: HealthSnapshot): HealthReport {
  const { rpc, withdrawals: totals } = snapshot;
  return {
    ok: snapshot.running,
    operator: snapshot.operator,
    lastBlock: snapshot.lastBlock.toString(),
    requests: snapshot.requests,
    rpc: {
      consecutiveFailures: rpc.consecutiveFailures,
      ...(rpc.consecutiveFailures > 0 && rpc.retryAt !== undefined
        ? { retryInMs: Math.max(0, rpc.retryAt - Date.now()) }
        : {}),
      ...(rpc.lastError === undefined ? {} : { lastError: rpc.lastError }),
      ...(rpc.lastSuccessAt === undefined
        ? {}
        : { lastSuccessAt: new Date(rpc.lastSuccessAt).toISOString() }),
    },
    ws: snapshot.ws,
    withdrawals: {
      enabled: snapshot.withdrawalsEnabled,
      open: totals.reserved + totals.submitted,
      confirmed: totals.confirmed,
      failed: totals.failed,
      withdrawn: totals.withdrawn.toString(),
    },
  };
}

/** `/metrics` in Prometheus text format, from a `/health` report. */
export function metricsText(health: HealthReport): string {
  const lines = Object.entries(health.requests).map(
    ([state, n]) => `opg_operator_requests{state="${state}"} ${n}`,
  );
  lines.push(`opg_operator_last_block ${health.lastBlock}`);
  lines.push(`opg_operator_rpc_consecutive_failures ${health.rpc.consecutiveFailures}`);
  lines.push(`opg_operator_ws_connected ${health.ws.connected ? 1 : 0}`);
  lines.push(`opg_operator_ws_drops_total ${health.ws.drops}`);
  lines.push(`opg_operator_ws_wakeups_total ${health.ws.wakeups}`);
  for (const state of ["confirmed", "failed"] as const) {
    lines.push(`opg_operator_withdrawals{state="${state}"} ${health.withdrawals[state]}`);
  }
  lines.push(`opg_operator_withdrawals{state="open"} ${health.withdrawals.open}`);
  // In OPG (a float, as Prometheus stores it); /health has the exact amount in base units.
  lines.push(`opg_operator_withdrawn_opg_total ${formatUnits(BigInt(health.withdrawals.withdrawn), 18)}`);
  return `${lines.join("\n")}\n`;
}

/** A running `/health` and `/metrics` server. */
export interface HealthServer {
  url: string;
  close: () => Promise<void>;
}

/** Serve `/metrics` and (any other path) `/health` on the loopback interface (`port` 0: any free port). */
export async function serveHealth(port: number, report: () => HealthReport): Promise<HealthServer> {
  const server = createServer((req, res) => {
    if (req.url === "/metrics") {
      res.setHeader("content-type", "text/plain; version=0.0.4");
      res.end(metricsText(report()));
      return;
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(report()));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
