/**
 * Comparing runs, in the spirit of benchstat: per client, pool size and
 * metric, each run's median with its 95 % interval (bootstrap over whole
 * rounds), the change in %, a p-value and `~` where the difference is not
 * significant at alpha 0.05. Runs are matched by client and pool size;
 * what is in only some runs is listed, not dropped silently.
 *
 * Two methods. Within-run: the intervals as they are and a Mann-Whitney U
 * test on the per-round values, which is right for two clients of one run
 * but blind to how much two runs of the same command differ. Random
 * effects (given the between-run variation of a noise model, see
 * `run_noise.ts`): each median's log has its within-run standard error
 * (bootstrap) plus a between-run variance tau², and the log ratio of two
 * medians is tested against both.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import {
  ALPHA,
  clusterInterval,
  type Interval,
  mannWhitneyP,
  normalCdf,
  smallestP,
  studentTwoSidedP,
} from "../util/inference.ts";
import { median } from "../util/quantile.ts";

/** The metrics compared, with how a round's values are read. */
export const COMPARE_METRICS = [
  "total_ms",
  "commands_start_ms",
  "channel_read_ms",
  "reexec_ms",
  "client_cpu_ms_per_session",
] as const;

/** One compared metric. */
export type CompareMetric = typeof COMPARE_METRICS[number];

/** Per-round values of one client at one pool size in one run. */
type Rounds = Map<CompareMetric, number[][]>;

/** One run's values by `client|pool` key. */
export type RunValues = Map<string, Rounds>;

/**
 * Reads a run's sessions and rounds (as loaded by `loadRuns`, one run)
 * into per-round values: every ok session's timings per round, and each
 * round's client CPU per session.
 */
export function runValues(sessions: DataFrame, rounds: DataFrame): RunValues {
  const out: RunValues = new Map();
  const get = (client: string, pool: number) => {
    const key = `${client}|${pool}`;
    let r = out.get(key);
    if (!r) {
      r = new Map(COMPARE_METRICS.map((m) => [m, []]));
      out.set(key, r);
    }
    return r;
  };
  const byRound = new Map<string, Record<string, number[]>>();
  for (const s of sessions.toRecords() as Record<string, unknown>[]) {
    if (s.status !== "ok") continue;
    const key = `${s.client}|${s.pool_size}|${s.round}`;
    const v = byRound.get(key) ?? {
      total_ms: [],
      commands_start_ms: [],
      channel_read_ms: [],
      reexec_ms: [],
    };
    v.total_ms.push(s.total_ms as number);
    const start = (s.connect_ms as number) + (s.auth_ms as number) +
      (s.exec_ms as number);
    if (Number.isFinite(start)) v.commands_start_ms.push(start);
    if (typeof s.read_ms === "number") v.channel_read_ms.push(s.read_ms);
    if (typeof s.reexec_ms === "number") v.reexec_ms.push(s.reexec_ms);
    byRound.set(key, v);
  }
  for (const [key, v] of byRound) {
    const [client, pool] = key.split("|");
    const r = get(client, Number(pool));
    for (
      const m of [
        "total_ms",
        "commands_start_ms",
        "channel_read_ms",
        "reexec_ms",
      ] as const
    ) {
      r.get(m)!.push(v[m]);
    }
  }
  for (const x of rounds.toRecords() as Record<string, unknown>[]) {
    const n = (x.ok as number) + (x.failed as number);
    const cpu = x.client_cpu_ms as number | null;
    if (n > 0 && typeof cpu === "number" && Number.isFinite(cpu)) {
      get(x.client as string, x.pool_size as number)
        .get("client_cpu_ms_per_session")!.push([cpu / n]);
    }
  }
  return out;
}

/** One line of a comparison. */
export interface CompareRow {
  /** Client name. */
  client: string;
  /** Pool size. */
  pool_size: number;
  /** Metric. */
  metric: CompareMetric;
  /** The baseline run's median and interval. */
  a: Interval;
  /** The other run's. */
  b: Interval;
  /** (b - a) / a, in %. */
  delta_pct: number;
  /** Mann-Whitney U p-value on the per-round values (round medians). */
  p_value: number;
  /** p < alpha. */
  significant: boolean;
  /** Too few rounds on a side for any difference to reach significance. */
  underpowered: boolean;
  /**
   * `within-run`: the intervals of each run and a Mann-Whitney U test;
   * `random-effects`: intervals widened by the between-run variation and
   * a z test on the log ratio (see {@linkcode compareValues}).
   */
  method: CompareMethod;
  /** Between-run standard deviation used (log scale); null within-run. */
  tau: number | null;
}

