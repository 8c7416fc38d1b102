/**
 * The summary per host, for fleets: per client, pool size and host, the
 * sessions that went there, their median total with its interval (whole
 * rounds resampled, as everywhere), the host's median relative to the
 * whole fleet's, and how often the host held up the round (its session
 * ended last: the post's time "for all hosts").
 *
 * @module
 */
import { clusterInterval } from "../util/inference.ts";
import { median } from "../util/quantile.ts";
import { type TextColumn, textTable } from "../util/text_table.ts";
import type { HostRow } from "./schema.ts";
import type { StepResult } from "./sweep.ts";

/**
 * One row per client, pool size and host; none when every session went to
 * one host.
 *
 * @example
 * ```ts
 * import { hostSummary } from "./host_summary.ts";
 * import assert from "node:assert/strict";
 * const row = (host: string, total_ms: number) => ({ host, total_ms, started_at_ms: 0 });
 * const step = {
 *   client: "c", pool: 2, rounds: 2,
 *   okRounds: [[row("a", 10), row("b", 40)], [row("a", 12), row("b", 44)]],
 *   hostCounts: { a: { sessions: 2, ok: 2 }, b: { sessions: 3, ok: 2 } },
 *   slowestHosts: ["b", "b"],
 * } as never;
 * const [a, b] = hostSummary([step], [{ label: "a" }, { label: "b", rttMs: 50 }]);
 * assert.deepEqual([a.host, a.total_p50_ms, a.slowest_pct], ["a", 11, 0]);
 * assert.deepEqual([b.failed, b.total_p50_ms, b.host_rtt_ms, b.slowest_pct], [1, 42, 50, 100]);
 * assert.equal(b.total_vs_fleet_x, 42 / 26);
 * assert.deepEqual(hostSummary([step], [{ label: "a" }]), []);
 * ```
 */
export function hostSummary(
  results: readonly StepResult[],
  hosts: readonly { label: string; rttMs?: number | null }[],
): HostRow[] {
  if (hosts.length < 2) return [];
  const out: HostRow[] = [];
  for (const r of results) {
    const fleet = median(r.okRounds.flat().map((s) => s.total_ms));
    const slowest = r.slowestHosts ?? [];
    const rounds = slowest.length || 1;
    for (const h of hosts) {
      const perRound = r.okRounds.map((round) =>
        round.filter((s) => s.host === h.label).map((s) => s.total_ms)
      ).filter((x) => x.length > 0);
      const ci = perRound.length
        ? clusterInterval(perRound)
        : { median: NaN, low: NaN, high: NaN };
      const c = r.hostCounts?.[h.label] ?? { sessions: 0, ok: 0 };
      out.push({
        client: r.client,
        pool_size: r.pool,
        rtt_ms: r.rttMs,
        host: h.label,
        host_rtt_ms: r.rttMs ?? h.rttMs ?? undefined,
        sessions: c.sessions,
        ok: c.ok,
        failed: c.sessions - c.ok,
        total_p50_ms: ci.median,
        total_p50_ci_low_ms: ci.low,
        total_p50_ci_high_ms: ci.high,
        total_vs_fleet_x: ci.median / fleet,
        slowest_pct: 100 * slowest.filter((x) => x === h.label).length /
          rounds,
      });
    }
  }
  return out;
}

/**
 * The per-host summary as an aligned text table (empty without rows).
 *
 * @example
 * ```ts
 * import { formatHostSummary } from "./host_summary.ts";
 * import assert from "node:assert/strict";
 * const text = formatHostSummary([{ client: "c", pool_size: 8, host: "sshd-1", sessions: 4,
 *   ok: 4, failed: 0, total_p50_ms: 10, total_p50_ci_low_ms: 9, total_p50_ci_high_ms: 11,
 *   total_vs_fleet_x: 1, slowest_pct: 50 }]);
 * assert.match(text, /^client  pool  host/);
 * assert.match(text, /sshd-1 .* 10\.0 \[9\.0, 11\.0\]/);
 * assert.equal(formatHostSummary([]), "");
 * ```
 */
export function formatHostSummary(rows: readonly HostRow[]): string {
  if (rows.length === 0) return "";
  const f = (v: number | undefined, d = 1) =>
    v !== undefined && Number.isFinite(v) ? v.toFixed(d) : "-";
  const rtt = rows.some((r) => r.host_rtt_ms !== undefined);
  const left = (head: string): TextColumn => ({ head });
  const right = (head: string): TextColumn => ({ head, align: "right" });
  const columns = [
    left("client"),
    left("pool"),
    left("host"),
    ...(rtt ? [right("rtt ms")] : []),
    right("sessions"),
    right("failed"),
    right("median ms [95% CI]"),
    right("vs fleet"),
    right("slowest in % of rounds"),
  ];
  const body = rows.map((r) => [
    r.client,
    String(r.pool_size),
    r.host,
    ...(rtt ? [f(r.host_rtt_ms, 0)] : []),
    String(r.sessions),
    String(r.failed),
    `${f(r.total_p50_ms)} [${f(r.total_p50_ci_low_ms)}, ${
      f(r.total_p50_ci_high_ms)
    }]`,
    `${f(r.total_vs_fleet_x, 2)}x`,
    f(r.slowest_pct, 0),
  ]);
  return textTable(columns, body);
}
