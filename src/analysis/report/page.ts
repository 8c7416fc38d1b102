/**
 * A report as one self-contained HTML page: vega, vega-lite and
 * vega-embed inlined from the installed npm packages, the charts
 * interactive (tooltips, legend toggles), the tables, the warnings and the
 * provenance; a Content-Security-Policy that allows no request at all, so
 * the page works from `file://` with no network; a print stylesheet.
 *
 * @module
 */
import { ROOT_DIR } from "../../util/paths.ts";
import { UsageError } from "../../util/errors.ts";
import {
  type Field,
  NO_FIGURES,
  type Report,
  type Section,
  type Table,
} from "./types.ts";

/** One script inlined into the page. */
export interface Asset {
  /** npm package name. */
  name: string;
  /** Installed version. */
  version: string;
  /** The package's browser build. */
  code: string;
}

const BUILDS = [
  ["vega", "build/vega.min.js"],
  ["vega-lite", "build/vega-lite.min.js"],
  ["vega-embed", "build/vega-embed.min.js"],
] as const;

/**
 * Reads the browser builds of vega, vega-lite and vega-embed from
 * `node_modules/` (in that order: each needs the one before).
 *
 * @throws {UsageError} when a package is not installed.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vegaAssets } from "./page.ts";
 * const assets = vegaAssets();
 * assert.deepEqual(assets.map((a) => a.name), ["vega", "vega-lite", "vega-embed"]);
 * assert.match(assets[0].version, /^\d+\.\d+\.\d+$/);
 * ```
 */
