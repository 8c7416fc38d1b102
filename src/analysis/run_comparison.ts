/**
 * Comparing runs, in the spirit of benchstat: per client, pool size and
 * metric, each run's median with its 95 % interval (bootstrap over whole
 * rounds), the change in %, the p-value of a Mann-Whitney U test on the
 * per-round values, and `~` where the difference is not significant at
 * alpha 0.05. Runs are matched by client and pool size; what is in only
 * some runs is listed, not dropped silently.
 *
 * @module
 */
import type { DataFrame } from "nodejs-polars";
import {
  ALPHA,
  clusterInterval,
  type Interval,
  mannWhitneyP,
  smallestP,
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
}

/**
 * Compares two runs' values: every (client, pool size) both have, every
 * metric both have values for. A difference is significant when its
 * p-value is below alpha and it is at least `noisePct` % (a noise
 * threshold, as criterion.rs has: two runs of the same command differ by a
 * few % on a shared machine, a variation the intervals of one run cannot
 * show).
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
 * ```
 */
export function compareValues(
  a: RunValues,
  b: RunValues,
  noisePct = 0,
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
      const p = mannWhitneyP(ra.map(median), rb.map(median));
      rows.push({
        client,
        pool_size: Number(pool),
        metric,
        a: ia,
        b: ib,
        delta_pct: 100 * (ib.median - ia.median) / ia.median,
        p_value: p,
        significant: p < ALPHA &&
          Math.abs(100 * (ib.median - ia.median) / ia.median) >= noisePct,
        underpowered: smallestP(ra.length, rb.length) >= ALPHA,
      });
    }
  }
  return {
    rows,
    onlyA: [...a.keys()].filter((k) => !b.has(k)).sort(byClientPool),
    onlyB: [...b.keys()].filter((k) => !a.has(k)).sort(byClientPool),
  };
}

function byClientPool(x: string, y: string): number {
  const [cx, px] = x.split("|");
  const [cy, py] = y.split("|");
  return cx === cy ? Number(px) - Number(py) : cx < cy ? -1 : 1;
}

const UNITS: Record<CompareMetric, string> = {
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
 *   underpowered: false }], onlyA: [], onlyB: ["openssh|8"] }, ["run-a", "run-b"], "markdown");
 * assert.match(text, /\| ssh2 \| 8 \| total ms \| 100.0 \[95.0, 105.0\] \| 101.0 \[95.0, 105.0\] \| ~ \(\+1.0%\) \| 0.600 \|/);
 * assert.match(text, /only in run-b: openssh at pool 8/);
 * ```
 */
export function formatComparison(
  c: { rows: CompareRow[]; onlyA: string[]; onlyB: string[] },
  names: [string, string],
  format: "table" | "markdown",
): string {
  const head = ["client", "pool", "metric", names[0], names[1], "delta", "p"];
  const body = c.rows.map((r) => [
    r.client,
    String(r.pool_size),
    UNITS[r.metric],
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
  const notes = notesOf(c, names);
  return [...lines, ...(notes.length ? ["", ...notes] : [])].join("\n");
}

function notesOf(
  c: { rows: CompareRow[]; onlyA: string[]; onlyB: string[] },
  names: [string, string],
): string[] {
  const where = (keys: string[]) =>
    keys.map((k) => k.replace("|", " at pool ")).join(", ");
  const notes = [
    "Medians with 95 % intervals (bootstrap over whole rounds); p: Mann-Whitney U on per-round values; ~: not significant at alpha 0.05, or within the noise threshold.",
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
      `warning: too few rounds to reach significance (Mann-Whitney needs at least 4 rounds a side for p < 0.05): ${
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
