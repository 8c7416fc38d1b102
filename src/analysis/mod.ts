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
export * from "./chart_specs.ts";
export * from "./chart_render.ts";
export * from "./analyse.ts";
export * from "./jupyter.ts";
