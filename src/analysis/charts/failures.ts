/**
 * Failure rate by status against pool size.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "../../run/record.ts";
import { base, POOL_AXIS, records } from "./_shared.ts";
import { colorScale, type Spec } from "./spec.ts";

/**
 * Chart 5: failure rate by status against pool size, one panel per
 * client. Undefined when no session failed: there is nothing to draw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { failuresChart, type Spec } from "./mod.ts";
 * import { failureRates } from "../stats.ts";
 * const sessions = pl.DataFrame({
 *   series: ["ssh2", "ssh2", "ssh2"], client: ["ssh2", "ssh2", "ssh2"],
 *   pool_size: [1, 2, 2], status: ["ok", "ok", "timeout"],
 * });
 * // The columns of poolStats the chart uses.
 * const pools = pl.DataFrame({
 *   series: ["ssh2", "ssh2"], pool_size: [1, 2], sessions: [1, 2],
 * });
 * const spec = failuresChart(failureRates(sessions), pools, {});
 * // Pool 1 had no timeout: an explicit 0 there.
 * assert.deepEqual(
 *   spec!.data.values.map((v: Spec) => [v.pool_size, v.rate]),
 *   [[2, 0.5], [1, 0]],
 * );
 * const ok = sessions.filter(pl.col("status").eq(pl.lit("ok")));
 * assert.equal(failuresChart(failureRates(ok), pools, {}), undefined);
 * ```
 */
export function failuresChart(
  failures: DataFrame,
  pools: DataFrame,
  meta: RunMeta,
): Spec | undefined {
  const rows = records(failures);
  const poolRows = records(pools);
  const maxPool = Math.max(1, ...poolRows.map((r) => Number(r.pool_size)));
  const x = {
    field: "pool_size",
    type: "quantitative",
    title: "pool size (concurrent sessions)",
    scale: { domain: [0, maxPool] },
    axis: POOL_AXIS,
  };
  const y = {
    field: "rate",
    type: "quantitative",
    title: "failed / sessions",
    axis: { format: "%" },
    scale: { domain: [0, 1] },
  };
  const title = "Failed sessions by status";
  // No failure: nothing to draw (a report says so in a sentence).
  if (rows.length === 0) return undefined;
  const sessionsTotal = poolRows.reduce((s, r) => s + Number(r.sessions), 0);
  const failedTotal = rows.reduce((s, r) => s + Number(r.count), 0);
  // Pool sizes where a status did not occur get an explicit 0, so the
  // lines show where failures start instead of starting in mid-air.
  const statuses = [...new Set(rows.map((r) => String(r.status)))];
  const seen = new Set(
    rows.map((r) => `${r.series}|${r.pool_size}|${r.status}`),
  );
  const values = [
    ...rows,
    ...poolRows.flatMap((p) =>
      statuses.filter((st) => !seen.has(`${p.series}|${p.pool_size}|${st}`))
        .map((st) => ({
          series: p.series,
          pool_size: p.pool_size,
          status: st,
          count: 0,
          sessions: p.sessions,
          rate: 0,
        }))
    ),
  ];
  const order = colorScale(poolRows.map((r) => String(r.series))).domain;
  return {
    ...base(
      title,
      `${failedTotal} of ${sessionsTotal} sessions failed`,
      meta,
      `${failedTotal} of ${sessionsTotal} sessions failed; rate = failed / sessions run at that pool size, one panel per client.`,
    ),
    data: { values },
    facet: {
      row: {
        field: "series",
        type: "nominal",
        title: null,
        sort: order,
        header: { labelAngle: 0, labelAlign: "left", labelFontWeight: "bold" },
      },
    },
    spec: {
      width: 700,
      height: 160,
      mark: { type: "line", point: { size: 22 }, strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        color: {
          field: "status",
          type: "nominal",
          title: "status",
          scale: { scheme: "set1" },
        },
        tooltip: [
          { field: "series", title: "client" },
          { field: "pool_size" },
          { field: "status" },
          { field: "count", title: "failed" },
          { field: "sessions" },
          { field: "rate", format: ".1%" },
        ],
      },
    },
  };
}
