/**
 * The end-of-run summary per client and pool size: computed from step
 * results, checked for what the numbers measure (warnings), formatted as a
 * terminal table. Its fields are declared in the schema (`SUMMARY_COLUMNS`).
 *
 * @module
 */
import { median, quantile } from "../util/quantile.ts";
import type { SummaryRow } from "./schema.ts";
import type { StepResult } from "./sweep.ts";

export type { SummaryRow };

/**
 * Turns step results into summary rows.
 *
 * @example
 * ```ts
 * import { summarize } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const [row] = summarize([{ client: "ssh2", pool: 2, rounds: 1, sessions: 2, ok: 2,
 *   failures: {}, okTotals: [10, 20], roundWalls: [20], clientCpuMs: 8,
 *   serverCpuMs: 30, wallMs: 20, maxRssMb: 60 }]);
 * assert.equal(row.pool_size, 2);
 * assert.equal(row.total_p50_ms, 15);
 * assert.equal(row.sessions_per_s, 100);
 * assert.equal(row.limit_sessions_per_s, navigator.hardwareConcurrency * 1000 / 19);
 * ```
 */
export function summarize(
  results: readonly StepResult[],
  cores: number = navigator.hardwareConcurrency,
): SummaryRow[] {
  return results.map((r) => {
    const client = r.clientCpuMs / Math.max(1, r.sessions);
    const server = r.serverCpuMs / Math.max(1, r.sessions);
    const rate = r.wallMs > 0 ? r.sessions / (r.wallMs / 1000) : NaN;
    const limit = server + client > 0 ? cores * 1000 / (server + client) : NaN;
    return {
      client: r.client,
      pool_size: r.pool,
      sessions: r.sessions,
      failed: r.sessions - r.ok,
      total_p50_ms: median(r.okTotals),
      total_p90_ms: quantile(r.okTotals, 0.9),
      client_cpu_ms_per_session: client,
      server_cpu_ms_per_session: server,
      sessions_per_s: rate,
      limit_sessions_per_s: limit,
      pct_of_limit: 100 * rate / limit,
      client_rss_max_mb: r.maxRssMb,
    };
  });
}

/**
 * Hyperfine-style warnings about what the numbers measure: for each
 * client's largest pool, whether sshd's CPU per session exceeds the
 * client's and the run is near the machine's CPU limit (server-bound).
 *
 * @example
 * ```ts
 * import { costWarnings } from "./summary.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(costWarnings([]), []);
 * const [w] = costWarnings([{ client: "ssh2", pool_size: 30, sessions: 90, failed: 0,
 *   total_p50_ms: 280, total_p90_ms: 300, client_cpu_ms_per_session: 1.5,
 *   server_cpu_ms_per_session: 14, sessions_per_s: 100, limit_sessions_per_s: 130,
 *   pct_of_limit: 77, client_rss_max_mb: 90 }]);
 * assert.match(w, /^warning: server-bound: ssh2 at pool 30 used 14.0 ms of sshd CPU/);
 * ```
 */
export function costWarnings(rows: readonly SummaryRow[]): string[] {
  const last = new Map<string, SummaryRow>();
  for (const r of rows) {
    const prev = last.get(r.client);
    if (!prev || r.pool_size >= prev.pool_size) last.set(r.client, r);
  }
  const out: string[] = [];
  const bound = [...last.values()].filter((r) =>
    Number.isFinite(r.server_cpu_ms_per_session) &&
    r.server_cpu_ms_per_session > r.client_cpu_ms_per_session &&
    r.pct_of_limit >= 50
  );
  if (bound.length > 0) {
    out.push(
      `warning: server-bound: ${
        bound.map((r) =>
          `${r.client} at pool ${r.pool_size} used ${
            r.server_cpu_ms_per_session.toFixed(1)
          } ms of sshd CPU per session vs ${
            r.client_cpu_ms_per_session.toFixed(1)
          } ms of client CPU, at ${r.pct_of_limit.toFixed(0)}% of the CPU limit`
        ).join("; ")
      }. Wall times there mostly measure the server on this machine: compare clients by client CPU per session (efficiency chart), or put the server on another machine with --target.`,
    );
  }
  return out;
}

/**
 * Formats summary rows as an aligned text table.
 *
 * @example
 * ```ts
 * import { formatSummary } from "./summary.ts";
 * import assert from "node:assert/strict";
 * assert.match(formatSummary([]).split("\n")[0], /^client  pool  sessions/);
 * ```
 */
export function formatSummary(rows: readonly SummaryRow[]): string {
  const head = [
    "client",
    "pool",
    "sessions",
    "failed",
    "median ms",
    "p90 ms",
    "client cpu/session ms",
    "server cpu/session ms",
    "sessions/s",
    "limit/s",
    "% of limit",
    "rss MiB",
  ];
  const f = (v: number, d = 1) => Number.isFinite(v) ? v.toFixed(d) : "-";
  const body = rows.map((r) => [
    r.client,
    String(r.pool_size),
    String(r.sessions),
    String(r.failed),
    f(r.total_p50_ms),
    f(r.total_p90_ms),
    f(r.client_cpu_ms_per_session, 2),
    f(r.server_cpu_ms_per_session, 2),
    f(r.sessions_per_s),
    f(r.limit_sessions_per_s, 0),
    f(r.pct_of_limit, 0),
    f(r.client_rss_max_mb, 0),
  ]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) =>
    r.map((c, i) => i < 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(
      "  ",
    )
  ).join("\n");
}
