/**
 * Statistics of a run with polars: the seed's composites per session,
 * medians per time interval, per-pool percentiles, failure rates and
 * per-round cost. Medians and percentiles are over `ok` sessions; failed
 * sessions are counted in every table (`ok`, `failed`), never dropped
 * silently. Quantiles interpolate linearly between closest ranks (an even
 * count's median is the mean of the middle two), as in the terminal summary.
 *
 * @module
 */
import pl from "nodejs-polars";
import type { DataFrame, Expr } from "nodejs-polars";
import { clusterInterval, RESAMPLES } from "../util/inference.ts";
import { fitLine } from "../util/fit.ts";

/** The seed's composite timings, in the order charts show them. */
export const COMPOSITES = [
  { key: "commands_start_ms", label: "Commands start" },
  { key: "commands_end_ms", label: "Commands end" },
  { key: "channel_read_ms", label: "Channel read" },
  { key: "total_ms", label: "Total" },
] as const;

/** The raw phase columns. */
export const PHASE_COLUMNS = [
  "connect_ms",
  "auth_ms",
  "exec_ms",
  "read_ms",
  "close_ms",
] as const;

/** Every timing column the tables summarise. */
export const TIMING_COLUMNS = [
  ...PHASE_COLUMNS,
  "commands_start_ms",
  "commands_end_ms",
  "channel_read_ms",
  "total_ms",
] as const;

const OK: Expr = pl.col("status").eq(pl.lit("ok"));

/**
 * Adds the seed's composites: commands start = connect + auth + exec
 * (null unless all three were reached), commands end = close, channel
 * read = read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { withComposites } from "./stats.ts";
 * // The second session failed during auth.
 * const df = pl.DataFrame({
 *   connect_ms: [1, 1], auth_ms: [2, null], exec_ms: [3, null],
 *   read_ms: [4, null], close_ms: [5, null],
 * });
 * const c = withComposites(df);
 * assert.deepEqual(c.getColumn("commands_start_ms").toArray(), [6, null]);
 * assert.deepEqual(c.getColumn("commands_end_ms").toArray(), [5, null]);
 * assert.deepEqual(c.getColumn("channel_read_ms").toArray(), [4, null]);
 * ```
 */
export function withComposites(sessions: DataFrame): DataFrame {
  return sessions.withColumns(
    pl.col("connect_ms").add(pl.col("auth_ms")).add(pl.col("exec_ms")).alias(
      "commands_start_ms",
    ),
    pl.col("close_ms").alias("commands_end_ms"),
    pl.col("read_ms").alias("channel_read_ms"),
  );
}

function ensureComposites(df: DataFrame): DataFrame {
  return df.columns.includes("commands_start_ms") ? df : withComposites(df);
}

/**
 * Medians per interval of `started_at_ms` (sessions in
 * [k x interval, (k+1) x interval) share interval k), per series: every
 * phase and composite over ok sessions, the pool sizes seen, ok and failed
 * counts. Columns: series, client, interval, interval_start_s, pool_min,
 * pool_max, ok, failed, then one column per timing (median ms).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { intervalMedians } from "./stats.ts";
 * // Two sessions in the first 5 s (one timed out), one in the next.
 * const ms = [1, 2, 3];
 * const sessions = pl.DataFrame({
 *   series: ["ssh2", "ssh2", "ssh2"], client: ["ssh2", "ssh2", "ssh2"],
 *   pool_size: [1, 1, 2], status: ["ok", "timeout", "ok"],
 *   started_at_ms: [0, 4000, 6000], connect_ms: ms, auth_ms: ms,
 *   exec_ms: ms, read_ms: ms, close_ms: ms, total_ms: [40, 60_000, 70],
 * });
 * const t = intervalMedians(sessions, 5000).toRecords();
 * assert.deepEqual(
 *   t.map((r) => [r.interval_start_s, r.pool_max, r.failed, r.total_ms]),
 *   [[0, 1, 1, 40], [5, 2, 0, 70]],
 * );
 * ```
 */
