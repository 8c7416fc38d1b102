/**
 * The end-of-run summary per client and pool size: computed from step
 * results, checked for what the numbers measure (warnings), formatted as a
 * terminal table. Its fields are declared in the schema (`SUMMARY_COLUMNS`).
 *
 * @module
 */
import { median, quantile } from "../util/quantile.ts";
import {
  clusterInterval,
  mannWhitneyP,
  ratioInterval,
} from "../util/inference.ts";
import { MIN_VERDICT_ROUNDS, ratioVerdict } from "../util/change_rule.ts";
import { fitTextTable, type TextColumn } from "../util/text_table.ts";
import type { Negotiated } from "../clients/seam.ts";
import {
  columnNames,
  type IntervalRow,
  SUMMARY_COLUMNS,
  type SummaryRow,
} from "./schema.ts";
import { type Timing, timing, TIMINGS } from "./timings.ts";
import { fitLine } from "../util/fit.ts";
import type { StepResult } from "./sweep.ts";
import { interferenceWarnings } from "./interference.ts";

export type { SummaryRow };

/** Per-round totals of ok sessions (rounds without one left out). */
function roundTotals(r: StepResult): number[][] {
  return r.okRounds.map((round) => round.map((s) => s.total_ms)).filter((x) =>
    x.length > 0
  );
}

/**
 * Turns step results into summary rows: medians with 95 % intervals over
 * whole rounds, costs per session, and each client's median total relative
 * to the best client's at the same pool size, with its interval (none
 * when a side has fewer than {@linkcode MIN_VERDICT_ROUNDS} rounds), the
 * verdict of the change rule (`slower` when that interval as printed
 * leaves out 1.00x, else `~`; see `util/change_rule.ts`) and, for
 * information, the p-value of a Mann-Whitney U test on the per-round
 * medians.
 *
 * @example
 * ```ts
 * import { summarize } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const step = (client: string, totals: number[][]) => ({ client, pool: 2,
 *   rounds: totals.length, sessions: totals.flat().length, ok: totals.flat().length,
 *   failures: {}, okTotals: totals.flat(),
 *   okRounds: totals.map((r) => r.map((total_ms) => ({ total_ms }))) as never,
 *   roundWalls: [20], clientCpuMs: 8, serverCpuMs: 30, machineCpuMs: 40,
 *   machineWindowMs: 25, wallMs: 20, maxRssMb: 60 });
 * const [a, b] = summarize([
 *   step("a", [[10, 20], [10, 20]]),
 *   step("b", [[30, 30], [31, 31]]),
 * ], 2);
 * assert.equal(a.pool_size, 2);
 * assert.equal(a.total_p50_ms, 15);
 * assert.deepEqual([a.total_p50_ci_low_ms, a.total_p50_ci_high_ms], [15, 15]);
 * assert.equal(a.sessions_per_s, 200);
 * assert.equal(a.machine_cpu_ms_per_session, 10);
 * assert.equal(a.machine_busy_pct, 80); // 40 ms of 2 cores x 25 ms
 * assert.equal(a.limit_sessions_per_s, 2 * 1000 / 10);
 * assert.equal(a.total_vs_best_x, 1);
 * assert.equal(b.total_vs_best_x, 30.5 / 15);
 * // Two rounds each: no interval, so no verdict (the p-value cannot reach 0.05 either).
 * assert.ok(Number.isNaN(b.total_vs_best_ci_low_x));
 * assert.deepEqual([a.total_vs_best_verdict, b.total_vs_best_verdict], ["best", "~"]);
 * assert.ok(b.total_vs_best_p_value >= 0.05);
 * // Every round of b twice a's, with four rounds each: slower.
 * const four = (v: number) => [[v, v + 1], [v, v + 2], [v + 1, v], [v, v]];
 * const [, slow] = summarize([step("a", four(10)), step("b", four(20))], 2);
 * assert.equal(slow.total_vs_best_verdict, "slower");
 * assert.ok(slow.total_vs_best_ci_low_x > 1.5);
 * // A tick-counted machine CPU below the exactly counted client and server: 0, not negative.
 * const [tick] = summarize([{ ...step("a", [[10]]), machineCpuMs: 30 }], 2);
 * assert.equal(tick.unattributed_cpu_ms_per_session, 0);
 * ```
 */
