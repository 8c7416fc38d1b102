/**
 * Each host's median and p90 total in a fleet.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "../../run/record.ts";
import { base, records } from "./_shared.ts";
import { type Spec } from "./spec.ts";

/**
 * Fleets: each host's median total (bars; p90 as a tick), per client and
 * pool size, labelled with the host's RTT and failed sessions, so a slow
 * or failing host stands out. Undefined with one host: nothing to compare.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * import { hostsChart } from "./mod.ts";
 * const d = pl.DataFrame({ client: ["a", "a"], pool_size: [8, 8], host: ["sshd-1", "sshd-2"],
 *   host_rtt_ms: [0, 200], sessions: [4, 4], failed: [0, 1], total_p50_ms: [60, 2600],
 *   total_p90_ms: [70, 2700] });
 * const spec = hostsChart(d, {});
 * assert.deepEqual(spec!.data.values.map((v: { host_label: string }) => v.host_label),
 *   ["sshd-1 (0 ms)", "sshd-2 (200 ms, 1 failed)"]);
 * assert.equal(hostsChart(pl.DataFrame({ client: [] }), {}), undefined);
 * ```
 */
export function hostsChart(hosts: DataFrame, meta: RunMeta): Spec | undefined {
  const rows = records(hosts);
  if (rows.length === 0) return undefined;
  const values = rows.map((r) => {
    const notes = [
      ...(r.host_rtt_ms === null || r.host_rtt_ms === undefined
        ? []
        : [`${r.host_rtt_ms} ms`]),
      ...(Number(r.failed) > 0 ? [`${r.failed} failed`] : []),
    ];
    return {
      ...r,
      host_label: notes.length ? `${r.host} (${notes.join(", ")})` : r.host,
    };
  });
  const pools = [...new Set(rows.map((r) => Number(r.pool_size)))];
  return {
    ...base(
      "Time per host: a slow or failing host stands out",
      "median total (bar) and p90 (tick) per host",
      meta,
      "Median total of each host's ok sessions (bar) and its p90 (tick), per client and pool size; sessions were spread over the hosts round-robin. Labels: the host's emulated RTT and failed sessions.",
    ),
    data: { values },
    facet: {
      column: {
        field: "client",
        type: "nominal",
        title: null,
        header: { labelFontSize: 13, labelFontWeight: "bold" },
      },
      ...(pools.length > 1 && {
        row: { field: "pool_size", type: "ordinal", title: "pool size" },
      }),
    },
    spec: {
      width: 260,
      height: 160,
      layer: [
        {
          mark: { type: "bar", color: "#4c78a8" },
          encoding: {
            y: {
              field: "host_label",
              type: "nominal",
              title: null,
              sort: null,
            },
            x: {
              field: "total_p50_ms",
              type: "quantitative",
              title: "median total, ms",
            },
            tooltip: [
              { field: "client" },
              { field: "pool_size", title: "pool" },
              { field: "host" },
              { field: "host_rtt_ms", title: "RTT ms" },
              { field: "sessions" },
              { field: "failed" },
              { field: "total_p50_ms", title: "median ms", format: ".1f" },
              { field: "total_p90_ms", title: "p90 ms", format: ".1f" },
            ],
          },
        },
        {
          mark: { type: "tick", color: "#e45756", thickness: 2 },
          encoding: {
            y: { field: "host_label", type: "nominal", sort: null },
            x: { field: "total_p90_ms", type: "quantitative" },
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
}
