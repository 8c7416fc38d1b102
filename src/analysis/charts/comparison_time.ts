/**
 * The seed's main figure: the composite timings per interval over the run.
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
  withSegments,
} from "./_shared.ts";
import { colorScale, type Spec } from "./spec.ts";

/**
 * Chart 1, the seed's main figure: commands start, commands end, channel
 * read and total as the median per interval over time since the run
 * started, one colour per client, with a pool-size panel underneath.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonByTime } from "./mod.ts";
 * import { loadRuns } from "../load.ts";
 * import { intervalMedians } from "../stats.ts";
 * const run = loadRuns([
 *   new URL("../../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * const spec = comparisonByTime(intervalMedians(run.sessions), run.metas[0]);
 * assert.equal(
 *   spec.title.text,
 *   "SSH clients compared: median per 5-second interval",
 * );
 * assert.equal(
 *   spec.title.subtitle,
 *   "four timings over the run, pool size below; embedded Go server, loopback, 2 cores",
 * );
 * assert.equal(spec.vconcat.length, 2); // the four timings, then pool size
 * // An interval picked from the run's length says so in the caption.
 * const picked = comparisonByTime(intervalMedians(run.sessions, 1000),
 *   run.metas[0], 1000, 21);
 * assert.match(picked.usermeta.caption.note, /1-second interval \(picked for this 21 s run/);
 * ```
 */
export function comparisonByTime(
  intervals: DataFrame,
  meta: RunMeta,
  intervalMs = 5000,
  runSeconds?: number,
): Spec {
  const rows = withSegments(records(intervals));
  const color = {
    field: "series",
    type: "nominal",
    title: "client",
    scale: colorScale(rows.map((r) => String(r.series))),
  };
  const x = {
    field: "interval_start_s",
    type: "quantitative",
    title: "time since run start (s)",
  };
  const interval = `${intervalMs / 1000}-second interval`;
  return {
    ...base(
      `SSH clients compared: median per ${interval}`,
      "four timings over the run, pool size below",
      meta,
      `Median of the ok sessions started in each ${interval}${
        runSeconds === undefined
          ? ""
          : ` (picked for this ${
            Math.round(runSeconds)
          } s run; --interval S sets it)`
      }, per client. Pool size rises step by step; the lower panel shows it.`,
    ),
    vconcat: [
      compositePanels(
        longComposites(rows, "interval_start_s", (k) => k, [
          "pool_max",
          "segment",
        ]),
        x,
        "median ms",
        color,
        [{ field: "pool_max", title: "pool size" }],
      ),
      {
        data: {
          values: rows.map((r) => ({
            series: r.series,
            interval_start_s: r.interval_start_s,
            pool_max: r.pool_max,
            segment: r.segment,
          })),
        },
        width: 800,
        height: 90,
        title: { text: "Pool size (concurrent sessions)", fontSize: 13 },
        mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
        encoding: {
          x,
          y: {
            field: "pool_max",
            type: "quantitative",
            title: "pool size",
            axis: POOL_AXIS,
          },
          color,
          detail: { field: "segment" },
        },
      },
    ],
  };
}
