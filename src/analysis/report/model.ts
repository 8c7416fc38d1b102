/**
 * The content of a run's report: the title, the warnings, the tables, the
 * charts with their captions, a comparison when several runs are given,
 * and the provenance of every run. `page.ts` turns it into HTML, `post.ts`
 * into markdown.
 *
 * @module
 */
import type { RunMeta } from "../../run/record.ts";
import {
  boundLine,
  costWarnings,
  stepBound,
  type SummaryRow,
} from "../../run/summary.ts";
import { shownPath } from "../../util/paths.ts";
import {
  analyse,
  CHART_NAMES,
  chartsLeftOut,
  type ChartSpecs,
  type LeftOutChart,
  leftOutLines,
} from "../analyse.ts";
import { chartCaption, provenanceLines } from "../charts/mod.ts";
import { loadRuns, type RunData } from "../load.ts";
import { parameterDifferences } from "../parameter_diff.ts";
import { runValues } from "../run_comparison.ts";
import { formatList } from "./format.ts";
import { interactiveSpec } from "./interactive.ts";
import { provenanceSections } from "./provenance.ts";
import {
  compareTable,
  coverageTable,
  hostTable,
  type RunNoise,
  summaryColumns,
  summaryFromAnalysis,
  summaryTables,
} from "./tables.ts";
import type { Report, ReportRow, ReportRun } from "./types.ts";

function headline(
  run: RunData,
  i: number,
  summary: readonly ReportRow[],
): string {
  const meta = run.metas[i];
  const sessions = summary.reduce((s, r) => s + Number(r.sessions ?? 0), 0);
  const failed = summary.reduce((s, r) => s + Number(r.failed ?? 0), 0);
  const clients = [...new Set(summary.map((r) => String(r.client)))];
  const pools = [...new Set(summary.map((r) => Number(r.pool_size)))].sort((
    a,
    b,
  ) => a - b);
  const m = meta.machine ?? {};
  return [
    `${sessions.toLocaleString("en-US")} sessions, ${
      failed ? `${failed.toLocaleString("en-US")} failed` : "none failed"
    }`,
    clients.length ? `clients ${clients.join(", ")}` : undefined,
    pools.length ? `pool sizes ${formatList(pools)}` : undefined,
    meta.started_at ? String(meta.started_at).slice(0, 10) : undefined,
    m.cores ? `${m.cores} cores ${m.cpu_model ?? ""}`.trim() : undefined,
  ].filter(Boolean).join(" · ");
}

function runWarnings(
  meta: RunMeta,
  summary: ReportRow[],
  fromMeta: boolean,
): string[] {
  const out: string[] = [];
  if (meta.status && meta.status !== "complete") {
    out.push(
      `This run is ${meta.status}${
        meta.reason ? `: ${meta.reason}` : ""
      }; its figures cover only what it measured.`,
    );
  }
  if (!meta.run_id) {
    out.push("meta.json is missing or unreadable: provenance unknown.");
  }
  const warnings = fromMeta
    ? meta.warnings ?? []
    : costWarnings(summary as unknown as SummaryRow[]);
  for (const w of warnings) out.push(w.replace(/^warning:\s*/, ""));
  return out;
}

/**
 * Summary rows with `bound_by` in each: as recorded, else (runs before
 * schema 12, summaries computed from the data) by the same rule from the
 * row's CPU figures; rows left as they are when none has server CPU.
 */
function withBound(rows: readonly ReportRow[]): ReportRow[] {
  const bound = rows.map((r) => stepBound(r as unknown as SummaryRow));
  if (
    bound.every((b) => b === "") &&
    rows.every((r) => r.bound_by === undefined)
  ) return [...rows];
  return rows.map((r, i) => ({ ...r, bound_by: bound[i] }));
}

/**
 * The sentence saying what bound each pool size's wall times (`Bound by:
 * the clients at pool 1, the server at 10-30 ...`); empty without server
 * CPU.
 */
function boundSentence(summary: readonly ReportRow[]): string {
  const line = boundLine(summary as unknown as SummaryRow[]);
  if (!line) return "";
  return `B${
    line.slice(1)
  } (the server where it spent more CPU per session than the client, with the step at 50 % of the CPU limit or more; column bound by).`;
}

/**
 * The charts absent from `specs`, with the reason the analysis gives
 * (computed only when one is absent).
 */
