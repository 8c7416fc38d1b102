/**
 * Entry point of `deno task charts [RUN_DIR ...]`: renders the five charts
 * (SVG, PNG, Vega-Lite spec) of the newest run, or of the given runs
 * compared, and prints their paths.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../util/errors.ts";
import { runMain } from "./main.ts";
import { DATA_DIR, utcStamp } from "../util/paths.ts";
import { loadRuns, newestRun } from "../analysis/load.ts";
import { renderRun } from "../analysis/analyse.ts";
import type { ChartFiles } from "../analysis/chart_render.ts";

/** Text of `--help`. */
export const CHARTS_HELP = `deno task charts [options] [RUN_DIR ...]

Renders the comparison (over time and over pool size), scaling, efficiency
and failure charts of a run as SVG, PNG (2x) and Vega-Lite JSON into
RUN_DIR/charts/. Without RUN_DIR: the newest run under data/runs/ (the
committed sample when there is none). With several RUN_DIRs the runs are
compared, one series per client and run, into data/comparisons/<time>/.

Options:
  --interval S    interval length for the medians over time, seconds (default 5)
  --out DIR       write the charts to DIR instead
  -h, --help      this text
`;

/**
 * Renders charts for the given runs; returns the files written.
 *
 * @example
 * ```ts
 * import { chartsFor } from "./charts.ts";
 * import assert from "node:assert/strict";
 * const out = await Deno.makeTempDir();
 * const sample = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const files = await chartsFor([sample], { out });
 * assert.equal(files.length, 7);
 * assert.ok(Deno.statSync(files[0].png).size > 0);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export async function chartsFor(
  dirs: readonly string[],
  opts: { intervalMs?: number; out?: string } = {},
): Promise<ChartFiles[]> {
  const runs = dirs.length
    ? dirs.map((d) => d.replace(/\/+$/, ""))
    : [newestRun()];
  for (const d of runs) {
    try {
      if (!Deno.statSync(d).isDirectory) throw new Error();
    } catch {
      throw new UsageError(
        `${d} is not a run folder; give a folder written by deno task bench (data/runs/...)`,
      );
    }
  }
  const out = opts.out ??
    (runs.length === 1
      ? `${runs[0]}/charts`
      : `${DATA_DIR}/comparisons/${utcStamp(new Date())}`);
  return await renderRun(loadRuns(runs), out, opts.intervalMs ?? 5000);
}

/** Parses the arguments and renders; returns the exit code. */
async function charts(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        interval: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError(
      `${(e as Error).message.split("\n")[0]}; see deno task charts --help`,
    );
  }
  if (parsed.values.help) {
    console.log(CHARTS_HELP);
    return 0;
  }
  const interval = parsed.values.interval === undefined
    ? 5
    : Number(parsed.values.interval);
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new UsageError(
      `--interval ${parsed.values.interval}: expected a number of seconds > 0`,
    );
  }
  const files = await chartsFor(parsed.positionals, {
    intervalMs: interval * 1000,
    out: parsed.values.out,
  });
  for (const f of files) console.log(`${f.png}\n${f.svg}\n${f.spec}`);
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
