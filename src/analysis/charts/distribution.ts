/**
 * The distribution of the total per session at two pool sizes.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "../../run/record.ts";
import { base, records } from "./_shared.ts";
import { colorScale, type Spec } from "./spec.ts";

/**
 * Chart 6: the distribution of each client's per-session total at a few
 * pool sizes (an ECDF per client, one panel per pool size): a median
 * alone hides a bimodal total, such as the ~40 ms delayed-ACK stall at
 * pool 1.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * import { distributionChart } from "./mod.ts";
 * const d = pl.DataFrame({ series: ["a", "a"], client: ["a", "a"], pool_size: [1, 1],
 *   total_ms: [38, 80], fraction: [0.5, 1] });
 * const spec = distributionChart(d, {});
 * assert.equal(spec.facet.column.field, "pool_size");
 * assert.equal(spec.spec.mark.interpolate, "step-after");
 * ```
 */
export function distributionChart(dist: DataFrame, meta: RunMeta): Spec {
  const rows = records(dist);
  return {
    ...base(
      "Distribution of the total per session",
      `share of ok sessions done within each time, pool ${
        [...new Set(rows.map((r) => Number(r.pool_size)))].sort((a, b) => a - b)
          .join(" and ")
      }`,
      meta,
      "Share of the ok sessions finished within each time (ECDF), per pool size: steps and plateaus show modes a median hides.",
    ),
    data: { values: rows },
    facet: {
      column: {
        field: "pool_size",
        type: "ordinal",
        title: "pool size",
        header: { labelFontSize: 13, labelFontWeight: "bold" },
      },
    },
    spec: {
      width: 360,
      height: 260,
      mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
      encoding: {
        x: {
          field: "total_ms",
          type: "quantitative",
          title: "total per session, ms",
          scale: { zero: false },
        },
        y: {
          field: "fraction",
          type: "quantitative",
          title: "share of sessions",
          axis: { format: "%" },
        },
        color: {
          field: "series",
          type: "nominal",
          title: "client",
          scale: colorScale(rows.map((r) => String(r.series))),
        },
        tooltip: [
          { field: "series", title: "client" },
          { field: "pool_size", title: "pool size" },
          { field: "total_ms", title: "ms", format: ".1f" },
          { field: "fraction", title: "share", format: ".1%" },
        ],
      },
    },
    resolve: { scale: { x: "independent" } },
  };
}
