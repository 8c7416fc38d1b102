/**
 * The statistics of src/util/inference.ts against published or
 * independently computed reference values: Student's t and the normal CDF
 * against standard tables and closed forms, the exact Mann-Whitney test
 * against the standard table of critical values and a p-value counted by
 * hand, and the cluster bootstrap against the exact bootstrap
 * distribution of the sample median (a binomial sum), a plain sort-based
 * resampling with the same draws and a case worked out by hand.
 */
import { assert, assertEquals } from "./assert.ts";
import {
  clusterInterval,
  mannWhitneyP,
  normalCdf,
  ratioInterval,
  RESAMPLES,
  seededRandom,
  smallestP,
  studentTwoSidedP,
} from "../src/util/inference.ts";
import { median, quantile } from "../src/util/quantile.ts";

/** |got / want - 1| <= rel. */
function near(got: number, want: number, rel: number, what: string): void {
  assert(Math.abs(got / want - 1) <= rel, `${what}: ${got}, want ${want}`);
}

Deno.test("inference: Student's t against the standard table's critical values", () => {
  // Two-sided critical values t(alpha, df) as printed (3 decimals) in the
  // standard t table (e.g. NIST/SEMATECH e-Handbook of Statistical
  // Methods, 1.4.2.8 "Critical values of the Student's t distribution").
  // A value rounded to 3 decimals is within 0.0005 of the true one, so
  // P(|T| >= t - 0.0005) >= alpha >= P(|T| >= t + 0.0005).
  const table: [alpha: number, df: number, t: number][] = [
    [0.05, 1, 12.706],
    [0.05, 2, 4.303],
    [0.05, 3, 3.182],
    [0.05, 5, 2.571],
    [0.05, 10, 2.228],
    [0.05, 30, 2.042],
    [0.05, 120, 1.980],
    [0.01, 5, 4.032],
    [0.01, 20, 2.845],
    [0.10, 30, 1.697],
  ];
  for (const [alpha, df, t] of table) {
    const wide = studentTwoSidedP(t - 0.0005, df);
    const narrow = studentTwoSidedP(t + 0.0005, df);
    assert(wide >= alpha && alpha >= narrow, `df ${df}: ${wide} ${narrow}`);
  }
});

Deno.test("inference: Student's t against closed forms and 40-digit values", () => {
  for (const t of [0.1, 0.5, 1, 2, 3.5, 10, 50]) {
    // df = 1 (Cauchy): P(|T| >= t) = 1 - (2 / pi) atan(t).
    near(studentTwoSidedP(t, 1), 1 - 2 / Math.PI * Math.atan(t), 1e-8, `df 1`);
    // df = 2: P(|T| >= t) = 1 - t / sqrt(t^2 + 2).
    near(studentTwoSidedP(-t, 2), 1 - t / Math.sqrt(t * t + 2), 1e-8, `df 2`);
  }
  // Fractional df (as Welch's), I_x(df/2, 1/2) evaluated with mpmath 1.3.0
  // (betainc, 40 digits).
  near(studentTwoSidedP(2, 7.3), 0.08394103933410318, 1e-8, "df 7.3");
  near(studentTwoSidedP(1.5, 15.5), 0.1537068384980973, 1e-8, "df 15.5");
  near(studentTwoSidedP(3, 2.7), 0.06589595765676669, 1e-8, "df 2.7");
  // A very large df is the normal: 2 (1 - Phi(0.5)) = 0.617075...
  near(studentTwoSidedP(0.5, 1e6), 0.6170751874723714, 1e-8, "df 1e6");
  assertEquals(studentTwoSidedP(0, 1e6), 1);
  assertEquals(studentTwoSidedP(Infinity, 3), 0);
});

Deno.test("inference: the normal CDF against tables and 40-digit tail values", () => {
  // The standard normal table (4 decimals).
  const table: [number, number][] = [
    [1.0, 0.8413],
    [1.96, 0.975],
    [2.58, 0.9951],
    [3.0, 0.9987],
  ];
  for (const [z, p] of table) {
    assert(Math.abs(normalCdf(z) - p) <= 0.00005, `Phi(${z})`);
    assert(Math.abs(normalCdf(-z) - (1 - p)) <= 0.00005, `Phi(-${z})`);
  }
  // erfc(-z / sqrt 2) / 2 to 40 digits (mpmath 1.3.0 ncdf): the tails
  // keep their relative accuracy (a p-value of 1e-7 is not rounded to 0).
  near(normalCdf(-1), 0.15865525393145705, 1e-12, "Phi(-1)");
  near(normalCdf(-3), 0.0013498980316300945, 1e-8, "Phi(-3)");
  near(normalCdf(-5), 2.866515718791939e-7, 1e-8, "Phi(-5)");
  near(normalCdf(-10), 7.619853024160526e-24, 1e-8, "Phi(-10)");
});

/** Two samples of n1 and n2 distinct values whose Mann-Whitney U is u. */
function samplesWithU(n1: number, n2: number, u: number): number[][] {
  const b = Array.from({ length: n2 }, (_, j) => j + 1);
  const a: number[] = [];
  let left = u;
  for (let i = 0; i < n1; i++) {
    const below = Math.min(n2, left); // values of b under this one
    left -= below;
    a.push(below + 0.5 + i / (10 * n1));
  }
  return [a, b];
}

