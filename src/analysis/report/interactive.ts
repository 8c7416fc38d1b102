/**
 * A chart's spec made interactive for the report page: tooltips and a
 * legend that selects series.
 *
 * @module
 */
import type { Spec } from "../charts/mod.ts";
import { intervalBase, labelOf } from "./format.ts";
import type { ReportRow } from "./types.ts";

/**
 * A Vega-Lite spec made interactive for a page: every unit with encoded
 * fields gets a tooltip (the counts and intervals in its data are added to
 * an existing one), the first colour legend toggles its series (click one,
 * shift-click more; the others fade: each layer keeps its own opacity when
 * selected, e.g. an interval band its faint one, and drops to 15 % of it
 * when faded), and layers without data are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interactiveSpec } from "./mod.ts";
 * const spec = interactiveSpec({
 *   data: { values: [{ x: 1, y: 2, series: "ssh2", sessions: 9 }] },
 *   mark: "point",
 *   encoding: {
 *     x: { field: "x", type: "quantitative" },
 *     y: { field: "y", type: "quantitative" },
 *     color: { field: "series", type: "nominal" },
 *   },
 * });
 * assert.deepEqual(spec.encoding.tooltip.map((t: { field: string }) => t.field),
 *   ["x", "y", "series", "sessions"]);
 * assert.equal(spec.params[0].bind, "legend");
 * assert.equal(spec.encoding.opacity.condition.param, spec.params[0].name);
 * assert.equal(spec.encoding.opacity.condition.value, 1);
 * // A band drawn at 0.18 stays at 0.18 when its series is selected.
 * const band = interactiveSpec({
 *   data: { values: [{ x: 1, lo: 1, hi: 2, series: "ssh2" }] },
 *   mark: { type: "area", opacity: 0.18 },
 *   encoding: {
 *     x: { field: "x", type: "quantitative" },
 *     y: { field: "lo", type: "quantitative" }, y2: { field: "hi" },
 *     color: { field: "series", type: "nominal" },
 *   },
 * });
 * assert.deepEqual(band.encoding.opacity, {
 *   condition: { param: band.params[0].name, value: 0.18 },
 *   value: 0.027,
 * });
 * ```
 */
export function interactiveSpec(spec: Spec): Spec {
  const out: Spec = structuredClone(spec);
  let legend: string | undefined;
  const extraKey = (k: string) =>
    /^(ok|failed|sessions|rounds|count)$/.test(k) ||
    intervalBase(k) !== undefined;
  const visit = (node: Spec, values: ReportRow[] | undefined) => {
    if (!node || typeof node !== "object") return;
    const own = Array.isArray(node.data?.values) ? node.data.values : values;
    if (node.mark && node.encoding) unit(node, own ?? []);
    if (Array.isArray(node.layer)) {
      // A layer with no data (e.g. failure marks when none failed) draws
      // nothing and only makes vega warn about an empty extent.
      const kept = node.layer.filter((c: Spec) =>
        !(Array.isArray(c?.data?.values) && c.data.values.length === 0)
      );
      if (kept.length) node.layer = kept;
    }
    for (const k of ["layer", "vconcat", "hconcat", "concat"]) {
      if (Array.isArray(node[k])) { for (const c of node[k]) visit(c, own); }
    }
    if (node.spec) visit(node.spec, own);
  };
  const unit = (u: Spec, values: ReportRow[]) => {
    const enc = u.encoding;
    const mark = typeof u.mark === "string" ? { type: u.mark } : u.mark;
    if (mark.type === "text" || mark.opacity === 0) return;
    if (enc.tooltip === null) return; // turned off on purpose
    const fields: Spec[] = enc.tooltip === undefined
      ? []
      : Array.isArray(enc.tooltip)
      ? enc.tooltip
      : [enc.tooltip];
    const has = new Set(fields.map((t) => t.field));
    const tooltip: Spec[] = fields.length
      ? fields.map((t) =>
        t.title || !t.field ? t : { ...t, title: labelOf(String(t.field)) }
      )
      : Object.entries(enc)
        .filter(([ch, d]) =>
          !["detail", "strokeDash", "opacity"].includes(ch) &&
          (d as Spec)?.field && !has.has((d as Spec).field)
        ).map(([, d]) => {
          const def = d as Spec;
          has.add(def.field);
          return {
            field: def.field,
            type: def.type,
            ...(def.title ? { title: def.title } : {}),
          };
        });
    const keys = new Set(values.flatMap((v) => Object.keys(v)));
    for (const k of keys) {
      if (extraKey(k) && !has.has(k)) {
        tooltip.push({ field: k, title: labelOf(k) });
        has.add(k);
      }
    }
    if (tooltip.length) enc.tooltip = tooltip;
    const color = enc.color?.field;
    if (color && !enc.opacity) {
      if (legend === undefined) {
        legend = `legend_${String(color).replace(/\W/g, "_")}`;
        u.params = [...(u.params ?? []), {
          name: legend,
          select: { type: "point", fields: [color] },
          bind: "legend",
        }];
      }
      if (legend === `legend_${String(color).replace(/\W/g, "_")}`) {
        // The layer's own opacity when selected (a band's is faint: an
        // opacity channel overrides the mark's), a fraction when faded.
        const own = typeof mark.opacity === "number" ? mark.opacity : 1;
        enc.opacity = {
          condition: { param: legend, value: own },
          value: Math.round(own * 0.15 * 1000) / 1000,
        };
      }
    }
  };
  visit(out, undefined);
  return out;
}
