/**
 * Comparing runs, in the spirit of benchstat: per client, pool size and
 * metric, each run's median with its 95 % interval (bootstrap over whole
 * rounds), the change in % with its 95 % interval, a p-value for
 * information, and `~` where that interval as printed includes 0.0 % (the
 * change rule of every table, `util/change_rule.ts`). Cells where either
 * run was disturbed by other processes (`run/interference.ts`) are "not
 * comparable (machine busy)". Runs are matched by client and pool size;
 * what is in only some runs is listed, not dropped silently.
 *
 * Two methods. Within-run: the intervals as they are, the change's from a
 * bootstrap of the ratio of the medians (the rounds of both sides
 * resampled), and a Mann-Whitney U p-value on the per-round values, which
 * is right for two clients of one run but blind to how much two runs of
 * the same command differ. Random effects (given the between-run
 * variation of a noise model, see `run_noise.ts`): each median's log has
 * its within-run standard error (bootstrap) plus a between-run variance
 * tau², and the log ratio of two medians gets the interval
 * `d ± 1.96·sqrt(seA² + seB² + 2·tau²)` and the z test of the same
 * quantity, so there interval and p-value always agree.
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
  ratioInterval,
  studentTwoSidedP,
} from "../util/inference.ts";
import { median } from "../util/quantile.ts";
import {
  changeVerdict,
  MIN_VERDICT_ROUNDS,
  signedPct,
} from "../util/change_rule.ts";
import {
  DISTURBED_CORE_PCT,
  loadBusy,
  roundDisturbed,
  type RoundLoad,
} from "../run/interference.ts";
import {
  markdownTable,
  type TextColumn,
  textTable,
} from "../util/text_table.ts";

/**
 * Without a noise model, changes smaller than this (in %) between two runs
 * are shown as `~` (the old stopgap: set from one pair of runs; a model
 * from `deno task noise` replaces it, and then the default is 0). Used by
 * `deno task compare` and by the report of several runs.
 */
export const NOISE_PCT = 5;

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

/** Each `client|pool` key's rounds with a reading of other CPU, and of them disturbed. */
export type RunLoad = Map<string, RoundLoad>;

/**
 * Reads a run's rounds (as loaded by `loadRuns`) into how many of each
 * client's rounds at each pool size other processes disturbed
 * (`run/interference.ts`); keys without a reading (runs before schema
 * version 11, or without access to the root cgroup) are absent.
 *
 * @example
 * ```ts
 * import { runLoad } from "./run_comparison.ts";
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * const rounds = pl.DataFrame({ client: ["a", "a", "a"], pool_size: [4, 4, 4],
 *   other_cpu_ms: [1, 40, null], cpu_window_ms: [50, 50, null] });
 * assert.deepEqual(runLoad(rounds).get("a|4"),
 *   { measured: 2, disturbed: 1, otherMs: 41, windowMs: 100 });
 * assert.equal(runLoad(pl.DataFrame({ client: ["a"], pool_size: [4] })).size, 0);
 * ```
 */
