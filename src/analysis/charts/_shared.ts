/**
 * Encodings the chart modules share (internal: not re-exported): the top
 * of every spec, the pool-size axis, interval fields, and the four-panel
 * layout of the composite timings.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { RunMeta } from "../../run/record.ts";
import { COMPOSITES } from "../stats.ts";
import { type ChartCaption, provenanceLines, setting } from "./caption.ts";
import { FONT_STACK, type Spec } from "./spec.ts";

export const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

// deno-lint-ignore no-explicit-any
export function records(df: DataFrame): Record<string, any>[] {
  return df.toRecords() as Record<string, unknown>[];
}

/**
 * The top of every chart: a title, one short subtitle (what is drawn;
 * where it was measured) and the caption in `usermeta`.
 */
export function base(
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
export const POOL_AXIS = { tickMinStep: 1, format: "d" };

/** A row's interval of `key` (e.g. `total_ms`), when the table has one. */
export function ciOf(
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

/** Long rows {series, x, metric, value_ms, ...} from wide composite columns. */
export function longComposites(
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
export function withSegments(
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

export function compositePanels(
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
