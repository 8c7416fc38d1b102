/**
 * Vega-Lite specs of the five charts, with their data inlined so a spec
 * can be re-rendered or embedded anywhere: the seed's comparison over time
 * and over pool size, one client's scaling, CPU efficiency, and failures.
 * Client colours are the same in every chart; widths suit a blog (~800 px).
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "./load.ts";
import { COMPOSITES } from "./stats.ts";

/** A Vega-Lite spec (JSON). */
// deno-lint-ignore no-explicit-any
export type Spec = Record<string, any>;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
/** Font the PNGs are drawn with (Debian's fonts-dejavu-core). */
export const FONT = "DejaVu Sans";
/** The charts' font with fallbacks, as the SVG and the report page name it. */
export const FONT_STACK = `${FONT}, Helvetica, Arial, sans-serif`;
const CLIENT_COLORS: Record<string, string> = {
  ssh2: "#e45756",
  libssh2: "#4c78a8",
  openssh: "#54a24b",
  // The colours the worker clients had as the first extra ones, kept.
  asyncssh: "#f58518",
  paramiko: "#b279a2",
  xcrypto: "#72b7b2",
};
const EXTRA_COLORS = [
  "#f58518",
  "#b279a2",
  "#72b7b2",
  "#eeca3b",
  "#9d755d",
  "#ff9da6",
  "#bab0ac",
];

/**
 * The colour scale for a set of series: each client keeps its colour in
 * every chart; extra series (several runs) get further colours in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colorScale } from "./chart_specs.ts";
 * assert.deepEqual(colorScale(["openssh", "ssh2"]), {
 *   domain: ["ssh2", "openssh"],
 *   range: ["#e45756", "#54a24b"],
 * });
 * assert.deepEqual(colorScale(["ssh2", "mine"]).range, ["#e45756", "#f58518"]);
 * // An extra series never takes the colour of a client in the same chart.
 * assert.deepEqual(colorScale(["asyncssh", "mine", "xcrypto"]).range, ["#f58518", "#72b7b2", "#b279a2"]);
 * ```
 */
export function colorScale(
  series: readonly string[],
): { domain: string[]; range: string[] } {
  const order = Object.keys(CLIENT_COLORS);
  const rank = (s: string) => {
    const i = order.indexOf(s.split(" ")[0]);
    return i === -1 ? order.length : i;
  };
  const domain = [...new Set(series)].sort((a, b) =>
    rank(a) - rank(b) || a.localeCompare(b)
  );
  let extra = 0;
  const used = new Set<string>();
  const taken = new Set(domain.map((s) => CLIENT_COLORS[s]));
  const extras = EXTRA_COLORS.filter((c) => !taken.has(c));
  const range = domain.map((s) => {
    const c = CLIENT_COLORS[s];
    if (c && !used.has(c)) {
      used.add(c);
      return c;
    }
    return extras[extra++ % extras.length];
  });
  return { domain, range };
}

/**
 * A run's provenance as a chart's caption states it, from its meta.json:
 * date, machine, Deno, server; client versions; negotiated algorithms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { provenanceLines } from "./chart_specs.ts";
 * assert.deepEqual(
 *   provenanceLines({
 *     started_at: "2026-11-25T20:00:00Z",
 *     machine: { cores: 2, cpu_model: "X" },
 *   }),
 *   ["2026-11-25 · 2 cores X"],
 * );
 * ```
 */
export function provenanceLines(meta: RunMeta): string[] {
  const v: RunMeta["versions"] = meta.versions ?? {};
  const m: RunMeta["machine"] = meta.machine ?? {};
  const clients = Object.entries(v.clients ?? {}).map(([k, x]) => `${k} ${x}`)
    .join(", ");
  const machine = [
    meta.started_at ? String(meta.started_at).slice(0, 10) : undefined,
    m.cores ? `${m.cores} cores ${m.cpu_model ?? ""}`.trim() : undefined,
    v.deno ? `Deno ${v.deno}` : undefined,
    (v.server ?? v.openssh_server)
      ? `${fleet(meta)}server ${v.server ?? v.openssh_server}${
        meta.target?.kind !== "embedded"
          ? ""
          : meta.parameters?.server_rtt_ms
          ? ` with RTTs of ${meta.parameters.server_rtt_ms.join(", ")} ms`
          : meta.parameters?.rtt_ms
          ? ` behind an emulated RTT of ${meta.parameters.rtt_ms.join(", ")} ms`
          : " on loopback"
      }${
        meta.target?.server_profile
          ? `, ${meta.target.server_profile.name} profile`
          : ""
      }`
      : undefined,
  ].filter(Boolean).join(" · ");
  return [
    machine,
    clients ? `clients: ${clients}` : "",
    ...negotiatedLines(meta.negotiated ?? {}),
  ].filter(Boolean);
}

