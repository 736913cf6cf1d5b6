/**
 * The watcher's `/health` (JSON) and `/metrics` (Prometheus text) on the loopback interface. Counters come from the
 * state file, so they survive restarts: `opg_watch_batches_checked_total`, `opg_watch_receipts_checked_total`,
 * `opg_watch_reexecuted_total`, `opg_watch_mismatches_total`, `opg_watch_challenges_sent_total`,
 * `opg_watch_challenges_won_total`, `opg_watch_skips_total{reason}`, `opg_watch_findings_total{kind}`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** The watcher's state in one word: `ok`, `degraded` (passes failing: `reasons` says why), `stopped`. */
export type WatchStatus = "ok" | "degraded" | "stopped";

/** `/health`'s body. */
export interface WatchHealth {
  status: WatchStatus;
  ok: boolean;
  reasons: string[];
  /** The next block to scan. */
  nextBlock: string;
  /** Batches whose data is not proven yet (to retry). */
  pendingBatches: number;
  /** Receipt files still followed. */
  openReceipts: number;
  /** Every counter (kept across restarts). */
  counters: Record<string, number>;
}

/** Counter names, and their Prometheus names. Labelled counters are stored as `skips:<reason>`, `findings:<kind>`. */
const PLAIN = [
  "batches_checked",
  "receipts_checked",
  "reexecuted",
  "mismatches",
  "challenges_sent",
  "challenges_won",
] as const;

/** `/metrics` in Prometheus text format. */
export function watchMetricsText(health: WatchHealth): string {
  const lines: string[] = [];
  for (const name of PLAIN) lines.push(`opg_watch_${name}_total ${health.counters[name] ?? 0}`);
  for (const [name, value] of Object.entries(health.counters)) {
    const [group, label] = name.split(":");
    if (label === undefined) continue;
    if (group === "skips") lines.push(`opg_watch_skips_total{reason="${label}"} ${value}`);
    if (group === "findings") lines.push(`opg_watch_findings_total{kind="${label}"} ${value}`);
  }
  lines.push(`opg_watch_pending_batches ${health.pendingBatches}`);
  lines.push(`opg_watch_open_receipts ${health.openReceipts}`);
  lines.push(`opg_watch_next_block ${health.nextBlock}`);
  for (const status of ["ok", "degraded", "stopped"] as const) {
    lines.push(`opg_watch_status{status="${status}"} ${health.status === status ? 1 : 0}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A running health server. */
export interface WatchHealthServer {
  url: string;
  close: () => Promise<void>;
}

/** Serve `/metrics` and (any other path) `/health` on 127.0.0.1:`port` (0: any free port); 503 unless ok. */
export async function serveWatchHealth(port: number, report: () => WatchHealth): Promise<WatchHealthServer> {
  const server = createServer((req, res) => {
    const health = report();
    if (req.url === "/metrics") {
      res.setHeader("content-type", "text/plain; version=0.0.4");
      res.end(watchMetricsText(health));
      return;
    }
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