export function summarize(
  results: readonly StepResult[],
  cores: number = navigator.hardwareConcurrency,
): SummaryRow[] {
  const rows = results.map((r) => baseRow(r, cores));
  // Relative to the best client at each pool size.
  // Compared within a pool size (and emulated RTT).
  const byPool = Map.groupBy(
    results.map((r, i) => ({ r, i })),
    (x) => `${x.r.pool}|${x.r.rttMs ?? ""}`,
  );
  for (const group of byPool.values()) {
    const best = group.filter((x) =>
      x.r.okTotals.length > 0
    ).sort((x, y) => rows[x.i].total_p50_ms - rows[y.i].total_p50_ms)[0];
    for (const { r, i } of group) {
      const row = rows[i];
      if (!best || r.okTotals.length === 0) {
        continue;
      }
      if (best.i === i) {
        Object.assign(row, {
          total_vs_best_x: 1,
          total_vs_best_ci_low_x: 1,
          total_vs_best_ci_high_x: 1,
          total_vs_best_verdict: "best",
        });
        continue;
      }
      const mine = roundTotals(r);
      const theirs = roundTotals(best.r);
      const ratio = ratioInterval(mine, theirs);
      // Too few rounds on a side: no interval, so nothing to call.
      const enough = Math.min(mine.length, theirs.length) >= MIN_VERDICT_ROUNDS;
      row.total_vs_best_x = ratio.median;
      row.total_vs_best_ci_low_x = enough ? ratio.low : NaN;
      row.total_vs_best_ci_high_x = enough ? ratio.high : NaN;
      row.total_vs_best_verdict = ratioVerdict(
          ratio.median,
          row.total_vs_best_ci_low_x,
          row.total_vs_best_ci_high_x,
        ).changed
        ? "slower"
        : "~";
      row.total_vs_best_p_value = mannWhitneyP(
        mine.map(median),
        theirs.map(median),
      );
    }
  }
  return rows;
}

function baseRow(r: StepResult, cores: number): SummaryRow {
  const n = Math.max(1, r.sessions);
  const client = r.clientCpuMs / n;
  const server = r.serverCpuMs / n;
  const machine = r.machineCpuMs / n;
  const rate = r.wallMs > 0 ? r.sessions / (r.wallMs / 1000) : NaN;
  // The limit from what the machine measured; without that reading,
  // from what the client and server were charged.
  const perSession = Number.isFinite(machine) ? machine : server + client;
  const limit = perSession > 0 ? cores * 1000 / perSession : NaN;
  const total = clusterInterval(roundTotals(r));
  const row: SummaryRow = {
    client: r.client,
    pool_size: r.pool,
    sessions: r.sessions,
    ok: r.ok,
    failed: r.sessions - r.ok,
    rounds: r.rounds,
    total_p50_ms: median(r.okTotals),
    total_p50_ci_low_ms: total.low,
    total_p50_ci_high_ms: total.high,
    total_p90_ms: quantile(r.okTotals, 0.9),
    client_cpu_ms_per_session: client,
    server_cpu_ms_per_session: server,
    machine_cpu_ms_per_session: machine,
    // The machine's count is sampled in ticks, the client's and server's
    // exact (cgroups): below their sum it is off, not negative work.
    unattributed_cpu_ms_per_session: Math.max(0, machine - client - server),
    machine_busy_pct: 100 * r.machineCpuMs / (cores * r.machineWindowMs),
    sessions_per_s: rate,
    limit_sessions_per_s: limit,
    pct_of_limit: 100 * rate / limit,
    bound_by: "",
    client_rss_max_mb: r.maxRssMb,
    rtt_ms: r.rttMs,
    total_vs_best_x: NaN,
    total_vs_best_ci_low_x: NaN,
    total_vs_best_ci_high_x: NaN,
    total_vs_best_p_value: NaN,
    total_vs_best_verdict: "",
    other_cpu_pct: r.otherRounds ? 100 * r.otherCpuMs! / r.otherWindowMs! : NaN,
    disturbed_rounds_pct: r.otherRounds
      ? 100 * r.disturbedRounds! / r.otherRounds
      : NaN,
  };
  row.bound_by = stepBound(row);
  return row;
}

/**
 * The summary as `summary.json`: an array of rows with every field of
 * `summary.csv`, in its order, typed (numbers as numbers, an unknown or
 * absent figure as null).
 *
 * @example
 * ```ts
 * import { summaryJson } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const [row] = JSON.parse(summaryJson([{ client: "ssh2", pool_size: 4, total_p50_ms: 43.7,
 *   server_cpu_ms_per_session: NaN } as never]));
 * assert.deepEqual([row.client, row.pool_size, row.total_p50_ms], ["ssh2", 4, 43.7]);
 * assert.equal(row.server_cpu_ms_per_session, null);
 * assert.equal(row.rtt_ms, null); // absent: null, not left out
 * assert.deepEqual(Object.keys(row).slice(0, 3), ["client", "pool_size", "sessions"]);
 * ```
 */
export function summaryJson(rows: readonly SummaryRow[]): string {
  const names = columnNames(SUMMARY_COLUMNS);
  return JSON.stringify(
    rows.map((r) =>
      Object.fromEntries(names.map((c) => {
        const v = (r as Record<string, unknown>)[c];
        return [
          c,
          typeof v === "number" ? (Number.isFinite(v) ? v : null) : v ?? null,
        ];
      }))
    ),
    null,
    2,
  ) + "\n";
}

/**
 * The median of every timing with its 95 % interval over whole rounds, per
 * client and pool size (`intervals.csv`).
 *
 * @example
 * ```ts
 * import { intervals } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const rows = intervals([{ client: "a", pool: 1, okRounds: [
 *   [{ connect_ms: 1, auth_ms: 30, exec_ms: 4, read_ms: 2, close_ms: 1, total_ms: 38 }],
 * ] } as never]);
 * const start = rows.find((r) => r.metric === "commands_start")!;
 * assert.deepEqual([start.p50_ms, start.ci_low_ms, start.ci_high_ms, start.rounds], [35, 35, 35, 1]);
 * assert.equal(rows.length, 11); // every timing, reexec and disconnect included
 * ```
 */