/** "4 x " for a fleet of embedded servers, "" for one. */
function fleet(meta: RunMeta): string {
  const k = meta.parameters?.servers ?? 1;
  return k > 1 ? `${k} x ` : "";
}

/** Key exchange and cipher per client, grouped: "kex: a (ssh2, libssh2), ...". */
function negotiatedLines(
  negotiated: Record<string, { kex: string; cipher: string } | null>,
): string[] {
  const group = (key: "kex" | "cipher") => {
    const by = new Map<string, string[]>();
    for (const [client, n] of Object.entries(negotiated)) {
      if (n) by.set(n[key], [...(by.get(n[key]) ?? []), client]);
    }
    return [...by].map(([alg, cs]) => `${alg} (${cs.join(", ")})`).join(", ");
  };
  const kex = group("kex");
  return kex ? [`kex: ${kex}`, `cipher: ${group("cipher")}`] : [];
}

// deno-lint-ignore no-explicit-any
function records(df: DataFrame): Record<string, any>[] {
  return df.toRecords() as Record<string, unknown>[];
}

/**
 * Where a run measured, in a few words for a subtitle: the server (embedded
 * Go server or sshd, a fleet of them, or external hosts), the network
 * (loopback or the emulated RTTs) and the cores.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setting } from "./chart_specs.ts";
 * assert.equal(
 *   setting({
 *     target: { kind: "embedded" },
 *     parameters: { server_impl: "go" } as never,
 *     machine: { cores: 2 },
 *   }),
 *   "embedded Go server, loopback, 2 cores",
 * );
 * assert.equal(
 *   setting({
 *     target: { kind: "embedded" },
 *     versions: { openssh_server: "OpenSSH_9.2" } as never,
 *     parameters: { servers: 4, server_rtt_ms: [0, 0, 50, 200] } as never,
 *   }),
 *   "4 embedded sshd servers, RTTs of 0, 0, 50, 200 ms",
 * );
 * assert.equal(setting({}), "");
 * ```
 */
export function setting(meta: RunMeta): string {
  const p = meta.parameters ?? {};
  const v: RunMeta["versions"] = meta.versions ?? {};
  const kind = meta.target?.kind;
  const parts: string[] = [];
  if (kind === "embedded") {
    const go = p.server_impl === "go" || /^Go\b/.test(String(v.server ?? ""));
    const name = go ? "Go server" : "sshd";
    const k = p.servers ?? 1;
    parts.push(
      k > 1
        ? `${k} embedded ${go ? "Go" : "sshd"} servers`
        : `embedded ${name}`,
    );
    parts.push(
      p.server_rtt_ms
        ? `RTTs of ${p.server_rtt_ms.join(", ")} ms`
        : p.rtt_ms
        ? `emulated RTT of ${p.rtt_ms.join(", ")} ms`
        : "loopback",
    );
  } else if (kind === "external") {
    const n = meta.hosts?.length ?? 1;
    parts.push(n > 1 ? `${n} external hosts` : "external host");
  }
  if (meta.machine?.cores) parts.push(`${meta.machine.cores} cores`);
  return parts.join(", ");
}

/**
 * What a chart says under itself, kept in its spec as `usermeta.caption`:
 * the report prints it under the chart, and the SVG and PNG end with it.
 */
export interface ChartCaption {
  /** How to read the chart: what is drawn and how it was computed. */
  note: string;
  /** The run's provenance ({@linkcode provenanceLines}). */
  provenance: string[];
}

