/**
 * Display helpers for the Deno Jupyter kernel: a chart becomes a MIME
 * bundle with the Vega-Lite spec (interactive in JupyterLab and VS Code)
 * and its PNG (classic notebook, GitHub, `jupyter nbconvert --to html`);
 * a polars table becomes text and HTML (`console.log(df)` fails under
 * Deno).
 *
 * No SVG: nbconvert ranks `image/svg+xml` above `image/png` in HTML, and
 * nbconvert 6.5 (Debian's) passes inline SVG through its HTML sanitizer,
 * which strips every SVG element, so an exported chart would be blank.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { DataFrame } from "nodejs-polars";
import type { Spec } from "./charts/mod.ts";
import { toPng, toSvg } from "./chart_render.ts";

/** MIME type of Vega-Lite 5 specs in Jupyter. */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/** A Jupyter `display_data` message's content: MIME bundle and metadata. */
export interface DisplayData {
  /** Representations by MIME type; the front end shows the richest. */
  data: Record<string, unknown>;
  /** Per MIME type, e.g. an image's display size. */
  metadata: Record<string, unknown>;
}

/** The PNG scale: 2x, shown at 1x (sharp on high-density screens). */
const PNG_SCALE = 2;

/** A chart's title as one line, for `text/plain`. */
function titleText(spec: Spec): string {
  const t = typeof spec.title === "object" && spec.title !== null
    ? spec.title.text
    : spec.title;
  const line = Array.isArray(t) ? t.join(" ") : t;
  return typeof line === "string" && line ? line : "chart";
}

/**
 * A chart's display data: the Vega-Lite spec, the PNG at 2x (base64, with
 * its size at 1x in the metadata, as Jupyter shows a `width` and
 * `height`) and its title as text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chartBundle, VEGALITE_MIME } from "./jupyter.ts";
 * const spec = {
 *   title: { text: "One point" },
 *   data: { values: [{ x: 1 }] }, mark: "point",
 *   encoding: { x: { field: "x", type: "quantitative" } },
 * };
 * const { data, metadata } = await chartBundle(spec);
 * assert.deepEqual(Object.keys(data), [VEGALITE_MIME, "image/png", "text/plain"]);
 * assert.equal(data[VEGALITE_MIME], spec);
 * assert.equal(data["text/plain"], "One point");
 * const png = Uint8Array.from(atob(String(data["image/png"])), (c) => c.charCodeAt(0));
 * assert.equal(new TextDecoder().decode(png.subarray(1, 4)), "PNG");
 * const { width, height } = (metadata["image/png"] as { width: number; height: number });
 * const ihdr = new DataView(png.buffer, 16, 8);
 * assert.deepEqual([ihdr.getUint32(0), ihdr.getUint32(4)], [2 * width, 2 * height]);
 * ```
 */
export async function chartBundle(spec: Spec): Promise<DisplayData> {
  const png = toPng(await toSvg(spec), PNG_SCALE);
  const ihdr = new DataView(png.buffer, png.byteOffset + 16, 8);
  return {
    data: {
      [VEGALITE_MIME]: spec,
      "image/png": Buffer.from(png).toString("base64"),
      "text/plain": titleText(spec),
    },
    metadata: {
      "image/png": {
        width: Math.round(ihdr.getUint32(0) / PNG_SCALE),
        height: Math.round(ihdr.getUint32(4) / PNG_SCALE),
      },
    },
  };
}

/**
 * Sends display data to the notebook and waits until it is sent, so the
 * output cannot arrive after the cell has finished (a plain last-expression
 * result was seen to get lost under nbconvert). Outside Jupyter it does
 * nothing.
 */
async function display(output: DisplayData): Promise<boolean> {
  type Jupyter = {
    broadcast(
      msgType: string,
      content: Record<string, unknown>,
    ): Promise<void>;
  };
  let jupyter: Jupyter | undefined;
  try {
    // Reading Deno.jupyter outside `deno jupyter` throws.
    jupyter = (Deno as unknown as { jupyter?: Jupyter }).jupyter;
  } catch {
    return false;
  }
  // broadcast, not display(): display() sends no metadata.
  if (!jupyter) return false;
  await jupyter.broadcast("display_data", { ...output, transient: {} });
  return true;
}

/**
 * One line of text in the notebook (`await note("run: ...")`), sent as
 * display data, not through stdout: the kernel's stdout can reach the
 * client after the cell is reported done, and an executed notebook then
 * lacks that cell's output. Outside a notebook it is printed.
 *
 * @example Outside the Deno kernel the line is printed
 * ```ts
 * import assert from "node:assert/strict";
 * import { note } from "./jupyter.ts";
 * const said: string[] = [];
 * const log = console.log;
 * console.log = (s: string) => said.push(s);
 * try {
 *   await note("run: data/runs/sample-seed");
 * } finally {
 *   console.log = log;
 * }
 * assert.deepEqual(said, ["run: data/runs/sample-seed"]);
 * ```
 */
export async function note(text: string): Promise<void> {
  const shown = await display({
    data: { "text/plain": text },
    metadata: {},
  });
  if (!shown) console.log(text);
}

/**
 * Shows a chart in the notebook (`await show(spec)`). A chart the run has
 * nothing to show in is left out of `chartSpecs` (undefined): it is shown
 * as one line saying so, not drawn empty, and the cell does not fail.
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
export async function show(spec: Spec | undefined): Promise<void> {
  if (!spec) {
    return await note(
      "This chart is left out: the run has nothing for it to show (deno task charts names the reason).",
    );
  }
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
  await display({ data: tableBundle(df, maxRows), metadata: {} });
}
