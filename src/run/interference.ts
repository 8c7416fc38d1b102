/**
 * Whether other processes disturbed a run: per round, the CPU processes
 * outside the run used (`other_cpu_ms` over `cpu_window_ms`, measured
 * from the root cgroup, see `util/other_cpu.ts`); a step (a client at a
 * pool size) is disturbed when, over its rounds, they used more than
 * {@linkcode DISTURBED_CORE_PCT} % of one core (their CPU summed over the
 * rounds' windows summed). A disturbed step gets a warning at the end of
 * the run and in `meta.json`, and `deno task compare` calls its cells
 * "not comparable (machine busy)" instead of changed or not.
 *
 * The step's share, not a count of rounds over the threshold: a round at
 * pool 1 lasts a few ms, and in so short a window a quiet machine's own
 * background (the init system, kernel threads) passes 10 % of a core in
 * one round of eight (measured on this project's machine: 2.9 to 4.6 % of
 * a core over each minute of a seed run, and 12 % of its pool-1 rounds
 * over 10 %), which would call every run disturbed.
 *
 * @module
 */
import type { SummaryRow } from "./schema.ts";

/**
 * A step is disturbed when processes outside the run used more than this
 * share of one core over its rounds, %. A quiet machine's own background
 * (kernel threads, the init system, a shell) stays well under it (3 to
 * 5 % here), while one more runnable process already takes a core from
 * the sessions for part of the time: at pool sizes near the core count,
 * every extra runnable process delays some session. It is a share of one
 * core, not of all, because a single busy process is what shifts a
 * loopback benchmark, however many cores there are. The same share
 * decides whether one round counts as disturbed (`disturbed_rounds_pct`,
 * for information).
 */
export const DISTURBED_CORE_PCT = 10;

/**
 * Whether a round was disturbed ({@linkcode DISTURBED_CORE_PCT});
 * undefined when its other CPU is unknown (runs before schema version
 * 11, or no access to the root cgroup).
 *
 * @example
 * ```ts
 * import { roundDisturbed } from "./interference.ts";
 * import assert from "node:assert/strict";
 * assert.equal(roundDisturbed(3, 50), false); // 6 % of a core
 * assert.equal(roundDisturbed(30, 50), true); // 60 %
 * assert.equal(roundDisturbed(undefined, 50), undefined);
 * assert.equal(roundDisturbed(null, null), undefined);
 * ```
 */
export function roundDisturbed(
  otherMs: number | null | undefined,
  windowMs: number | null | undefined,
): boolean | undefined {
  if (
    typeof otherMs !== "number" || typeof windowMs !== "number" ||
    !Number.isFinite(otherMs) || !(windowMs > 0)
  ) return undefined;
  return 100 * otherMs / windowMs > DISTURBED_CORE_PCT;
}

/** Rounds of a step with a reading of other CPU, and what they add up to. */
export interface RoundLoad {
  /** Rounds whose other CPU is known. */
  measured: number;
  /** Of them, disturbed ({@linkcode roundDisturbed}; information). */
  disturbed: number;
  /** Other processes' CPU over those rounds, ms. */
  otherMs: number;
  /** Their CPU windows, ms. */
  windowMs: number;
}

/**
 * Whether a step was disturbed: processes outside the run used more than
 * {@linkcode DISTURBED_CORE_PCT} % of one core over its measured rounds
 * (false without any measured round: unknown is not busy).
 *
 * @example
 * ```ts
 * import { loadBusy } from "./interference.ts";
 * import assert from "node:assert/strict";
 * // 1 round in 5 over 10 % of a core, 4 % over the step: not busy
 * assert.equal(loadBusy({ measured: 5, disturbed: 1, otherMs: 2, windowMs: 50 }), false);
 * assert.equal(loadBusy({ measured: 5, disturbed: 5, otherMs: 30, windowMs: 50 }), true);
 * assert.equal(loadBusy({ measured: 0, disturbed: 0, otherMs: 0, windowMs: 0 }), false);
 * ```
 */
export function loadBusy(l: RoundLoad | undefined): boolean {
  return !!l && l.measured > 0 && l.windowMs > 0 &&
    100 * l.otherMs / l.windowMs > DISTURBED_CORE_PCT;
}

