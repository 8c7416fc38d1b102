/**
 * Headless rendering of Vega-Lite specs: compiled with vega-lite, rendered
 * to SVG by a vega View with `renderer: "none"`, and to PNG at 2x with
 * resvg. Text is laid out with DejaVu Sans's own advance widths (the font
 * resvg draws with), so a chart is as wide as what it shows; a spec's
 * caption (`usermeta.caption`) is drawn under the chart, so the SVG and
 * PNG carry their provenance wherever they are used. Writes `<name>.svg`,
 * `<name>.png` and `<name>.vl.json` (the spec, data inlined).
 *
 * @module
 */
import * as vega from "vega";
import { compile } from "vega-lite";
import { Resvg } from "@resvg/resvg-js";
import { chartCaption, FONT, FONT_STACK, type Spec } from "./charts/mod.ts";
import { dejaVu } from "./font_metrics.ts";

/** The text-measuring hook of vega's scenegraph (not in its typings). */
interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}
const textMetrics = (vega as unknown as {
  textMetrics: { width: (item: TextItem, text: unknown) => number };
}).textMetrics;

/** Width of `text` in DejaVu Sans (bold or not), px. */
export function textWidth(text: string, size: number, bold = false): number {
  const { regular, bold: heavy } = dejaVu();
  const font = bold ? heavy ?? regular : regular;
  // Not installed: DejaVu Sans's average advance (0.6 em, bold 0.65).
  return font
    ? font.width(text, size)
    : text.length * size * (bold ? 0.65 : 0.6);
}

function isBold(weight: unknown): boolean {
  return weight === "bold" || weight === "bolder" || Number(weight) >= 600;
}

/**
 * Makes vega measure text with DejaVu Sans's metrics instead of its
 * canvas-free guess of 0.8 em a character. A text with a `limit` measures
 * at most the limit: vega's own truncation (which calls this hook on
 * prefixes of the text) then cuts it where it would with exact widths,
 * and the truncated text's bounds are the limit.
 */
function measureWithFont(): void {
  textMetrics.width = (item: TextItem, text: unknown) => {
    const t = text === null || text === undefined ? "" : String(text).trim();
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    if (!t || size <= 0) return 0;
    const w = textWidth(t, size, isBold(item.fontWeight));
    const limit = Number(item.limit);
    return limit > 0 ? Math.min(w, limit) : w;
  };
}

/**
 * Renders a Vega-Lite spec to an SVG string, with its caption under the
 * chart (`caption: false` leaves it out).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toSvg } from "./chart_render.ts";
 * const svg = await toSvg({
 *   data: { values: [{ x: 1, y: 2 }] }, mark: "point",
 *   encoding: {
 *     x: { field: "x", type: "quantitative" },
 *     y: { field: "y", type: "quantitative" },
 *   },
 *   usermeta: { caption: { note: "One point.", provenance: ["2026-11-25"] } },
 * });
 * assert.match(svg, /^<svg [^>]*width="\d+"/);
 * assert.match(svg, /<text [^>]*>One point\.<\/text>/);
 * ```
 */
export async function toSvg(
  spec: Spec,
  opts: { caption?: boolean } = {},
): Promise<string> {
  measureWithFont();
  // deno-lint-ignore no-explicit-any
  const vg = compile(spec as any).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none" });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const caption = opts.caption === false ? undefined : chartCaption(spec);
  return caption
    ? withFooter(svg, [
      { text: caption.note, size: 11, color: "#444" },
      ...caption.provenance.map((text) => ({ text, size: 10, color: "#666" })),
    ])
    : svg;
}

