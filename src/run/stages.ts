/**
 * The stage loop: a preset's stages in order, every (client, pool size)
 * step of a stage through {@linkcode runStep}; a `best` stage runs only the
 * client with the lowest median total at the previous stage's last pool
 * size. Stops at an interruption or when a step reports the run unhealthy.
 *
 * @module
 */
import type { ClientRunner } from "../clients/runner.ts";
import type { Stage } from "./presets.ts";
import type { Progress } from "./progress.ts";
import {
  type RoundProgress,
  runTurns,
  type SessionProgress,
  type StepResult,
  type SweepOptions,
} from "./sweep.ts";
import { ratioInterval } from "../util/inference.ts";
import { MIN_VERDICT_ROUNDS, ratioVerdict } from "../util/change_rule.ts";
import { median } from "../util/quantile.ts";

/** What the stage loop ends with. */
export interface StagesOutcome {
  /** Every step that wrote at least one round, in order. */
  results: StepResult[];
  /** `complete`, or why it stopped early. */
  status: "complete" | "interrupted" | "failed";
  /** The reason when not complete. */
  reason?: string;
}

/** The clients a `best` stage scales, and why. */
export interface BestChoice {
  /** Client names to scale. */
  names: string[];
  /** One line saying how they were chosen. */
  note: string;
}

/**
 * The client with the lowest median total at the previous stage's last
 * pool size, against the runner-up by the change rule of every table
 * (`util/change_rule.ts`): the runner-up's median total over the best's
 * with its 95 % interval (rounds resampled); when that interval as printed
 * includes 1.00x, or a side has fewer than 4 rounds, the two are not told
 * apart and both are scaled, and the note says so.
 *
 * @example
 * ```ts
 * import { chooseBest } from "./stages.ts";
 * import assert from "node:assert/strict";
 * const step = (client: string, rounds: number[]) => ({ client, pool: 30,
 *   okTotals: rounds, okRounds: rounds.map((total_ms) => [{ total_ms }]) });
 * const clear = chooseBest([
 *   step("a", [300, 310, 305, 302, 308, 301]),
 *   step("b", [200, 210, 205, 202, 208, 201]),
 * ] as never);
 * assert.deepEqual(clear.names, ["b"]);
 * const tie = chooseBest([step("a", [200, 210, 205]), step("b", [201, 209, 206])] as never);
 * assert.deepEqual(tie.names, ["a", "b"]);
 * assert.match(tie.note, /not told apart at pool 30 .*1\.00x ~/);
 * ```
 */
export function chooseBest(previous: readonly StepResult[]): BestChoice {
  const last = previous.at(-1)?.pool;
  const ranked = previous.filter((r) => r.pool === last && r.okTotals.length)
    .sort((a, b) => median(a.okTotals) - median(b.okTotals));
  if (ranked.length === 0) return { names: [], note: "no ok session" };
  const [best, second] = ranked;
  const at = `median total at pool ${last}`;
  if (!second) return { names: [best.client], note: `lowest ${at}` };
  const rounds = (r: StepResult) =>
    r.okRounds.filter((x) => x.length).map((x) => x.map((s) => s.total_ms));
  const ratio = ratioInterval(rounds(second), rounds(best));
  const enough = ratio.rounds >= MIN_VERDICT_ROUNDS;
  const verdict = ratioVerdict(
    ratio.median,
    enough ? ratio.low : NaN,
    enough ? ratio.high : NaN,
  );
  const shown = `${median(best.okTotals).toFixed(1)} vs ${
    median(second.okTotals).toFixed(1)
  } ms, ${second.client} / ${best.client} ${verdict.text}${
    enough ? "" : ` (fewer than ${MIN_VERDICT_ROUNDS} rounds)`
  }`;
  return verdict.changed
    ? { names: [best.client], note: `lowest ${at} (${shown})` }
    : {
      names: [best.client, second.client],
      note:
        `${best.client} and ${second.client} are not told apart at pool ${last} (${shown}); scaling both`,
    };
}

/**
 * The clients a stage runs: all of them, or the best of the previous
 * stage ({@linkcode chooseBest}; the first client when none had an ok
 * session there).
 */
export function stageClients(
  stage: Stage,
  clients: readonly ClientRunner[],
  previous: readonly StepResult[],
): { clients: ClientRunner[]; note?: string } {
  if (stage.clients === "all") return { clients: [...clients] };
  const best = chooseBest(previous);
  const names = best.names.length ? best.names : [clients[0].name];
  return {
    clients: clients.filter((c) => names.includes(c.name)),
    note: best.note,
  };
}

/**
 * Runs every stage. Within a pool size the clients take turns round by
 * round (`interleaved`, the default) or, with `sequential`, each client
 * runs its whole sweep after the other's, as in the post.
 *
 * @example
 * ```ts
 * import { runStages } from "./stages.ts";
 * import { Progress } from "./progress.ts";
 * import { NullClient } from "../clients/null.ts";
 * import { InProcessRunner } from "../clients/runner.ts";
 * import assert from "node:assert/strict";
 * const rows: unknown[] = [];
 * const out = await runStages(
 *   [{ pools: [1, 2], clients: "all" }, { pools: [3], clients: "best" }],
 *   [new InProcessRunner(new NullClient())],
 *   { target: {} as never, runId: "x", runStart: performance.now(), stepSeconds: 0,
 *     minRounds: 1, timeoutMs: 1000, sink: { write: (s) => rows.push(...s) } },
 *   new Progress({ totalSteps: 3, stepSeconds: 0, tty: false, write: () => {} }),
 * );
 * assert.equal(out.status, "complete");
 * assert.deepEqual(out.results.map((r) => r.pool), [1, 2, 3]);
 * assert.equal(rows.length, 1 + 2 + 3);
 * ```
 */
export async function runStages(
  stages: readonly Stage[],
  clients: readonly ClientRunner[],
  step: Omit<SweepOptions, "onRound" | "onSession">,
  progress: Progress,
  order: "interleaved" | "sequential" = "interleaved",
): Promise<StagesOutcome> {
  const results: StepResult[] = [];
  let previous: StepResult[] = [];
  const o = {
    ...step,
    onRound: (p: RoundProgress) => progress.round(p),
    onSession: (p: SessionProgress) => progress.session(p),
  };
  for (const stage of stages) {
    const chosen = stageClients(stage, clients, previous);
    if (chosen.note) {
      progress.note(
        `scaling ${chosen.clients.map((c) => c.name).join(" and ")} to pool ${
          stage.pools.at(-1)
        }: ${chosen.note}`,
      );
    }
    // Interleaved: pool-major, clients taking turns; sequential: client-major.
    const plan = order === "interleaved"
      ? stage.pools.map((pool) => ({ pool, group: chosen.clients }))
      : chosen.clients.flatMap((c) =>
        stage.pools.map((pool) => ({ pool, group: [c] }))
      );
    const stageResults: StepResult[] = [];
    for (const { pool, group } of plan) {
      const rs = await runTurns(group, pool, o);
      for (const r of rs.filter((r) => r.rounds > 0)) {
        results.push(r);
        stageResults.push(r);
        progress.step(r);
      }
      if (step.signal?.aborted) {
        return {
          results,
          status: "interrupted",
          reason: "interrupted by a signal",
        };
      }
      const stopped = rs.find((r) => r.stopped)?.stopped;
      if (stopped) return { results, status: "failed", reason: stopped };
    }
    previous = stageResults;
  }
  return { results, status: "complete" };
}