export function intervals(results: readonly StepResult[]): IntervalRow[] {
  return results.flatMap((r) =>
    TIMINGS.map((metric) => {
      const perRound = r.okRounds.map((round) =>
        round.map((s) => timing(s, metric)).filter((v): v is number =>
          v !== undefined
        )
      );
      const ci = clusterInterval(perRound);
      return {
        client: r.client,
        pool_size: r.pool,
        metric,
        rounds: ci.rounds,
        sessions: perRound.flat().length,
        p50_ms: ci.median,
        ci_low_ms: ci.low,
        ci_high_ms: ci.high,
        rtt_ms: r.rttMs,
      };
    })
  );
}

/**
 * Hyperfine-style warnings about what the numbers measure: the pool sizes
 * where the server's CPU per session exceeds the client's and the run is
 * near the machine's CPU limit (server-bound; see {@linkcode boundPerPool});
 * every step during which the machine was over
 * {@linkcode SATURATED_PCT} % busy (saturated: wall times there include
 * waiting for a core); the steps other processes disturbed (see
 * `interference.ts`); and a `note:` naming the steps whose unattributed
 * CPU is shown as 0 (see {@linkcode unattributedNote}).
 *
 * @example
 * ```ts
 * import { costWarnings, type SummaryRow } from "./summary.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(costWarnings([]), []);
 * const row = { client: "ssh2", pool_size: 30, sessions: 90, failed: 0,
 *   total_p50_ms: 280, total_p90_ms: 300, client_cpu_ms_per_session: 1.5,
 *   server_cpu_ms_per_session: 14, machine_cpu_ms_per_session: 19,
 *   unattributed_cpu_ms_per_session: 3.5, machine_busy_pct: 95, sessions_per_s: 100,
 *   limit_sessions_per_s: 105, pct_of_limit: 95,  client_rss_max_mb: 90 } as SummaryRow;
 * const [bound, busy] = costWarnings([row]);
 * assert.match(bound, /^warning: server-bound \(every client at pool 30\): ssh2 at pool 30 used 14.0 ms of server CPU/);
 * assert.match(busy, /^warning: the machine was over 90% busy: ssh2 at pool 30 \(95%\)/);
 * assert.equal(costWarnings([{ ...row, machine_busy_pct: 60 }]).length, 1);
 * const other = costWarnings([{ ...row, machine_busy_pct: 60, disturbed_rounds_pct: 50, other_cpu_pct: 80 }]);
 * assert.match(other[1], /^warning: other processes used the machine/);
 * ```
 */
export function costWarnings(rows: readonly SummaryRow[]): string[] {
  const note = unattributedNote(rows);
  return [
    ...serverBound(rows),
    ...saturated(rows),
    ...interferenceWarnings(rows),
    ...(note ? [note] : []),
  ];
}

/**
 * A note naming the steps whose unattributed CPU per session is shown as
 * 0 although machine − client − server came out below 0, with that
 * signed figure; undefined when there are none. The machine's CPU comes
 * from /proc/stat, in 10 ms ticks sampled by the kernel's timer (each
 * reading truncated to a tick), the client's and server's from their
 * cgroups, exact to the ns: a round's machine figure can be a few ms off,
 * a few ms / pool per session, so a small negative remainder is that
 * error, not negative work.
 *
 * @example
 * ```ts
 * import { unattributedNote, type SummaryRow } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const row = { client: "libssh2", pool_size: 4, machine_cpu_ms_per_session: 13.25,
 *   client_cpu_ms_per_session: 1.99, server_cpu_ms_per_session: 12.47 } as SummaryRow;
 * assert.match(unattributedNote([row])!, /^note: unattributed CPU is shown as 0 for libssh2 at pool 4 \(-1\.21 ms\/session\)/);
 * assert.equal(unattributedNote([{ ...row, machine_cpu_ms_per_session: 15 }]), undefined);
 * ```
 */
export function unattributedNote(
  rows: readonly SummaryRow[],
): string | undefined {
  const below = rows.map((r) => ({
    r,
    raw: r.machine_cpu_ms_per_session - r.client_cpu_ms_per_session -
      r.server_cpu_ms_per_session,
  })).filter((x) => x.raw < 0);
  if (below.length === 0) return undefined;
  const shown = below.slice(0, 6).map(({ r, raw }) =>
    `${r.client} at pool ${r.pool_size} (${raw.toFixed(2)} ms/session)`
  ).join(", ");
  return `note: unattributed CPU is shown as 0 for ${shown}${
    below.length > 6 ? ` and ${below.length - 6} more steps` : ""
  }: machine CPU (/proc/stat) is sampled in 10 ms ticks, client and server CPU (cgroups) counted to the ns, so the machine's figure can come out a few ms a round (a few ms / pool a session) below their sum; rounds.csv keeps every figure as read.`;
}

/** A machine busier than this during a step is saturated, %. */
export const SATURATED_PCT = 90;

