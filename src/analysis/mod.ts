/**
 * Analysis of benchmark runs: loading, statistics, charts, rendering,
 * notebook display and the publishable report (page and markdown).
 *
 * @example
 * ```ts
 * import { analyse, CHART_NAMES, chartSpecs, loadRuns } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const run = loadRuns([new URL("../../tests/fixtures/v1-run", import.meta.url).pathname]);
 * const specs = chartSpecs(analyse(run), run.metas[0]);
 * // One host, no emulated RTT: every chart but rtt and hosts.
 * assert.deepEqual(
 *   Object.keys(specs),
 *   CHART_NAMES.filter((n) => n !== "rtt" && n !== "hosts"),
 * );
 * ```
 *
 * @module
 */
export * from "./load.ts";
export * from "./stats.ts";
export * from "./charts/mod.ts";
export * from "./chart_render.ts";
export * from "./analyse.ts";
export * from "./jupyter.ts";
export * from "./report/mod.ts";
export * from "./run_comparison.ts";
export * from "./run_noise.ts";