/** Escapes text for SVG content and attributes. */
function xmlText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * Word-wraps `text` to lines of at most `width` px at `size` (a word
 * longer than the width gets a line of its own).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wrapText } from "./chart_render.ts";
 * assert.deepEqual(wrapText("aaa bbb ccc", 10, 1e6), ["aaa bbb ccc"]);
 * assert.equal(wrapText("aaa bbb ccc", 10, 30).length, 3); // ~19 px a word
 * assert.deepEqual(wrapText("", 10, 40), []);
 * ```
 */
export function wrapText(text: string, size: number, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next, size) > width) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Chart padding (the specs' `padding`), px. */
const PAD = 12;

/**
 * Adds lines of small text under a vega SVG, wrapped to its width: the
 * SVG grows by their height and its background with it.
 */
function withFooter(
  svg: string,
  blocks: { text: string; size: number; color: string }[],
): string {
  const head = /^<svg [^>]*width="([\d.]+)" height="([\d.]+)"[^>]*>/.exec(svg);
  if (!head) return svg;
  const w = Number(head[1]);
  const h = Number(head[2]);
  const rows = blocks.flatMap((b) =>
    wrapText(b.text, b.size, w - 2 * PAD).map((text) => ({ ...b, text }))
  );
  if (rows.length === 0) return svg;
  let y = h - PAD + 4;
  const texts = rows.map((r) => {
    y += Math.round(r.size * 1.3);
    return `<text x="${PAD}" y="${y}" font-size="${r.size}" fill="${r.color}">${
      xmlText(r.text)
    }</text>`;
  });
  const height = Math.ceil(y + PAD - 2);
  const top = head[0].replace(/height="[\d.]+"/, `height="${height}"`)
    .replace(
      /viewBox="([\d.-]+) ([\d.-]+) ([\d.]+) [\d.]+"/,
      `viewBox="$1 $2 $3 ${height}"`,
    );
  const body = svg.slice(head[0].length).replace(
    /^<rect width="([\d.]+)" height="[\d.]+"/,
    `<rect width="$1" height="${height}"`,
  );
  return `${top}${
    body.replace(
      /<\/svg>\s*$/,
      `<g class="caption" font-family="${xmlText(FONT_STACK)}">${
        texts.join("")
      }</g></svg>`,
    )
  }`;
}

/**
 * Converts an SVG string to PNG bytes at `scale` (2 for sharp blog images).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toPng } from "./chart_render.ts";
 * const svg =
 *   `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"/>`;
 * const png = toPng(svg);
 * assert.equal(new TextDecoder().decode(png.subarray(1, 4)), "PNG");
 * const ihdr = new DataView(png.buffer, png.byteOffset + 16, 8);
 * assert.deepEqual([ihdr.getUint32(0), ihdr.getUint32(4)], [80, 60]); // 2x
 * ```
 */
export function toPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
  });
  return r.render().asPng();
}

/** Paths written by {@linkcode writeChart}. */
export interface ChartFiles {
  /** SVG file. */
  svg: string;
  /** PNG file (2x). */
  png: string;
  /** Vega-Lite spec with data inlined. */
  spec: string;
}

/** The files of chart `name` in `dir`. */
function chartFiles(dir: string, name: string): ChartFiles {
  return {
    svg: `${dir}/${name}.svg`,
    png: `${dir}/${name}.png`,
    spec: `${dir}/${name}.vl.json`,
  };
}

/**
 * Removes chart `name`'s files from `dir` (those there; no error when none
 * is): a chart with nothing to show in a run is not left over from an
 * earlier rendering.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeChartFiles } from "./chart_render.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/rtt.png`, "old");
 * await Deno.writeTextFile(`${dir}/rtt-notes.txt`, "mine");
 * await removeChartFiles(dir, "rtt");
 * await removeChartFiles(`${dir}/absent`, "rtt");
 * const left = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
 * assert.deepEqual(left, ["rtt-notes.txt"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function removeChartFiles(
  dir: string,
  name: string,
): Promise<void> {
  for (const path of Object.values(chartFiles(dir, name))) {
    await Deno.remove(path).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}

/**
 * The text `writeChart` writes as a chart's `.vl.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { specText } from "./chart_render.ts";
 * assert.equal(specText({ mark: "point" }), '{\n "mark": "point"\n}\n');
 * ```
 */
export function specText(spec: Spec): string {
  return JSON.stringify(spec, null, 1) + "\n";
}

/**
 * Writes one chart as SVG, PNG and spec into `dir` (created if needed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeChart } from "./chart_render.ts";
 * const spec = {
 *   data: { values: [{ x: 1 }] }, mark: "point",
 *   encoding: { x: { field: "x", type: "quantitative" } },
 * };
 * const dir = await Deno.makeTempDir();
 * const files = await writeChart(spec, `${dir}/charts`, "points");
 * assert.deepEqual(files, {
 *   svg: `${dir}/charts/points.svg`,
 *   png: `${dir}/charts/points.png`,
 *   spec: `${dir}/charts/points.vl.json`,
 * });
 * assert.equal(JSON.parse(await Deno.readTextFile(files.spec)).mark, "point");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeChart(
  spec: Spec,
  dir: string,
  name: string,
): Promise<ChartFiles> {
  await Deno.mkdir(dir, { recursive: true });
  const svg = await toSvg(spec);
  const files = chartFiles(dir, name);
  await Deno.writeTextFile(files.svg, svg);
  await Deno.writeFile(files.png, toPng(svg));
  await Deno.writeTextFile(files.spec, specText(spec));
  return files;
}
