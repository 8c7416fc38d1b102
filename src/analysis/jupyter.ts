/**
 * Display helpers for the Deno Jupyter kernel: a chart becomes a MIME
 * bundle with both the Vega-Lite spec (interactive in JupyterLab and VS
 * Code) and its SVG (classic notebook, GitHub, nbconvert HTML); a polars
 * table becomes text and HTML (`console.log(df)` fails under Deno).
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import type { Spec } from "./charts/mod.ts";
import { toSvg } from "./chart_render.ts";

/** MIME type of Vega-Lite 5 specs in Jupyter. */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/**
 * A chart's MIME bundle: Vega-Lite spec and rendered SVG.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chartBundle, VEGALITE_MIME } from "./jupyter.ts";
 * const spec = {
 *   data: { values: [{ x: 1 }] }, mark: "point",
 *   encoding: { x: { field: "x", type: "quantitative" } },
 * };
 * const b = await chartBundle(spec);
 * assert.deepEqual(Object.keys(b), [VEGALITE_MIME, "image/svg+xml"]);
 * assert.equal(b[VEGALITE_MIME], spec);
 * assert.match(String(b["image/svg+xml"]), /^<svg /);
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
  type Jupyter = {
    display(b: unknown, o: { raw: boolean }): Promise<void> | void;
  };
  let jupyter: Jupyter | undefined;
  try {
    // Reading Deno.jupyter outside `deno jupyter` throws.
    jupyter = (Deno as unknown as { jupyter?: Jupyter }).jupyter;
  } catch {
    return;
  }
  if (jupyter) await jupyter.display(bundle, { raw: true });
}

/**
 * Shows a chart in the notebook (`await show(spec)`).
 *
 * @example In a notebook cell (`Deno.jupyter` exists only in the Deno kernel)
 * ```ts ignore
 * import { show } from "./jupyter.ts";
 * await show({
 *   data: { values: [{ x: 1 }] }, mark: "point",
 *   encoding: { x: { field: "x", type: "quantitative" } },
 * });
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
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { tableBundle } from "./jupyter.ts";
 * const b = tableBundle(pl.DataFrame({ a: [1.5, 2, 3] }), 2);
 * assert.deepEqual(Object.keys(b), ["text/plain", "text/html"]);
 * assert.equal(
 *   b["text/html"],
 *   "<table><thead><tr><th>a</th></tr></thead><tbody>" +
 *     "<tr><td>1.50</td></tr><tr><td>2</td></tr></tbody></table>" +
 *     "<p>2 of 3 rows</p>",
 * );
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
 * @example In a notebook cell (`Deno.jupyter` exists only in the Deno kernel)
 * ```ts ignore
 * import pl from "nodejs-polars";
 * import { table } from "./jupyter.ts";
 * await table(pl.DataFrame({ client: ["ssh2"], total_ms: [38.4] }));
 * ```
 */
export async function table(df: DataFrame, maxRows = 40): Promise<void> {
  await display(tableBundle(df, maxRows));
}
