/**
 * Display helpers for the Deno Jupyter kernel: a chart becomes a MIME
 * bundle with both the Vega-Lite spec (interactive in JupyterLab and VS
 * Code) and its SVG (classic notebook, GitHub, nbconvert HTML); a polars
 * table becomes text and HTML (`console.log(df)` fails under Deno).
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { Spec } from "./chart_specs.ts";
import { toSvg } from "./chart_render.ts";

/** MIME type of Vega-Lite 5 specs in Jupyter. */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/**
 * A chart's MIME bundle: Vega-Lite spec and rendered SVG.
 *
 * @example
 * ```ts
 * import { chartBundle } from "./jupyter.ts";
 * const b = await chartBundle({ data: { values: [{ x: 1 }] }, mark: "point",
 *   encoding: { x: { field: "x", type: "quantitative" } } });
 * console.log(Object.keys(b)); // [vega-lite MIME, "image/svg+xml"]
 * ```
 */
export async function chartBundle(
  spec: Spec,
): Promise<Record<string, unknown>> {
  return { [VEGALITE_MIME]: spec, "image/svg+xml": await toSvg(spec) };
}

/**
 * Sends a MIME bundle to the notebook and waits until it is sent, so the
 * output cannot arrive after the cell has finished (a plain last-expression
 * result was seen to get lost under nbconvert). Outside Jupyter it does
 * nothing.
 */
async function display(bundle: Record<string, unknown>): Promise<void> {
  const jupyter = (Deno as unknown as {
    jupyter?: {
      display(b: unknown, o: { raw: boolean }): Promise<void> | void;
    };
  }).jupyter;
  if (jupyter) await jupyter.display(bundle, { raw: true });
}

/**
 * Shows a chart in the notebook (`await show(spec)`).
 *
 * @example
 * ```ts ignore
 * import { show } from "./jupyter.ts";
 * await show(specs.scaling);
 * ```
 */
export async function show(spec: Spec): Promise<void> {
  await display(await chartBundle(spec));
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number" && !Number.isInteger(v)) return v.toFixed(2);
  return String(v);
}

/**
 * A polars DataFrame as a text and HTML bundle, first `maxRows` rows.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import { tableBundle } from "./jupyter.ts";
 * console.log(Object.keys(tableBundle(pl.DataFrame({ a: [1.5, 2] })))); // text/plain, text/html
 * ```
 */
export function tableBundle(
  df: DataFrame,
  maxRows = 40,
): Record<string, unknown> {
  const head = df.head(maxRows);
  const rows = head.toRecords() as Record<string, unknown>[];
  const cols = head.columns;
  const html = `<table><thead><tr>${
    cols.map((c) => `<th>${escape(c)}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((r) =>
      `<tr>${cols.map((c) => `<td>${escape(cell(r[c]))}</td>`).join("")}</tr>`
    ).join("")
  }</tbody></table>${
    df.height > maxRows ? `<p>${maxRows} of ${df.height} rows</p>` : ""
  }`;
  return { "text/plain": head.toString(), "text/html": html };
}

/**
 * Shows a polars DataFrame as a table (`await table(df)`).
 *
 * @example
 * ```ts ignore
 * import { table } from "./jupyter.ts";
 * await table(analysis.pools);
 * ```
 */
export async function table(df: DataFrame, maxRows = 40): Promise<void> {
  await display(tableBundle(df, maxRows));
}
