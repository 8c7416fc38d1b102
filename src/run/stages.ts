/**
 * The stage loop: a preset's stages in order, every (client, pool size)
 * step of a stage through {@linkcode runStep}; a `best` stage runs only the
 * client with the lowest median total at the previous stage's last pool
 * size. Stops at an interruption or when a step reports the run unhealthy.
 *
 * @module
 */
import type { SshClient } from "../clients/seam.ts";
import { bestClient, type Stage } from "./presets.ts";
import type { Progress } from "./progress.ts";
import { runStep, type StepResult, type SweepOptions } from "./sweep.ts";

/** What the stage loop ends with. */
export interface StagesOutcome {
  /** Every step that wrote at least one round, in order. */
  results: StepResult[];
  /** `complete`, or why it stopped early. */
  status: "complete" | "interrupted" | "failed";
  /** The reason when not complete. */
  reason?: string;
}

/**
 * The clients a stage runs: all of them, or the best of the previous
 * stage (the first client when no client had an ok session there).
 *
 * @example
 * ```ts
 * import { stageClients } from "./stages.ts";
 * import assert from "node:assert/strict";
 * const a = { name: "a" }, b = { name: "b" };
 * const prev = [
 *   { client: "a", pool: 30, okTotals: [300] },
 *   { client: "b", pool: 30, okTotals: [200] },
 * ];
 * assert.deepEqual(stageClients({ pools: [31], clients: "best" }, [a, b] as never, prev as never), [b]);
 * assert.equal(stageClients({ pools: [1], clients: "all" }, [a, b] as never, []).length, 2);
 * ```
 */
export function stageClients(
  stage: Stage,
  clients: readonly SshClient[],
  previous: readonly StepResult[],
): SshClient[] {
  if (stage.clients === "all") return [...clients];
  const best = bestClient(previous) ?? clients[0].name;
  return clients.filter((c) => c.name === best);
}

/**
 * Runs every stage. `step` holds everything a step needs besides the
 * client and pool size.
 *
 * @example
 * ```ts
 * import { runStages } from "./stages.ts";
 * import { Progress } from "./progress.ts";
 * import { NullClient } from "../clients/null.ts";
 * import assert from "node:assert/strict";
 * const rows: unknown[] = [];
 * const out = await runStages(
 *   [{ pools: [1, 2], clients: "all" }, { pools: [3], clients: "best" }],
 *   [new NullClient()],
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
  clients: readonly SshClient[],
  step: Omit<SweepOptions, "onRound">,
  progress: Progress,
): Promise<StagesOutcome> {
  const results: StepResult[] = [];
  let previous: StepResult[] = [];
  for (const stage of stages) {
    const chosen = stageClients(stage, clients, previous);
    if (stage.clients === "best") {
      progress.note(
        `scaling ${chosen[0].name} (lowest median total at pool ${
          previous.at(-1)?.pool ?? "-"
        }) to pool ${stage.pools[stage.pools.length - 1]}`,
      );
    }
    const stageResults: StepResult[] = [];
    for (const client of chosen) {
      for (const pool of stage.pools) {
        const r = await runStep(client, pool, {
          ...step,
          onRound: (p) => progress.round(p),
        });
        if (r.rounds > 0) {
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
        if (r.stopped) return { results, status: "failed", reason: r.stopped };
      }
    }
    previous = stageResults;
  }
  return { results, status: "complete" };
}