Deno.test("inference: exact Mann-Whitney against the table of critical values", () => {
  // Critical values of U, two-sided alpha = 0.05 (the largest U still
  // significant), as printed in the standard Mann-Whitney U table (e.g.
  // Siegel & Castellan, Nonparametric Statistics, 2nd ed., Table J; the
  // same in any textbook's table); "-" there for 3 x 3 and smaller.
  const table: [n1: number, n2: number, u: number][] = [
    [3, 5, 0],
    [4, 4, 0],
    [5, 5, 2],
    [6, 6, 5],
    [6, 8, 8],
    [7, 7, 8],
    [8, 8, 13],
    [10, 10, 23],
    [12, 12, 37],
    [15, 15, 64],
    [20, 20, 127],
  ];
  for (const [n1, n2, u] of table) {
    const [a, b] = samplesWithU(n1, n2, u);
    const [a1, b1] = samplesWithU(n1, n2, u + 1);
    const at = mannWhitneyP(a, b);
    const above = mannWhitneyP(a1, b1);
    assert(at <= 0.05 && above > 0.05, `${n1} x ${n2}: ${at} ${above}`);
    // The test is symmetric in its two sides.
    assertEquals(mannWhitneyP(b, a), at);
  }
  // 3 x 3: no U is significant (the table has no entry).
  assertEquals(smallestP(3, 3), 0.1);
});

Deno.test("inference: an exact Mann-Whitney p-value counted by hand", () => {
  // a = {1, 2, 4}, b = {3, 5, 6, 7}: only 4 > 3, so U = 1. Of the
  // C(7, 3) = 35 equally likely ways to place the three a's among the
  // seven ranks, U = 0 happens once (ranks 1-3) and U = 1 once (1, 2, 4):
  // P(U <= 1) = 2/35, two-sided 4/35 (R: wilcox.test(c(1, 2, 4),
  // c(3, 5, 6, 7))$p.value, the exact test without ties).
  assertEquals(mannWhitneyP([1, 2, 4], [3, 5, 6, 7]), 4 / 35);
  // All of one side below the other: 2 / C(n1 + n2, n1).
  assertEquals(smallestP(4, 4), 2 / 70);
  assertEquals(smallestP(3, 5), 2 / 56);
});

