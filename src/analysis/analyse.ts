/**
 * A run's whole analysis in one call: tables and the chart specs,
 * and writing them to `<run>/charts/`. A chart the run has nothing to
 * show in is left out, with the reason ({@linkcode chartsLeftOut}).
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import {
  comparisonByPool,
  comparisonByTime,
  distributionChart,
  efficiencyChart,
  failuresChart,
  hostsChart,
  rttChart,
  scalingChart,
  type Spec,
} from "./charts/mod.ts";
import type { RunData } from "./load.ts";
import type { RunMeta } from "../run/record.ts";
import {
  type ChartFiles,
  removeChartFiles,
  writeChart,
} from "./chart_render.ts";
import {
  failureRates,
  hostMedians,
  intervalMedians,
  poolIntervals,
  poolStats,
  roundStats,
  rttMedians,
  totalDistribution,
  withComposites,
} from "./stats.ts";

/** Every table of an analysis. */
export interface Analysis {
  /** Sessions with composites. */
  sessions: DataFrame;
  /** Medians per interval. */
  intervals: DataFrame;
  /** Percentiles per pool size. */
  pools: DataFrame;
  /** Failures by status. */
  failures: DataFrame;
  /** Per-round cost per pool size. */
  rounds: DataFrame;
  /** ECDF of total at {@linkcode DISTRIBUTION_POOLS}. */
  distribution: DataFrame;
  /** Medians against the emulated RTT, with round trips (empty without). */
  rtt: DataFrame;
  /** Per host (fleets; empty with one host). */
  hosts: DataFrame;
}

/**
 * Computes every table of a loaded run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse } from "./analyse.ts";
 * import { loadRuns } from "./load.ts";
 * const run = loadRuns([
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * const a = analyse(run);
 * // Every session counts once, ok or failed.
 * assert.equal(a.pools.getColumn("sessions").sum(), run.sessions.height);
 * assert.equal(a.rounds.getColumn("sessions").sum(), run.sessions.height);
 * ```
 */
export function analyse(run: RunData, intervalMs = 5000): Analysis {
  const sessions = withComposites(run.sessions);
  return {
    sessions,
    intervals: intervalMedians(sessions, intervalMs),
    pools: poolStats(sessions).join(poolIntervals(sessions), {
      on: ["series", "client", "pool_size"],
      how: "left",
    }),
    failures: failureRates(sessions),
    distribution: totalDistribution(sessions, DISTRIBUTION_POOLS),
    rtt: rttMedians(sessions),
    hosts: hostMedians(sessions),
    rounds: roundStats(sessions, run.rounds),
  };
}

/** Interval lengths the time chart picks from, longest first, ms. */
const INTERVALS_MS = [5000, 2000, 1000, 500];

/**
 * The interval for the medians over time when none is given, and the
 * run's length it was picked for: the longest of 5, 2, 1 and 0.5 s that
 * cuts the run into at least 20 intervals (5 s from 100 s on, as the seed
 * run's charts have). The length is the shortest run's, from `meta.json`
 * (else from its last session's start).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intervalFor } from "./analyse.ts";
 * import { loadRuns } from "./load.ts";
 * const seed = loadRuns([
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * assert.deepEqual(intervalFor(seed), { intervalMs: 5000, runSeconds: 1034 });
 * const short = { ...seed, metas: [{
 *   started_at: "2026-11-26T07:16:15.000Z", ended_at: "2026-11-26T07:16:36.000Z",
 * }] };
 * assert.deepEqual(intervalFor(short), { intervalMs: 1000, runSeconds: 21 });
 * ```
 */
export function intervalFor(
  run: RunData,
): { intervalMs: number; runSeconds: number } {
  const lengths = run.metas.map((m) =>
    (Date.parse(String(m.ended_at)) - Date.parse(String(m.started_at))) / 1000
  ).filter((s) => Number.isFinite(s) && s > 0);
  const lastStart = run.sessions.height
    ? Number(run.sessions.getColumn("started_at_ms").max() ?? 0) / 1000
    : 0;
  const runSeconds = lengths.length ? Math.min(...lengths) : lastStart;
  const intervalMs = INTERVALS_MS.find((ms) => runSeconds * 1000 >= 20 * ms) ??
    INTERVALS_MS.at(-1)!;
  return { intervalMs, runSeconds: Math.round(runSeconds) };
}

/** Pool sizes the distribution chart shows (those the run has). */
export const DISTRIBUTION_POOLS = [1, 30];

/** The charts' names, in order. */
export const CHART_NAMES = [
  "comparison-time",
  "comparison-pool",
  "scaling",
  "efficiency",
  "failures",
  "distribution",
  "rtt",
  "hosts",
] as const;

/** One of {@linkcode CHART_NAMES}. */
export type ChartName = typeof CHART_NAMES[number];

/**
 * The specs of the charts a run has something to show in, by name, in
 * {@linkcode CHART_NAMES} order; the others are absent
 * (see {@linkcode chartsLeftOut}).
 */
export type ChartSpecs = Partial<Record<ChartName, Spec>>;

