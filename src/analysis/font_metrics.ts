/**
 * Text widths from a TrueType font's own advance widths (its `cmap`,
 * `hmtx`, `hhea` and `head` tables), for laying charts out without a
 * canvas: the headless vega renderer otherwise guesses 0.8 em a character,
 * about a third wider than DejaVu Sans, and sizes every chart to the
 * guess. Kerning is left out, so a width is at most a few pixels wide.
 *
 * @module
 */

/** Advance widths of one font, in em. */
export interface FontMetrics {
  /** Width of `text` at `size` px (sum of the glyphs' advances). */
  width(text: string, size: number): number;
}

/** Debian's, Fedora's and Arch's places for DejaVu Sans. */
const DEJAVU_DIRS = [
  "/usr/share/fonts/truetype/dejavu",
  "/usr/share/fonts/dejavu-sans-fonts",
  "/usr/share/fonts/dejavu",
  "/usr/share/fonts/TTF",
];

/**
 * Reads a TrueType font's advance widths (cmap format 4: the Basic
 * Multilingual Plane). A character the font has no glyph for gets the
 * width of glyph 0, as a renderer falling back would roughly take.
 *
 * @throws {Error} when the bytes are not a TrueType font with those tables.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFont } from "./font_metrics.ts";
 * const font = parseFont(
 *   Deno.readFileSync("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
 * );
 * // DejaVu Sans: "i" is narrower than "m"; a space is 0.318 em.
 * assert.ok(font.width("i", 10) < font.width("m", 10));
 * assert.equal(Math.round(font.width(" ", 1000)), 318);
 * assert.equal(font.width("ab", 10), font.width("a", 10) + font.width("b", 10));
 * ```
 */
export function parseFont(bytes: Uint8Array): FontMetrics {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tables = new Map<string, number>();
  const count = v.getUint16(4);
  for (let i = 0; i < count; i++) {
    const at = 12 + 16 * i;
    const tag = String.fromCharCode(...bytes.subarray(at, at + 4));
    tables.set(tag, v.getUint32(at + 8));
  }
  const need = (tag: string) => {
    const at = tables.get(tag);
    if (at === undefined) throw new Error(`font has no ${tag} table`);
    return at;
  };
  const unitsPerEm = v.getUint16(need("head") + 18);
  const nMetrics = v.getUint16(need("hhea") + 34);
  const hmtx = need("hmtx");
  const advance = (glyph: number) =>
    v.getUint16(hmtx + 4 * Math.min(glyph, nMetrics - 1));
  const cmap = need("cmap");
  let sub: number | undefined;
  for (let i = 0; i < v.getUint16(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = v.getUint16(rec);
    const encoding = v.getUint16(rec + 2);
    const at = cmap + v.getUint32(rec + 4);
    if (
      v.getUint16(at) === 4 &&
      ((platform === 3 && encoding === 1) || platform === 0)
    ) {
      sub = at;
      if (platform === 3) break;
    }
  }
  if (sub === undefined) throw new Error("font has no Unicode cmap (format 4)");
  const segs = v.getUint16(sub + 6) / 2;
  const ends = sub + 14;
  const starts = ends + 2 * segs + 2;
  const deltas = starts + 2 * segs;
  const ranges = deltas + 2 * segs;
  const glyphOf = (c: number): number => {
    for (let i = 0; i < segs; i++) {
      if (c > v.getUint16(ends + 2 * i)) continue;
      const start = v.getUint16(starts + 2 * i);
      if (c < start) return 0;
      const delta = v.getUint16(deltas + 2 * i);
      const range = v.getUint16(ranges + 2 * i);
      if (range === 0) return (c + delta) & 0xffff;
      const g = v.getUint16(ranges + 2 * i + range + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const em = new Map<number, number>();
  const emOf = (c: number) => {
    let w = em.get(c);
    if (w === undefined) {
      w = advance(c > 0xffff ? 0 : glyphOf(c)) / unitsPerEm;
      em.set(c, w);
    }
    return w;
  };
  return {
    width(text: string, size: number): number {
      let w = 0;
      for (const ch of text) w += emOf(ch.codePointAt(0)!);
      return w * size;
    },
  };
}

/** DejaVu Sans's regular and bold faces (undefined where not installed). */
export interface DejaVu {
  /** DejaVu Sans (Book). */
  regular?: FontMetrics;
  /** DejaVu Sans Bold. */
  bold?: FontMetrics;
}

let cached: DejaVu | undefined;

/**
 * DejaVu Sans's metrics from the first of the usual font folders that has
 * it (read once); a face not found is undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dejaVu } from "./font_metrics.ts";
 * const { regular, bold } = dejaVu();
 * assert.ok(regular && bold); // .ci/setup installs fonts-dejavu-core
 * assert.ok(bold.width("pool size", 12) > regular.width("pool size", 12));
 * ```
 */
export function dejaVu(): DejaVu {
  if (cached) return cached;
  const load = (file: string) => {
    for (const dir of DEJAVU_DIRS) {
      try {
        return parseFont(Deno.readFileSync(`${dir}/${file}`));
      } catch {
        // not there (or not readable): the next folder
      }
    }
    return undefined;
  };
  cached = {
    regular: load("DejaVuSans.ttf"),
    bold: load("DejaVuSans-Bold.ttf"),
  };
  return cached;
}