export function intervalMedians(
  sessions: DataFrame,
  intervalMs = 5000,
): DataFrame {
  const df = ensureComposites(sessions);
  return df.withColumns(
    pl.col("started_at_ms").div(intervalMs).floor().cast(pl.Int64).alias(
      "interval",
    ),
  ).groupBy(["series", "client", "interval"]).agg(
    pl.col("pool_size").min().alias("pool_min"),
    pl.col("pool_size").max().alias("pool_max"),
    OK.sum().cast(pl.Int64).alias("ok"),
    OK.not().sum().cast(pl.Int64).alias("failed"),
    ...TIMING_COLUMNS.map((c) => pl.col(c).filter(OK).median().alias(c)),
  ).withColumns(
    pl.col("interval").mul(intervalMs / 1000).cast(pl.Float64).alias(
      "interval_start_s",
    ),
  ).sort(["series", "interval"]);
}

/**
 * Per series and pool size: sessions, ok, failed, failure_rate and p50,
 * p90, p99 of every timing over ok sessions (columns like `total_p90_ms`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { poolStats } from "./stats.ts";
 * // Four sessions at pool size 4, one timed out.
 * const ms = [1, 2, 3, null];
 * const ssh2 = Array(4).fill("ssh2");
 * const sessions = pl.DataFrame({
 *   series: ssh2, client: ssh2, pool_size: [4, 4, 4, 4],
 *   status: ["ok", "ok", "ok", "timeout"],
 *   connect_ms: ms, auth_ms: ms, exec_ms: ms, read_ms: ms, close_ms: ms,
 *   total_ms: [10, 20, 40, null],
 * });
 * const [p] = poolStats(sessions).toRecords();
 * assert.equal(p.sessions, 4);
 * assert.equal(p.failure_rate, 0.25);
 * assert.equal(p.total_p50_ms, 20);
 * assert.equal(p.total_p90_ms, 36); // 20 + 0.8 x (40 - 20)
 * ```
 */
export function poolStats(sessions: DataFrame): DataFrame {
  const df = ensureComposites(sessions);
  const q = (c: string, p: number, name: string) =>
    pl.col(c).filter(OK).quantile(p, "linear").alias(
      c.replace(/_ms$/, `_${name}_ms`),
    );
  return df.groupBy(["series", "client", "pool_size"]).agg(
    pl.len().cast(pl.Int64).alias("sessions"),
    OK.sum().cast(pl.Int64).alias("ok"),
    OK.not().sum().cast(pl.Int64).alias("failed"),
    ...TIMING_COLUMNS.flatMap((c) => [
      q(c, 0.5, "p50"),
      q(c, 0.9, "p90"),
      q(c, 0.99, "p99"),
    ]),
  ).withColumns(
    pl.col("failed").cast(pl.Float64).div(pl.col("sessions")).alias(
      "failure_rate",
    ),
  ).sort(["series", "pool_size"]);
}

/**
 * Failed sessions by status, per series and pool size: count and rate
 * (count / sessions at that pool size). Empty when nothing failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { failureRates } from "./stats.ts";
 * const ssh2 = Array(4).fill("ssh2");
 * const sessions = pl.DataFrame({
 *   series: ssh2, client: ssh2, pool_size: [4, 4, 4, 4],
 *   status: ["ok", "ok", "ok", "timeout"],
 * });
 * const f = failureRates(sessions).toRecords();
 * assert.deepEqual(
 *   f.map((r) => [r.status, r.count, r.rate]),
 *   [["timeout", 1, 0.25]],
 * );
 * const ok = sessions.filter(pl.col("status").eq(pl.lit("ok")));
 * assert.equal(failureRates(ok).height, 0);
 * ```
 */
