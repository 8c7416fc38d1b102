/**
 * Analysis of benchmark runs: loading, statistics, charts, rendering and
 * notebook display.
 *
 * @example
 * ```ts ignore
 * import { analyse, chartSpecs, loadRuns, newestRun } from "./mod.ts";
 * const run = loadRuns([newestRun()]);
 * const specs = chartSpecs(analyse(run), run.metas[0]);
 * ```
 *
 * @module
 */
export * from "./load.ts";
export * from "./stats.ts";
export * from "./charts.ts";
export * from "./render.ts";
export * from "./report.ts";
export * from "./notebook.ts";
