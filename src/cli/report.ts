/**
 * Entry point of `deno task report [RUN_DIR ...]`: writes `report.html`
 * (one self-contained interactive page) and `report.md` (the same for a
 * blog post, with the PNG charts) for the newest run, or for the given
 * runs compared, and prints their paths.
 *
 * @module
 */
import { parseCommand, runMain } from "./main.ts";
import { DATA_DIR, utcStamp } from "../util/paths.ts";
import { exists } from "../util/fs.ts";
import { loadRuns, resolveRunDirs } from "../analysis/load.ts";
import {
  analyse,
  CHART_NAMES,
  chartSpecs,
  intervalFor,
} from "../analysis/analyse.ts";
import {
  removeChartFiles,
  specText,
  writeChart,
} from "../analysis/chart_render.ts";
import { buildReport } from "../analysis/report/model.ts";
import { betweenRun, noiseProvenance } from "../analysis/run_noise.ts";
import { chosenModel } from "./compare.ts";
import { reportHtml, vegaAssets } from "../analysis/report/page.ts";
import { reportMarkdown } from "../analysis/report/post.ts";

/** Text of `--help`. */
export const REPORT_HELP = `deno task report [options] [RUN_DIR ...]

Writes RUN_DIR/report.html, one self-contained page (interactive charts,
summary tables, warnings, provenance; vega inlined, no network needed, opens
from file://, prints well), and RUN_DIR/report.md, the same for a blog post
with the PNG charts of RUN_DIR/charts/ (rendered first where missing or
out of date; a chart the run has nothing to show in is left out). Without
RUN_DIR: the newest run under data/runs/ (the committed sample when there is
none). With several RUN_DIRs: one report comparing them, with its charts,
into data/comparisons/<time>/.

Options:
  --interval S    interval length for the medians over time, seconds
                  (default: the longest of 5, 2, 1, 0.5 s giving the run at
                  least 20 intervals; 5 s from a 100 s run on)
  --out DIR       write the report (and, if needed, its charts/) to DIR instead
  -h, --help      this text
`;

/** Paths written by {@linkcode reportFor}. */
export interface ReportFiles {
  /** The page. */
  html: string;
  /** The markdown post. */
  md: string;
  /** Folder of the PNG charts the post shows. */
  charts: string;
  /**
   * Whether charts were rendered now (missing, or their `.vl.json` not the
   * spec this version makes of the run).
   */
  renderedCharts: boolean;
  /** What loading had to do to the runs' files (e.g. a torn row dropped). */
  warnings: string[];
}

/** Whether chart `name` in `dir` was drawn from `spec` (its files all there). */
async function upToDate(dir: string, name: string, spec: string) {
  if (!exists(`${dir}/${name}.png`) || !exists(`${dir}/${name}.svg`)) {
    return false;
  }
  try {
    return await Deno.readTextFile(`${dir}/${name}.vl.json`) === spec;
  } catch {
    return false;
  }
}

/**
 * Writes the report of the given runs (the newest run when none).
 *
 * @example
 * ```ts
 * import { reportFor } from "./report.ts";
 * import assert from "node:assert/strict";
 * const out = await Deno.makeTempDir();
 * const v1 = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const files = await reportFor([v1], { out });
 * assert.equal(files.html, `${out}/report.html`);
 * assert.ok(files.renderedCharts); // --out: the charts go beside the report
 * assert.ok(Deno.statSync(`${out}/charts/scaling.png`).size > 0);
 * assert.match(Deno.readTextFileSync(files.md), /\(charts\/scaling\.png\)/);
 * // Again: the charts are up to date, none is drawn again.
 * assert.equal((await reportFor([v1], { out })).renderedCharts, false);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export async function reportFor(
  dirs: readonly string[],
  opts: { intervalMs?: number; out?: string; now?: Date } = {},
): Promise<ReportFiles> {
  const runs = resolveRunDirs(dirs);
  const now = opts.now ?? new Date();
  const out = opts.out?.replace(/\/+$/, "") ??
    (runs.length === 1 ? runs[0] : `${DATA_DIR}/comparisons/${utcStamp(now)}`);
  const assets = vegaAssets(); // before the slow part: fails fast
  const run = loadRuns(runs);
  const picked = opts.intervalMs === undefined ? intervalFor(run) : undefined;
  const intervalMs = opts.intervalMs ?? picked!.intervalMs;
  const specs = chartSpecs(
    analyse(run, intervalMs),
    run.metas[0] ?? {},
    intervalMs,
    picked?.runSeconds,
  );
  const charts = `${out}/charts`;
  // Only the charts the run has something to show in (the others are
  // left out, and the report says why); each drawn again when missing or
  // made from another spec (another version, --interval or data).
  let renderedCharts = false;
  for (const name of CHART_NAMES) {
    const spec = specs[name];
    if (!spec) {
      await removeChartFiles(charts, name);
    } else if (!(await upToDate(charts, name, specText(spec)))) {
      await writeChart(spec, charts, name);
      renderedCharts = true;
    }
  }
  // Several runs: compared against the run-to-run noise model, as
  // `deno task compare` does by default.
  const { model, path } = runs.length > 1 ? chosenModel(undefined) : {};
  const report = buildReport(
    run,
    specs,
    now,
    model &&
      { between: betweenRun(model), line: noiseProvenance(model, path!) },
  );
  await Deno.mkdir(out, { recursive: true });
  const files = {
    html: `${out}/report.html`,
    md: `${out}/report.md`,
    charts,
    renderedCharts,
    warnings: run.warnings,
  };
  await Deno.writeTextFile(files.html, reportHtml(report, assets));
  await Deno.writeTextFile(files.md, reportMarkdown(report));
  return files;
}

/** Parses the arguments and writes the report; returns the exit code. */
async function report(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "report");
  if (parsed.help) {
    console.log(REPORT_HELP);
    return 0;
  }
  const files = await reportFor(parsed.positionals, {
    // Without --interval: picked from the run's length.
    intervalMs: parsed.values.interval === undefined
      ? undefined
      : parsed.intervalMs,
    out: parsed.out,
  });
  for (const w of files.warnings) console.error(`warning: ${w}`);
  console.log(`${files.html}\n${files.md}`);
  return 0;
}

/**
 * Runs the command line; returns the exit code.
 *
 * @example
 * ```ts
 * import { main } from "./report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await main(["--interval", "0"]), 2); // one error line, exit 2
 * assert.equal(await main(["/nonexistent-run"]), 2);
 * ```
 */
export function main(argv: string[]): Promise<number> {
  return runMain(() => report(argv));
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
