/**
 * CPU per session: client, server and the machine.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "../../run/record.ts";
import { base, POOL_AXIS, records } from "./_shared.ts";
import { colorScale, type Spec } from "./spec.ts";

/**
 * Chart 4: client and server CPU ms per session against pool size, per
 * client (from rounds.csv). The server's panel names the embedded server
 * the run had (runs recorded before `--server-impl` embedded sshd).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { efficiencyChart, type Spec } from "./mod.ts";
 * import { loadRuns } from "../load.ts";
 * import { roundStats } from "../stats.ts";
 * const run = loadRuns([
 *   new URL("../../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * const spec = efficiencyChart(roundStats(run.sessions, run.rounds), run.metas[0]);
 * assert.deepEqual(
 *   [...new Set(spec.data.values.map((v: Spec) => v.side))],
 *   [
 *     "client (its worker process + children)",
 *     "server (the Go server + what it runs)",
 *   ],
 * );
 * const sshd = loadRuns([
 *   new URL("../../../data/runs/sample-seed-openssh", import.meta.url).pathname,
 * ]);
 * const old = efficiencyChart(roundStats(sshd.sessions, sshd.rounds), sshd.metas[0]);
 * assert.ok(old.data.values.some((v: Spec) => v.side === "server (sshd + session processes)"));
 * assert.equal(spec.spec.encoding.y.scale.type, "log");
 * ```
 */
export function efficiencyChart(rounds: DataFrame, meta: RunMeta): Spec {
  const rows = records(rounds);
  const server = (meta.parameters?.server_impl ?? "openssh") === "go"
    ? "server (the Go server + what it runs)"
    : "server (sshd + session processes)";
  const values = rows.flatMap((r) => [
    {
      series: r.series,
      pool_size: r.pool_size,
      side: "client (its worker process + children)",
      cpu_ms: r.client_cpu_ms_per_session,
    },
    {
      series: r.series,
      pool_size: r.pool_size,
      side: server,
      cpu_ms: r.server_cpu_ms_per_session,
    },
  ]).filter((v) =>
    v.cpu_ms !== null && v.cpu_ms !== undefined && Number(v.cpu_ms) > 0
  );
  return {
    ...base(
      "CPU per session: client and server",
      "user + system CPU per session, log scale",
      meta,
      "CPU time (user + system) per session over each pool size's rounds (the worker's and the server's cgroups as root, else getrusage and /proc); log scale.",
    ),
    data: { values },
    facet: {
      column: {
        field: "side",
        type: "nominal",
        title: null,
        header: { labelFontSize: 13, labelFontWeight: "bold" },
      },
    },
    spec: {
      width: 350,
      height: 260,
      mark: { type: "line", point: { size: 18 }, strokeWidth: 1.5 },
      encoding: {
        x: {
          field: "pool_size",
          type: "quantitative",
          title: "pool size (concurrent sessions)",
          axis: POOL_AXIS,
        },
        y: {
          field: "cpu_ms",
          type: "quantitative",
          title: "CPU ms per session (log scale)",
          scale: { type: "log" },
        },
        color: {
          field: "series",
          type: "nominal",
          title: "client",
          scale: colorScale(rows.map((r) => String(r.series))),
        },
        tooltip: [
          { field: "series", title: "client" },
          { field: "pool_size" },
          { field: "cpu_ms", format: ".2f", title: "CPU ms/session" },
        ],
      },
    },
  };
}