function saturated(rows: readonly SummaryRow[]): string[] {
  const busy = rows.filter((r) => r.machine_busy_pct > SATURATED_PCT);
  if (busy.length === 0) return [];
  const shown = busy.slice(0, 6).map((r) =>
    `${r.client} at pool ${r.pool_size} (${r.machine_busy_pct.toFixed(0)}%)`
  ).join(", ");
  return [
    `warning: the machine was over ${SATURATED_PCT}% busy: ${shown}${
      busy.length > 6 ? ` and ${busy.length - 6} more steps` : ""
    }. Sessions there also waited for a free core, so their wall times measure the machine's capacity more than the client; compare clients at smaller pools, by CPU per session, or put the server on another machine with --target.`,
  ];
}

/**
 * Whether a step was bound by the server: it spent more CPU per session
 * than the client, with the machine at half its CPU limit or more.
 */
function boundByServer(r: SummaryRow): boolean {
  return Number.isFinite(r.server_cpu_ms_per_session) &&
    r.server_cpu_ms_per_session > r.client_cpu_ms_per_session &&
    r.pct_of_limit >= 50;
}

/**
 * What bound one step's wall times (`bound_by`): `server` when the
 * embedded server spent more CPU per session than the client with the
 * step at half the machine's CPU limit or more, else `client`; `""`
 * without server CPU (an external target). A row that recorded it
 * (schema 12 on) keeps its value; an older one gets it by this rule.
 *
 * @example
 * ```ts
 * import { stepBound, type SummaryRow } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const r = (server: number, pct: number) => ({ server_cpu_ms_per_session: server,
 *   client_cpu_ms_per_session: 2, pct_of_limit: pct }) as SummaryRow;
 * assert.equal(stepBound(r(14, 90)), "server");
 * assert.equal(stepBound(r(14, 30)), "client"); // far from the CPU limit
 * assert.equal(stepBound(r(1.2, 90)), "client");
 * assert.equal(stepBound(r(NaN, 90)), "");
 * assert.equal(stepBound({ ...r(14, 90), bound_by: "client" }), "client");
 * // An older meta.json: server CPU null for --target.
 * assert.equal(stepBound({ server_cpu_ms_per_session: null } as never), "");
 * ```
 */
export function stepBound(r: SummaryRow): "server" | "client" | "" {
  const recorded: unknown = r.bound_by;
  if (recorded === "server" || recorded === "client") return recorded;
  if (!Number.isFinite(r.server_cpu_ms_per_session)) return "";
  return boundByServer(r) ? "server" : "client";
}

/** What bounded one pool size's wall times ({@linkcode boundPerPool}). */
export interface PoolBound {
  /** The pool size. */
  pool: number;
  /** The emulated RTT of these steps (`--rtt`), ms; absent without. */
  rtt_ms?: number;
  /** `server` for every client's step, `clients` for none, else `mixed`. */
  by: "server" | "clients" | "mixed";
}

/**
 * What bounded each pool size's wall times (at each emulated RTT, with
 * `--rtt`): `server` when every client's step there was bound by the
 * server ({@linkcode stepBound}), `clients` when none was, `mixed`
 * otherwise; pool sizes without server CPU (an external target) are left
 * out. In order of RTT, then pool size.
 *
 * @example
 * ```ts
 * import { boundPerPool, type SummaryRow } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const r = (client: string, pool: number, server: number, client_cpu: number) => ({
 *   client, pool_size: pool, server_cpu_ms_per_session: server,
 *   client_cpu_ms_per_session: client_cpu, pct_of_limit: 90 }) as SummaryRow;
 * assert.deepEqual(boundPerPool([r("a", 1, 1, 5), r("b", 1, 1, 3), r("a", 10, 9, 5), r("b", 10, 9, 3),
 *   r("a", 30, 4, 5), r("b", 30, 4, 3)]), [
 *   { pool: 1, by: "clients" }, { pool: 10, by: "server" }, { pool: 30, by: "mixed" }]);
 * assert.deepEqual(boundPerPool([{ ...r("a", 2, 9, 1), rtt_ms: 30 }, { ...r("a", 2, 9, 1), rtt_ms: 0 }]),
 *   [{ pool: 2, rtt_ms: 0, by: "server" }, { pool: 2, rtt_ms: 30, by: "server" }]);
 * assert.deepEqual(boundPerPool([r("a", 1, NaN, 5)]), []);
 * ```
 */
export function boundPerPool(rows: readonly SummaryRow[]): PoolBound[] {
  const rated = rows.map((r) => ({
    r,
    rtt: typeof r.rtt_ms === "number" ? r.rtt_ms : undefined,
    bound: stepBound(r),
  })).filter((x) => x.bound !== "");
  const groups = Map.groupBy(rated, (x) => `${x.rtt ?? ""}|${x.r.pool_size}`);
  const out: PoolBound[] = [];
  for (const at of groups.values()) {
    const n = at.filter((x) => x.bound === "server").length;
    const { r, rtt } = at[0];
    out.push({
      pool: r.pool_size,
      ...(rtt !== undefined && { rtt_ms: rtt }),
      by: n === at.length ? "server" : n === 0 ? "clients" : "mixed",
    });
  }
  return out.sort((a, b) =>
    (a.rtt_ms ?? -1) - (b.rtt_ms ?? -1) || a.pool - b.pool
  );
}

const BOUND_BY: Record<PoolBound["by"], string> = {
  clients: "the clients",
  server: "the server",
  mixed: "the server for some clients",
};

