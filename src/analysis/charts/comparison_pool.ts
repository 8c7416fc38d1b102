/**
 * The composite timings per pool size, with interval bands.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "../../run/record.ts";
import {
  base,
  compositePanels,
  longComposites,
  POOL_AXIS,
  records,
} from "./_shared.ts";
import { colorScale, type Spec } from "./spec.ts";

/**
 * Chart 2: the same comparison against pool size (median over all the
 * sessions run at that pool size).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonByPool, type Spec } from "./mod.ts";
 * import { loadRuns } from "../load.ts";
 * import { poolStats } from "../stats.ts";
 * const run = loadRuns([
 *   new URL("../../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * const spec = comparisonByPool(poolStats(run.sessions), run.metas[0]);
 * assert.deepEqual(
 *   [...new Set(spec.data.values.map((v: Spec) => v.metric))],
 *   ["Commands start", "Commands end", "Channel read", "Total"],
 * );
 * ```
 */
export function comparisonByPool(pools: DataFrame, meta: RunMeta): Spec {
  const rows = records(pools);
  return {
    ...base(
      "SSH clients compared by pool size",
      "median per pool size, 95 % intervals",
      meta,
      "Median of the ok sessions at each pool size (sessions started together); bands: 95 % intervals of each median (bootstrap over whole rounds).",
    ),
    ...compositePanels(
      longComposites(rows, "pool_size", (k) => k.replace(/_ms$/, "_p50_ms")),
      {
        field: "pool_size",
        type: "quantitative",
        title: "pool size (concurrent sessions)",
        axis: POOL_AXIS,
      },
      "median ms",
      {
        field: "series",
        type: "nominal",
        title: "client",
        scale: colorScale(rows.map((r) => String(r.series))),
      },
      [{ field: "failed", title: "failed sessions" }],
    ),
  };
}
