/**
 * How the best clients scale with the pool size.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "../../run/record.ts";
import { base, POOL_AXIS, records } from "./_shared.ts";
import { type Spec } from "./spec.ts";

/**
 * Chart 3: one client's scaling from pool 1 to its largest pool: median
 * and p90 total, the medians of the composites, and failed sessions marked.
 * `series` defaults to the series that reached the largest pool.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { scalingChart } from "./mod.ts";
 * // A few columns of poolStats: ssh2 reached pool 2, with a failure there.
 * const pools = pl.DataFrame({
 *   series: ["openssh", "ssh2", "ssh2"], pool_size: [1, 1, 2],
 *   total_p50_ms: [190, 40, 70], total_p90_ms: [200, 45, 90],
 *   failed: [0, 0, 1], sessions: [1, 1, 2],
 * });
 * const spec = scalingChart(pools, {});
 * assert.equal(spec.title.text, "Scaling of ssh2: pool 1 to 2");
 * assert.deepEqual(spec.layer[1].data.values, [
 *   { pool_size: 2, value_ms: 90, failed: 1, sessions: 2 },
 * ]);
 * ```
 */
export function scalingChart(
  pools: DataFrame,
  meta: RunMeta,
  series?: string,
): Spec {
  const all = records(pools);
  const pick = series ?? all.reduce(
    (best, r) =>
      best === undefined || Number(r.pool_size) > Number(best.pool_size)
        ? r
        : best,
    undefined as Record<string, unknown> | undefined,
  )?.series;
  const rows = all.filter((r) => r.series === pick);
  const lines = [
    { key: "total_p50_ms", label: "total, median" },
    { key: "total_p90_ms", label: "total, p90" },
    { key: "commands_start_p50_ms", label: "commands start, median" },
    { key: "channel_read_p50_ms", label: "channel read, median" },
    { key: "commands_end_p50_ms", label: "commands end, median" },
  ];
  const values = rows.flatMap((r) =>
    lines.map((l) => ({
      pool_size: r.pool_size,
      metric: l.label,
      value_ms: r[l.key],
    }))
  ).filter((v) => v.value_ms !== null && v.value_ms !== undefined);
  const failures = rows.filter((r) => Number(r.failed) > 0).map((r) => ({
    pool_size: r.pool_size,
    value_ms: r.total_p90_ms ?? 0,
    failed: r.failed,
    sessions: r.sessions,
  }));
  const x = {
    field: "pool_size",
    type: "quantitative",
    title: "pool size (concurrent sessions)",
    axis: POOL_AXIS,
  };
  return {
    ...base(
      `Scaling of ${pick ?? "(no data)"}: pool 1 to ${
        rows.at(-1)?.pool_size ?? "-"
      }`,
      "median and p90 total, and the median of each part",
      meta,
      `Median and p90 of the total per ok session at each pool size, with the medians of its parts. Band: 95 % interval of the median total. ${
        failures.length
          ? "Red crosses: pool sizes with failed sessions (hover for counts)."
          : "No session failed."
      }`,
    ),
    width: 760,
    height: 360,
    layer: [
      ...(rows.some((r) => typeof r.total_ci_low_ms === "number")
        ? [{
          // The 95 % interval of the median total (bootstrap over rounds).
          data: {
            values: rows.filter((r) => typeof r.total_ci_low_ms === "number")
              .map((r) => ({
                pool_size: r.pool_size,
                ci_low_ms: r.total_ci_low_ms,
                ci_high_ms: r.total_ci_high_ms,
              })),
          },
          mark: { type: "area", opacity: 0.2, color: "#1b9e77" },
          encoding: {
            x,
            y: { field: "ci_low_ms", type: "quantitative" },
            y2: { field: "ci_high_ms" },
          },
        }]
        : []),
      {
        data: { values },
        mark: { type: "line", point: { size: 14 }, strokeWidth: 1.5 },
        encoding: {
          x,
          y: { field: "value_ms", type: "quantitative", title: "ms" },
          color: {
            field: "metric",
            type: "nominal",
            title: "timing",
            sort: lines.map((l) => l.label),
            scale: { scheme: "dark2" },
          },
          strokeDash: {
            condition: { test: "datum.metric === 'total, p90'", value: [4, 3] },
            value: [1, 0],
          },
          tooltip: [x, { field: "metric" }, {
            field: "value_ms",
            format: ".1f",
            title: "ms",
          }],
        },
      },
      {
        data: { values: failures },
        mark: {
          type: "point",
          shape: "cross",
          color: "#d62728",
          size: 120,
          filled: true,
        },
        encoding: {
          x,
          y: { field: "value_ms", type: "quantitative" },
          tooltip: [x, { field: "failed", title: "failed" }, {
            field: "sessions",
          }],
        },
      },
    ],
  };
}
