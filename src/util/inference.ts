/**
 * Uncertainty with the round as the unit. Sessions of one round share the
 * machine at the same moment and are not independent, so intervals
 * resample whole rounds (a cluster bootstrap) and tests compare per-round
 * medians (Mann-Whitney U), never thousands of sessions as if each were a
 * sample of its own.
 *
 * @module
 */
import { cumulativeNormal } from "vega-statistics";
import { median, quantile } from "./quantile.ts";

/** A seeded uniform generator in [0, 1) (mulberry32), for reproducible intervals. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A median with its confidence interval. */
export interface Interval {
  /** Median of all values (every round's values together). */
  median: number;
  /** Lower bound. */
  low: number;
  /** Upper bound. */
  high: number;
  /** Rounds (clusters) that had values. */
  rounds: number;
}

/** Bootstrap resamples per interval. */
export const RESAMPLES = 1000;

/**
 * The median of every value with a 95 % (by default) percentile interval
 * from a cluster bootstrap: whole rounds are drawn with replacement, the
 * median of their values taken, {@linkcode RESAMPLES} times. With one
 * round the interval is that round's own range of medians, i.e. the
 * median itself: one round says nothing about the next.
 *
 * @example
 * ```ts
 * import { clusterInterval } from "./inference.ts";
 * import assert from "node:assert/strict";
 * const steady = clusterInterval([[10, 11, 12], [10, 11, 12], [10, 11, 12]]);
 * assert.deepEqual([steady.median, steady.low, steady.high], [11, 11, 11]);
 * const drift = clusterInterval([[10, 10], [20, 20], [30, 30], [40, 40]]);
 * assert.equal(drift.median, 25);
 * assert.ok(drift.low <= 20 && drift.high >= 30); // round-to-round spread
 * assert.deepEqual(clusterInterval([[5]]), { median: 5, low: 5, high: 5, rounds: 1 });
 * ```
 */
export function clusterInterval(
  rounds: readonly (readonly number[])[],
  level = 0.95,
  seed = 1,
  resamples = RESAMPLES,
): Interval {
  const kept = rounds.filter((r) => r.length > 0);
  const all = kept.flat();
  const m = median(all);
  if (kept.length < 2) {
    return { median: m, low: m, high: m, rounds: kept.length };
  }
  const draw = resampler(kept, seed);
  const stats: number[] = [];
  for (let b = 0; b < resamples; b++) stats.push(draw());
  const a = (1 - level) / 2;
  return {
    median: m,
    low: quantile(stats, a),
    high: quantile(stats, 1 - a),
    rounds: kept.length,
  };
}

/**
 * A function that draws one cluster-bootstrap resample of `rounds` (as
 * many rounds as there are, with replacement) and returns its median, in
 * time linear in the resample's size (selection, not sorting).
 */
function resampler(
  rounds: readonly (readonly number[])[],
  seed: number,
): () => number {
  const rnd = seededRandom(seed);
  const cap = rounds.reduce((s, r) => s + r.length, 0) * 4 + 16;
  let buf = new Float64Array(cap);
  return () => {
    let n = 0;
    for (let i = 0; i < rounds.length; i++) {
      const r = rounds[Math.floor(rnd() * rounds.length)];
      if (n + r.length > buf.length) {
        const bigger = new Float64Array((n + r.length) * 2);
        bigger.set(buf.subarray(0, n));
        buf = bigger;
      }
      for (let j = 0; j < r.length; j++) buf[n++] = r[j];
    }
    return selectMedian(buf, n);
  };
}

/** Median of `a[0..n)` (mean of the middle two for even n); reorders `a`. */
function selectMedian(a: Float64Array, n: number): number {
  const k = (n - 1) >> 1;
  const lo = select(a, 0, n - 1, k);
  if (n % 2 === 1) return lo;
  // The next value up is the smallest of the upper part.
  let hi = Infinity;
  for (let i = k + 1; i < n; i++) if (a[i] < hi) hi = a[i];
  return (lo + hi) / 2;
}