export function failureRates(sessions: DataFrame): DataFrame {
  const totals = sessions.groupBy(["series", "pool_size"]).agg(
    pl.len().cast(pl.Int64).alias("sessions"),
  );
  return sessions.filter(OK.not()).groupBy([
    "series",
    "client",
    "pool_size",
    "status",
  ]).agg(pl.len().cast(pl.Int64).alias("count")).join(totals, {
    on: ["series", "pool_size"],
  }).withColumns(
    pl.col("count").cast(pl.Float64).div(pl.col("sessions")).alias("rate"),
  ).sort(["series", "pool_size", "status"]);
}

/**
 * Per series and pool size, from rounds: rounds, sessions, the median and
 * p90 of the round's slowest session ("all hosts" time, the seed's
 * per-run timing), client and server CPU ms per session, sessions per
 * second of round wall time, largest client RSS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { roundStats } from "./stats.ts";
 * // One round of two sessions.
 * const sessions = pl.DataFrame({
 *   run_id: ["r", "r"], series: ["ssh2", "ssh2"], client: ["ssh2", "ssh2"],
 *   pool_size: [2, 2], round: [1, 1], total_ms: [30, 50],
 * });
 * const rounds = pl.DataFrame({
 *   run_id: ["r"], series: ["ssh2"], client: ["ssh2"], pool_size: [2],
 *   round: [1], wall_ms: [100], ok: [2], failed: [0],
 *   client_cpu_ms: [4], server_cpu_ms: [20], client_rss_mb: [60],
 * });
 * const [r] = roundStats(sessions, rounds).toRecords();
 * assert.equal(r.all_hosts_p50_ms, 50); // the round's slowest session
 * assert.equal(r.client_cpu_ms_per_session, 2);
 * assert.equal(r.server_cpu_ms_per_session, 10);
 * assert.equal(r.sessions_per_s, 20);
 * ```
 */
export function roundStats(sessions: DataFrame, rounds: DataFrame): DataFrame {
  const keys = ["run_id", "series", "client", "pool_size", "round"];
  const slowest = sessions.groupBy(keys).agg(
    pl.col("total_ms").max().alias("all_hosts_ms"),
  );
  const joined = rounds.join(slowest, { on: keys, how: "left" });
  return joined.groupBy(["series", "client", "pool_size"]).agg(
    pl.len().cast(pl.Int64).alias("rounds"),
    pl.col("ok").add(pl.col("failed")).sum().cast(pl.Int64).alias("sessions"),
    pl.col("all_hosts_ms").median().alias("all_hosts_p50_ms"),
    pl.col("all_hosts_ms").quantile(0.9, "linear").alias("all_hosts_p90_ms"),
    pl.col("client_cpu_ms").sum().alias("client_cpu_ms"),
    pl.col("server_cpu_ms").sum().alias("server_cpu_ms"),
    pl.col("server_cpu_ms").isNotNull().sum().alias("server_rounds"),
    pl.col("wall_ms").sum().alias("wall_ms"),
    pl.col("client_rss_mb").max().alias("client_rss_max_mb"),
  ).withColumns(
    pl.col("client_cpu_ms").div(pl.col("sessions")).alias(
      "client_cpu_ms_per_session",
    ),
    pl.when(pl.col("server_rounds").gt(0)).then(
      pl.col("server_cpu_ms").div(pl.col("sessions")),
    ).otherwise(pl.lit(null)).alias("server_cpu_ms_per_session"),
    pl.col("sessions").cast(pl.Float64).div(pl.col("wall_ms").div(1000)).alias(
      "sessions_per_s",
    ),
  ).drop("server_rounds").sort(["series", "pool_size"]);
}

/** The composites that get an interval in the charts. */
const INTERVAL_KEYS = [
  "total_ms",
  "commands_start_ms",
  "commands_end_ms",
  "channel_read_ms",
] as const;