/** How a row was tested (see {@linkcode CompareRow}). */
export type CompareMethod = "within-run" | "random-effects" | "repeats";

/**
 * The between-run standard deviation (natural-log scale) of a metric's
 * median for one client at one pool size, or undefined when unknown (the
 * row is then compared within-run).
 */
export type BetweenRun = (
  client: string,
  poolSize: number,
  metric: CompareMetric,
) => number | undefined;

/** z of a two-sided 95 % normal interval. */
export const Z95 = 1.959964;

/**
 * A median's within-run standard error on the natural-log scale, read off
 * its 95 % cluster-bootstrap interval: `(ln high − ln low) / (2·1.96)`.
 * Not the standard deviation of the resampled medians: where a client's
 * totals are bimodal (ssh2 at pool 1, the delayed-ACK stall), a few
 * resamples' medians jump to the other mode, and that SD came out 4.6
 * times the interval's width (8.9 % against 1.9 %) while the interval
 * stayed put. 0 for a one-round interval; NaN when the interval reaches 0
 * or below.
 *
 * @example
 * ```ts
 * import { intervalLogSe } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * const se = intervalLogSe({ median: 100, low: 100 / 1.02 ** 1.959964, high: 100 * 1.02 ** 1.959964, rounds: 30 });
 * assert.ok(Math.abs(se - Math.log(1.02)) < 1e-9);
 * assert.equal(intervalLogSe({ median: 5, low: 5, high: 5, rounds: 1 }), 0);
 * assert.ok(Number.isNaN(intervalLogSe({ median: 1, low: 0, high: 2, rounds: 9 })));
 * ```
 */
export function intervalLogSe(i: Interval): number {
  if (!(i.low > 0 && i.high > 0)) return NaN;
  return (Math.log(i.high) - Math.log(i.low)) / (2 * Z95);
}

/**
 * The random-effects test of two medians: with `d = ln b − ln a`,
 * `z = d / sqrt(seA² + seB² + 2·tau²)` and the two-sided normal p-value
 * (NaN when there is no spread at all). `seA` and `seB` are the medians'
 * within-run standard errors on the log scale, `tau` the between-run
 * standard deviation of one run's median on the log scale.
 *
 * @example
 * ```ts
 * import { randomEffectsP } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * // 3 % apart, each median known to 0.5 %: significant within one run ...
 * assert.ok(randomEffectsP(100, 103, 0.005, 0.005, 0) < 0.001);
 * // ... but not when runs of one command differ by 2 % (tau = ln 1.02).
 * assert.ok(randomEffectsP(100, 103, 0.005, 0.005, Math.log(1.02)) > 0.3);
 * assert.ok(randomEffectsP(100, 100, 0.005, 0.005, 0.02) > 0.999); // no change
 * ```
 */
export function randomEffectsP(
  a: number,
  b: number,
  seA: number,
  seB: number,
  tau: number,
): number {
  const sd = Math.sqrt(seA ** 2 + seB ** 2 + 2 * tau ** 2);
  const d = Math.log(b) - Math.log(a);
  if (!(sd > 0)) return d === 0 ? 1 : NaN;
  return Math.min(1, 2 * (1 - normalCdf(Math.abs(d) / sd)));
}

/**
 * A median's interval widened by the between-run variation: on the log
 * scale, `ln m ± 1.96·sqrt(se² + tau²)`.
 *
 * @example
 * ```ts
 * import { widenedInterval } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * const w = widenedInterval(100, 0, Math.log(1.02), 20);
 * assert.ok(Math.abs(w.high - 100 * 1.02 ** 1.959964) < 1e-9);
 * assert.ok(Math.abs(w.low * w.high - 100 * 100) < 1e-9); // symmetric in log
 * assert.equal(w.rounds, 20);
 * ```
 */
export function widenedInterval(
  median: number,
  se: number,
  tau: number,
  rounds: number,
): Interval {
  const h = Z95 * Math.sqrt(se ** 2 + tau ** 2);
  return {
    median,
    low: median * Math.exp(-h),
    high: median * Math.exp(h),
    rounds,
  };
}