/** Quickselect: the k-th smallest of a[left..right]; partitions around it. */
function select(
  a: Float64Array,
  left: number,
  right: number,
  k: number,
): number {
  while (right > left) {
    const pivot = a[(left + right) >> 1];
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}

/**
 * The ratio of two medians (`a / b`) with a cluster-bootstrap interval,
 * resampling the rounds of each side independently.
 *
 * @example
 * ```ts
 * import { ratioInterval } from "./inference.ts";
 * import assert from "node:assert/strict";
 * const r = ratioInterval([[20, 20], [22, 22], [21, 21]], [[10, 10], [11, 11], [10, 10]]);
 * assert.equal(r.median, 21 / 10);
 * assert.ok(r.low > 1.8 && r.high < 2.3);
 * ```
 */
export function ratioInterval(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  level = 0.95,
  seed = 1,
): Interval {
  const ka = a.filter((r) => r.length > 0);
  const kb = b.filter((r) => r.length > 0);
  const m = median(ka.flat()) / median(kb.flat());
  if (ka.length < 2 || kb.length < 2) {
    return {
      median: m,
      low: m,
      high: m,
      rounds: Math.min(ka.length, kb.length),
    };
  }
  const da = resampler(ka, seed);
  const db = resampler(kb, seed + 1);
  const stats: number[] = [];
  for (let i = 0; i < RESAMPLES; i++) stats.push(da() / db());
  const q = (1 - level) / 2;
  return {
    median: m,
    low: quantile(stats, q),
    high: quantile(stats, 1 - q),
    rounds: Math.min(ka.length, kb.length),
  };
}

/**
 * Two-sided p-value of the Mann-Whitney U test (exact for up to 20 values
 * a side without ties, normal approximation with tie and continuity
 * correction otherwise). Used on per-round medians.
 *
 * @example
 * ```ts
 * import { mannWhitneyP } from "./inference.ts";
 * import assert from "node:assert/strict";
 * // Every round of one side below every round of the other.
 * assert.ok(mannWhitneyP([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]) < 0.01);
 * assert.ok(mannWhitneyP([1, 3, 5, 7, 9], [2, 4, 6, 8, 10]) > 0.5); // interleaved
 * // Three rounds a side can never reach 0.05: the smallest p is 0.1.
 * assert.equal(mannWhitneyP([1, 2, 3], [4, 5, 6]), 0.1);
 * ```
 */
export function mannWhitneyP(
  a: readonly number[],
  b: readonly number[],
): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return NaN;
  const all = [...a.map((v) => ({ v, s: 0 })), ...b.map((v) => ({ v, s: 1 }))]
    .sort((x, y) => x.v - y.v);
  const ranks = new Float64Array(all.length);
  let ties = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const t = j - i + 1;
    if (t > 1) ties += t ** 3 - t;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let r1 = 0;
  all.forEach((x, i) => {
    if (x.s === 0) r1 += ranks[i];
  });
  const u1 = r1 - n1 * (n1 + 1) / 2;
  const u = Math.min(u1, n1 * n2 - u1);
  if (ties === 0 && n1 <= 20 && n2 <= 20) {
    return Math.min(1, 2 * exactCdf(u, n1, n2));
  }
  const n = n1 + n2;
  const sd = Math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))));
  if (sd === 0) return 1;
  const z = (Math.abs(u - n1 * n2 / 2) - 0.5) / sd;
  return Math.min(1, 2 * (1 - normalCdf(Math.max(0, z))));
}

/** P(U <= u) under the null, by counting arrangements (small samples). */
function exactCdf(u: number, n1: number, n2: number): number {
  // f[i][j][k]: arrangements of i and j values with U = k.
  const max = n1 * n2;
  let prev: Float64Array[] = Array.from(
    { length: n2 + 1 },
    () => new Float64Array(max + 1),
  );
  for (let j = 0; j <= n2; j++) prev[j][0] = 1;
  for (let i = 1; i <= n1; i++) {
    const cur = Array.from({ length: n2 + 1 }, () => new Float64Array(max + 1));
    cur[0][0] = 1;
    for (let j = 1; j <= n2; j++) {
      for (let k = 0; k <= max; k++) {
        cur[j][k] = (k >= j ? prev[j][k - j] : 0) + cur[j - 1][k];
      }
    }
    prev = cur;
  }
  const counts = prev[n2];
  let total = 0;
  let below = 0;
  for (let k = 0; k <= max; k++) {
    total += counts[k];
    if (k <= u) below += counts[k];
  }
  return below / total;
}