export function runLoad(rounds: DataFrame): RunLoad {
  const out: RunLoad = new Map();
  if (!rounds.columns.includes("other_cpu_ms")) return out;
  for (const x of rounds.toRecords() as Record<string, unknown>[]) {
    const d = roundDisturbed(
      x.other_cpu_ms as number | null,
      x.cpu_window_ms as number | null,
    );
    if (d === undefined) continue;
    const key = `${x.client}|${x.pool_size}`;
    const l = out.get(key) ??
      { measured: 0, disturbed: 0, otherMs: 0, windowMs: 0 };
    l.measured++;
    if (d) l.disturbed++;
    l.otherMs += x.other_cpu_ms as number;
    l.windowMs += x.cpu_window_ms as number;
    out.set(key, l);
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
  /**
   * The 95 % interval of that change, low end, %; NaN when none is
   * shown (too few rounds or runs: `underpowered`).
   */
  delta_ci_low_pct: number;
  /** Its high end, %. */
  delta_ci_high_pct: number;
  /**
   * For information: the p-value of the method's test (Mann-Whitney U on
   * per-round values within a run; the z or t test of the log ratio with
   * a noise model or repeats).
   */
  p_value: number;
  /**
   * The change rule's verdict: the interval as printed leaves out 0.0 %,
   * the change is at least the noise threshold, and neither run was busy.
   */
  significant: boolean;
  /** Too few rounds (or runs) on a side for an interval: never called. */
  underpowered: boolean;
  /**
   * Other processes disturbed either run in this cell's rounds (more than
   * 10 % of one core over them): not comparable; null when neither run measured
   * it (before schema version 11).
   */
  machine_busy: boolean | null;
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

/** Where other processes disturbed each side (see {@linkcode runLoad}). */
export interface SideLoads {
  /** The baseline's, per run (a group of repeats has several). */
  a?: readonly RunLoad[];
  /** The other side's. */
  b?: readonly RunLoad[];
}

/**
 * Whether either side was disturbed in a cell: true when some run of
 * either side was ({@linkcode loadBusy}), false when every run measured it
 * and none was, null when no run measured it.
 */
function cellBusy(key: string, loads: SideLoads | undefined): boolean | null {
  const all = [...(loads?.a ?? []), ...(loads?.b ?? [])].map((l) => l.get(key))
    .filter((l) => l !== undefined);
  if (all.length === 0) return null;
  return all.some(loadBusy);
}

/**
 * The change in % of `exp(d)` and its interval `exp(d ± h)`, for a log
 * ratio `d` and a half-width `h` on the log scale.
 */
function logInterval(d: number, h: number): [number, number] {
  return [100 * (Math.exp(d - h) - 1), 100 * (Math.exp(d + h) - 1)];
}

/**
 * Compares two runs' values: every (client, pool size) both have, every
 * metric both have values for. A change is called by the change rule
 * (`util/change_rule.ts`): its 95 % interval as printed leaves out 0.0 %,
 * it is at least `noisePct` %, and neither run was disturbed by other
 * processes in that cell (`loads`, see {@linkcode runLoad}: such cells are
 * `machine_busy` and never called). With fewer than 4 rounds on a side
 * there is no interval and nothing is called.
 *
 * Without `between` (within-run): each median's 95 % cluster-bootstrap
 * interval; the change's interval from a bootstrap of the ratio of the
 * medians (both sides' rounds resampled), and for information the
 * Mann-Whitney U p-value of the per-round medians. That is right for two
 * sides that ran interleaved in one run; between runs it misses the
 * run-to-run variation, which only repeated runs can measure.
 *
 * With `between` (random effects, for rows it knows): each side's median
 * has its within-run standard error on the log scale
 * ({@linkcode intervalLogSe}) and the between-run SD tau; the medians'
 * intervals are {@linkcode widenedInterval}s, the change's is
 * `exp(d ± 1.96·sqrt(seA² + seB² + 2·tau²)) − 1` with `d = ln b − ln a`,
 * and the p-value is {@linkcode randomEffectsP} of the same quantity.
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
 * assert.ok(tie.delta_ci_low_pct <= 0 && tie.delta_ci_high_pct >= 0);
 * const [clear] = compareValues(run(same), run(slower)).rows;
 * assert.equal(clear.significant, true);
 * assert.equal(Math.round(clear.delta_pct), 50);
 * assert.ok(clear.delta_ci_low_pct > 40);
 * assert.equal(clear.method, "within-run");
 * // 3 % apart: a change within one run, noise when runs differ by 2 %.
 * const a = Array.from({ length: 12 }, (_, i) => [100 + (i % 3) * 0.2, 100.1]);
 * const b = a.map((r) => r.map((v) => v * 1.03));
 * assert.equal(compareValues(run(a), run(b)).rows[0].significant, true);
 * const [re] = compareValues(run(a), run(b), 0, () => Math.log(1.02)).rows;
 * assert.deepEqual([re.method, re.significant], ["random-effects", false]);
 * assert.ok(re.a.high > 102 && re.b.low < 101); // each inside the other's
 * // The same 50 % with run b beside another process (40 % of a core): not comparable.
 * const busy = new Map([["ssh2|8", { measured: 6, disturbed: 4, otherMs: 240, windowMs: 600 }]]);
 * const [hog] = compareValues(run(same), run(slower), 0, undefined, { b: [busy] }).rows;
 * assert.deepEqual([hog.machine_busy, hog.significant], [true, false]);
 * ```
 */
export function compareValues(
  a: RunValues,
  b: RunValues,
  noisePct = 0,
  between?: BetweenRun,
  loads?: SideLoads,
): { rows: CompareRow[]; onlyA: string[]; onlyB: string[] } {
  const rows: CompareRow[] = [];
  const keys = [...a.keys()].filter((k) => b.has(k)).sort(byClientPool);
  for (const key of keys) {
    const [client, pool] = key.split("|");
    const busy = cellBusy(key, loads);
    for (const metric of COMPARE_METRICS) {
      const ra = (a.get(key)!.get(metric) ?? []).filter((r) => r.length);
      const rb = (b.get(key)!.get(metric) ?? []).filter((r) => r.length);
      if (ra.length === 0 || rb.length === 0) continue;
      const ia = clusterInterval(ra);
      const ib = clusterInterval(rb);
      const seA = intervalLogSe(ia);
      const seB = intervalLogSe(ib);
      const delta = 100 * (ib.median - ia.median) / ia.median;
      const underpowered = Math.min(ra.length, rb.length) < MIN_VERDICT_ROUNDS;
      const tau = between?.(client, Number(pool), metric);
      const logScale = ia.median > 0 && ib.median > 0 &&
        Number.isFinite(seA) && Number.isFinite(seB);
      const random = tau !== undefined && Number.isFinite(tau) && logScale;
      let low = NaN;
      let high = NaN;
      if (!underpowered && random) {
        const d = Math.log(ib.median) - Math.log(ia.median);
        const h = Z95 * Math.sqrt(seA ** 2 + seB ** 2 + 2 * tau ** 2);
        [low, high] = logInterval(d, h);
      } else if (!underpowered && ia.median !== 0) {
        const ratio = ratioInterval(rb, ra);
        // A resampled median of 0 makes no ratio: no interval then.
        if (Number.isFinite(ratio.low) && Number.isFinite(ratio.high)) {
          [low, high] = [100 * (ratio.low - 1), 100 * (ratio.high - 1)];
        }
      }
      const verdict = changeVerdict(delta, low, high, noisePct);
      const common = {
        client,
        pool_size: Number(pool),
        metric,
        delta_pct: delta,
        delta_ci_low_pct: low,
        delta_ci_high_pct: high,
        significant: verdict.changed && busy !== true,
        underpowered,
        machine_busy: busy,
      };
      rows.push(
        random
          ? {
            ...common,
            a: widenedInterval(ia.median, seA, tau, ia.rounds),
            b: widenedInterval(ib.median, seB, tau, ib.rounds),
            p_value: randomEffectsP(ia.median, ib.median, seA, seB, tau),
            method: "random-effects",
            tau,
          }
          : {
            ...common,
            a: ia,
            b: ib,
            p_value: mannWhitneyP(ra.map(median), rb.map(median)),
            method: "within-run",
            tau: null,
          },
      );
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
 * intervals `exp(mean ± 1.96·sd)`; the change's interval
 * `exp(d ± q·sd) − 1` with q the quantile of the same test (Student's t
 * with those degrees of freedom, else 1.96), so interval and p-value
 * agree. A change is called by the change rule (its interval as printed
 * leaves out 0.0 %, it is at least `noisePct` %, no run of either side was
 * busy in that cell), and only when each side has two or more runs or a
 * model (one run and no model says nothing about the next run: no
 * interval). With one run a side and a model this is the random-effects
 * comparison of {@linkcode compareValues}.
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
 * assert.ok(three.delta_ci_low_pct < 0); // the t interval agrees
 * ```
 */
export function compareGroups(
  a: readonly RunValues[],
  b: readonly RunValues[],
  noisePct = 0,
  between?: BetweenRun,
  loads?: SideLoads,
): { rows: CompareRow[]; onlyA: string[]; onlyB: string[] } {
  const inAll = (g: readonly RunValues[]) =>
    [...g[0].keys()].filter((k) => g.every((r) => r.has(k)));
  const keysA = inAll(a);
  const keysB = new Set(inAll(b));
  const rows: CompareRow[] = [];
  for (const key of keysA.filter((k) => keysB.has(k)).sort(byClientPool)) {
    const [client, pool] = key.split("|");
    const busy = cellBusy(key, loads);
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
      const df = dfDen > 0 ? sd ** 4 / dfDen : Infinity;
      const p = !(sd > 0)
        ? d === 0 ? 1 : 0
        : dfDen > 0
        ? studentTwoSidedP(d / sd, df)
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
      const [low, high] = underpowered
        ? [NaN, NaN]
        : logInterval(d, studentQuantile(df) * sd);
      rows.push({
        client,
        pool_size: Number(pool),
        metric,
        a: interval(sa),
        b: interval(sb),
        delta_pct: delta,
        delta_ci_low_pct: low,
        delta_ci_high_pct: high,
        p_value: p,
        significant: changeVerdict(delta, low, high, noisePct).changed &&
          busy !== true,
        underpowered,
        machine_busy: busy,
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

/**
 * The two-sided 95 % quantile of Student's t with `df` degrees of freedom
 * (1.96 for infinitely many): where {@linkcode studentTwoSidedP} is alpha,
 * found by bisection.
 *
 * @example
 * ```ts
 * import { studentQuantile } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(studentQuantile(10) - 2.228139) < 1e-5);
 * assert.ok(Math.abs(studentQuantile(4) - 2.776445) < 1e-5);
 * assert.equal(studentQuantile(Infinity), 1.959964);
 * ```
 */
export function studentQuantile(df: number): number {
  if (!Number.isFinite(df)) return Z95;
  let lo = 0;
  let hi = 1000;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (studentTwoSidedP(mid, df) > ALPHA) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
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

/**
 * The change column: `+4.2%` when the change rule calls it, `~ (+1.0%)`
 * when not, `not comparable (machine busy)` when other processes
 * disturbed either run there.
 *
 * @example
 * ```ts
 * import { deltaCell } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * assert.equal(deltaCell({ delta_pct: 4.21, significant: true } as never), "+4.2%");
 * assert.equal(deltaCell({ delta_pct: 1, significant: false } as never), "~ (+1.0%)");
 * assert.equal(deltaCell({ delta_pct: 9, significant: false, machine_busy: true } as never),
 *   "not comparable (machine busy)");
 * ```
 */
export function deltaCell(r: CompareRow): string {
  if (r.machine_busy) return NOT_COMPARABLE;
  const pct = `${signedPct(r.delta_pct)}%`;
  return r.significant ? pct : `~ (${pct})`;
}

/** The change cell of a cell where either run was disturbed. */
export const NOT_COMPARABLE = "not comparable (machine busy)";

/**
 * The change's 95 % interval column: `[+1.0, +7.5]` (in %, as the rule
 * reads it), `-` without one (too few rounds or runs).
 *
 * @example
 * ```ts
 * import { changeIntervalCell } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * assert.equal(changeIntervalCell({ delta_ci_low_pct: -2, delta_ci_high_pct: 4.06 } as never), "[-2.0, +4.1]");
 * assert.equal(changeIntervalCell({ delta_ci_low_pct: NaN, delta_ci_high_pct: NaN } as never), "-");
 * ```
 */
export function changeIntervalCell(r: CompareRow): string {
  return changeVerdict(r.delta_pct, r.delta_ci_low_pct, r.delta_ci_high_pct)
    .text;
}

/** The columns of a comparison table, for runs (or clients) named `names`. */
export function comparisonColumns(names: [string, string]): TextColumn[] {
  const right = (head: string): TextColumn => ({ head, align: "right" });
  return [
    { head: "client" },
    { head: "pool" },
    { head: "metric" },
    right(names[0]),
    right(names[1]),
    right("change"),
    right("change 95% CI"),
    right("p"),
  ];
}

/**
 * The cells of a comparison's rows, as every format prints them (the
 * table, markdown, and what `--format json` is checked against).
 *
 * @example
 * ```ts
 * import { comparisonCells } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * const iv = { median: 100, low: 95, high: 105, rounds: 8 };
 * const [cells] = comparisonCells([{ client: "ssh2", pool_size: 8, metric: "total_ms",
 *   a: iv, b: { ...iv, median: 101 }, delta_pct: 1, delta_ci_low_pct: -2, delta_ci_high_pct: 4,
 *   p_value: 0.6, significant: false, underpowered: false, machine_busy: null,
 *   method: "within-run", tau: null }]);
 * assert.deepEqual(cells, ["ssh2", "8", "total ms", "100.0 [95.0, 105.0]",
 *   "101.0 [95.0, 105.0]", "~ (+1.0%)", "[-2.0, +4.0]", "0.600"]);
 * ```
 */
export function comparisonCells(rows: readonly CompareRow[]): string[][] {
  return rows.map((r) => [
    r.client,
    String(r.pool_size),
    METRIC_LABELS[r.metric],
    fmt(r.a),
    fmt(r.b),
    deltaCell(r),
    changeIntervalCell(r),
    Number.isFinite(r.p_value) ? r.p_value.toFixed(3) : "-",
  ]);
}

/**
 * A comparison as an aligned text table or a markdown table, with its
 * notes: how intervals and p-values were made, the change rule, what is
 * only in one run, the cells too short to call.
 *
 * @example
 * ```ts
 * import { formatComparison } from "./run_comparison.ts";
 * import assert from "node:assert/strict";
 * const iv = { median: 100, low: 95, high: 105, rounds: 8 };
 * const text = formatComparison({ rows: [{ client: "ssh2", pool_size: 8, metric: "total_ms",
 *   a: iv, b: { ...iv, median: 101 }, delta_pct: 1, delta_ci_low_pct: -2, delta_ci_high_pct: 4,
 *   p_value: 0.6, significant: false, underpowered: false, machine_busy: null,
 *   method: "within-run", tau: null }], onlyA: [], onlyB: ["openssh|8"] },
 *   ["run-a", "run-b"], "markdown");
 * assert.match(text, /\| ssh2 \| 8 \| total ms \| 100.0 \[95.0, 105.0\] \| 101.0 \[95.0, 105.0\] \| ~ \(\+1.0%\) \| \[-2.0, \+4.0\] \| 0.600 \|/);
 * assert.match(text, /only in run-b: openssh at pool 8/);
 * assert.match(text, /p: Mann-Whitney U/);
 * assert.match(text, /~: the change's 95 % interval as printed includes 0\.0 %/);
 * ```
 */
export function formatComparison(
  c: { rows: CompareRow[]; onlyA: string[]; onlyB: string[] },
  names: [string, string],
  format: "table" | "markdown",
  noisePct?: number,
): string {
  const columns = comparisonColumns(names);
  const body = comparisonCells(c.rows);
  const table = format === "markdown"
    ? markdownTable(columns, body, {
      escape: (x) => x.replaceAll("|", "\\|"),
    })
    : textTable(columns, body);
  const notes = comparisonNotes(c, names, noisePct);
  return [table, ...(notes.length ? ["", ...notes] : [])].join("\n");
}

/**
 * The notes under a comparison (how it was computed, the change rule,
 * keys in only one side, cells too short to call, busy cells), one line
 * each.
 */
export function comparisonNotes(
  c: { rows: CompareRow[]; onlyA: string[]; onlyB: string[] },
  names: [string, string],
  noisePct?: number,
): string[] {
  const where = (keys: string[]) =>
    keys.map((k) => k.replace("|", " at pool ")).join(", ");
  const threshold = noisePct === undefined
    ? ", or the change is within the noise threshold"
    : noisePct > 0
    ? `, or the change is under ${noisePct} % (--noise)`
    : "";
  const within = c.rows.filter((r) => r.method === "within-run");
  const repeats = c.rows.some((r) => r.method === "repeats");
  const notes = repeats
    ? [
      `Repeated runs: each side the geometric mean of its runs' medians with a 95 % interval from the larger of the runs' own spread and the noise model's one-run variance (tau² + se²), over the number of runs; change 95% CI: from the same variance (Student's t where a side's own spread decided, else normal), and p is that test.`,
    ]
    : within.length < c.rows.length
    ? [
      `Medians with 95 % intervals widened by the run-to-run variation tau of the noise model (ln m ± 1.96·√(se² + tau²), se: bootstrap over whole rounds); change 95% CI: exp(d ± 1.96·√(seA² + seB² + 2·tau²)) − 1 with d = ln mB − ln mA, and p: the z test of the same.`,
      ...(within.length
        ? [
          `not in the noise model, so within-run intervals (change 95% CI: bootstrap of the ratio of medians) and Mann-Whitney U p on per-round values: ${
            [...new Set(within.map((r) => METRIC_LABELS[r.metric]))].join(", ")
          }.`,
        ]
        : []),
    ]
    : [
      `Medians with 95 % intervals (bootstrap over whole rounds); change 95% CI: bootstrap of the ratio of the medians (both runs' rounds resampled); p: Mann-Whitney U on per-round values, for information.`,
    ];
  notes.push(
    `~: the change's 95 % interval as printed includes 0.0 % (no change shown), or it has none (-: fewer than ${MIN_VERDICT_ROUNDS} rounds, one run without a noise model, or a median of 0 among the resamples)${threshold}; the interval alone decides, p does not.`,
  );
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
      `warning: too few ${
        repeats ? "runs or rounds" : "rounds"
      } for an interval (at least ${MIN_VERDICT_ROUNDS} rounds a side${
        repeats ? ", and two runs a side or a noise model" : ""
      }): ${
        weak.join(", ")
      }; run longer steps (--step-seconds, --rounds) for a verdict there.`,
    );
  }
  const busy = [
    ...new Set(
      c.rows.filter((r) => r.machine_busy).map((r) =>
        `${r.client} at pool ${r.pool_size}`
      ),
    ),
  ];
  if (busy.length) {
    notes.push(
      `warning: not comparable (machine busy): ${
        busy.join(", ")
      }: other processes used more than ${DISTURBED_CORE_PCT} % of one core over the rounds of ${
        names[0]
      } or ${
        names[1]
      } there (rounds.csv other_cpu_ms); run again on a quiet machine.`,
    );
  }
  if (c.rows.length > 0 && c.rows.every((r) => r.machine_busy === null)) {
    notes.push(
      "Whether other processes disturbed these runs is unknown (runs before schema version 11, or not run as root).",
    );
  }
  return notes;
}

/**
 * Two clients of one run as the two sides of a comparison: each side keeps
 * only its client's steps, keyed `A vs B|pool`, so that
 * {@linkcode compareValues} matches them by pool size (and the change is
 * B's relative to A's). Works on a run's values and on its
 * {@linkcode runLoad} alike.
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
export function clientSides<V>(
  values: Map<string, V>,
  a: string,
  b: string,
): [Map<string, V>, Map<string, V>] {
  const side = (client: string): Map<string, V> =>
    new Map(
      [...values].filter(([k]) => k.split("|")[0] === client).map((
        [k, v],
      ) => [`${a} vs ${b}|${k.split("|")[1]}`, v]),
    );
  return [side(a), side(b)];
}