/**
 * 95 % intervals of the medians of total and the composites per series and
 * pool size, by a bootstrap over whole rounds (the engine's method, see
 * `src/util/inference.ts`), as columns `<key>_ci_low_ms` and
 * `<key>_ci_high_ms` to join onto {@linkcode poolStats}. Large runs use
 * fewer resamples (at least 100) to bound the work.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * import { poolIntervals, withComposites } from "./stats.ts";
 * const s = withComposites(pl.DataFrame({
 *   series: ["a", "a", "a", "a"], client: ["a", "a", "a", "a"], pool_size: [2, 2, 2, 2],
 *   run_id: ["r", "r", "r", "r"], round: [1, 1, 2, 2], status: ["ok", "ok", "ok", "ok"],
 *   connect_ms: [1, 1, 1, 1], auth_ms: [9, 9, 9, 9], exec_ms: [1, 1, 1, 1],
 *   read_ms: [2, 2, 2, 2], close_ms: [1, 1, 1, 1], total_ms: [14, 14, 20, 20],
 * }));
 * const [row] = poolIntervals(s).toRecords();
 * assert.equal(row.total_ci_low_ms, 14);
 * assert.equal(row.total_ci_high_ms, 20);
 * ```
 */
export function poolIntervals(sessions: DataFrame): DataFrame {
  const df = ensureComposites(sessions).filter(OK).sort([
    "series",
    "client",
    "pool_size",
    "run_id",
    "round",
  ]);
  const col = (c: string) => df.getColumn(c).toArray() as unknown[];
  const [series, client, pool, runId, round] = [
    "series",
    "client",
    "pool_size",
    "run_id",
    "round",
  ].map(col);
  const values = INTERVAL_KEYS.map((k) => col(k) as (number | null)[]);
  const resamples = Math.max(
    30,
    Math.min(RESAMPLES, Math.floor(1e7 / Math.max(1, df.height))),
  );
  const out: Record<string, unknown>[] = [];
  // Rows are sorted: a group is a run of equal (series, client, pool),
  // a round a run of equal (run_id, round) inside it.
  const n = df.height;
  let g = 0;
  while (g < n) {
    let end = g;
    while (
      end < n && series[end] === series[g] &&
      client[end] === client[g] && pool[end] === pool[g]
    ) end++;
    const row: Record<string, unknown> = {
      series: series[g],
      client: client[g],
      pool_size: pool[g],
    };
    INTERVAL_KEYS.forEach((k, j) => {
      const rounds: number[][] = [];
      for (let i = g; i < end; i++) {
        if (i === g || runId[i] !== runId[i - 1] || round[i] !== round[i - 1]) {
          rounds.push([]);
        }
        const v = values[j][i];
        if (typeof v === "number" && Number.isFinite(v)) rounds.at(-1)!.push(v);
      }
      const ci = clusterInterval(rounds, 0.95, 1, resamples);
      const name = k.replace(/_ms$/, "");
      row[`${name}_ci_low_ms`] = ci.low;
      row[`${name}_ci_high_ms`] = ci.high;
    });
    out.push(row);
    g = end;
  }
  if (out.length === 0) {
    // No ok session: typed like the columns it is joined on.
    return pl.DataFrame({ series: [], client: [], pool_size: [] }).select(
      pl.col("series").cast(pl.Utf8),
      pl.col("client").cast(pl.Utf8),
      pl.col("pool_size").cast(pl.Int64),
      ...INTERVAL_KEYS.flatMap((k) => {
        const name = k.replace(/_ms$/, "");
        return [`${name}_ci_low_ms`, `${name}_ci_high_ms`].map((c) =>
          pl.lit(null).cast(pl.Float64).alias(c)
        );
      }),
    );
  }
  return pl.DataFrame(out).withColumns(pl.col("pool_size").cast(pl.Int64));
}

