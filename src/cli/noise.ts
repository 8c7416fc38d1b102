/**
 * Entry point of `deno task noise RUN1 RUN2 RUN3 [...]`: measures how much
 * runs of one command differ (a random-effects model, see
 * `src/analysis/run_noise.ts`) and writes it to `data/noise.json`, where
 * `deno task compare` finds it.
 *
 * @module
 */
import {
  formatNoiseModel,
  makeNoiseModel,
  MIN_NOISE_RUNS,
  noiseProvenance,
} from "../analysis/run_noise.ts";
import { UsageError } from "../util/errors.ts";
import { NOISE_MODEL_PATH, shownPath } from "../util/paths.ts";
import { parseCommand, requireRunDirs, runMain } from "./main.ts";

/** Text of `--help`. */
export const NOISE_HELP = `deno task noise [--out FILE] RUN1 RUN2 RUN3 [RUN ...]

Measures the run-to-run noise of a command from ${MIN_NOISE_RUNS} or more runs of it
(folders written by deno task bench with the same parameters on the same
machine, e.g. the same command run again, or deno task bench --like RUN1):
per client, pool size and metric, how much the runs' medians differ beyond
what each run's own interval explains (random effects on the log scale,
between-run variance by the method of moments), and per metric pooled over
all of them. deno task compare then widens its intervals and tests changes
with it.

Options:
  --out FILE    where to write the model (default: data/noise.json, which
                deno task compare reads by default)
  -h, --help    this text
`;

function noise(argv: string[]): number {
  const parsed = parseCommand(argv, "noise", {}, { interval: false });
  if (parsed.help) {
    console.log(NOISE_HELP);
    return 0;
  }
  const dirs = parsed.positionals.map((d) => d.replace(/\/+$/, ""));
  if (dirs.length < MIN_NOISE_RUNS) {
    throw new UsageError(
      `give ${MIN_NOISE_RUNS} or more run folders of the same command (got ${dirs.length}), e.g. deno task noise data/runs/A data/runs/B data/runs/C`,
    );
  }
  requireRunDirs(dirs);
  const out = parsed.out ?? NOISE_MODEL_PATH;
  const model = makeNoiseModel(dirs);
  Deno.writeTextFileSync(out, JSON.stringify(model, null, 2) + "\n");
  console.log(noiseProvenance(model, shownPath(out)));
  console.log("");
  console.log(formatNoiseModel(model));
  console.log("");
  console.log(
    "between-run: the run-to-run SD of the median beyond the within-run error (tau, as 100·(exp(tau) − 1)); spread of medians: their SD across the runs; within-run se: the RMS of the runs' bootstrap standard errors (log scale, as %).",
  );
  return 0;
}

/** Runs the command line; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runMain(() => noise(argv));
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