/**
 * Compares two runs' values: every (client, pool size) both have, every
 * metric both have values for.
 *
 * Without `between` (within-run): each median's 95 % cluster-bootstrap
 * interval, a Mann-Whitney U test on per-round medians, and a change is
 * significant when p < alpha and it is at least `noisePct` %. That is right
 * for two sides that ran interleaved in one run; between runs it misses
 * the run-to-run variation, which only repeated runs can measure.
 *
 * With `between` (random effects, for rows it knows): each side's median
 * has its within-run standard error on the log scale
 * ({@linkcode intervalLogSe}) and the between-run SD tau; the p-value is
 * {@linkcode randomEffectsP}, the intervals are
 * {@linkcode widenedInterval}s, and a change is significant when p < alpha,
 * it is at least `noisePct` % and both sides have enough rounds (4).
 *
 * @example
 * ```ts
 * import { compareValues } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * const run = (rounds: number[][]) => new Map([["ssh2|8",
 *   new Map([["total_ms", rounds]])]]) as never;
 * const same = [[100, 101], [99, 100], [101, 102], [100, 100], [99, 101], [100, 102]];
 * const slower = same.map((r) => r.map((v) => v * 1.5));
 * const [tie] = compareValues(run(same), run(same.map((r) => r.map((v) => v + 0.5)).reverse())).rows;
 * assert.equal(tie.significant, false);
 * const [clear] = compareValues(run(same), run(slower)).rows;
 * assert.equal(clear.significant, true);
 * assert.equal(Math.round(clear.delta_pct), 50);
 * assert.equal(clear.method, "within-run");
 * // 3 % apart: a change within one run, noise when runs differ by 2 %.
 * const a = Array.from({ length: 12 }, (_, i) => [100 + (i % 3) * 0.2, 100.1]);
 * const b = a.map((r) => r.map((v) => v * 1.03));
 * assert.equal(compareValues(run(a), run(b)).rows[0].significant, true);
 * const [re] = compareValues(run(a), run(b), 0, () => Math.log(1.02)).rows;
 * assert.deepEqual([re.method, re.significant], ["random-effects", false]);
 * assert.ok(re.a.high > 102 && re.b.low < 101); // each inside the other's
 * ```
 */
export function compareValues(
  a: RunValues,
  b: RunValues,
  noisePct = 0,
  between?: BetweenRun,
): { rows: CompareRow[]; onlyA: string[]; onlyB: string[] } {
  const rows: CompareRow[] = [];
  const keys = [...a.keys()].filter((k) => b.has(k)).sort(byClientPool);
  for (const key of keys) {
    const [client, pool] = key.split("|");
    for (const metric of COMPARE_METRICS) {
      const ra = (a.get(key)!.get(metric) ?? []).filter((r) => r.length);
      const rb = (b.get(key)!.get(metric) ?? []).filter((r) => r.length);
      if (ra.length === 0 || rb.length === 0) continue;
      const ia = clusterInterval(ra);
      const ib = clusterInterval(rb);
      const seA = intervalLogSe(ia);
      const seB = intervalLogSe(ib);
      const delta = 100 * (ib.median - ia.median) / ia.median;
      const underpowered = smallestP(ra.length, rb.length) >= ALPHA;
      const tau = between?.(client, Number(pool), metric);
      const logScale = ia.median > 0 && ib.median > 0 &&
        Number.isFinite(seA) && Number.isFinite(seB);
      if (tau !== undefined && Number.isFinite(tau) && logScale) {
        const p = randomEffectsP(ia.median, ib.median, seA, seB, tau);
        rows.push({
          client,
          pool_size: Number(pool),
          metric,
          a: widenedInterval(ia.median, seA, tau, ia.rounds),
          b: widenedInterval(ib.median, seB, tau, ib.rounds),
          delta_pct: delta,
          p_value: p,
          significant: p < ALPHA && Math.abs(delta) >= noisePct &&
            !underpowered,
          underpowered,
          method: "random-effects",
          tau,
        });
        continue;
      }
      const p = mannWhitneyP(ra.map(median), rb.map(median));
      rows.push({
        client,
        pool_size: Number(pool),
        metric,
        a: ia,
        b: ib,
        delta_pct: delta,
        p_value: p,
        significant: p < ALPHA && Math.abs(delta) >= noisePct,
        underpowered,
        method: "within-run",
        tau: null,
      });
    }
  }
  return {
    rows,
    onlyA: [...a.keys()].filter((k) => !b.has(k)).sort(byClientPool),
    onlyB: [...b.keys()].filter((k) => !a.has(k)).sort(byClientPool),
  };
}

