/**
 * A report as markdown for a blog post: the same content as the page, with
 * the charts as PNG images beside it (`charts/<name>.png`), the tables as
 * markdown tables and the provenance as lists.
 *
 * @module
 */
import {
  type Field,
  NO_FIGURES,
  type Report,
  type Section,
  type Table,
} from "./types.ts";
import { markdownTable } from "../../util/text_table.ts";

/**
 * Escapes text for markdown outside code: the characters that would start
 * emphasis, links, HTML or table cells.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeMarkdown } from "./post.ts";
 * assert.equal(escapeMarkdown("a|b *c* <d>"), "a\\|b \\*c\\* &lt;d&gt;");
 * ```
 */
export function escapeMarkdown(s: string): string {
  return s.replace(/([\\*_[\]|`])/g, "\\$1").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  );
}

/** Text inside raw HTML in markdown (no markdown escapes apply there). */
function htmlText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Markdown text keeping the `code` spans the model writes. */
function inline(s: string): string {
  return s.split(/(`[^`]+`)/).map((p, i) => i % 2 ? p : escapeMarkdown(p))
    .join("");
}

/** A code span that survives backticks in its text. */
function code(s: string): string {
  const ticks = s.includes("`") ? "``" : "`";
  return `${ticks}${ticks.length > 1 ? " " : ""}${s}${
    ticks.length > 1 ? " " : ""
  }${ticks}`;
}

/**
 * A table in GitHub-flavoured markdown (numbers right-aligned, units in
 * the header). A number cell's spaces are no-break spaces, so a value with
 * its interval (`261.8 [254.6, 273.6]`) stays on one line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTableOf } from "./post.ts";
 * const t = markdownTableOf({
 *   title: "t", note: "",
 *   columns: [
 *     { key: "client", label: "client", unit: "", meaning: "", numeric: false },
 *     { key: "total_p50_ms", label: "median total", unit: "ms", meaning: "", numeric: true },
 *   ],
 *   rows: [["ssh2", "38.4 [37.9, 39.0]"]],
 * });
 * assert.equal(
 *   t,
 *   "| client | median total (ms) |\n| --- | ---: |\n| ssh2 | 38.4\u00a0\\[37.9,\u00a039.0\\] |",
 * );
 * ```
 */
export function markdownTableOf(t: Table): string {
  return markdownTable(
    t.columns.map((c) => ({
      head: c.unit ? `${c.label} (${c.unit})` : c.label,
      align: c.numeric ? "right" as const : "left" as const,
    })),
    // A number with its interval stays on one line: no-break spaces.
    t.rows.map((r) =>
      r.map((cell, i) =>
        t.columns[i]?.numeric ? cell.replace(/ /g, "\u00a0") : cell
      )
    ),
    { escape: escapeMarkdown },
  );
}

function fieldLines(fields: readonly Field[], depth: number, blocks: Field[]) {
  const pad = "  ".repeat(depth);
  const out: string[] = [];
  for (const f of fields) {
    const label = `**${escapeMarkdown(f.label)}**`;
    if (f.block !== undefined) {
      blocks.push(f);
      out.push(`${pad}- ${label}: below`);
    } else if (f.fields) {
      out.push(`${pad}- ${label}:`);
      out.push(...fieldLines(f.fields, depth + 1, blocks));
    } else {
      const codeLike = ["command_line", "parameters", "command"].includes(
        f.key,
      );
      out.push(
        `${pad}- ${label}: ${
          codeLike ? code(f.text ?? "") : escapeMarkdown(f.text ?? "")
        }`,
      );
    }
  }
  return out;
}

function sectionMarkdown(s: Section, level: string): string {
  const blocks: Field[] = [];
  const lines = fieldLines(s.fields, 0, blocks);
  const fence = (text: string) => {
    const n = Math.max(
      3,
      ...(text.match(/`+/g) ?? []).map((m) => m.length + 1),
    );
    return "`".repeat(n);
  };
  return [
    `${level} ${escapeMarkdown(s.title)}`,
    "",
    ...lines,
    ...blocks.flatMap((b) => [
      "",
      `<details><summary>${htmlText(b.label)}</summary>`,
      "",
      `${fence(b.block!)}text`,
      b.block!,
      fence(b.block!),
      "",
      "</details>",
    ]),
  ].join("\n");
}

/** Options of {@linkcode reportMarkdown}. */
export interface PostOptions {
  /** Folder of the PNG charts, relative to the markdown file (default `charts`). */
  chartsHref?: string;
}

/**
 * The report as markdown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse, chartSpecs } from "../analyse.ts";
 * import { loadRuns } from "../load.ts";
 * import { buildReport } from "./model.ts";
 * import { reportMarkdown } from "./post.ts";
 * const run = loadRuns([new URL("../../../tests/fixtures/v1-run", import.meta.url).pathname]);
 * const md = reportMarkdown(buildReport(run, chartSpecs(analyse(run), run.metas[0])));
 * assert.match(md, /^# SSH clients under concurrency: run /);
 * assert.match(md, /!\[[^\]]+\]\(charts\/comparison-time\.png\)/);
 * assert.match(md, /## Provenance/);
 * ```
 */
export function reportMarkdown(report: Report, opts: PostOptions = {}): string {
  const charts = opts.chartsHref ?? "charts";
  const many = report.runs.length > 1;
  const out: string[] = [`# ${escapeMarkdown(report.title)}`, ""];
  for (const r of report.runs) {
    out.push(
      `${many ? `${escapeMarkdown(r.id)}: ` : ""}${escapeMarkdown(r.headline)}`,
      "",
    );
  }
  for (const r of report.runs) {
    for (const w of r.warnings) {
      out.push(
        `> **Warning${many ? ` (${escapeMarkdown(r.id)})` : ""}:** ${
          inline(w)
        }`,
        "",
      );
    }
  }
  if (report.compare) {
    out.push("## Runs compared", "");
    if (report.compareWarning) {
      out.push(`> **Warning:** ${inline(report.compareWarning)}`, "");
    }
    out.push(
      markdownTableOf(report.compare),
      "",
      inline(report.compare.note),
      "",
    );
    if (report.coverage) {
      out.push(
        `### ${escapeMarkdown(report.coverage.title)}`,
        "",
        markdownTableOf(report.coverage),
        "",
        inline(report.coverage.note),
        "",
      );
    }
  }
  out.push("## Key figures", "");
  for (const r of report.runs) {
    if (r.key.rows.length === 0) {
      out.push(`${many ? `${escapeMarkdown(r.id)}: ` : ""}${NO_FIGURES}`, "");
      continue;
    }
    out.push(
      `${many ? `${escapeMarkdown(r.id)}: ` : ""}${
        escapeMarkdown(r.key.title)
      }.`,
      "",
      markdownTableOf(r.key),
      "",
    );
    if (r.bound) out.push(inline(r.bound), "");
    if (r.key.note) out.push(inline(r.key.note), "");
    if (r.summarySource === "analysis") {
      out.push(
        "meta.json has no summary: these figures were computed from sessions.csv and rounds.csv.",
        "",
      );
    }
  }
  out.push("## Charts", "");
  for (const n of report.chartNotes) out.push(inline(n), "");
  for (const c of report.charts) {
    out.push(
      `### ${escapeMarkdown(c.title)}`,
      "",
      `![${escapeMarkdown(c.title)}](${charts}/${c.name}.png)`,
      "",
    );
    // The caption, as text under the image (the PNG ends with it too).
    if (c.caption.note) out.push(inline(c.caption.note), "");
    if (c.caption.provenance.length) {
      // One line each (a backslash at a line's end breaks it).
      out.push(c.caption.provenance.map(escapeMarkdown).join("\\\n"), "");
    }
  }
  if (report.charts.length) {
    out.push(
      `Interactive versions (tooltips with the exact values, legends that toggle a series) are in \`report.html\` beside this file; each chart's Vega-Lite spec, data included, is \`${charts}/<name>.vl.json\`.`,
      "",
    );
  }
  // A run with no session has no summary to show (its key figures say so).
  const summaries = report.runs.some((r) => r.tables.length > 0);
  if (summaries) out.push("## Summary per client and pool size", "");
  for (const r of report.runs) {
    if (!summaries) break;
    if (many) out.push(`### ${escapeMarkdown(r.id)}`, "");
    for (const t of r.tables) {
      out.push(
        `<details><summary>${htmlText(t.title)}</summary>`,
        "",
        markdownTableOf(t),
        "",
        "</details>",
        "",
      );
    }
  }
  if (report.legend.length === 0) {
    out.push("## Provenance", "");
  } else {
    out.push(
      "Columns:",
      "",
      markdownTableOf({
        title: "",
        note: "",
        columns: [
          { key: "k", label: "column", unit: "", meaning: "", numeric: false },
          { key: "u", label: "unit", unit: "", meaning: "", numeric: false },
          { key: "m", label: "meaning", unit: "", meaning: "", numeric: false },
        ],
        rows: report.legend.map((c) => [
          c.key,
          c.unit,
          (c.meaning || "(not described by this version of the tool)").replace(
            /`/g,
            "",
          ),
        ]),
      }),
      "",
      "## Provenance",
      "",
    );
  }
  for (const r of report.runs) {
    if (many) out.push(`### ${escapeMarkdown(r.id)}`, "");
    out.push(
      `Run folder ${code(r.dir)}; everything below is from its \`meta.json\`.`,
      "",
    );
    if (r.captionLines.length) {
      out.push(
        `${many ? "####" : "###"} In short (as in the charts' captions)`,
        "",
        ...r.captionLines.map((l) => `- ${escapeMarkdown(l)}`),
        "",
      );
    }
    for (const s of r.provenance) {
      out.push(sectionMarkdown(s, many ? "####" : "###"), "");
    }
  }
  out.push(
    "---",
    "",
    `Made by \`deno task report\` on ${report.generatedAt}.`,
    "",
  );
  return out.join("\n");
}
