/**
 * Entry point of `deno task charts [RUN_DIR ...]`: renders the eight charts
 * (`CHART_NAMES`; SVG, PNG, Vega-Lite spec) of the newest run, or of the
 * given runs compared, less those the run has nothing to show in, and
 * prints their paths.
 *
 * @module
 */
import { parseCommand, runMain } from "./main.ts";
import { DATA_DIR, utcStamp } from "../util/paths.ts";
import { loadRuns, resolveRunDirs } from "../analysis/load.ts";
import {
  analyse,
  intervalFor,
  leftOutLines,
  renderAnalysis,
  type RenderedCharts,
} from "../analysis/analyse.ts";

/** Text of `--help`. */
export const CHARTS_HELP = `deno task charts [options] [RUN_DIR ...]

Renders the comparison (over time and over pool size), scaling, efficiency
and failure charts of a run as SVG, PNG (2x) and Vega-Lite JSON into
RUN_DIR/charts/. Without RUN_DIR: the newest run under data/runs/ (the
committed sample when there is none). With several RUN_DIRs the runs are
compared, one series per client and run, into data/comparisons/<time>/.
A chart the run has nothing to show in (e.g. the rtt chart of a run without
--rtt, the hosts chart of a run with one host, the timing charts of a run in
which no session ended ok) is left out, and its files from an earlier
rendering removed, with a note on stderr saying why.

Options:
  --interval S    interval length for the medians over time, seconds
                  (default: the longest of 5, 2, 1, 0.5 s giving the run at
                  least 20 intervals; 5 s from a 100 s run on)
  --out DIR       write the charts to DIR instead
  -h, --help      this text
`;

/**
 * Renders charts for the given runs; returns the files written, the
 * charts left out and what loading had to do to the files (e.g. a torn
 * row dropped).
 *
 * @example
 * ```ts
 * import { chartsFor } from "./charts.ts";
 * import assert from "node:assert/strict";
 * const out = await Deno.makeTempDir();
 * const sample = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const { files, leftOut, warnings } = await chartsFor([sample], { out });
 * assert.equal(files.length, 6);
 * assert.deepEqual(leftOut.map((c) => c.name), ["rtt", "hosts"]);
 * assert.deepEqual(warnings, []);
 * assert.ok(Deno.statSync(files[0].png).size > 0);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export async function chartsFor(
  dirs: readonly string[],
  opts: { intervalMs?: number; out?: string } = {},
): Promise<RenderedCharts & { warnings: string[] }> {
  const runs = resolveRunDirs(dirs);
  const out = opts.out ??
    (runs.length === 1
      ? `${runs[0]}/charts`
      : `${DATA_DIR}/comparisons/${utcStamp(new Date())}`);
  const run = loadRuns(runs);
  const picked = opts.intervalMs === undefined ? intervalFor(run) : undefined;
  const intervalMs = opts.intervalMs ?? picked!.intervalMs;
  const rendered = await renderAnalysis(
    analyse(run, intervalMs),
    run.metas[0] ?? {},
    out,
    intervalMs,
    picked?.runSeconds,
  );
  return { ...rendered, warnings: run.warnings };
}

/** Parses the arguments and renders; returns the exit code. */
async function charts(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "charts");
  if (parsed.help) {
    console.log(CHARTS_HELP);
    return 0;
  }
  const { files, leftOut, warnings } = await chartsFor(parsed.positionals, {
    // Without --interval: picked from the run's length.
    intervalMs: parsed.values.interval === undefined
      ? undefined
      : parsed.intervalMs,
    out: parsed.out,
  });
  for (const w of warnings) console.error(`warning: ${w}`);
  for (const f of files) console.log(`${f.png}\n${f.svg}\n${f.spec}`);
  for (const line of leftOutLines(leftOut)) console.error(`note: ${line}`);
  return 0;
}

/**
 * Runs the command line; returns the exit code.
 *
 * @example
 * ```ts
 * import { main } from "./charts.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await main(["--interval", "0"]), 2); // one error line, exit 2
 * ```
 */
export function main(argv: string[]): Promise<number> {
  return runMain(() => charts(argv));
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