/**
 * One side of a comparison of repeated runs: the geometric mean of the
 * runs' medians, and the variance of its log: the larger of the runs' own
 * spread and what the model predicts for one run (tau² plus the mean
 * squared within-run error), over the number of runs; `estimated` when
 * the runs' own spread decided (a variance with runs − 1 degrees of
 * freedom, not a known one). Undefined when no run has a usable median.
 */
function groupSide(
  runs: readonly (readonly (readonly number[])[])[],
  tau: number | undefined,
):
  | {
    mean: number;
    variance: number;
    runs: number;
    rounds: number;
    estimated: boolean;
  }
  | undefined {
  const logs: number[] = [];
  const ses: number[] = [];
  let rounds = 0;
  for (const r of runs) {
    const ci = clusterInterval(r);
    const se = intervalLogSe(ci);
    if (!(ci.median > 0) || !Number.isFinite(se)) continue;
    logs.push(Math.log(ci.median));
    ses.push(se);
    rounds += ci.rounds;
  }
  const n = logs.length;
  if (n === 0) return undefined;
  const mean = logs.reduce((s, x) => s + x, 0) / n;
  const spread = n > 1
    ? logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)
    : 0;
  const predicted = (tau ?? 0) ** 2 +
    ses.reduce((s, x) => s + x * x, 0) / n;
  return {
    mean,
    variance: Math.max(spread, predicted) / n,
    runs: n,
    rounds,
    estimated: n > 1 && spread > predicted,
  };
}

/**
 * Compares two groups of repeated runs of one command each (benchstat's
 * `-count`): per cell, each side is the geometric mean of its runs'
 * medians; the variance of its log is the larger of the runs' observed
 * spread and the noise model's prediction for one run (tau² + se²),
 * divided by the number of runs; the p-value is Welch's t test of the
 * difference of the logs where a side's own spread decided its variance
 * (Welch-Satterthwaite degrees of freedom), else the normal test; the
 * intervals `exp(mean ± 1.96·sd)`. A change
 * is significant when p < alpha, it is at least `noisePct` %, and each
 * side has two or more runs or a model (one run and no model says
 * nothing about the next run). With one run a side and a model this is
 * the random-effects comparison of {@linkcode compareValues}.
 *
 * @example
 * ```ts
 * import { compareGroups } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * const run = (level: number) => new Map([["ssh2|8", new Map([["total_ms",
 *   Array.from({ length: 10 }, (_, i) => [level + (i % 2)])]])]]) as never;
 * const tau = () => Math.log(1.03); // runs of one command differ by 3 %
 * // 6 % slower: noise between two single runs ...
 * const [one] = compareGroups([run(100)], [run(106)], 0, tau).rows;
 * assert.deepEqual([one.method, one.significant], ["repeats", false]);
 * // ... but a change with eight runs a side.
 * const a = [96, 104, 100, 98, 102, 97, 103, 100].map(run);
 * const b = [102, 110, 106, 104, 108, 103, 109, 106].map(run);
 * const [eight] = compareGroups(a, b, 0, tau).rows;
 * assert.equal(eight.significant, true);
 * assert.ok(Math.abs(eight.delta_pct - 6) < 0.2);
 * // No model, three runs a side: their spread decides, and Welch's t with
 * // about 4 degrees of freedom is warier than the normal would be.
 * const [three] = compareGroups([100, 104, 96].map(run), [108, 112, 104].map(run)).rows;
 * assert.ok(three.p_value > 0.05 && !three.significant);
 * ```
 */
