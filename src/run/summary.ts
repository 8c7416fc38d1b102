/**
 * The end-of-run summary per client and pool size: computed from step
 * results, checked for what the numbers measure (warnings), formatted as a
 * terminal table. Its fields are declared in the schema (`SUMMARY_COLUMNS`).
 *
 * @module
 */
import { median, quantile } from "../util/quantile.ts";
import type { Negotiated } from "../clients/seam.ts";
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
 *   serverCpuMs: 30, machineCpuMs: 40, machineWindowMs: 25, wallMs: 20,
 *   maxRssMb: 60 }], 2);
 * assert.equal(row.pool_size, 2);
 * assert.equal(row.total_p50_ms, 15);
 * assert.equal(row.sessions_per_s, 100);
 * assert.equal(row.machine_cpu_ms_per_session, 20);
 * assert.equal(row.unattributed_cpu_ms_per_session, 20 - 4 - 15);
 * assert.equal(row.machine_busy_pct, 80); // 40 ms of 2 cores x 25 ms
 * assert.equal(row.limit_sessions_per_s, 2 * 1000 / 20);
 * ```
 */
export function summarize(
  results: readonly StepResult[],
  cores: number = navigator.hardwareConcurrency,
): SummaryRow[] {
  return results.map((r) => {
    const n = Math.max(1, r.sessions);
    const client = r.clientCpuMs / n;
    const server = r.serverCpuMs / n;
    const machine = r.machineCpuMs / n;
    const rate = r.wallMs > 0 ? r.sessions / (r.wallMs / 1000) : NaN;
    // The limit from what the machine measured; without that reading,
    // from what the client and server were charged.
    const perSession = Number.isFinite(machine) ? machine : server + client;
    const limit = perSession > 0 ? cores * 1000 / perSession : NaN;
    return {
      client: r.client,
      pool_size: r.pool,
      sessions: r.sessions,
      failed: r.sessions - r.ok,
      total_p50_ms: median(r.okTotals),
      total_p90_ms: quantile(r.okTotals, 0.9),
      client_cpu_ms_per_session: client,
      server_cpu_ms_per_session: server,
      machine_cpu_ms_per_session: machine,
      unattributed_cpu_ms_per_session: machine - client - server,
      machine_busy_pct: 100 * r.machineCpuMs / (cores * r.machineWindowMs),
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
 * client's and the run is near the machine's CPU limit (server-bound);
 * and every step during which the machine was over
 * {@linkcode SATURATED_PCT} % busy (saturated: wall times there include
 * waiting for a core).
 *
 * @example
 * ```ts
 * import { costWarnings } from "./summary.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(costWarnings([]), []);
 * const row = { client: "ssh2", pool_size: 30, sessions: 90, failed: 0,
 *   total_p50_ms: 280, total_p90_ms: 300, client_cpu_ms_per_session: 1.5,
 *   server_cpu_ms_per_session: 14, machine_cpu_ms_per_session: 19,
 *   unattributed_cpu_ms_per_session: 3.5, machine_busy_pct: 95, sessions_per_s: 100,
 *   limit_sessions_per_s: 105, pct_of_limit: 95, client_rss_max_mb: 90 };
 * const [bound, busy] = costWarnings([row]);
 * assert.match(bound, /^warning: server-bound: ssh2 at pool 30 used 14.0 ms of sshd CPU/);
 * assert.match(busy, /^warning: the machine was over 90% busy: ssh2 at pool 30 \(95%\)/);
 * assert.equal(costWarnings([{ ...row, machine_busy_pct: 60 }]).length, 1);
 * ```
 */
export function costWarnings(rows: readonly SummaryRow[]): string[] {
  return [...serverBound(rows), ...saturated(rows)];
}

/** A machine busier than this during a step is saturated, %. */
export const SATURATED_PCT = 90;

function saturated(rows: readonly SummaryRow[]): string[] {
  const busy = rows.filter((r) => r.machine_busy_pct > SATURATED_PCT);
  if (busy.length === 0) return [];
  const shown = busy.slice(0, 6).map((r) =>
    `${r.client} at pool ${r.pool_size} (${r.machine_busy_pct.toFixed(0)}%)`
  ).join(", ");
  return [
    `warning: the machine was over ${SATURATED_PCT}% busy: ${shown}${
      busy.length > 6 ? ` and ${busy.length - 6} more steps` : ""
    }. Sessions there also waited for a free core, so their wall times measure the machine's capacity more than the client; compare clients at smaller pools, by CPU per session, or put the server on another machine with --target.`,
  ];
}

function serverBound(rows: readonly SummaryRow[]): string[] {
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
    "machine cpu/session ms",
    "unattributed ms",
    "busy %",
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
    f(r.machine_cpu_ms_per_session, 2),
    f(r.unattributed_cpu_ms_per_session, 2),
    f(r.machine_busy_pct, 0),
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

/**
 * One line per client naming what it negotiated.
 *
 * @example
 * ```ts
 * import { formatNegotiated } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const text = formatNegotiated({
 *   ssh2: { kex: "curve25519-sha256", hostKey: "ssh-ed25519", cipher: "aes128-gcm@openssh.com", mac: "<implicit>" },
 *   other: null,
 * });
 * assert.deepEqual(text.split("\n"), [
 *   "negotiated: ssh2: kex curve25519-sha256, host key ssh-ed25519, cipher aes128-gcm@openssh.com, MAC <implicit>",
 *   "negotiated: other: not reported by the client",
 * ]);
 * ```
 */
export function formatNegotiated(
  negotiated: Record<string, Negotiated | null>,
): string {
  return Object.entries(negotiated).map(([client, n]) =>
    `negotiated: ${client}: ${
      n
        ? `kex ${n.kex}, host key ${n.hostKey}, cipher ${n.cipher}, MAC ${n.mac}`
        : "not reported by the client"
    }`
  ).join("\n");
}