export function vegaAssets(root: string = ROOT_DIR): Asset[] {
  return BUILDS.map(([name, file]) => {
    const dir = `${root.replace(/\/$/, "")}/node_modules/${name}`;
    try {
      const pkg = JSON.parse(Deno.readTextFileSync(`${dir}/package.json`));
      return {
        name,
        version: String(pkg.version),
        code: Deno.readTextFileSync(`${dir}/${file}`),
      };
    } catch {
      throw new UsageError(
        `${dir}/${file} not found: run deno install (or .ci/setup) to install the npm packages`,
      );
    }
  });
}

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./page.ts";
 * assert.equal(escapeHtml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** JSON or code safe inside a `<script>` element. */
function scriptText(s: string): string {
  return s.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

const CSS = `
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #d9dce1; --soft: #f5f6f8; --warn: #fff4e5; --warn-line: #f0a030; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 1120px; padding: 24px 20px 48px; color: var(--fg); background: #fff;
  font: 15px/1.5 "DejaVu Sans", system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 26px; line-height: 1.25; margin: 0 0 6px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
.lede { color: var(--muted); margin: 0 0 4px; }
nav { margin: 14px 0 0; font-size: 14px; }
nav a { margin-right: 14px; }
a { color: #1a5fb4; }
.callout { background: var(--warn); border-left: 4px solid var(--warn-line); padding: 8px 12px; margin: 10px 0; }
.hint { color: var(--muted); font-size: 13px; }
figure { margin: 18px 0 30px; }
.chart { overflow-x: auto; min-height: 120px; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
figcaption p { margin: 0 0 3px; }
figcaption .chart-prov { font-size: 12px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0 4px; }
th, td { padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { text-align: left; background: var(--soft); font-weight: 600; }
th .unit { display: block; font-weight: normal; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.table-wrap { overflow-x: auto; }
.note { font-size: 13px; color: var(--muted); margin: 2px 0 12px; }
details.more { margin: 8px 0; }
details.more > summary { cursor: pointer; font-weight: 600; }
dl.prov { display: grid; grid-template-columns: minmax(150px, max-content) 1fr; gap: 2px 16px; margin: 4px 0; font-size: 14px; }
dl.prov dt { color: var(--muted); }
dl.prov dd { margin: 0; overflow-wrap: anywhere; }
dl.prov dl.prov { grid-column: 1 / -1; margin-left: 16px; }
code, pre { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12.5px; }
pre { background: var(--soft); padding: 8px 10px; overflow-x: auto; white-space: pre-wrap; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav, .hint, .vega-embed .vega-actions, .vega-embed > details, #vg-tooltip-element, .no-print { display: none !important; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3 { break-after: avoid; page-break-after: avoid; }
  figure, .callout, tr, dl.prov > dt, dl.prov > dd { break-inside: avoid; page-break-inside: avoid; }
  .chart, .table-wrap { overflow: visible; }
  .chart .vega-embed { display: block; width: 100%; padding-right: 0 !important; }
  .chart svg { width: 100% !important; height: auto !important; max-width: 100%; }
  table { font-size: 8pt; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  pre { white-space: pre-wrap; }
}
`;

const SCRIPT = `
(function () {
  var specs = JSON.parse(document.getElementById("report-specs").textContent);
  var views = {};
  window.reportViews = views;
  window.reportReady = Promise.all(Object.keys(specs).map(function (name) {
    return vegaEmbed("#chart-" + name, specs[name], {
      renderer: "svg",
      downloadFileName: name,
      actions: { export: true, source: false, compiled: false, editor: false }
    }).then(function (result) { views[name] = result.view; });
  })).then(function () {
    document.documentElement.setAttribute("data-charts", "rendered");
  }, function (e) {
    document.documentElement.setAttribute("data-charts", "failed");
    console.error("a chart failed to render: " + (e && e.message ? e.message : e));
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.more").forEach(function (d) { d.open = true; });
  });
})();
`;

function tableHtml(t: Table, heading = "h3"): string {
  const head = t.columns.map((c) =>
    `<th${c.numeric ? ' class="num"' : ""}${
      c.meaning ? ` title="${escapeHtml(c.meaning)}"` : ""
    }>${escapeHtml(c.label)}${
      c.unit ? `<span class="unit">${escapeHtml(c.unit)}</span>` : ""
    }</th>`
  ).join("");
  const body = t.rows.map((r) =>
    `<tr>${
      r.map((cell, i) =>
        `<td${t.columns[i]?.numeric ? ' class="num"' : ""}>${
          escapeHtml(cell)
        }</td>`
      ).join("")
    }</tr>`
  ).join("\n");
  const title = heading
    ? `<${heading}>${escapeHtml(t.title)}</${heading}>\n`
    : "";
  return `${title}<div class="table-wrap"><table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table></div>${t.note ? `\n<p class="note">${inline(t.note)}</p>` : ""}`;
}

/** Escaped text with `code` spans. */
function inline(s: string): string {
  return escapeHtml(s).replace(/`([^`]+)`/g, "<code>$1</code>");
}

function fieldsHtml(fields: readonly Field[]): string {
  return `<dl class="prov">${
    fields.map((f) => {
      const dt = `<dt title="${escapeHtml(f.key)}">${escapeHtml(f.label)}</dt>`;
      if (f.block !== undefined) {
        return `${dt}<dd><details class="more"><summary>${
          f.block.split("\n").length
        } lines</summary><pre>${escapeHtml(f.block)}</pre></details></dd>`;
      }
      if (f.fields) {
        return `${dt}<dd></dd>${fieldsHtml(f.fields)}`;
      }
      const code = f.key === "command_line" || f.key === "parameters" ||
        f.key === "command";
      return `${dt}<dd>${
        code
          ? `<code>${escapeHtml(f.text ?? "")}</code>`
          : escapeHtml(f.text ?? "")
      }</dd>`;
    }).join("\n")
  }</dl>`;
}

function provenanceHtml(sections: readonly Section[]): string {
  return sections.map((s) =>
    `<section class="prov-section"><h3>${escapeHtml(s.title)}</h3>\n${
      fieldsHtml(s.fields)
    }</section>`
  ).join("\n");
}

/** Options of {@linkcode reportHtml}. */
export interface PageOptions {
  /** Folder of the static charts, relative to the page (default `charts`). */
  chartsHref?: string;
}

/**
 * The report as one HTML page with the given scripts inlined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse, chartSpecs } from "../analyse.ts";
 * import { loadRuns } from "../load.ts";
 * import { buildReport } from "./model.ts";
 * import { reportHtml } from "./page.ts";
 * const run = loadRuns([new URL("../../../tests/fixtures/v1-run", import.meta.url).pathname]);
 * const report = buildReport(run, chartSpecs(analyse(run), run.metas[0]));
 * const html = reportHtml(report, [{ name: "x", version: "1", code: "var a = '</script>';" }]);
 * assert.match(html, /^<!DOCTYPE html>/);
 * assert.equal(html.match(/<div class="chart" id="chart-/g)?.length, 6);
 * assert.ok(html.includes("var a = '<\\/script>';")); // inlined safely
 * assert.ok(!/(src|href)="https?:/.test(html)); // nothing to fetch
 * ```
 */
export function reportHtml(
  report: Report,
  assets: readonly Asset[],
  opts: PageOptions = {},
): string {
  const charts = opts.chartsHref ?? "charts";
  const many = report.runs.length > 1;
  // The specs name Vega-Lite's schema by URL (never fetched); naming the
  // inlined version's keeps vega-embed from warning about a mismatch.
  const vl = assets.find((a) => a.name === "vega-lite")?.version.split(".")[0];
  const specs = Object.fromEntries(
    report.charts.map((c) => [
      c.name,
      vl && c.spec.$schema
        ? {
          ...c.spec,
          $schema: `https://vega.github.io/schema/vega-lite/v${vl}.json`,
        }
        : c.spec,
    ]),
  );
  const parts: string[] = [];
  const nav: [string, string][] = [];
  const warnings = report.runs.flatMap((r) =>
    r.warnings.map((w) => (many ? `${r.id}: ${w}` : w))
  );
  if (warnings.length) {
    nav.push(["warnings", "Warnings"]);
    parts.push(
      `<section id="warnings"><h2>Warnings</h2>\n${
        warnings.map((w) => `<div class="callout">${inline(w)}</div>`).join(
          "\n",
        )
      }</section>`,
    );
  }
  if (report.compare) {
    nav.push(["compare", "Comparison"]);
    parts.push(
      `<section id="compare"><h2>Runs compared</h2>\n${
        report.compareWarning
          ? `<div class="callout">${inline(report.compareWarning)}</div>\n`
          : ""
      }<details class="more" open><summary>${
        escapeHtml(report.compare.title)
      }</summary>\n${tableHtml(report.compare, "")}</details>${
        report.coverage ? `\n${tableHtml(report.coverage)}` : ""
      }</section>`,
    );
  }
  nav.push(["key-figures", "Key figures"]);
  parts.push(
    `<section id="key-figures"><h2>Key figures</h2>\n${
      report.runs.map((r) =>
        `${many ? `<p class="lede">${escapeHtml(r.id)}</p>` : ""}${
          r.key.rows.length === 0
            ? `<p class="note">${escapeHtml(NO_FIGURES)}</p>`
            : tableHtml(r.key)
        }${r.bound ? `<p class="note">${inline(r.bound)}</p>` : ""}${
          r.key.rows.length > 0 && r.summarySource === "analysis"
            ? `<p class="note">meta.json has no summary: these figures were computed from sessions.csv and rounds.csv.</p>`
            : ""
        }`
      ).join("\n")
    }</section>`,
  );
  nav.push(["charts", "Charts"]);
  parts.push(`<section id="charts"><h2>Charts</h2>
${report.chartNotes.map((n) => `<p class="note">${inline(n)}</p>\n`).join("")}${
    report.charts.length
      ? `<p class="hint">Hover a point for its values. Click a legend entry to show that series alone, shift-click to add others, double-click an empty spot of the chart to show all again. The ⋯ menu beside a chart saves it as SVG or PNG.</p>\n`
      : ""
  }${
    report.charts.map((c) =>
      `<figure id="figure-${c.name}">
<div class="chart" id="chart-${c.name}" data-chart="${c.name}" role="img" aria-label="${
        escapeHtml(c.title)
      }"><noscript><img src="${charts}/${c.name}.png" alt="${
        escapeHtml(c.title)
      }" width="800"></noscript></div>
<figcaption>${
        c.caption.note
          ? `<p class="chart-note">${inline(c.caption.note)}</p>\n`
          : ""
      }${
        c.caption.provenance.length
          ? `<p class="chart-prov">${
            c.caption.provenance.map(escapeHtml).join("<br>")
          }</p>\n`
          : ""
      }<p class="chart-files">Static files: <a href="${charts}/${c.name}.png">PNG</a> · <a href="${charts}/${c.name}.svg">SVG</a> · <a href="${charts}/${c.name}.vl.json">Vega-Lite spec with data</a></p></figcaption>
</figure>`
    ).join("\n")
  }
</section>`);
  // A run with no session has no summary to show (its key figures say so).
  if (report.runs.some((r) => r.tables.length > 0)) {
    nav.push(["summary", "Summary"]);
    parts.push(`<section id="summary"><h2>Summary per client and pool size</h2>
${
      report.runs.map((r) =>
        `${many ? `<h3>${escapeHtml(r.id)}</h3>` : ""}${
          r.tables.map((t) =>
            `<details class="more"><summary>${escapeHtml(t.title)}</summary>\n${
              tableHtml(t, "")
            }</details>`
          ).join("\n")
        }`
      ).join("\n")
    }
<h3>Columns</h3>
<dl class="prov">${
      report.legend.map((c) =>
        `<dt><code>${escapeHtml(c.key)}</code></dt><dd>${
          c.unit ? `${escapeHtml(c.unit)}: ` : ""
        }${
          inline(c.meaning || "(not described by this version of the tool)")
        }</dd>`
      ).join("\n")
    }</dl>
</section>`);
  }
  nav.push(["provenance", "Provenance"]);
  parts.push(
    `<section id="provenance"><h2>Provenance</h2>\n${
      report.runs.map((r) =>
        `${
          many ? `<h3>${escapeHtml(r.id)}</h3>\n` : ""
        }<p class="note">Folder <code>${
          escapeHtml(r.dir)
        }</code>; everything below is from its <code>meta.json</code>.</p>\n${
          r.captionLines.length
            ? `<section class="prov-section"><h3>In short (as in the charts' captions)</h3>\n<p>${
              r.captionLines.map(escapeHtml).join("<br>")
            }</p></section>\n`
            : ""
        }${provenanceHtml(r.provenance)}`
      ).join("\n")
    }</section>`,
  );
  const lede = report.runs.map((r) =>
    `<p class="lede">${many ? `${escapeHtml(r.id)}: ` : ""}${
      escapeHtml(r.headline)
    }</p>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src 'self' data: blob:">
<meta name="generator" content="ssh-bench deno task report">
<title>${escapeHtml(report.title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(report.title)}</h1>
${lede}
<nav>${
    nav.map(([id, t]) => `<a href="#${id}">${escapeHtml(t)}</a>`).join("")
  }</nav>
</header>
<main>
${parts.join("\n")}
</main>
<footer>Made by <code>deno task report</code> on ${
    escapeHtml(report.generatedAt)
  } from ${
    report.runs.map((r) => `<code>${escapeHtml(r.dir)}</code>`).join(", ")
  }. Charts drawn in the browser by ${
    assets.map((a) => `${escapeHtml(a.name)} ${escapeHtml(a.version)}`).join(
      ", ",
    )
  }, inlined in this file: it needs no network.</footer>
${
    assets.map((a) =>
      `<script data-package="${escapeHtml(a.name)}@${escapeHtml(a.version)}">${
        scriptText(a.code)
      }</script>`
    ).join("\n")
  }
<script type="application/json" id="report-specs">${
    JSON.stringify(specs).replace(/</g, "\\u003c")
  }</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