/**
 * A chart's caption from its spec (undefined for a spec without one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chartCaption, efficiencyChart } from "./chart_specs.ts";
 * import pl from "nodejs-polars";
 * const spec = efficiencyChart(pl.DataFrame({ series: [] }), {
 *   started_at: "2026-11-25T20:00:00Z",
 * });
 * assert.deepEqual(chartCaption(spec)?.provenance, ["2026-11-25"]);
 * assert.equal(chartCaption({ mark: "point" }), undefined);
 * ```
 */
export function chartCaption(spec: Spec): ChartCaption | undefined {
  const c = spec?.usermeta?.caption;
  return c && typeof c.note === "string" && Array.isArray(c.provenance)
    ? { note: c.note, provenance: c.provenance.map(String) }
    : undefined;
}

/**
 * The top of every chart: a title, one short subtitle (what is drawn;
 * where it was measured) and the caption in `usermeta`.
 */
function base(
  title: string,
  what: string,
  meta: RunMeta,
  note: string,
): Spec {
  const where = setting(meta);
  const caption: ChartCaption = { note, provenance: provenanceLines(meta) };
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: where ? `${what}; ${where}` : what,
      anchor: "start",
      fontSize: 16,
      subtitleFontSize: 12,
      subtitleColor: "#444",
      subtitlePadding: 4,
    },
    usermeta: { caption },
    config: {
      font: FONT_STACK,
      view: { stroke: "#ddd" },
      axis: { labelFontSize: 11, titleFontSize: 12 },
      legend: {
        labelFontSize: 11,
        titleFontSize: 12,
        orient: "top",
        labelLimit: 320,
        // Rows of at most six entries: a run with many series (clients x
        // RTTs, several runs) wraps its legend instead of widening the chart.
        columns: 6,
        // Full-strength symbols: a layer drawn faint (an interval band)
        // must not make its series' legend entry faint too.
        symbolOpacity: 1,
      },
    },
    background: "white",
    padding: 12,
  };
}

/** A pool-size axis: whole numbers only. */
const POOL_AXIS = { tickMinStep: 1, format: "d" };

/** Long rows {series, x, metric, value_ms, ...} from wide composite columns. */
/** A row's interval of `key` (e.g. `total_ms`), when the table has one. */
function ciOf(
  r: Record<string, unknown>,
  key: string,
): { ci_low_ms?: unknown; ci_high_ms?: unknown } {
  const base = key.replace(/_ms$/, "");
  const low = r[`${base}_ci_low_ms`];
  const high = r[`${base}_ci_high_ms`];
  return typeof low === "number" && typeof high === "number"
    ? { ci_low_ms: low, ci_high_ms: high }
    : {};
}

function longComposites(
  rows: Record<string, unknown>[],
  x: string,
  suffix: (key: string) => string,
  extra: string[] = [],
): Record<string, unknown>[] {
  return rows.flatMap((r) =>
    COMPOSITES.map((c) => ({
      series: r.series,
      [x]: r[x],
      metric: c.label,
      value_ms: r[suffix(c.key)],
      ok: r.ok,
      failed: r.failed,
      ...ciOf(r, c.key),
      ...Object.fromEntries(extra.map((e) => [e, r[e]])),
    }))
  ).filter((r) => r.value_ms !== null && r.value_ms !== undefined);
}

/**
 * Numbers each series' runs of consecutive intervals, so lines break where
 * a client did not run (clients run one after another).
 */
function withSegments(
  rows: Record<string, unknown>[],
): Record<string, unknown>[] {
  const last = new Map<unknown, { interval: number; segment: number }>();
  let next = 0;
  return rows.map((r) => {
    const prev = last.get(r.series);
    const interval = Number(r.interval);
    const segment = prev && interval === prev.interval + 1
      ? prev.segment
      : next++;
    last.set(r.series, { interval, segment });
    return { ...r, segment };
  });
}