/**
 * One line saying, per pool size, whether the server or the clients bound
 * the run's wall times ({@linkcode boundPerPool}), runs of pool sizes
 * with the same verdict as ranges (`10-30`: the pool sizes run from 10 to
 * 30); per RTT with several (those with the same verdicts together).
 * Undefined without server CPU (`--target`).
 *
 * @example
 * ```ts
 * import { boundLine, type SummaryRow } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const r = (client: string, pool: number, server: number) => ({ client, pool_size: pool,
 *   server_cpu_ms_per_session: server, client_cpu_ms_per_session: 2, pct_of_limit: 80 }) as SummaryRow;
 * const pools = [1, 2, 3, 10, 20, 30, 40];
 * const rows = pools.flatMap((p) => [r("a", p, p < 10 ? 1 : 9), r("b", p, p < 10 || p === 40 ? 1 : 9)]);
 * assert.equal(boundLine(rows),
 *   "bound by: the clients at pools 1-3, the server at 10-30, the server for some clients at 40");
 * assert.equal(boundLine([r("a", 1, 9)]), "bound by: the server at pool 1");
 * assert.equal(boundLine([{ ...r("a", 1, 1), rtt_ms: 0 }, { ...r("a", 1, 9), rtt_ms: 50 }]),
 *   "bound by: at rtt 0 ms the clients at pool 1; at rtt 50 ms the server at pool 1");
 * assert.equal(boundLine([0, 25, 50].map((rtt_ms) => ({ ...r("a", 1, 1), rtt_ms }))),
 *   "bound by: at rtt 0, 25, 50 ms the clients at pool 1");
 * assert.equal(boundLine([r("a", 1, NaN)]), undefined);
 * ```
 */
export function boundLine(rows: readonly SummaryRow[]): string | undefined {
  const per = boundPerPool(rows);
  if (per.length === 0) return undefined;
  const rtts = Map.groupBy(per, (p) => p.rtt_ms);
  const parts = [...rtts].map(([rtt, pools]) => {
    const runs: { by: PoolBound["by"]; pools: number[] }[] = [];
    for (const p of pools) {
      const last = runs.at(-1);
      if (last?.by === p.by) last.pools.push(p.pool);
      else runs.push({ by: p.by, pools: [p.pool] });
    }
    const text = runs.map((x, i) =>
      `${BOUND_BY[x.by]} at ${
        i === 0 ? (x.pools.length > 1 ? "pools " : "pool ") : ""
      }${x.pools.length > 1 ? `${x.pools[0]}-${x.pools.at(-1)}` : x.pools[0]}`
    ).join(", ");
    return { rtt, text };
  });
  // RTTs with the same verdicts are named together.
  const same = Map.groupBy(parts, (p) => p.text);
  return `bound by: ${
    [...same].map(([text, at]) =>
      at[0].rtt === undefined
        ? text
        : `at rtt ${at.map((p) => p.rtt).join(", ")} ms ${text}`
    ).join("; ")
  }`;
}

function serverBound(rows: readonly SummaryRow[]): string[] {
  const bound = rows.filter((r) => stepBound(r) === "server");
  if (bound.length === 0) return [];
  const per = boundPerPool(rows);
  const several = new Set(per.map((p) => p.rtt_ms)).size > 1;
  const pools = (by: string) =>
    per.filter((p) => p.by === by).map((p) =>
      several ? `${p.pool} (rtt ${p.rtt_ms} ms)` : String(p.pool)
    );
  const all = pools("server");
  const some = pools("mixed");
  // The largest pool of each bound client, as an example of the figures.
  const last = new Map<string, SummaryRow>();
  for (const r of bound) {
    const prev = last.get(r.client);
    if (!prev || r.pool_size >= prev.pool_size) last.set(r.client, r);
  }
  const where = [
    all.length ? `every client at pool ${all.join(", ")}` : "",
    some.length ? `some clients at pool ${some.join(", ")}` : "",
  ].filter(Boolean).join("; ");
  return [
    `warning: server-bound (${where}): ${
      [...last.values()].map((r) =>
        `${r.client} at pool ${r.pool_size} used ${
          r.server_cpu_ms_per_session.toFixed(1)
        } ms of server CPU per session vs ${
          r.client_cpu_ms_per_session.toFixed(1)
        } ms of client CPU, at ${r.pct_of_limit.toFixed(0)}% of the CPU limit`
      ).join("; ")
    }. Wall times there mostly measure the server on this machine: compare clients by client CPU per session (efficiency chart), run the embedded Go server (--server-impl go, about a tenth of sshd's CPU per session), or put the server on another machine with --target.`,
  ];
}

