/**
 * The timings against the emulated round-trip time.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "../../run/record.ts";
import { base, records } from "./_shared.ts";
import { colorScale, type Spec } from "./spec.ts";

const RTT_LABELS: Record<string, string> = {
  total_ms: "Total",
  connect_ms: "Connect",
  auth_ms: "Auth",
  exec_ms: "Exec",
  read_ms: "Read",
  close_ms: "Close",
  disconnect_ms: "Disconnect",
};

/**
 * Chart 7: total and each phase against the emulated round-trip time, one
 * line per client; the slope of each line is the number of round trips
 * that phase waits for (in the legend for the total, in the tooltips per
 * phase). Undefined without emulated RTTs: there is nothing to draw.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * import { rttChart } from "./mod.ts";
 * const d = pl.DataFrame({ client: ["a", "a"], rtt_ms: [0, 50], pool_size: [1, 1],
 *   metric: ["total_ms", "total_ms"], value_ms: [40, 690], round_trips: [13, 13] });
 * const spec = rttChart(d, {});
 * assert.equal(spec!.data.values[0].client_label, "a (13.0 round trips)");
 * // ssh2 in its colour of the other charts, whatever the rows' order.
 * const two = rttChart(pl.DataFrame({ client: ["openssh", "ssh2"], rtt_ms: [0, 0],
 *   pool_size: [1, 1], metric: ["total_ms", "total_ms"], value_ms: [1, 1],
 *   round_trips: [13, 13] }), {})!;
 * const { domain, range } = two.spec.encoding.color.scale;
 * assert.equal(range[domain.indexOf("ssh2 (13.0 round trips)")], "#e45756");
 * assert.equal(rttChart(pl.DataFrame({ client: [] }), {}), undefined);
 * ```
 */
export function rttChart(rtt: DataFrame, meta: RunMeta): Spec | undefined {
  const rows = records(rtt);
  if (rows.length === 0) return undefined;
  const totals = new Map(
    rows.filter((r) => r.metric === "total_ms").map((
      r,
    ) => [r.client, r.round_trips]),
  );
  const values = rows.map((r) => ({
    ...r,
    panel: RTT_LABELS[String(r.metric)] ?? r.metric,
    client_label: `${r.client} (${
      Number(totals.get(r.client)).toFixed(1)
    } round trips)`,
  }));
  const labels = new Map(
    rows.map((r, i) => [String(r.client), values[i].client_label]),
  );
  const scale = colorScale([...labels.keys()]);
  return {
    ...base(
      "Round trips per client: time against the emulated RTT",
      `median per RTT at pool ${rows[0].pool_size}; slope = round trips`,
      meta,
      `Median of the ok sessions per emulated RTT at pool ${
        rows[0].pool_size
      }; the slope of a line is the round trips that phase waits for (packet-level delay of RTT/2 each way).`,
    ),
    data: { values },
    facet: {
      field: "panel",
      type: "nominal",
      sort: Object.values(RTT_LABELS),
      title: null,
      header: { labelFontSize: 13, labelFontWeight: "bold" },
    },
    columns: 4,
    spec: {
      width: 220,
      height: 170,
      mark: { type: "line", point: { size: 22 }, strokeWidth: 1.5 },
      encoding: {
        x: { field: "rtt_ms", type: "quantitative", title: "RTT, ms" },
        y: { field: "value_ms", type: "quantitative", title: "median ms" },
        color: {
          field: "client_label",
          type: "nominal",
          title: "client",
          // Each client in its colour of every other chart, in their order.
          scale: {
            domain: scale.domain.map((c) => labels.get(c)),
            range: scale.range,
          },
        },
        tooltip: [
          { field: "client" },
          { field: "panel", title: "timing" },
          { field: "rtt_ms", title: "RTT ms" },
          { field: "value_ms", title: "median ms", format: ".1f" },
          { field: "round_trips", title: "round trips (slope)", format: ".2f" },
        ],
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}