Deno.test("inference: Mann-Whitney with ties, by the normal approximation", () => {
  const a = [1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const b = [5, 6, 6, 7, 9, 12, 13, 14, 15, 16, 17, 18];
  // By hand: U_a = 24.5 (pairs a > b, a tie counted 1/2) of n1 n2 = 144;
  // tied values 2, 5, 6, 7, 9 (2, 2, 3, 2, 2 times) give sum(t^3 - t) = 48;
  // sd = sqrt(144 / 12 * (25 - 48 / (24 * 23))) = 17.29036;
  // z = (|24.5 - 72| - 0.5) / sd = 2.718278, p = 2 (1 - Phi(z)) =
  // 0.0065623 (SciPy 1.17 mannwhitneyu(a, b, method="asymptotic") gives
  // 0.006562271123011692; R's wilcox.test(a, b, exact = FALSE) uses the
  // same tie and continuity corrections).
  const sd = Math.sqrt(144 / 12 * (25 - 48 / (24 * 23)));
  const z = (Math.abs(24.5 - 72) - 0.5) / sd;
  const p = mannWhitneyP(a, b);
  near(p, 2 * (1 - normalCdf(z)), 1e-12, "by the formula");
  near(p, 0.006562271123011692, 1e-9, "scipy");
});

Deno.test("inference: the cluster bootstrap against a case worked out by hand", () => {
  // Two rounds of one value each: a resample is {1, 1}, {1, 3} or {3, 3}
  // (probability 1/4, 1/2, 1/4), median 1, 2 or 3; the 2.5 % and 97.5 %
  // points of 1000 resamples are then 1 and 3.
  assertEquals(clusterInterval([[1], [3]]), {
    median: 2,
    low: 1,
    high: 3,
    rounds: 2,
  });
  // One round says nothing about the next; empty rounds do not count.
  assertEquals(clusterInterval([[4, 5, 6], []]), {
    median: 5,
    low: 5,
    high: 5,
    rounds: 1,
  });
});

/** P(X >= m) for X ~ Binomial(n, p). */
function binomialTail(n: number, p: number, m: number): number {
  let sum = 0;
  let choose = 1; // C(n, j), built up from C(n, 0)
  for (let j = 0; j <= n; j++) {
    if (j >= m) sum += choose * p ** j * (1 - p) ** (n - j);
    choose = choose * (n - j) / (j + 1);
  }
  return sum;
}

Deno.test("inference: the cluster bootstrap of clusters of one value is the exact bootstrap distribution of the sample median", () => {
  // With rounds of one value each, the cluster bootstrap is Efron's
  // ordinary bootstrap of the sample median, whose distribution is known
  // in closed form (the sample-median example of B. Efron, "Bootstrap
  // methods: another look at the jackknife", Annals of Statistics 7(1),
  // 1979, 1-26). Derivation: for n = 2m - 1 distinct values
  // x(1) < ... < x(n), a resample is n draws with replacement, each at or
  // below x(k) with probability k/n, independently; its median is its
  // m-th smallest value, which is at or below x(k) exactly when at least m
  // of the n draws are. So
  //   P(median* <= x(k)) = sum_{j=m..n} C(n, j) (k/n)^j (1 - k/n)^(n-j).
  // The bootstrap's own quantiles (clusterInterval's ends at chosen
  // levels, 20,000 resamples, a fixed seed) must put that probability at
  // each x(k) to within DELTA (over 4 standard errors of a Monte Carlo
  // CDF, sqrt(0.25 / 20000) = 0.0035).
  const values = [12, 3, 47, 8, 21, 5, 30, 16, 9, 40, 26];
  const n = values.length;
  const m = (n + 1) / 2;
  const sorted = [...values].sort((a, b) => a - b);
  const rounds = values.map((v) => [v]);
  const draws = 20_000;
  const DELTA = 0.015;
  // The bootstrap distribution's q-quantile, read off the interval's ends
  // (linear interpolation between order statistics, as everywhere).
  const bootQuantile = (q: number) =>
    q <= 0.5
      ? clusterInterval(rounds, 1 - 2 * q, 3, draws).low
      : clusterInterval(rounds, 2 * q - 1, 3, draws).high;
  const exact = sorted.map((_, i) => binomialTail(n, (i + 1) / n, m));
  // The exact distribution: from P(median* <= x(1)) = 1.7e-4 to 1, and
  // symmetric (k and n - k around the middle value).
  assert(Math.abs(exact[0] - 1.741e-4) < 1e-7, `${exact[0]}`);
  assert(Math.abs(exact[n - 1] - 1) < 1e-12);
  for (let k = 1; k < n; k++) {
    assert(Math.abs(exact[k - 1] + exact[n - k - 1] - 1) < 1e-12);
  }
  let checked = 0;
  for (let k = 1; k < n; k++) {
    const p = exact[k - 1];
    // Below the exact probability, the quantile is still at most x(k);
    // above it, already past x(k).
    if (p - DELTA > 0) {
      assert(
        bootQuantile(p - DELTA) <= sorted[k - 1],
        `P(median* <= ${sorted[k - 1]}) = ${
          p.toFixed(4)
        }: too few resamples at or below it`,
      );
      checked++;
    }
    if (p + DELTA < 1) {
      assert(
        bootQuantile(p + DELTA) > sorted[k - 1],
        `P(median* <= ${sorted[k - 1]}) = ${
          p.toFixed(4)
        }: too many resamples at or below it`,
      );
      checked++;
    }
  }
  assert(checked >= 14, `${checked} checks`);
  // The check tells distributions apart: taking the (m-1)-th smallest of
  // a resample instead of its median (at least m - 1 of n draws at or
  // below x(k)) moves the CDF by far more than DELTA somewhere, so a
  // resampler off by one rank would fail above.
  const offByOne = sorted.map((_, i) => binomialTail(n, (i + 1) / n, m - 1));
  assert(
    Math.max(...offByOne.map((q, i) => Math.abs(q - exact[i]))) > 10 * DELTA,
  );
});

/** The cluster bootstrap done plainly: the same draws, medians by sorting. */
function plainResamples(
  rounds: number[][],
  seed: number,
  n: number,
): number[] {
  const rnd = seededRandom(seed);
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    const values: number[] = [];
    for (let i = 0; i < rounds.length; i++) {
      values.push(...rounds[Math.floor(rnd() * rounds.length)]);
    }
    out.push(median(values));
  }
  return out;
}

Deno.test("inference: the cluster bootstrap equals a plain resampling with the same draws", () => {
  const rnd = seededRandom(7);
  // Rounds of unequal sizes, with ties, odd and even resample sizes.
  const rounds = Array.from(
    { length: 9 },
    (_, i) =>
      Array.from(
        { length: 1 + (i % 4) },
        () => Math.round(100 + 40 * rnd()) / 2,
      ),
  );
  for (const seed of [1, 2, 99]) {
    const plain = plainResamples(rounds, seed, RESAMPLES);
    const got = clusterInterval(rounds, 0.9, seed);
    assertEquals(got, {
      median: median(rounds.flat()),
      low: quantile(plain, 0.05),
      high: quantile(plain, 0.95),
      rounds: 9,
    });
  }
  const other = rounds.map((r) => r.map((v) => v / 2));
  const ra = plainResamples(rounds, 5, RESAMPLES);
  const rb = plainResamples(other, 6, RESAMPLES);
  const ratios = ra.map((v, i) => v / rb[i]);
  assertEquals(ratioInterval(rounds, other, 0.95, 5), {
    median: median(rounds.flat()) / median(other.flat()),
    low: quantile(ratios, 0.025),
    high: quantile(ratios, 0.975),
    rounds: 9,
  });
});