/**
 * A client's median total relative to the best one's, called by the
 * change rule (`util/change_rule.ts`): `1.17x [1.08, 1.25]` when the 95 %
 * interval as printed leaves out 1.00x, `1.85x [0.90, 1.94] ~` when it
 * includes it (whatever the p-value says), `2.03x ~` without an interval
 * (a side with fewer than 4 rounds); `best` for the best.
 *
 * @example
 * ```ts
 * import { vsBest } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const row = { total_vs_best_x: 1.17, total_vs_best_ci_low_x: 1.08, total_vs_best_ci_high_x: 1.25 };
 * assert.equal(vsBest({ ...row, total_vs_best_p_value: 0.002 } as never), "1.17x [1.08, 1.25]");
 * // libssh2 against the best at pool 4, 1 s steps: p = 0.029, but the interval includes 1.
 * assert.equal(vsBest({ total_vs_best_x: 1.85, total_vs_best_ci_low_x: 0.9,
 *   total_vs_best_ci_high_x: 1.94, total_vs_best_p_value: 0.029 } as never), "1.85x [0.90, 1.94] ~");
 * assert.equal(vsBest({ total_vs_best_x: 2.03, total_vs_best_ci_low_x: NaN,
 *   total_vs_best_ci_high_x: NaN } as never), "2.03x ~");
 * assert.equal(vsBest({ total_vs_best_x: 1, total_vs_best_verdict: "best" } as never), "best");
 * // A row from before version 11 (no verdict): the best is the one at 1 without a p-value.
 * assert.equal(vsBest({ total_vs_best_x: 1, total_vs_best_p_value: null } as never), "best");
 * ```
 */
export function vsBest(r: SummaryRow): string {
  const p = r.total_vs_best_p_value as number | null | undefined;
  if (
    r.total_vs_best_verdict === "best" ||
    (r.total_vs_best_verdict === undefined && r.total_vs_best_x === 1 &&
      (p === null || p === undefined || Number.isNaN(p)))
  ) {
    return "best";
  }
  if (!Number.isFinite(r.total_vs_best_x)) return "-";
  const bound = (v: number | null | undefined) =>
    typeof v === "number" ? v : NaN;
  return ratioVerdict(
    r.total_vs_best_x,
    bound(r.total_vs_best_ci_low_x),
    bound(r.total_vs_best_ci_high_x),
  ).text;
}

/** The widest line {@linkcode formatSummary} prints. */
export const SUMMARY_WIDTH = 100;

/**
 * Formats summary rows as an aligned text table no wider than
 * {@linkcode SUMMARY_WIDTH} columns (p90, busy % and sessions/s are left
 * out, in that order, where it would be wider; summary.csv has every
 * field), the line saying whether the server or the clients bound each
 * pool size ({@linkcode boundLine}; none without server CPU) and the
 * legend lines.
 *
 * @example
 * ```ts
 * import { formatSummary } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const lines = formatSummary([{ client: "ssh2", pool_size: 4, sessions: 160, failed: 0,
 *   total_p50_ms: 43.7, total_p50_ci_low_ms: 43.2, total_p50_ci_high_ms: 44.5,
 *   total_vs_best_x: 1, total_vs_best_verdict: "best", total_p90_ms: 83.8,
 *   client_cpu_ms_per_session: 3.2, server_cpu_ms_per_session: 13.49,
 *   machine_busy_pct: 49, sessions_per_s: 60 } as never]).split("\n");
 * assert.match(lines[1], /^client +pool +failed +\[95% CI\] +\[95% CI\] +cpu ms +cpu ms/);
 * assert.match(lines[2], /^ssh2 +4 +0 +43\.7 \[43\.2, 44\.5\] +best +3\.20 +13\.49 +60\.0 +49 +83\.8$/);
 * assert.ok(lines.every((l) => l.length <= 100));
 * assert.equal(lines[4], "bound by: the clients at pool 4");
 * assert.match(lines.at(-1)!, /^bound by the server: /);
 * // An external target: no server CPU, no bound line.
 * const target = formatSummary([{ client: "ssh2", pool_size: 4, server_cpu_ms_per_session: NaN } as never]);
 * assert.ok(!target.includes("bound by"));
 * assert.match(target.split("\n").at(-1)!, /^~ = /);
 * ```
 */
export function formatSummary(rows: readonly SummaryRow[]): string {
  const f = (v: number | null | undefined, d = 1) =>
    typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "-";
  const rtt = rows.some((r) => r.rtt_ms !== undefined && r.rtt_ms !== null);
  const right = (head: string, drop?: number): TextColumn => ({
    head,
    align: "right",
    drop,
  });
  const columns: TextColumn[] = [
    { head: "client" },
    ...(rtt ? [right("rtt\nms")] : []),
    right("pool"),
    right("failed"),
    right("median ms\n[95% CI]"),
    right("vs best\n[95% CI]"),
    right("client\ncpu ms"),
    right("server\ncpu ms"),
    right("sessions\nper s", 1),
    right("busy\n%", 2),
    right("p90\nms", 3),
  ];
  const body = rows.map((r) => [
    r.client,
    ...(rtt ? [f(r.rtt_ms, 0)] : []),
    String(r.pool_size),
    String(r.failed),
    `${f(r.total_p50_ms)} [${f(r.total_p50_ci_low_ms)}, ${
      f(r.total_p50_ci_high_ms)
    }]`,
    vsBest(r),
    f(r.client_cpu_ms_per_session, 2),
    f(r.server_cpu_ms_per_session, 2),
    f(r.sessions_per_s),
    f(r.machine_busy_pct, 0),
    f(r.total_p90_ms),
  ]);
  const table = fitTextTable(columns, body, { maxWidth: SUMMARY_WIDTH });
  const bound = boundLine(rows);
  return [
    table.text,
    "",
    ...(bound ? [...wrap(bound, SUMMARY_WIDTH, "  "), ""] : []),
    `cpu ms: per session; busy: all cores, %${
      table.dropped.length
        ? `; not shown here: ${table.dropped.join(", ")}`
        : ""
    }; every field in summary.csv`,
    "vs best: median total / the best client's at the same pool size [95 % interval, rounds resampled]",
    `~ = that interval as printed includes 1.00x, or a side has < ${MIN_VERDICT_ROUNDS} rounds; p-values: information only`,
    ...(bound
      ? [
        "bound by the server: its CPU per session over the client's, at >= 50 % of the CPU limit (bound_by)",
      ]
      : []),
  ].join("\n");
}

