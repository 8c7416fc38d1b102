/**
 * What every chart shares: the Vega-Lite spec type, the font and the
 * colour each client keeps in every chart.
 *
 * @module
 */

/** A Vega-Lite spec (JSON). */
// deno-lint-ignore no-explicit-any
export type Spec = Record<string, any>;

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
 * import { colorScale } from "./mod.ts";
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
