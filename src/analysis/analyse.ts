/**
 * A run's whole analysis in one call: tables and the chart specs,
 * and writing them to `<run>/charts/`.
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
} from "./chart_specs.ts";
import type { RunData, RunMeta } from "./load.ts";
import { type ChartFiles, writeChart } from "./chart_render.ts";
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

/**
 * The chart specs of an analysis, by {@linkcode CHART_NAMES}.
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
 * assert.deepEqual(Object.keys(specs), [...CHART_NAMES]);
 * ```
 */
export function chartSpecs(
  a: Analysis,
  meta: RunMeta,
  intervalMs = 5000,
): Record<typeof CHART_NAMES[number], Spec> {
  return {
    "comparison-time": comparisonByTime(a.intervals, meta, intervalMs),
    "comparison-pool": comparisonByPool(a.pools, meta),
    "scaling": scalingChart(a.pools, meta),
    "efficiency": efficiencyChart(a.rounds, meta),
    "failures": failuresChart(a.failures, a.pools, meta),
    "distribution": distributionChart(a.distribution, meta),
    "rtt": rttChart(a.rtt, meta),
    "hosts": hostsChart(a.hosts, meta),
  };
}

/**
 * Analyses a loaded run and writes the charts to `outDir`.
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
 * assert.deepEqual(
 *   files.map((f) => f.png),
 *   CHART_NAMES.map((name) => `${dir}/${name}.png`),
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
  const specs = chartSpecs(a, run.metas[0] ?? {}, intervalMs);
  const out: ChartFiles[] = [];
  for (const name of CHART_NAMES) {
    out.push(await writeChart(specs[name], outDir, name));
  }
  return out;
}