/** A chart left out because the run has nothing for it to show. */
export interface LeftOutChart {
  /** The chart. */
  name: ChartName;
  /** Why, starting in lower case (e.g. `no session ended ok (...)`). */
  reason: string;
}

/** The charts drawn from ok sessions' timings. */
const TIMING_CHARTS: readonly ChartName[] = [
  "comparison-time",
  "comparison-pool",
  "scaling",
  "distribution",
];

/**
 * The charts an analysis has nothing to show in, and why, in
 * {@linkcode CHART_NAMES} order. With no session at all, every chart; with
 * no ok session, the timing charts, `rtt` and `hosts`; the failures chart
 * stays, it is what such a run has. Otherwise `distribution` when no ok
 * session ran at {@linkcode DISTRIBUTION_POOLS}, `failures` when none
 * failed, `rtt` without emulated round-trip times, `hosts` with one host,
 * and `efficiency` when no round has a CPU figure. A chart is never drawn
 * empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { analyse, chartsLeftOut } from "./analyse.ts";
 * import { loadRuns } from "./load.ts";
 * const run = loadRuns([
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * // No failure, one host on loopback: nothing for three charts.
 * assert.deepEqual(
 *   chartsLeftOut(analyse(run)).map((c) => c.name),
 *   ["failures", "rtt", "hosts"],
 * );
 * // Every session failed: the timing charts are left out, failures stay.
 * const failed = { ...run, sessions: run.sessions.head(3).withColumns(
 *   pl.lit("timeout").alias("status"),
 * ) };
 * const out = chartsLeftOut(analyse(failed));
 * assert.deepEqual(out.map((c) => c.name), [
 *   "comparison-time", "comparison-pool", "scaling", "distribution", "rtt", "hosts",
 * ]);
 * assert.equal(out[0].reason, "no session ended ok (3 sessions: 3 timeout)");
 * ```
 */
export function chartsLeftOut(a: Analysis): LeftOutChart[] {
  const sessions = Number(a.pools.getColumn("sessions").sum() ?? 0);
  const ok = Number(a.pools.getColumn("ok").sum() ?? 0);
  const why = new Map<ChartName, string>();
  if (sessions === 0) {
    for (const name of CHART_NAMES) why.set(name, "no session was recorded");
  } else if (ok === 0) {
    const reason = `no session ended ok (${sessions} session${
      sessions === 1 ? "" : "s"
    }: ${statusCounts(a.failures)})`;
    for (const name of [...TIMING_CHARTS, "rtt", "hosts"] as const) {
      why.set(name, reason);
    }
  } else {
    if (a.distribution.height === 0) {
      why.set(
        "distribution",
        `no ok session at pool ${DISTRIBUTION_POOLS.join(" or ")}`,
      );
    }
    if (a.failures.height === 0) {
      why.set(
        "failures",
        `no session failed (all ${
          sessions.toLocaleString("en-US")
        } sessions ended ok)`,
      );
    }
    if (a.rtt.height === 0) {
      why.set(
        "rtt",
        "no emulated round-trip time in this run (--rtt 0,25,50 sweeps one)",
      );
    }
    if (a.hosts.height === 0) {
      why.set(
        "hosts",
        "one host in this run (a fleet: --servers 4, --server-rtt 0,0,50,200, --hosts FILE or --target repeated)",
      );
    }
  }
  if (!why.has("efficiency") && !hasCpuFigures(a.rounds)) {
    why.set("efficiency", "no round has a CPU figure");
  }
  return CHART_NAMES.filter((n) => why.has(n)).map((name) => ({
    name,
    reason: why.get(name)!,
  }));
}

/** "2 exit_nonzero, 1 timeout": failed sessions by status, most first. */
function statusCounts(failures: DataFrame): string {
  const by = new Map<string, number>();
  for (const r of failures.toRecords()) {
    const s = String(r.status);
    by.set(s, (by.get(s) ?? 0) + Number(r.count));
  }
  return [...by].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
    .map(([s, n]) => `${n} ${s}`).join(", ");
}

/** Whether any pool size has a client or server CPU figure above 0. */
function hasCpuFigures(rounds: DataFrame): boolean {
  return rounds.toRecords().some((r) =>
    Number(r.client_cpu_ms_per_session) > 0 ||
    Number(r.server_cpu_ms_per_session) > 0
  );
}

/**
 * The charts left out, as sentences, one per reason (e.g. `No session
 * ended ok (3 sessions: 3 exit_nonzero): comparison-time, ... and hosts
 * are left out.`); empty when none is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { leftOutLines } from "./analyse.ts";
 * assert.deepEqual(
 *   leftOutLines([
 *     { name: "scaling", reason: "no session ended ok (1 session: 1 timeout)" },
 *     { name: "rtt", reason: "no session ended ok (1 session: 1 timeout)" },
 *     { name: "efficiency", reason: "no round has a CPU figure" },
 *   ]),
 *   [
 *     "No session ended ok (1 session: 1 timeout): the scaling and rtt charts are left out.",
 *     "No round has a CPU figure: the efficiency chart is left out.",
 *   ],
 * );
 * assert.deepEqual(leftOutLines([]), []);
 * ```
 */
