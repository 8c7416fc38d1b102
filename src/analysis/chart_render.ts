/**
 * Headless rendering of Vega-Lite specs: compiled with vega-lite, rendered
 * to SVG by a vega View with `renderer: "none"`, and to PNG at 2x with
 * resvg. Writes `<name>.svg`, `<name>.png` and `<name>.vl.json` (the spec,
 * data inlined).
 *
 * @module
 */
import * as vega from "vega";
import { compile } from "vega-lite";
import { Resvg } from "@resvg/resvg-js";
import { FONT, type Spec } from "./chart_specs.ts";

/**
 * Renders a Vega-Lite spec to an SVG string.
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
 * });
 * assert.match(svg, /^<svg [^>]*width="\d+"/);
 * ```
 */
export async function toSvg(spec: Spec): Promise<string> {
  // deno-lint-ignore no-explicit-any
  const vg = compile(spec as any).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
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
  const files = {
    svg: `${dir}/${name}.svg`,
    png: `${dir}/${name}.png`,
    spec: `${dir}/${name}.vl.json`,
  };
  await Deno.writeTextFile(files.svg, svg);
  await Deno.writeFile(files.png, toPng(svg));
  await Deno.writeTextFile(files.spec, JSON.stringify(spec, null, 1) + "\n");
  return files;
}