/** `text` in lines of at most `width` columns, broken at spaces, `indent` before each after the first. */
function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line ? `${line} ${word}` : word;
    if (next.length > width && line.trim()) {
      out.push(line);
      line = `${indent}${word}`;
    } else {
      line = next;
    }
  }
  out.push(line);
  return out;
}

/**
 * One line per client naming what it negotiated.
 *
 * @example
 * ```ts
 * import { formatNegotiated } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const text = formatNegotiated({
 *   ssh2: { kex: "curve25519-sha256", hostKey: "ssh-ed25519", cipher: "aes128-gcm@openssh.com", mac: "<implicit>" },
 *   other: null,
 * });
 * assert.deepEqual(text.split("\n"), [
 *   "negotiated: ssh2: kex curve25519-sha256, host key ssh-ed25519, cipher aes128-gcm@openssh.com, MAC <implicit>",
 *   "negotiated: other: not reported by the client",
 * ]);
 * ```
 */
export function formatNegotiated(
  negotiated: Record<string, Negotiated | null>,
): string {
  return Object.entries(negotiated).map(([client, n]) =>
    `negotiated: ${client}: ${
      n
        ? `kex ${n.kex}, host key ${n.hostKey}, cipher ${n.cipher}, MAC ${n.mac}`
        : "not reported by the client"
    }`
  ).join("\n");
}

/** Round trips per phase, by client: the slopes of median phase time vs RTT. */
export type RoundTrips = Record<string, Partial<Record<Timing, number>>>;

/**
 * Round trips each client waits for, per phase and in all: at the smallest
 * pool size run at every emulated RTT, the least-squares slope of each
 * timing's median against the RTT (ms per ms of RTT). Empty without at
 * least two RTT values.
 *
 * @example
 * ```ts
 * import { roundTrips } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const step = (rttMs: number, auth: number, total: number) => ({ client: "c", pool: 1, rttMs,
 *   okRounds: [[{ connect_ms: rttMs, auth_ms: auth, exec_ms: 1, read_ms: 1, close_ms: 1, total_ms: total }]] });
 * const rt = roundTrips([step(0, 30, 40), step(50, 230, 440)] as never);
 * assert.equal(rt.c.connect, 1);
 * assert.equal(rt.c.auth, 4);
 * assert.equal(rt.c.total, 8);
 * ```
 */
export function roundTrips(results: readonly StepResult[]): RoundTrips {
  const out: RoundTrips = {};
  const withRtt = results.filter((r) => r.rttMs !== undefined);
  for (const [client, steps] of Map.groupBy(withRtt, (r) => r.client)) {
    const rtts = new Set(steps.map((s) => s.rttMs));
    if (rtts.size < 2) continue;
    // The smallest pool size run at every RTT: the least queueing.
    const pools = [...new Set(steps.map((s) => s.pool))].sort((a, b) => a - b);
    const pool = pools.find((p) =>
      [...rtts].every((t) => steps.some((s) => s.pool === p && s.rttMs === t))
    );
    if (pool === undefined) continue;
    const at = steps.filter((s) => s.pool === pool);
    out[client] = Object.fromEntries(
      TIMINGS.map((t) => {
        const pts = at.map((s) => {
          const v = s.okRounds.flat().map((row) => timing(row, t)).filter((
            x,
          ): x is number => x !== undefined);
          return [s.rttMs!, median(v)] as [number, number];
        }).filter((p) => Number.isFinite(p[1]));
        return [t, fitLine(pts).slope];
      }).filter(([, v]) => Number.isFinite(v as number)),
    );
  }
  return out;
}

/**
 * Round trips per client as lines for the terminal.
 *
 * @example
 * ```ts
 * import { formatRoundTrips } from "./summary.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatRoundTrips({ ssh2: { connect: 1, auth: 8.04, total: 13.1 } }),
 *   "round trips: ssh2: total 13.1 (connect 1.0, auth 8.0)");
 * ```
 */
export function formatRoundTrips(rt: RoundTrips): string {
  return Object.entries(rt).map(([client, r]) => {
    const phases = Object.entries(r).filter(([k]) =>
      k !== "total" && !k.includes("_")
    ).map(([k, v]) => `${k} ${v!.toFixed(1)}`);
    return `round trips: ${client}: total ${(r.total ?? NaN).toFixed(1)} (${
      phases.join(", ")
    })`;
  }).join("\n");
}

/** The default of `--max-failures`: the failed share of a client's sessions above which a run exits 3, %. */
export const DEFAULT_MAX_FAILURES_PCT = 50;