export function compareGroups(
  a: readonly RunValues[],
  b: readonly RunValues[],
  noisePct = 0,
  between?: BetweenRun,
): { rows: CompareRow[]; onlyA: string[]; onlyB: string[] } {
  const inAll = (g: readonly RunValues[]) =>
    [...g[0].keys()].filter((k) => g.every((r) => r.has(k)));
  const keysA = inAll(a);
  const keysB = new Set(inAll(b));
  const rows: CompareRow[] = [];
  for (const key of keysA.filter((k) => keysB.has(k)).sort(byClientPool)) {
    const [client, pool] = key.split("|");
    for (const metric of COMPARE_METRICS) {
      const rounds = (g: readonly RunValues[]) =>
        g.map((r) => (r.get(key)!.get(metric) ?? []).filter((x) => x.length))
          .filter((r) => r.length > 0);
      const tau = between?.(client, Number(pool), metric);
      const sa = groupSide(rounds(a), tau);
      const sb = groupSide(rounds(b), tau);
      if (!sa || !sb) continue;
      const d = sb.mean - sa.mean;
      const sd = Math.sqrt(sa.variance + sb.variance);
      // Welch-Satterthwaite degrees of freedom over the sides whose
      // variance the runs' spread estimated; normal when both are known.
      const dfDen = [sa, sb].filter((s) => s.estimated).reduce(
        (sum, s) => sum + s.variance ** 2 / (s.runs - 1),
        0,
      );
      const p = !(sd > 0)
        ? d === 0 ? 1 : 0
        : dfDen > 0
        ? studentTwoSidedP(d / sd, sd ** 4 / dfDen)
        : Math.min(1, 2 * (1 - normalCdf(Math.abs(d) / sd)));
      const interval = (s: NonNullable<typeof sa>): Interval => {
        const h = Z95 * Math.sqrt(s.variance);
        return {
          median: Math.exp(s.mean),
          low: Math.exp(s.mean - h),
          high: Math.exp(s.mean + h),
          rounds: s.rounds,
        };
      };
      const delta = 100 * (Math.exp(d) - 1);
      // One run and no model: its spread across runs is unknown.
      const underpowered = tau === undefined && (sa.runs < 2 || sb.runs < 2);
      rows.push({
        client,
        pool_size: Number(pool),
        metric,
        a: interval(sa),
        b: interval(sb),
        delta_pct: delta,
        p_value: p,
        significant: p < ALPHA && Math.abs(delta) >= noisePct &&
          !underpowered,
        underpowered,
        method: "repeats",
        tau: tau ?? null,
      });
    }
  }
  return {
    rows,
    onlyA: keysA.filter((k) => !keysB.has(k)).sort(byClientPool),
    onlyB: [...keysB].filter((k) => !keysA.includes(k)).sort(byClientPool),
  };
}

function byClientPool(x: string, y: string): number {
  const [cx, px] = x.split("|");
  const [cy, py] = y.split("|");
  return cx === cy ? Number(px) - Number(py) : cx < cy ? -1 : 1;
}

/** How each metric is named in tables. */
export const METRIC_LABELS: Record<CompareMetric, string> = {
  total_ms: "total ms",
  commands_start_ms: "commands start ms",
  channel_read_ms: "channel read ms",
  reexec_ms: "re-execute ms",
  client_cpu_ms_per_session: "client CPU ms/session",
};

function fmt(i: Interval): string {
  const d = i.median >= 100 ? 1 : i.median >= 1 ? 2 : 3;
  return `${i.median.toFixed(d)} [${i.low.toFixed(d)}, ${i.high.toFixed(d)}]`;
}

/** The change column: `+4.2%` when significant, `~` (with the %) when not. */
export function deltaCell(r: CompareRow): string {
  const pct = `${r.delta_pct >= 0 ? "+" : ""}${r.delta_pct.toFixed(1)}%`;
  return r.significant ? pct : `~ (${pct})`;
}

/**
 * A comparison as an aligned text table or a markdown table.
 *
 * @example
 * ```ts
 * import { formatComparison } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * const iv = { median: 100, low: 95, high: 105, rounds: 8 };
 * const text = formatComparison({ rows: [{ client: "ssh2", pool_size: 8, metric: "total_ms",
 *   a: iv, b: { ...iv, median: 101 }, delta_pct: 1, p_value: 0.6, significant: false,
 *   underpowered: false, method: "within-run", tau: null }], onlyA: [], onlyB: ["openssh|8"] },
 *   ["run-a", "run-b"], "markdown");
 * assert.match(text, /\| ssh2 \| 8 \| total ms \| 100.0 \[95.0, 105.0\] \| 101.0 \[95.0, 105.0\] \| ~ \(\+1.0%\) \| 0.600 \|/);
 * assert.match(text, /only in run-b: openssh at pool 8/);
 * assert.match(text, /p: Mann-Whitney U/);
 * ```
 */
