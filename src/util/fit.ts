/**
 * A least-squares line through points: the slope of a phase's median time
 * against the emulated round-trip time is the number of round trips the
 * phase waits for.
 *
 * @module
 */

/** A fitted line y = slope x + intercept. */
export interface Line {
  /** dy / dx. */
  slope: number;
  /** y at x = 0. */
  intercept: number;
  /** Points used. */
  points: number;
}

/**
 * The least-squares line through `(x, y)` points; NaN slope with fewer
 * than two distinct x.
 *
 * @example
 * ```ts
 * import { fitLine } from "./fit.ts";
 * import assert from "node:assert/strict";
 * // 13 round trips of 25 and 50 ms on top of 30 ms of CPU work.
 * const l = fitLine([[0, 30], [25, 355], [50, 680]]);
 * assert.equal(l.slope, 13);
 * assert.equal(l.intercept, 30);
 * assert.ok(Number.isNaN(fitLine([[10, 1], [10, 2]]).slope));
 * ```
 */
export function fitLine(points: readonly (readonly [number, number])[]): Line {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
  }
  const slope = sxx > 0 ? sxy / sxx : NaN;
  return { slope, intercept: my - slope * mx, points: n };
}