/**
 * Per series, at the given pool sizes: the empirical distribution (ECDF)
 * of `total_ms` of ok sessions, at most `points` points per series and
 * pool size (evenly spaced in rank). Columns: series, client, pool_size,
 * total_ms, fraction.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * import { totalDistribution } from "./stats.ts";
 * const s = pl.DataFrame({ series: ["a", "a", "a", "a"], client: ["a", "a", "a", "a"],
 *   pool_size: [1, 1, 1, 1], status: ["ok", "ok", "ok", "ok"], total_ms: [40, 38, 80, 39] });
 * const d = totalDistribution(s, [1]).toRecords();
 * assert.deepEqual(d.map((r) => [r.total_ms, r.fraction]), [[38, 0.25], [39, 0.5], [40, 0.75], [80, 1]]);
 * ```
 */
export function totalDistribution(
  sessions: DataFrame,
  pools: readonly number[],
  points = 200,
): DataFrame {
  const df = sessions.filter(
    OK.and(pl.col("pool_size").isIn([...pools])),
  ).select("series", "client", "pool_size", "total_ms");
  const groups = new Map<string, number[]>();
  const meta = new Map<string, [unknown, unknown, unknown]>();
  const s = df.getColumn("series").toArray();
  const c = df.getColumn("client").toArray();
  const p = df.getColumn("pool_size").toArray();
  const t = df.getColumn("total_ms").toArray() as number[];
  for (let i = 0, n = df.height; i < n; i++) {
    const k = `${s[i]}\u0000${p[i]}`;
    let v = groups.get(k);
    if (!v) {
      groups.set(k, v = []);
      meta.set(k, [s[i], c[i], p[i]]);
    }
    v.push(t[i]);
  }
  const out: Record<string, unknown>[] = [];
  for (const [k, v] of groups) {
    v.sort((a, b) => a - b);
    const [series, client, pool_size] = meta.get(k)!;
    const step = Math.max(1, Math.ceil(v.length / points));
    const at = (i: number) =>
      out.push({
        series,
        client,
        pool_size,
        total_ms: v[i],
        fraction: (i + 1) / v.length,
      });
    let last = -1;
    for (let i = step - 1; i < v.length; i += step) at(last = i);
    if (last !== v.length - 1) at(v.length - 1);
  }
  if (out.length === 0) {
    return pl.DataFrame({
      series: [],
      client: [],
      pool_size: [],
      total_ms: [],
      fraction: [],
    });
  }
  return pl.DataFrame(out).withColumns(pl.col("pool_size").cast(pl.Int64));
}

/** The timings the RTT chart fits, in panel order. */
export const RTT_METRICS = [
  "total_ms",
  "connect_ms",
  "auth_ms",
  "exec_ms",
  "read_ms",
  "close_ms",
  "disconnect_ms",
] as const;

/**
 * Per client and emulated RTT, at the smallest pool size run at every RTT:
 * the median of the total and of each phase (ok sessions), long format
 * (client, rtt_ms, pool_size, metric, value_ms), with each client's
 * least-squares slope against the RTT per metric (`round_trips`). Empty
 * without emulated RTTs.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * import { rttMedians } from "./stats.ts";
 * const s = pl.DataFrame({ client: ["a", "a"], pool_size: [1, 1], rtt_ms: [0, 50],
 *   status: ["ok", "ok"], total_ms: [40, 690], connect_ms: [0.1, 50.1], auth_ms: [30, 430],
 *   exec_ms: [3, 103], read_ms: [2, 52], close_ms: [1, 51], disconnect_ms: [1, 1] });
 * const t = rttMedians(s).filter(pl.col("metric").eq(pl.lit("total_ms"))).toRecords();
 * assert.deepEqual(t.map((r) => r.round_trips), [13, 13]);
 * ```
 */