export function formatComparison(
  c: { rows: CompareRow[]; onlyA: string[]; onlyB: string[] },
  names: [string, string],
  format: "table" | "markdown",
  noisePct?: number,
): string {
  const head = ["client", "pool", "metric", names[0], names[1], "delta", "p"];
  const body = c.rows.map((r) => [
    r.client,
    String(r.pool_size),
    METRIC_LABELS[r.metric],
    fmt(r.a),
    fmt(r.b),
    deltaCell(r),
    r.p_value.toFixed(3),
  ]);
  const lines: string[] = [];
  if (format === "markdown") {
    lines.push(
      `| ${head.join(" | ")} |`,
      `|${head.map(() => " --- ").join("|")}|`,
    );
    for (const b of body) lines.push(`| ${b.join(" | ")} |`);
  } else {
    const all = [head, ...body];
    const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
    for (const r of all) {
      lines.push(
        r.map((x, i) => i < 3 ? x.padEnd(w[i]) : x.padStart(w[i])).join("  ")
          .trimEnd(),
      );
    }
  }
  const notes = notesOf(c, names, noisePct);
  return [...lines, ...(notes.length ? ["", ...notes] : [])].join("\n");
}

function notesOf(
  c: { rows: CompareRow[]; onlyA: string[]; onlyB: string[] },
  names: [string, string],
  noisePct?: number,
): string[] {
  const where = (keys: string[]) =>
    keys.map((k) => k.replace("|", " at pool ")).join(", ");
  const threshold = noisePct === undefined
    ? ", or within the noise threshold"
    : noisePct > 0
    ? `, or a change under ${noisePct} % (--noise)`
    : "";
  const within = c.rows.filter((r) => r.method === "within-run");
  const repeats = c.rows.some((r) => r.method === "repeats");
  const notes = repeats
    ? [
      `Repeated runs: each side the geometric mean of its runs' medians with a 95 % interval from the larger of the runs' own spread and the noise model's one-run variance (tau² + se²), over the number of runs; p: test of the difference of the log means (Welch's t where a side's own spread decided, else normal); ~: not significant at alpha 0.05${threshold}.`,
    ]
    : within.length < c.rows.length
    ? [
      `Medians with 95 % intervals widened by the run-to-run variation tau of the noise model (ln m ± 1.96·√(se² + tau²), se: bootstrap over whole rounds); p: random-effects z test of the log ratio (ln mB − ln mA over √(seA² + seB² + 2·tau²)); ~: not significant at alpha 0.05${threshold}.`,
      ...(within.length
        ? [
          `not in the noise model, so within-run intervals and Mann-Whitney U on per-round values: ${
            [...new Set(within.map((r) => METRIC_LABELS[r.metric]))].join(", ")
          }.`,
        ]
        : []),
    ]
    : [
      `Medians with 95 % intervals (bootstrap over whole rounds); p: Mann-Whitney U on per-round values; ~: not significant at alpha 0.05${threshold}.`,
    ];
  if (c.onlyA.length) notes.push(`only in ${names[0]}: ${where(c.onlyA)}`);
  if (c.onlyB.length) notes.push(`only in ${names[1]}: ${where(c.onlyB)}`);
  const weak = [
    ...new Set(
      c.rows.filter((r) => r.underpowered).map((r) =>
        `${r.client} at pool ${r.pool_size}`
      ),
    ),
  ];
  if (weak.length) {
    notes.push(
      `warning: too few rounds to reach significance (${
        within.length
          ? "Mann-Whitney needs at least 4 rounds a side for p < 0.05"
          : "a verdict needs at least 4 rounds a side"
      }): ${
        weak.join(", ")
      }; run longer steps (--step-seconds, --rounds) for a verdict there.`,
    );
  }
  return notes;
}

/**
 * Two clients of one run as the two sides of a comparison: each side keeps
 * only its client's steps, keyed `A vs B|pool`, so that
 * {@linkcode compareValues} matches them by pool size (and the change is
 * B's relative to A's).
 *
 * @example
 * ```ts
 * import { clientSides } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * const v = new Map([["a|1", new Map()], ["b|1", new Map()], ["b|2", new Map()]]) as never;
 * const [sa, sb] = clientSides(v, "a", "b");
 * assert.deepEqual([...sa.keys()], ["a vs b|1"]);
 * assert.deepEqual([...sb.keys()], ["a vs b|1", "a vs b|2"]);
 * ```
 */
export function clientSides(
  values: RunValues,
  a: string,
  b: string,
): [RunValues, RunValues] {
  const side = (client: string): RunValues =>
    new Map(
      [...values].filter(([k]) => k.split("|")[0] === client).map((
        [k, v],
      ) => [`${a} vs ${b}|${k.split("|")[1]}`, v]),
    );
  return [side(a), side(b)];
}
