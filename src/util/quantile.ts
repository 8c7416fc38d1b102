/**
 * Order statistics used by the terminal summary (the notebooks use polars,
 * with the same definitions: linear interpolation between closest ranks).
 *
 * @module
 */

/**
 * The q-quantile (0..1) of `values` with linear interpolation between the
 * closest ranks (so the median of an even count is the mean of the middle
 * two). NaN for an empty list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantile } from "./quantile.ts";
 * assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
 * assert.ok(Math.abs(quantile([1, 2, 3, 4, 5], 0.9) - 4.6) < 1e-12);
 * assert.ok(Number.isNaN(quantile([], 0.5)));
 * ```
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * The median (see {@linkcode quantile}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { median } from "./quantile.ts";
 * assert.equal(median([5, 1, 3]), 3);
 * ```
 */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}