/** What `meta.json` records about other processes (`interference`). */
export interface RecordInterference {
  /** The rule, in words. */
  rule: string;
  /** {@linkcode DISTURBED_CORE_PCT}. */
  disturbed_core_pct: number;
  /** Steps with a reading of other CPU. */
  steps_measured: number;
  /** The disturbed steps, with their other CPU and share of disturbed rounds. */
  busy_steps: {
    client: string;
    pool_size: number;
    rtt_ms?: number;
    disturbed_rounds_pct: number;
    other_cpu_pct: number;
  }[];
  /** Some step was disturbed. */
  busy: boolean;
}

/** The rule as one sentence. */
export const INTERFERENCE_RULE =
  `a step counts as disturbed when processes outside the run used more than ${DISTURBED_CORE_PCT} % of one core over its rounds`;

function disturbedSteps(rows: readonly SummaryRow[]): SummaryRow[] {
  return rows.filter((r) =>
    Number.isFinite(r.other_cpu_pct) &&
    r.other_cpu_pct > DISTURBED_CORE_PCT
  );
}

/**
 * The `interference` record of a run from its summary rows; null when no
 * step has a reading (other CPU unknown).
 *
 * @example
 * ```ts
 * import { interferenceRecord } from "./interference.ts";
 * import assert from "node:assert/strict";
 * const row = (pool: number, disturbed: number) => ({ client: "ssh2", pool_size: pool,
 *   disturbed_rounds_pct: disturbed, other_cpu_pct: disturbed / 2 }) as never;
 * const r = interferenceRecord([row(1, 0), row(4, 45)])!;
 * assert.equal(r.busy, true);
 * assert.deepEqual(r.busy_steps.map((s) => s.pool_size), [4]);
 * assert.equal(interferenceRecord([row(1, NaN)]), null);
 * ```
 */
export function interferenceRecord(
  rows: readonly SummaryRow[],
): RecordInterference | null {
  const measured = rows.filter((r) => Number.isFinite(r.other_cpu_pct));
  if (measured.length === 0) return null;
  const busy = disturbedSteps(rows);
  return {
    rule: INTERFERENCE_RULE,
    disturbed_core_pct: DISTURBED_CORE_PCT,
    steps_measured: measured.length,
    busy_steps: busy.map((r) => ({
      client: r.client,
      pool_size: r.pool_size,
      ...(r.rtt_ms !== undefined && r.rtt_ms !== null && { rtt_ms: r.rtt_ms }),
      disturbed_rounds_pct: r.disturbed_rounds_pct,
      other_cpu_pct: r.other_cpu_pct,
    })),
    busy: busy.length > 0,
  };
}

/**
 * The warning about disturbed steps (empty when none was, or unknown).
 *
 * @example
 * ```ts
 * import { interferenceWarnings } from "./interference.ts";
 * import assert from "node:assert/strict";
 * const row = { client: "ssh2", pool_size: 4, disturbed_rounds_pct: 100, other_cpu_pct: 93 } as never;
 * const [w] = interferenceWarnings([row]);
 * assert.match(w, /^warning: other processes used the machine during this run: ssh2 at pool 4 \(93% of a core, over 10 % of it in 100% of rounds\)/);
 * assert.deepEqual(interferenceWarnings([{ ...(row as object), other_cpu_pct: 5 } as never]), []);
 * ```
 */
export function interferenceWarnings(rows: readonly SummaryRow[]): string[] {
  const busy = disturbedSteps(rows);
  if (busy.length === 0) return [];
  const shown = busy.slice(0, 6).map((r) =>
    `${r.client} at pool ${r.pool_size}${
      r.rtt_ms !== undefined && r.rtt_ms !== null ? ` (rtt ${r.rtt_ms} ms)` : ""
    } (${
      r.other_cpu_pct.toFixed(0)
    }% of a core, over ${DISTURBED_CORE_PCT} % of it in ${
      r.disturbed_rounds_pct.toFixed(0)
    }% of rounds)`
  ).join(", ");
  return [
    `warning: other processes used the machine during this run: ${shown}${
      busy.length > 6 ? ` and ${busy.length - 6} more steps` : ""
    }; ${INTERFERENCE_RULE}. Their sessions also waited for those processes, so their times measure this machine's other load too, and deno task compare calls those cells not comparable; run again on a quiet machine (rounds.csv: other_cpu_ms over cpu_window_ms, per round).`,
  ];
}