/** One step's session counts (a {@linkcode StepResult} is one). */
export interface FailureCounts {
  /** Client name. */
  client: string;
  /** Sessions run. */
  sessions: number;
  /** Sessions ok. */
  ok: number;
  /** Failed sessions by status, when known. */
  failures?: Record<string, number>;
}

/** One client's failed sessions over a whole run. */
export interface ClientFailures {
  /** Client name. */
  client: string;
  /** Sessions run. */
  sessions: number;
  /** Sessions not ok. */
  failed: number;
  /** `failed` as a share of `sessions`, % (0 without sessions). */
  pct: number;
  /** Failed sessions by status. */
  byStatus: Record<string, number>;
}

/** What {@linkcode failureCheck} found. */
export interface FailureCheck {
  /** Per client, in the order first seen. */
  clients: ClientFailures[];
  /** The threshold checked against, %. */
  maxPct: number;
  /** Whether some client's failed share is above `maxPct`: the run exits 3. */
  over: boolean;
  /**
   * A warning line when most of some client's sessions failed (over 50 %)
   * or more than `maxPct` allows; undefined otherwise.
   */
  warning?: string;
}

/** A share in %, as the warning shows it (one decimal, none when whole). */
function pctText(p: number): string {
  return `${Number(p.toFixed(1))}%`;
}

/**
 * Checks a run's failed sessions per client against `--max-failures`: a
 * client whose failed share is above `maxPct` makes the run exit 3 (its
 * figures describe only the sessions that succeeded). The warning names
 * each client above `maxPct` or above half (most sessions failed, which
 * is worth a warning even when `--max-failures` allows it), with its
 * counts by status.
 *
 * @example
 * ```ts
 * import { failureCheck } from "./summary.ts";
 * import assert from "node:assert/strict";
 * const all = failureCheck([
 *   { client: "ssh2", sessions: 3, ok: 0, failures: { exit_nonzero: 3 } },
 *   { client: "ssh2", sessions: 3, ok: 0, failures: { exit_nonzero: 3 } },
 *   { client: "libssh2", sessions: 6, ok: 6 },
 * ]);
 * assert.equal(all.over, true);
 * assert.deepEqual(all.clients.map((c) => [c.client, c.failed, c.pct]), [["ssh2", 6, 100], ["libssh2", 0, 0]]);
 * assert.match(all.warning!, /^warning: more sessions failed than --max-failures 50% allows: ssh2 6 of 6 \(100%; exit_nonzero 6\) \(a complete run then exits with code 3\)/);
 * // --max-failures 100 allows it, and the warning stays.
 * const allowed = failureCheck([{ client: "ssh2", sessions: 4, ok: 1 }], 100);
 * assert.equal(allowed.over, false);
 * assert.match(allowed.warning!, /^warning: most sessions failed: ssh2 3 of 4 \(75%\), within --max-failures 100%/);
 * // A quarter failed: no warning at the default, exit 3 at 20 %.
 * assert.deepEqual(failureCheck([{ client: "a", sessions: 4, ok: 3 }]).warning, undefined);
 * assert.equal(failureCheck([{ client: "a", sessions: 4, ok: 3 }], 20).over, true);
 * ```
 */
export function failureCheck(
  steps: readonly FailureCounts[],
  maxPct: number = DEFAULT_MAX_FAILURES_PCT,
): FailureCheck {
  const byClient = new Map<string, ClientFailures>();
  for (const s of steps) {
    const c = byClient.get(s.client) ??
      { client: s.client, sessions: 0, failed: 0, pct: 0, byStatus: {} };
    c.sessions += s.sessions;
    c.failed += s.sessions - s.ok;
    for (const [status, n] of Object.entries(s.failures ?? {})) {
      c.byStatus[status] = (c.byStatus[status] ?? 0) + n;
    }
    c.pct = c.sessions > 0 ? 100 * c.failed / c.sessions : 0;
    byClient.set(s.client, c);
  }
  const clients = [...byClient.values()];
  const over = clients.filter((c) => c.pct > maxPct);
  const most = clients.filter((c) => c.pct > 50 && c.pct <= maxPct);
  const list = (cs: ClientFailures[]) =>
    cs.map((c) => {
      const statuses = Object.entries(c.byStatus).sort((a, b) => b[1] - a[1])
        .map(([s, n]) => `${s} ${n}`);
      return `${c.client} ${c.failed} of ${c.sessions} (${pctText(c.pct)}${
        statuses.length ? `; ${statuses.join(", ")}` : ""
      })`;
    }).join(", ");
  const parts = [
    ...(over.length
      ? [
        `more sessions failed than --max-failures ${pctText(maxPct)} allows: ${
          list(over)
        } (a complete run then exits with code 3)`,
      ]
      : []),
    ...(most.length
      ? [
        `most sessions failed: ${list(most)}, within --max-failures ${
          pctText(maxPct)
        }`,
      ]
      : []),
  ];
  return {
    clients,
    maxPct,
    over: over.length > 0,
    warning: parts.length
      ? `warning: ${
        parts.join("; ")
      }. Their timings describe only the sessions that succeeded; the status and error columns of sessions.csv say why the others failed.`
      : undefined,
  };
}