/**
 * Standard normal CDF: vega-statistics' `cumulativeNormal` (Hart's
 * double-precision algorithm; measured against 40-digit values at steps
 * of 1/8 from -37 to 37: absolute error 1.1e-16, relative 9e-9).
 *
 * @example
 * ```ts
 * import { normalCdf } from "./inference.ts";
 * import assert from "node:assert/strict";
 * assert.equal(normalCdf(0), 0.5);
 * assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
 * assert.ok(Math.abs(normalCdf(-1) - 0.158655) < 1e-6);
 * // Far in the tail, still to 8 digits: Φ(-10) = 7.6198530241605e-24.
 * assert.ok(Math.abs(normalCdf(-10) / 7.6198530241605e-24 - 1) < 1e-8);
 * ```
 */
export function normalCdf(z: number): number {
  // vega-statistics ships no types: this signature is its typed boundary.
  return cumulativeNormal(z) as number;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; about 15 digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61503916999185,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) {
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t +
    Math.log(a);
}

/**
 * The regularized incomplete beta function I_x(a, b), by its continued
 * fraction (modified Lentz), using the symmetry I_x(a, b) =
 * 1 − I_{1−x}(b, a) where the fraction converges slowly.
 */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) +
      b * Math.log(1 - x),
  ) / a;
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 0;
  for (let i = 0; i <= 400; i++) {
    const m = Math.floor(i / 2);
    const num = i === 0
      ? 1
      : i % 2 === 0
      ? (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m))
      : -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    const step = c * d;
    f *= step;
    if (Math.abs(1 - step) < 1e-14) break;
  }
  return front * (f - 1);
}

/**
 * The two-sided p-value of Student's t with `df` degrees of freedom (df
 * may be fractional, as Welch's is): P(|T| >= |t|), the regularized
 * incomplete beta I_{df/(df+t²)}(df/2, 1/2).
 *
 * Kept here rather than taken from npm, as measured against 40-digit
 * values (df 1 to 1e6, |t| 0 to 50): this is within 3e-8 (relative);
 * `@stdlib/stats-base-dists-t-cdf` 0.2.3 is within 2e-14 but brings 223
 * packages (`npm i @stdlib/stats-base-dists-t-cdf@0.2.3` in an empty
 * folder: "added 223 packages"; 16 MB, 25 MB on disk) whose loading adds
 * 0.11 to 0.16 s to the start of every process that imports this module,
 * the benchmark itself included (median of 15 `deno run -A` starts of a
 * script that imports it and prints `cdf(2.228139, 10)`, against one that
 * prints a constant: 0.169 s vs 0.055 s from a local node_modules,
 * 0.180 s vs 0.023 s from Deno's npm cache; Deno 2.9.6, 2 shared cores);
 * `jstat` 1.9.6 loads in 0.05 to 0.1 s but is 3.5 % off at large df (p =
 * 0.965 for t = 0, df = 1e6), which a Welch df reaches when one side's
 * variance is known.
 *
 * @example
 * ```ts
 * import { studentTwoSidedP } from "./inference.ts";
 * import assert from "node:assert/strict";
 * // Table values: t(0.975, 10) = 2.228139, t(0.975, 4) = 2.776445.
 * assert.ok(Math.abs(studentTwoSidedP(2.228139, 10) - 0.05) < 1e-6);
 * assert.ok(Math.abs(studentTwoSidedP(-2.776445, 4) - 0.05) < 1e-6);
 * assert.equal(studentTwoSidedP(0, 3), 1);
 * // Many degrees of freedom: the normal's 1.96.
 * assert.ok(Math.abs(studentTwoSidedP(1.959964, 1e6) - 0.05) < 1e-4);
 * ```
 */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** Significance level of every test the tool prints. */
export const ALPHA = 0.05;

/**
 * The smallest p-value Mann-Whitney can give with `n1` and `n2` values
 * (all of one side below the other); at or above {@linkcode ALPHA} no
 * difference can be significant, however large.
 *
 * @example
 * ```ts
 * import { smallestP } from "./inference.ts";
 * import assert from "node:assert/strict";
 * assert.equal(smallestP(3, 3), 0.1);
 * assert.ok(smallestP(4, 4) < 0.05);
 * ```
 */
export function smallestP(n1: number, n2: number): number {
  const a = Array.from({ length: n1 }, (_, i) => i);
  const b = Array.from({ length: n2 }, (_, i) => n1 + i);
  return mannWhitneyP(a, b);
}