function leftOutOf(run: RunData, specs: ChartSpecs): LeftOutChart[] {
  const missing = CHART_NAMES.filter((n) => !specs[n]);
  if (missing.length === 0) return [];
  const why = new Map(chartsLeftOut(analyse(run)).map((c) => [c.name, c]));
  return missing.map((name) => why.get(name) ?? { name, reason: "not drawn" });
}

/**
 * Builds a report of one or several loaded runs from their analysis and
 * chart specs. A run whose `meta.json` has no summary gets one computed
 * from its data. A chart absent from `specs` is left out of the report,
 * which says why ({@linkcode chartsLeftOut}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse, CHART_NAMES, chartSpecs } from "../analyse.ts";
 * import { loadRuns } from "../load.ts";
 * import { buildReport } from "./mod.ts";
 * const v1 = new URL("../../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const run = loadRuns([v1]);
 * const a = analyse(run);
 * const r = buildReport(run, chartSpecs(a, run.metas[0]));
 * assert.equal(r.runs[0].summarySource, "meta.json");
 * // One host and no emulated RTT: no rtt or hosts chart, and why.
 * assert.equal(r.charts.length, CHART_NAMES.length - 2);
 * assert.equal(r.chartNotes.length, 2);
 * assert.match(r.charts[0].caption.note, /^Median of the ok sessions/);
 * assert.equal(r.compare, undefined);
 * assert.ok(r.runs[0].provenance.some((s) => s.title === "Versions"));
 * ```
 */
export function buildReport(
  run: RunData,
  specs: ChartSpecs,
  now: Date = new Date(),
  noise?: RunNoise,
): Report {
  const runs: ReportRun[] = run.dirs.map((dir, i) => {
    const meta = run.metas[i] ?? {};
    const id = meta.run_id ?? dir.split("/").filter(Boolean).at(-1) ?? dir;
    const fromMeta = Array.isArray(meta.summary) && meta.summary.length > 0;
    const summary: ReportRow[] = withBound(
      fromMeta ? (meta.summary as unknown as ReportRow[]) : summaryFromAnalysis(
        run.dirs.length === 1 ? analyse(run) : analyse(loadRuns([dir])),
        meta.machine?.cores ?? navigator.hardwareConcurrency,
      ),
    );
    const { key, tables } = summaryTables(summary);
    const captionLines = provenanceLines(meta);
    const byHost = hostTable(meta.host_summary ?? []);
    if (byHost) tables.push(byHost);
    return {
      dir: shownPath(dir),
      id,
      headline: headline(run, i, summary),
      summarySource: fromMeta ? "meta.json" : "analysis",
      summary,
      bound: boundSentence(summary),
      warnings: [
        ...runWarnings(meta, summary, fromMeta),
        // What loading did to this run's files (e.g. a torn row dropped).
        ...run.warnings.filter((w) => w.startsWith(`${dir}/`)).map((w) =>
          w.replace(`${dir}/`, "")
        ),
      ],
      key,
      captionLines,
      tables,
      provenance: provenanceSections(meta),
    };
  });
  const legendRows = runs.flatMap((r) => r.summary);
  const ids = runs.map((r) => r.id);
  // Each run's per-round values, once for both comparison tables.
  const several = runs.length > 1
    ? (() => {
      const each = run.dirs.map((d) => loadRuns([d]));
      return {
        runs: each,
        values: each.map((r) => runValues(r.sessions, r.rounds)),
      };
    })()
    : undefined;
  return {
    title: runs.length === 1
      ? `SSH clients under concurrency: run ${runs[0].id}`
      : `SSH clients under concurrency: ${runs.length} runs compared`,
    runs,
    charts: CHART_NAMES.flatMap((name) => {
      const spec = specs[name];
      if (!spec) return [];
      const c = chartCaption(spec);
      return [{
        name,
        title: String(spec.title?.text ?? name),
        caption: c ?? { note: "", provenance: [] },
        spec: interactiveSpec(spec),
      }];
    }),
    chartNotes: leftOutLines(leftOutOf(run, specs)),
    ...(several && {
      compare: compareTable(several.runs, ids, noise, several.values),
      coverage: coverageTable(
        ids,
        several.values.map((v) => new Set(v.keys())),
      ),
      compareWarning: parameterDifferences(
        ids.map((id, i) => [id, run.metas[i]] as const),
      )?.replace(/^warning:\s*/, ""),
    }),
    legend: summaryColumns(legendRows, [], false),
    generatedAt: now.toISOString(),
  };
}
