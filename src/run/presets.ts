/**
 * Presets: named sweeps. A preset is a list of stages; a stage runs either
 * every selected client or only the best one of the stage before.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import { parsePool } from "./pool.ts";

/** One stage of a sweep. */
export interface Stage {
  /** Pool sizes, in order. */
  pools: number[];
  /** `all`: every selected client; `best`: the client with the lowest
   * median total at the previous stage's last pool size. */
  clients: "all" | "best";
}

/** A named sweep. */
export interface Preset {
  /** Name (`--preset`). */
  name: string;
  /** One line for `--help`. */
  description: string;
  /** Stages, in order. */
  stages: Stage[];
  /** Minimum seconds per step. */
  stepSeconds: number;
  /** Minimum rounds per step. */
  minRounds: number;
}

/** The built-in presets. */
export const PRESETS: Record<string, Preset> = {
  seed: {
    name: "seed",
    description:
      "the seed's comparison: every client at pool 1..30, then the best (both when the best two do not differ significantly) at 35..100 in steps of 5 (5 s per client and step, at least 4 rounds)",
    stages: [
      { pools: parsePool("1..30"), clients: "all" },
      // Every 5th pool size above 30: the curve is smooth there, and the
      // six clients of the first stage already take 15 minutes.
      { pools: parsePool("35..100:5"), clients: "best" },
    ],
    stepSeconds: 5,
    // Four rounds is the least for a Mann-Whitney test on per-round
    // medians to reach p < 0.05.
    minRounds: 4,
  },
  quick: {
    name: "quick",
    description:
      "about 1.5 minutes: every client at pools 1,2,4,8, then the best at 16,32 (3 s per step)",
    stages: [
      { pools: [1, 2, 4, 8], clients: "all" },
      { pools: [16, 32], clients: "best" },
    ],
    stepSeconds: 3,
    minRounds: 1,
  },
};

/**
 * Looks a preset up by name.
 *
 * @throws {UsageError} naming the presets that exist.
 * @example
 * ```ts
 * import { getPreset } from "./presets.ts";
 * import assert from "node:assert/strict";
 * assert.equal(getPreset("quick").stages.length, 2);
 * assert.throws(() => getPreset("fast"), /unknown preset "fast"; use one of: seed, quick/);
 * ```
 */
export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) {
    throw new UsageError(
      `unknown preset "${name}"; use one of: ${
        Object.keys(PRESETS).join(", ")
      }`,
    );
  }
  return p;
}

/**
 * The steps a plan will run, for the estimate: the number of (client, pool)
 * pairs, counting a `best` stage once.
 *
 * @example
 * ```ts
 * import { countSteps, PRESETS } from "./presets.ts";
 * import assert from "node:assert/strict";
 * assert.equal(countSteps(PRESETS.seed.stages, 3), 3 * 30 + 14);
 * ```
 */
export function countSteps(stages: readonly Stage[], clients: number): number {
  return stages.reduce(
    (n, s) => n + s.pools.length * (s.clients === "all" ? clients : 1),
    0,
  );
}