export function rttMedians(sessions: DataFrame): DataFrame {
  const empty = pl.DataFrame({
    client: [],
    rtt_ms: [],
    pool_size: [],
    metric: [],
    value_ms: [],
    round_trips: [],
  });
  if (
    !sessions.columns.includes("rtt_ms") ||
    sessions.getColumn("rtt_ms").nullCount() === sessions.height
  ) return empty;
  const metrics = RTT_METRICS.filter((m) => sessions.columns.includes(m));
  const med = sessions.filter(OK.and(pl.col("rtt_ms").isNotNull())).groupBy([
    "client",
    "rtt_ms",
    "pool_size",
  ]).agg(...metrics.map((m) => pl.col(m).median().alias(m))).toRecords();
  const out: Record<string, unknown>[] = [];
  for (const [client, rows] of Map.groupBy(med, (r) => String(r.client))) {
    const rtts = new Set(rows.map((r) => r.rtt_ms));
    const pool = [...new Set(rows.map((r) => Number(r.pool_size)))].sort((
      a,
      b,
    ) => a - b).find((p) =>
      [...rtts].every((t) =>
        rows.some((r) => Number(r.pool_size) === p && r.rtt_ms === t)
      )
    );
    if (pool === undefined) continue;
    const at = rows.filter((r) => Number(r.pool_size) === pool);
    for (const m of metrics) {
      const pts = at.filter((r) => typeof r[m] === "number").map((r) =>
        [Number(r.rtt_ms), Number(r[m])] as [number, number]
      );
      const slope = fitLine(pts).slope;
      for (const [rtt, v] of pts) {
        out.push({
          client,
          rtt_ms: rtt,
          pool_size: pool,
          metric: m,
          value_ms: v,
          round_trips: Number.isFinite(slope) ? slope : null,
        });
      }
    }
  }
  return out.length ? pl.DataFrame(out) : empty;
}

/**
 * Per client, pool size and host (fleets): sessions, failed, the median
 * and p90 of the total of ok sessions, and the host's emulated RTT. Empty
 * when the run has no `host` column or one host only.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * import { hostMedians } from "./stats.ts";
 * const s = pl.DataFrame({ client: ["a", "a", "a"], pool_size: [2, 2, 2],
 *   host: ["h1", "h2", "h2"], rtt_ms: [0, 50, 50], status: ["ok", "ok", "connect_error"],
 *   total_ms: [40, 690, 1] });
 * const t = hostMedians(s).toRecords();
 * assert.deepEqual(t.map((r) => [r.host, r.sessions, r.failed, r.total_p50_ms, r.host_rtt_ms]),
 *   [["h1", 1, 0, 40, 0], ["h2", 2, 1, 690, 50]]);
 * assert.equal(hostMedians(s.drop("host")).height, 0);
 * ```
 */
export function hostMedians(sessions: DataFrame): DataFrame {
  const empty = pl.DataFrame({
    client: [],
    pool_size: [],
    host: [],
    host_rtt_ms: [],
    sessions: [],
    failed: [],
    total_p50_ms: [],
    total_p90_ms: [],
  });
  if (!sessions.columns.includes("host")) return empty;
  const withHost = sessions.filter(pl.col("host").isNotNull());
  if (withHost.getColumn("host").nUnique() < 2) return empty;
  // Each host at each RTT apart: with `--rtt` a host is met at every RTT
  // of the sweep; with `--server-rtt` it has one.
  const keyed = withHost.withColumns(
    (sessions.columns.includes("rtt_ms")
      ? pl.col("rtt_ms").cast(pl.Float64)
      : pl.lit(null).cast(pl.Float64)).alias("host_rtt_ms"),
  );
  const okTotal = pl.col("total_ms").filter(OK);
  return keyed.groupBy(["client", "pool_size", "host", "host_rtt_ms"]).agg(
    pl.len().cast(pl.Int64).alias("sessions"),
    pl.col("status").neq(pl.lit("ok")).sum().cast(pl.Int64).alias("failed"),
    okTotal.median().alias("total_p50_ms"),
    okTotal.quantile(0.9).alias("total_p90_ms"),
  ).sort(["client", "pool_size", "host_rtt_ms", "host"]);
}
