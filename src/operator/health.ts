import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { formatUnits, type Address } from "viem";
import type { SkipCode } from "./skip.js";
import type { RequestState, SkipRecord, WithdrawalState } from "./store.js";
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

/**
 * The node's state in one word: `ok` (serving), `degraded` (passes failing, or the chain under the node changed:
 * it is not serving; `reasons` says why), `stopped`.
 */
export type NodeStatus = "ok" | "degraded" | "stopped";

/** A recently skipped request, as `/health` lists it. */
export interface SkipHealth {
  requestId: string;
  code: SkipCode | "unclassified";
  detail: string;
  /** ISO time it was skipped. */
  at: string;
}

/** How many of the latest skips `/health` lists. */
export const HEALTH_RECENT_SKIPS = 10;

/**
 * `/health`: `status` (and `ok`, true only when `status` is `ok`; the HTTP status is 503 otherwise), `reasons`
 * when degraded, `operator`, `lastBlock`, `requests`, `rpc`, `ws`, `withdrawals`, then the skip counts per reason
 * code and the latest skips.
 */
export interface HealthReport {
  status: NodeStatus;
  ok: boolean;
  /** Why the node is degraded (empty when ok). */
  reasons: string[];
  operator: Address;
  lastBlock: string;
  requests: Record<RequestState, number>;
  rpc: RpcHealth;
  ws: WsHealth;
  withdrawals: { enabled: boolean; open: number; confirmed: number; failed: number; withdrawn: string };
  /** Skipped requests per reason code (from the database: kept across restarts). */
  skips: Record<SkipCode | "unclassified", number>;
  /** The latest skipped requests, newest first. */
  recentSkips: SkipHealth[];
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
  skips: Record<SkipCode | "unclassified", number>;
  recentSkips: SkipRecord[];
  /** Set when the chain under the node is not the one its state file is bound to: it does not serve. */
  chainProblem?: string;
}

/** The `/health` report of a snapshot. */
export function healthReport(snapshot: HealthSnapshot): HealthReport {
  const { rpc, withdrawals: totals } = snapshot;
  const reasons: string[] = [];
  if (snapshot.chainProblem !== undefined) reasons.push(snapshot.chainProblem);
  if (rpc.consecutiveFailures > 0) {
    reasons.push(`${rpc.consecutiveFailures} consecutive failed passes: ${rpc.lastError ?? "unknown error"}`);
  }
  const status: NodeStatus = !snapshot.running ? "stopped" : reasons.length > 0 ? "degraded" : "ok";
  return {
    status,
    ok: status === "ok",
    reasons,
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
    skips: snapshot.skips,
    recentSkips: snapshot.recentSkips.map((r) => ({
      requestId: r.requestId.toString(),
      code: r.code,
      detail: r.detail,
      at: new Date(r.at).toISOString(),
    })),
  };
}

/** `/metrics` in Prometheus text format, from a `/health` report. */
export function metricsText(health: HealthReport): string {
  const lines = Object.entries(health.requests).map(
    ([state, n]) => `opg_operator_requests{state="${state}"} ${n}`,
  );
  for (const status of ["ok", "degraded", "stopped"] as const) {
    lines.push(`opg_operator_status{status="${status}"} ${health.status === status ? 1 : 0}`);
  }
  for (const [reason, n] of Object.entries(health.skips)) {
    lines.push(`opg_operator_skips_total{reason="${reason}"} ${n}`);
  }
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

/** The quiet-mode gateway's counters, as `/metrics` shows them. */
export interface QuietMetrics {
  /** `POST /v1/infer` outcomes per code (`ok`, `replayed`, or the rejection's code), since start. */
  requests: ReadonlyMap<string, number>;
  /** Receipts stored, and how many wait for a batch. */
  receipts: number;
  unbatched: number;
  /** Batches per state. */
  batches: Record<string, number>;
}

/** The quiet-mode gateway's lines of `/metrics` (Prometheus text format). */
export function quietMetricsText(quiet: QuietMetrics): string {
  const lines = [...quiet.requests].map(
    ([code, n]) => `opg_operator_quiet_requests_total{code="${code}"} ${n}`,
  );
  lines.push(`opg_operator_quiet_receipts ${quiet.receipts}`);
  lines.push(`opg_operator_quiet_receipts_unbatched ${quiet.unbatched}`);
  for (const [state, n] of Object.entries(quiet.batches)) {
    lines.push(`opg_operator_quiet_batches{state="${state}"} ${n}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A running `/health` and `/metrics` server. */
export interface HealthServer {
  url: string;
  close: () => Promise<void>;
}

/**
 * Serve `/metrics` and (any other path) `/health` on the loopback interface (`port` 0: any free port). `/health`
 * answers 200 when the status is `ok` and 503 otherwise (the JSON body is the same either way). `extraMetrics`
 * appends lines to `/metrics` (the quiet-mode gateway's).
 */
export async function serveHealth(
  port: number,
  report: () => HealthReport,
  extraMetrics?: () => string,
): Promise<HealthServer> {
  const server = createServer((req, res) => {
    if (req.url === "/metrics") {
      res.setHeader("content-type", "text/plain; version=0.0.4");
      res.end(metricsText(report()) + (extraMetrics?.() ?? ""));
      return;
    }
    const health = report();
    res.statusCode = health.ok ? 200 : 503;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(health));
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