export function leftOutLines(leftOut: readonly LeftOutChart[]): string[] {
  const by = Map.groupBy(leftOut, (c) => c.reason);
  return [...by].map(([reason, charts]) => {
    const names = charts.map((c) => c.name);
    const list = names.length === 1
      ? names[0]
      : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
    return `${reason[0].toUpperCase()}${reason.slice(1)}: the ${list} chart${
      names.length === 1 ? " is" : "s are"
    } left out.`;
  });
}

/**
 * The chart specs of an analysis, by {@linkcode CHART_NAMES}, less the
 * charts it has nothing to show in ({@linkcode chartsLeftOut}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse, CHART_NAMES, chartSpecs } from "./analyse.ts";
 * import { loadRuns } from "./load.ts";
 * const run = loadRuns([
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * const specs = chartSpecs(analyse(run), run.metas[0]);
 * assert.deepEqual(
 *   Object.keys(specs),
 *   ["comparison-time", "comparison-pool", "scaling", "efficiency", "distribution"],
 * );
 * ```
 */
export function chartSpecs(
  a: Analysis,
  meta: RunMeta,
  intervalMs = 5000,
  runSeconds?: number,
): ChartSpecs {
  const make: Record<ChartName, () => Spec | undefined> = {
    "comparison-time": () =>
      comparisonByTime(a.intervals, meta, intervalMs, runSeconds),
    "comparison-pool": () => comparisonByPool(a.pools, meta),
    "scaling": () => scalingChart(a.pools, meta),
    "efficiency": () => efficiencyChart(a.rounds, meta),
    "failures": () => failuresChart(a.failures, a.pools, meta),
    "distribution": () => distributionChart(a.distribution, meta),
    "rtt": () => rttChart(a.rtt, meta),
    "hosts": () => hostsChart(a.hosts, meta),
  };
  const left = new Set(chartsLeftOut(a).map((c) => c.name));
  return Object.fromEntries(
    CHART_NAMES.filter((n) => !left.has(n)).map((n) => [n, make[n]()])
      .filter(([, spec]) => spec),
  );
}

/** The charts written, and those left out. */
export interface RenderedCharts {
  /** The charts written, in {@linkcode CHART_NAMES} order. */
  files: ChartFiles[];
  /** The charts left out, and why. */
  leftOut: LeftOutChart[];
}

/**
 * Writes an analysis' charts to `outDir`; a chart it has nothing to show
 * in is left out (not drawn empty: its files from an earlier rendering
 * are removed), and returned with its reason. `runSeconds`: the run's
 * length the interval was picked for ({@linkcode intervalFor}), named in
 * the time chart's caption.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse, renderAnalysis } from "./analyse.ts";
 * import { loadRuns } from "./load.ts";
 * const run = loadRuns([
 *   new URL("../../tests/fixtures/v1-run", import.meta.url).pathname,
 * ]);
 * const dir = await Deno.makeTempDir();
 * // A chart drawn by an earlier version, with nothing to show now.
 * await Deno.writeTextFile(`${dir}/hosts.png`, "stale");
 * const r = await renderAnalysis(analyse(run), run.metas[0], dir);
 * assert.equal(r.files.length + r.leftOut.length, 8);
 * assert.ok(r.leftOut.some((c) => c.name === "hosts"));
 * assert.ok(!(await Array.fromAsync(Deno.readDir(dir))).some((e) =>
 *   e.name.startsWith("hosts.")
 * ));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function renderAnalysis(
  a: Analysis,
  meta: RunMeta,
  outDir: string,
  intervalMs = 5000,
  runSeconds?: number,
): Promise<RenderedCharts> {
  const specs = chartSpecs(a, meta, intervalMs, runSeconds);
  const files: ChartFiles[] = [];
  for (const name of CHART_NAMES) {
    const spec = specs[name];
    if (spec) files.push(await writeChart(spec, outDir, name));
    else await removeChartFiles(outDir, name);
  }
  return { files, leftOut: chartsLeftOut(a) };
}

/**
 * Analyses a loaded run and writes the charts it has something to show in
 * to `outDir` ({@linkcode renderAnalysis}); returns the files written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHART_NAMES, renderRun } from "./analyse.ts";
 * import { loadRuns } from "./load.ts";
 * const run = loadRuns([
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * const dir = await Deno.makeTempDir();
 * const files = await renderRun(run, dir);
 * // Every chart but failures, rtt and hosts (none failed, one host, no
 * // emulated RTT).
 * assert.deepEqual(
 *   files.map((f) => f.png),
 *   CHART_NAMES.filter((n) => !["failures", "rtt", "hosts"].includes(n))
 *     .map((name) => `${dir}/${name}.png`),
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function renderRun(
  run: RunData,
  outDir: string,
  intervalMs = 5000,
): Promise<ChartFiles[]> {
  const a = analyse(run, intervalMs);
  return (await renderAnalysis(a, run.metas[0] ?? {}, outDir, intervalMs))
    .files;
}