function compositePanels(
  values: Record<string, unknown>[],
  x: Spec,
  yTitle: string,
  color: Spec,
  tooltipExtra: Spec[] = [],
): Spec {
  return {
    data: { values },
    facet: {
      field: "metric",
      type: "nominal",
      sort: COMPOSITES.map((c) => c.label),
      title: null,
      header: { labelFontSize: 13, labelFontWeight: "bold" },
    },
    columns: 2,
    spec: {
      width: 350,
      height: 190,
      layer: [
        ...(values.some((v) => "ci_low_ms" in v)
          ? [{
            // The 95 % interval of each median (bootstrap over rounds).
            mark: { type: "area", opacity: 0.18 },
            encoding: {
              x,
              y: { field: "ci_low_ms", type: "quantitative", title: yTitle },
              y2: { field: "ci_high_ms" },
              color,
            },
          }]
          : []),
        {
          mark: { type: "line", point: { size: 18 }, strokeWidth: 1.5 },
          encoding: {
            x,
            y: { field: "value_ms", type: "quantitative", title: yTitle },
            color,
            ...(values.some((v) => "segment" in v)
              ? { detail: { field: "segment" } }
              : {}),
            tooltip: [
              { field: "series", title: "client" },
              x,
              { field: "value_ms", title: "ms", format: ".1f" },
              ...(values.some((v) => "ci_low_ms" in v)
                ? [
                  { field: "ci_low_ms", title: "95% CI low", format: ".1f" },
                  { field: "ci_high_ms", title: "95% CI high", format: ".1f" },
                ]
                : []),
              ...tooltipExtra,
            ],
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
}

/**
 * Chart 1, the seed's main figure: commands start, commands end, channel
 * read and total as the median per interval over time since the run
 * started, one colour per client, with a pool-size panel underneath.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonByTime } from "./chart_specs.ts";
 * import { loadRuns } from "./load.ts";
 * import { intervalMedians } from "./stats.ts";
 * const run = loadRuns([
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * const spec = comparisonByTime(intervalMedians(run.sessions), run.metas[0]);
 * assert.equal(
 *   spec.title.text,
 *   "SSH clients compared: median per 5-second interval",
 * );
 * assert.equal(
 *   spec.title.subtitle,
 *   "four timings over the run, pool size below; embedded sshd, loopback, 2 cores",
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

/**
 * Chart 2: the same comparison against pool size (median over all the
 * sessions run at that pool size).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonByPool, type Spec } from "./chart_specs.ts";
 * import { loadRuns } from "./load.ts";
 * import { poolStats } from "./stats.ts";
 * const run = loadRuns([
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
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

/**
 * Chart 3: one client's scaling from pool 1 to its largest pool: median
 * and p90 total, the medians of the composites, and failed sessions marked.
 * `series` defaults to the series that reached the largest pool.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { scalingChart } from "./chart_specs.ts";
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

/**
 * Chart 4: client and server CPU ms per session against pool size, per
 * client (from rounds.csv).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { efficiencyChart, type Spec } from "./chart_specs.ts";
 * import { loadRuns } from "./load.ts";
 * import { roundStats } from "./stats.ts";
 * const run = loadRuns([
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
 * ]);
 * const spec = efficiencyChart(roundStats(run.sessions, run.rounds), run.metas[0]);
 * assert.deepEqual(
 *   [...new Set(spec.data.values.map((v: Spec) => v.side))],
 *   [
 *     "client (its worker process + children)",
 *     "server (sshd + session processes)",
 *   ],
 * );
 * assert.equal(spec.spec.encoding.y.scale.type, "log");
 * ```
 */
export function efficiencyChart(rounds: DataFrame, meta: RunMeta): Spec {
  const rows = records(rounds);
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
      side: "server (sshd + session processes)",
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

/**
 * Chart 5: failure rate by status against pool size, one panel per
 * client. Undefined when no session failed: there is nothing to draw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { failuresChart, type Spec } from "./chart_specs.ts";
 * import { failureRates } from "./stats.ts";
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
 * import { distributionChart } from "./chart_specs.ts";
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
 * import { rttChart } from "./chart_specs.ts";
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

/**
 * Fleets: each host's median total (bars; p90 as a tick), per client and
 * pool size, labelled with the host's RTT and failed sessions, so a slow
 * or failing host stands out. Undefined with one host: nothing to compare.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * import { hostsChart } from "./chart_specs.ts";
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
