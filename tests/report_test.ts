/**
 * The publishable report: `deno task report` on the committed sample run,
 * several runs compared, what a report makes of summaries with intervals
 * and of `meta.json` fields it does not know, and the page in a real
 * browser (Debian's headless Chromium, network blocked).
 */
import { assert, assertEquals } from "./assert.ts";
import { CHART_NAMES } from "../src/analysis/analyse.ts";
import { loadRuns } from "../src/analysis/load.ts";
import { analyse, chartSpecs } from "../src/analysis/analyse.ts";
import {
  buildReport,
  compareTable,
  reportHtml,
  reportMarkdown,
} from "../src/analysis/report/mod.ts";
import { NOISE_PCT, NOT_COMPARABLE } from "../src/analysis/run_comparison.ts";
import {
  interferenceRecord,
  interferenceWarnings,
} from "../src/run/interference.ts";
import type { SummaryRow } from "../src/run/schema.ts";
import { printedIncludes } from "../src/util/change_rule.ts";
import { reportFor } from "../src/cli/report.ts";
import {
  inspectPage,
  SAMPLE_DIR,
  SHOT_CHART,
  withChromium,
} from "./report_browser.ts";

const MAXSTARTUPS_DIR = new URL(
  "../data/runs/sample-maxstartups",
  import.meta.url,
).pathname;
const V1_DIR = new URL("./fixtures/v1-run", import.meta.url).pathname;
const RUNS = new URL("../data/runs", import.meta.url).pathname;
const SEED_OPENSSH_DIR = new URL(
  "../data/runs/sample-seed-openssh",
  import.meta.url,
).pathname;
/**
 * The sample run's charts: no failure, one host on loopback, so no
 * failures, rtt or hosts chart.
 */
const LEFT_OUT = ["failures", "rtt", "hosts"];
const SAMPLE_CHARTS = CHART_NAMES.filter((n) => !LEFT_OUT.includes(n));

/** The sample run's report, written once into a temp folder. */
let sample: Promise<{ dir: string; html: string; md: string }> | undefined;
function sampleReport() {
  sample ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ssh-bench-report-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    const files = await reportFor([SAMPLE_DIR], { out: dir });
    return { dir, html: files.html, md: files.md };
  })();
  return sample;
}

function isPng(bytes: Uint8Array): boolean {
  return [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) =>
    bytes[i] === b
  );
}

/** A PNG's width and height in px (its IHDR chunk). */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/**
 * The markdown tables of a post whose header has a column starting with
 * `column`: each as its header cells and its rows' cells, as a reader
 * sees them (escapes and no-break spaces undone).
 */
function mdTables(
  md: string,
  column: string,
): { head: string[]; rows: string[][] }[] {
  const cells = (line: string) =>
    line.replace(/^\| | \|$/g, "").split(/ (?<!\\)\| /).map((c) =>
      c.replace(/\\([\\*_[\]|`])/g, "$1").replace(/\u00a0/g, " ")
        .replace(/&lt;/g, "<").replace(/&gt;/g, ">").trim()
    );
  const lines = md.split("\n");
  const out: { head: string[]; rows: string[][] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("| ")) continue;
    const head = cells(lines[i]);
    let j = i + 2;
    const rows: string[][] = [];
    while (j < lines.length && lines[j].startsWith("| ")) {
      rows.push(cells(lines[j++]));
    }
    if (head.some((h) => h.startsWith(column))) out.push({ head, rows });
    i = j;
  }
  return out;
}

Deno.test("report: the sample run's page is self-contained and its post has the PNGs, tables and provenance", async () => {
  const { dir, html: htmlPath, md: mdPath } = await sampleReport();
  const html = await Deno.readTextFile(htmlPath);
  // Nothing to fetch: no external script, style, image or link target
  // that loads by itself; a CSP that allows no connection at all.
  assert(!/<script[^>]+src=/i.test(html), "scripts must be inline");
  assert(!/<link[^>]+rel="stylesheet"/i.test(html));
  assert(!/(src|href)="(https?:)?\/\//i.test(html), "no network URL to load");
  assert(html.includes("Content-Security-Policy"));
  assert(/default-src 'none'/.test(html));
  for (const pkg of ["vega", "vega-lite", "vega-embed"]) {
    assert(html.includes(`data-package="${pkg}@`), `${pkg} inlined`);
  }
  assertEquals(
    [...html.matchAll(/<div class="chart" id="chart-([\w-]+)"/g)].map((m) =>
      m[1]
    ),
    SAMPLE_CHARTS,
  );
  assert(html.includes("@media print"), "a print stylesheet");
  // Charts with nothing to show are left out, with the reason, not drawn.
  for (const name of LEFT_OUT) {
    assert(html.includes(`the ${name} chart is left out`), `${name} named`);
  }
  assert(!html.includes('"text":"no --rtt in this run"'), "no placeholder");
  // Each chart's caption under it: how to read it, then the provenance.
  const figure = /<figure id="figure-efficiency">[\s\S]*?<\/figure>/.exec(html)
    ?.[0] ?? "";
  assert(
    /<figcaption><p class="chart-note">CPU time \(user \+ system\)/.test(
      figure,
    ),
    figure,
  );
  assert(figure.includes("cipher: aes128-gcm@openssh.com (ssh2"), figure);
  assert(html.includes("In short (as in the charts' captions)"));
  // Interval cells keep to one line.
  assert(/td\.num \{ white-space: nowrap; \}/.test(html));
  assert(html.includes("over 90% busy"), "the run's warning");
  // The command that repeats the run, as it recorded it.
  assert(html.includes("deno task bench"));
  assert(html.includes("Go server configuration"), "the server's config");

  const md = await Deno.readTextFile(mdPath);
  for (const name of SAMPLE_CHARTS) {
    assert(md.includes(`](charts/${name}.png)`), `${name} image`);
    assert(Deno.statSync(`${dir}/charts/${name}.png`).size > 0);
  }
  for (const name of LEFT_OUT) {
    assert(!md.includes(`](charts/${name}.png)`), `no ${name} image`);
    assert(
      !(await Array.fromAsync(Deno.readDir(`${dir}/charts`))).some((e) =>
        e.name.startsWith(`${name}.`)
      ),
      `no ${name} files`,
    );
  }
  // Under each image, its caption as text.
  assert(
    /\(charts\/efficiency\.png\)\n\nCPU time \(user \+ system\) per session[^\n]*\n\n2026-12-07 · 2 cores AMD EPYC[^\n]*\\\nclients: ssh2 1\.17\.0/
      .test(md),
    md.slice(md.indexOf("charts/efficiency.png") - 200).slice(0, 1200),
  );
  // Key figures: ssh2 at pool 30, the 62.1 ms median total of
  // docs/results.md with its interval in brackets, on one line (no-break
  // spaces).
  assert(
    /\| ssh2 \| 30 \| \d+ \| 0 \| \d+ \| 62\.1\u00a0\\\[55\.9,\u00a067\.0\\\] \|/
      .test(md),
    md.slice(0, 3000),
  );
  assert(md.includes("- **command line**: `deno task bench`"));
  assert(md.includes("## Provenance"));
  assert(md.includes("- **Deno**: 2.9.6"));
  assert(md.includes("- **CPU**: AMD EPYC"));
  assert(md.includes("<summary>xcrypto: 44 pool sizes</summary>"));
  assert(md.includes("> **Warning:** the machine was over 90% busy"));
  // On the Go server the clients bound every pool size, and it says so.
  assert(
    md.includes("Bound by: the clients at pools 1-100 ("),
    md.slice(0, 3000),
  );
});

/** sample-seed-openssh's report, written once into a temp folder. */
let seedOpenssh: Promise<{ md: string; html: string }> | undefined;
function seedOpensshReport() {
  seedOpenssh ??= (async () => {
    const out = await Deno.makeTempDir({ prefix: "ssh-bench-report-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(out, { recursive: true });
      } catch {
        // already gone
      }
    });
    const before = Deno.readTextFileSync(`${SEED_OPENSSH_DIR}/meta.json`);
    const files = await reportFor([SEED_OPENSSH_DIR], { out });
    // The committed run folder is left as it was.
    assertEquals(
      Deno.readTextFileSync(`${SEED_OPENSSH_DIR}/meta.json`),
      before,
    );
    return {
      md: await Deno.readTextFile(files.md),
      html: await Deno.readTextFile(files.html),
    };
  })();
  return seedOpenssh;
}

Deno.test("report: a run from before bound_by says what bound each pool size, by the same rule", async () => {
  const { md, html } = await seedOpensshReport();
  // Schema 7: no bound_by recorded; the report gives it by the rule.
  const meta = JSON.parse(
    Deno.readTextFileSync(`${SEED_OPENSSH_DIR}/meta.json`),
  );
  assert(meta.summary.every((r: object) => !("bound_by" in r)));
  const bound =
    "Bound by: the clients at pools 1-3, the server for some clients at 4-30, the server at 35-100 (";
  assert(md.includes(bound), md.slice(0, 4000));
  assert(html.includes(`<p class="note">${bound}`));
  // And a column in the key figures: libssh2 at 100 was server-bound.
  assert(
    /\| libssh2 \| 100 \|[^\n]*\| server \|[^\n]*\n/.test(md),
    md.slice(0, 4000),
  );
});

Deno.test("report: a run on sshd from before --server-impl shows a command that runs sshd again", async () => {
  const { md, html } = await seedOpensshReport();
  // It recorded no arguments (the seed preset) and no server_impl.
  const meta = JSON.parse(
    Deno.readTextFileSync(`${SEED_OPENSSH_DIR}/meta.json`),
  );
  assertEquals([meta.argv, meta.parameters.server_impl], [[], undefined]);
  const at = md.indexOf("### Command");
  assert(
    md.includes("- **command line**: `deno task bench --server-impl openssh`"),
    md.slice(at, at + 400),
  );
  assert(
    md.includes("- **added**: --server-impl openssh: the run embedded sshd"),
    md.slice(at, at + 400),
  );
  assert(html.includes("deno task bench --server-impl openssh"));
});

Deno.test("report: vs the best follows the one rule for every run: ~ exactly where the printed interval includes 1.00x, p for information", async () => {
  // sample-seed-openssh was recorded at schema 7, before the summary had
  // a verdict of its own: the report applies the rule itself.
  const { md: post, html } = await seedOpensshReport();
  const tables = mdTables(post, "total vs the best");
  // The key figures and one table per client.
  const clients = JSON.parse(
    Deno.readTextFileSync(`${SEED_OPENSSH_DIR}/meta.json`),
  ).parameters.clients;
  assertEquals(tables.length, 1 + clients.length);
  let marked = 0;
  let called = 0;
  for (const t of tables) {
    const col = t.head.findIndex((h) => h.startsWith("total vs the best"));
    const p = t.head.findIndex((h) => h.startsWith("p vs the best"));
    assertEquals(t.head[p], "p vs the best, for information");
    for (const row of t.rows) {
      const cell = row[col];
      if (cell === "best") {
        assertEquals(row[p], "–");
        continue;
      }
      const m = /^(\d+\.\d\d)x(?: \[(\d+\.\d\d), (\d+\.\d\d)\])?( ~)?$/.exec(
        cell,
      );
      assert(m, `${row[0]} at pool ${row[1]}: "${cell}"`);
      const includes = m[2] === undefined ||
        printedIncludes(Number(m[2]), Number(m[3]), 1, 2);
      assertEquals(
        m[4] !== undefined,
        includes,
        `${row[0]} at pool ${row[1]}: "${cell}"`,
      );
      if (m[4]) marked++;
      else called++;
      assert(/^(<0\.001|[01]\.\d{3})$/.test(row[p]), `p "${row[p]}"`);
    }
  }
  assert(marked > 0 && called > 0, `${marked} ~, ${called} called`);
  // A row of the shape the issue objected to: an interval that includes
  // 1.00x beside p < 0.05, now with ~.
  const libssh2 = tables.find((t) => t.rows.every((r) => r[0] === "libssh2"))!;
  const row16 = libssh2.rows.find((r) => r[1] === "16")!;
  assertEquals(
    row16[libssh2.head.indexOf("total vs the best")],
    "1.04x [1.00, 1.08] ~",
  );
  assertEquals(
    row16[libssh2.head.indexOf("p vs the best, for information")],
    "0.049",
  );
  // The rule, said under the key figures.
  const key = post.slice(
    post.indexOf("## Key figures"),
    post.indexOf("## Charts"),
  );
  assert(
    /One rule calls a difference: `~` where that interval as printed includes 1\.00x/
      .test(key),
    key.slice(-1500),
  );
  assert(key.includes("is for information and decides nothing"));
  // The page: the same cells and the same sentence.
  const page = html;
  assert(page.includes("1.04x [1.00, 1.08] ~"));
  assert(page.includes("One rule calls a difference"));
  assert(page.includes("p vs the best, for information"));
});

Deno.test("report: several runs without a noise model: every ~ is explained by the note, the 5 % threshold included", () => {
  // Two runs of one command (sample-noise-1 and -3): libssh2 at pool 1
  // moved -1.2 % [-2.6, -0.1], an interval that leaves out 0.0 %, under
  // the threshold.
  const runs = ["sample-noise-1", "sample-noise-3"].map((d) =>
    loadRuns([`${RUNS}/${d}`])
  );
  const t = compareTable(runs, ["one", "two"]);
  assert(
    t.note.includes(
      `or the change is under ${NOISE_PCT} % (the stopgap threshold without a noise model)`,
    ),
    t.note,
  );
  const delta = t.columns.findIndex((c) => c.key === "delta");
  const ci = t.columns.findIndex((c) => c.key === "delta_ci");
  let underThreshold = 0;
  for (const row of t.rows) {
    const d = /^(~ \()?([+-][\d.]+)%\)?$/.exec(row[delta]);
    assert(d, row.join(" | "));
    const i = /^\[([+-][\d.]+), ([+-][\d.]+)\]$/.exec(row[ci]);
    const includes = !i || printedIncludes(Number(i[1]), Number(i[2]), 0, 1);
    const small = Math.abs(Number(d[2])) < NOISE_PCT;
    assertEquals(d[1] !== undefined, includes || small, row.join(" | "));
    if (!includes && small) underThreshold++;
  }
  // The case the note had not explained: ~ beside an interval without 0.
  assert(underThreshold > 0, t.rows.map((r) => r.join(" | ")).join("\n"));
  const libssh2 = t.rows.find((r) => r[0] === "libssh2" && r[1] === "1")!;
  assertEquals([libssh2[delta], libssh2[ci]], ["~ (-1.2%)", "[-2.6, -0.1]"]);
  // With a model the threshold is 0, and the note does not claim one.
  const withModel = compareTable(runs, ["one", "two"], {
    between: () => 0.01,
    line: "a model",
  } as never);
  assert(!withModel.note.includes("stopgap"), withModel.note);
});

/**
 * A copy of a committed schema-11 run whose rounds of `client` at `pool`
 * had other processes on the machine (other CPU = the whole window: a
 * core), with the summary, warning and `interference` record a run
 * writes for that.
 */
async function busyCopy(
  from: string,
  client: string,
  pool: number,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ssh-bench-busy-" });
  for (const f of ["sessions.csv", "intervals.csv", "summary.csv"]) {
    await Deno.copyFile(`${from}/${f}`, `${dir}/${f}`);
  }
  const [header, ...lines] = (await Deno.readTextFile(`${from}/rounds.csv`))
    .trimEnd().split("\n");
  const cols = header.split(",");
  const [c, p, other, window] = [
    "client",
    "pool_size",
    "other_cpu_ms",
    "cpu_window_ms",
  ].map((n) => cols.indexOf(n));
  let edited = 0;
  const rounds = lines.map((line) => {
    const v = line.split(",");
    if (v[c] === client && Number(v[p]) === pool) {
      v[other] = v[window];
      edited++;
    }
    return v.join(",");
  });
  assert(edited >= 2, `${edited} rounds of ${client} at pool ${pool}`);
  await Deno.writeTextFile(
    `${dir}/rounds.csv`,
    [header, ...rounds].join("\n") + "\n",
  );
  const meta = JSON.parse(await Deno.readTextFile(`${from}/meta.json`));
  const summary = meta.summary as SummaryRow[];
  for (const r of summary) {
    if (r.client === client && r.pool_size === pool) {
      r.disturbed_rounds_pct = 100;
      r.other_cpu_pct = 100;
    }
  }
  meta.warnings = [...meta.warnings, ...interferenceWarnings(summary)];
  meta.interference = interferenceRecord(summary);
  assert(meta.interference.busy);
  await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify(meta, null, 1));
  return dir;
}

Deno.test("report: a run beside other processes warns in report.md and report.html, and a report of it with another run calls its cells not comparable", async () => {
  const quiet = `${RUNS}/sample-xcrypto-openssh`;
  const busy = await busyCopy(quiet, "ssh2", 10);
  const out = await Deno.makeTempDir({ prefix: "ssh-bench-report-" });
  try {
    const one = await reportFor([busy], { out: `${out}/one` });
    const warning =
      /other processes used the machine during this run: ssh2 at pool 10 \(100% of a core, over 10 % of it in 100% of rounds\)/;
    const md = await Deno.readTextFile(one.md);
    assert(/^> \*\*Warning:\*\* other processes used the machine/m.test(md));
    assert(warning.test(md.replace(/\\/g, "")), md.slice(0, 3000));
    assert(warning.test(await Deno.readTextFile(one.html)));

    const two = await reportFor([quiet, busy], { out: `${out}/two` });
    const compared = mdTables(await Deno.readTextFile(two.md), "change");
    assertEquals(compared.length, 1);
    const { head, rows } = compared[0];
    const delta = head.indexOf("change (%)");
    const busyRows = rows.filter((r) => r[delta] === NOT_COMPARABLE);
    // The busy cell's total, and no other cell.
    assertEquals(busyRows.map((r) => `${r[0]} ${r[1]}`), ["ssh2 10"]);
    assert(rows.length > 1);
    assert(
      (await Deno.readTextFile(two.html)).includes(NOT_COMPARABLE),
      "the page marks it too",
    );
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(busy, { recursive: true });
  }
});

Deno.test("report: several runs give one comparison report with the compare table", async () => {
  const out = await Deno.makeTempDir();
  try {
    const files = await reportFor([SAMPLE_DIR, MAXSTARTUPS_DIR], { out });
    const md = await Deno.readTextFile(files.md);
    assert(files.renderedCharts);
    assert(md.startsWith("# SSH clients under concurrency: 2 runs compared"));
    assert(md.includes("## Runs compared"));
    // ssh2 at pool 10 in both runs: medians with intervals, the change
    // (or ~), its interval and the p-value; no-break spaces keep each cell
    // on one line.
    assert(
      /\| ssh2 \| 10 \| [\d.]+\u00a0\\\[[\d.,\u00a0]+\\\] \| [\d.]+\u00a0\\\[[\d.,\u00a0]+\\\] \| (~\u00a0\()?[+-][\d.]+%\)? \| \\\[[+-][\d.]+,\u00a0[+-][\d.]+\\\] \| [\d.]+ \|/
        .test(md),
      md.slice(0, 3000),
    );
    // openssh ran only in the first: a row of the table of pool sizes not
    // in every run, not dropped silently.
    assert(md.includes("### Pool sizes not in every run"), md.slice(0, 4000));
    assert(
      md.includes(
        "| openssh | 1 | 20261207T024422Z-seed | 20261126T051916Z-maxstartups |",
      ),
      md.slice(0, 4000),
    );
    // The runs differ in their parameters: said before the table.
    assert(
      /## Runs compared\n\n> \*\*Warning:\*\* these runs differ in [^\n]*server\\_impl/
        .test(md),
      md.slice(0, 4000),
    );
    // The change's interval decides ~, and is printed beside it.
    assert(md.includes("change, 95 % interval (%)"), md.slice(0, 4000));
    assertEquals(
      (md.match(/^### Run$/gm) ?? []).length,
      0,
      "per-run provenance sections are one level down",
    );
    assertEquals((md.match(/^#### Run$/gm) ?? []).length, 2);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("report: no summary in meta.json (recomputed), intervals shown, unknown fields kept", () => {
  const run = loadRuns([V1_DIR]);
  const specs = chartSpecs(analyse(run), run.metas[0]);
  const meta = run.metas[0] as Record<string, unknown>;
  const recorded = meta.summary as Record<string, unknown>[];

  // 1. A run killed before its summary was written: computed from the CSVs.
  const bare = { ...run, metas: [{ ...meta, summary: undefined }] };
  const recomputed = buildReport(bare as never, specs);
  assertEquals(recomputed.runs[0].summarySource, "analysis");
  // (The fixture keeps the first 980 sessions of a longer run.)
  const rows = recomputed.runs[0].summary;
  assertEquals(
    rows.reduce((n, r) => n + Number(r.sessions), 0),
    run.sessions.height,
  );
  assertEquals(
    [rows[0].client, rows[0].pool_size, rows[0].sessions],
    [recorded[0].client, recorded[0].pool_size, recorded[0].sessions],
  );
  assert(
    Math.abs(Number(rows[0].total_p50_ms) - Number(recorded[0].total_p50_ms)) <
      0.01,
  );

  // 2. Later fields: intervals beside the median, a server profile and
  // negotiated algorithms in the provenance, without code that knows them.
  const later = {
    ...meta,
    server_profile: "lean",
    negotiated: {
      ssh2: { kex: "curve25519-sha256", cipher: "aes128-gcm@openssh.com" },
    },
    summary: recorded.map((r) => ({
      ...r,
      total_p50_ci_low_ms: Number(r.total_p50_ms) - 1,
      total_p50_ci_high_ms: Number(r.total_p50_ms) + 2,
      machine_cpu_ms_per_session: 3.25,
    })),
  };
  const report = buildReport({ ...run, metas: [later] } as never, specs);
  const key = report.runs[0].key;
  const median = key.columns.findIndex((c) => c.key === "total_p50_ms");
  const p50 = Number(recorded[0].total_p50_ms);
  assertEquals(
    key.rows[0][median],
    `${p50.toFixed(1)} [${(p50 - 1).toFixed(1)}, ${(p50 + 2).toFixed(1)}]`,
  );
  assert(!key.columns.some((c) => c.key.includes("_ci_")), "no own columns");
  assert(key.columns.some((c) => c.key === "machine_cpu_ms_per_session"));
  const titles = report.runs[0].provenance.map((s) => s.title);
  assert(titles.includes("Server profile"), titles.join());
  assert(titles.includes("Negotiated algorithms"), titles.join());
  const md = reportMarkdown(report);
  assert(md.includes("- **kex**: curve25519-sha256"));
  assert(md.includes("In brackets: the interval"));
  const html = reportHtml(report, []);
  assert(html.includes("aes128-gcm@openssh.com"));
});

Deno.test({
  name:
    "report: in headless Chromium the page draws every chart, shows tooltips, logs no error and requests nothing",
  // puppeteer keeps its socket and timers to itself; the browser is closed
  // and its profile removed in withChromium's finally.
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const { dir, html } = await sampleReport();
  const shot = `${dir}/report.png`;
  const chartShot = `${dir}/report-${SHOT_CHART}.png`;
  const probe = `${dir}/probe.html`;
  await Deno.writeTextFile(
    probe,
    `<!DOCTYPE html><title>probe</title><img src="http://192.0.2.1/x.png"><script src="https://cdn.example/vega.js"></script>`,
  );
  await withChromium(async (browser) => {
    // The interception works: a page that reaches out is caught.
    const caught = await inspectPage(browser, probe, { charts: false });
    assertEquals(caught.blocked.sort(), [
      "http://192.0.2.1/x.png",
      "https://cdn.example/vega.js",
    ]);

    // The code's report of the sample run, and the committed one.
    for (const page of [html, `${SAMPLE_DIR}/report.html`]) {
      const check = await inspectPage(browser, page, {
        screenshot: page === html ? shot : undefined,
        chartShot: page === html
          ? { chart: SHOT_CHART, path: chartShot }
          : undefined,
      });
      assertEquals(check.blocked, [], `${page}: network requests`);
      assertEquals(check.errors, [], `${page}: console errors`);
      assertEquals(check.state, "rendered");
      // The committed page: the charts it was rendered with.
      const charts = page === html ? SAMPLE_CHARTS : [
        ...(await Deno.readTextFile(page)).matchAll(
          /<div class="chart" id="chart-([\w-]+)"/g,
        ),
      ].map((m) => m[1]);
      assertEquals(Object.keys(check.marks), charts);
      for (const [name, n] of Object.entries(check.marks)) {
        assert(n > 0, `${page}: ${name} drew no marks`);
      }
      // Every chart with points shows a tooltip with the values on hover.
      assertEquals(Object.keys(check.tooltips), [
        "comparison-time",
        "comparison-pool",
        "scaling",
        "efficiency",
      ]);
      for (const [name, text] of Object.entries(check.tooltips)) {
        assert(/\d/.test(text), `${page}: ${name} tooltip: "${text}"`);
      }
      assert(/client\s+\w+/.test(check.tooltips["comparison-pool"]));
      assert(/ok\s+\d+/.test(check.tooltips["comparison-pool"]));
      if (page !== html) continue; // drawn by the code of its time
      // The page's screenshot reaches down through the first chart with
      // bands (comparison-pool), so it shows them; that chart's own PNG
      // is its figure.
      assertEquals(check.screenshotExtent?.chart, SHOT_CHART);
      assert(
        check.screenshotExtent!.height >= check.screenshotExtent!.chartBottom,
      );
      assertEquals(
        pngSize(await Deno.readFile(shot)).height,
        check.screenshotExtent!.height,
      );
      const alone = pngSize(await Deno.readFile(chartShot));
      assert(check.chartShot && check.chartShot.width > 400, "a chart's width");
      assert(Math.abs(alone.width - check.chartShot.width) <= 1);
      assert(Math.abs(alone.height - check.chartShot.height) <= 1);
      // The interval bands are drawn faint (0.18) under their lines, not
      // opaque over them; the legend symbols at full strength.
      const pool = check.opacities["comparison-pool"];
      assert(pool, Object.keys(check.opacities).join());
      const bands = Object.values(pool.shown.bands).flat();
      assert(bands.length > 0);
      assertEquals([...new Set(bands)], [0.18]);
      assertEquals([...new Set(Object.values(pool.shown.lines).flat())], [1]);
      assertEquals(
        Object.keys(pool.shown.legend).length,
        JSON.parse(Deno.readTextFileSync(`${SAMPLE_DIR}/meta.json`))
          .parameters.clients.length,
      );
      assertEquals([...new Set(Object.values(pool.shown.legend))], [1]);
      // A click on the first legend entry (ssh2): its band keeps 0.18, its
      // line 1; the others fade further.
      const { clicked } = pool;
      assertEquals([...new Set(clicked.bands.ssh2)], [0.18]);
      assertEquals([...new Set(clicked.lines.ssh2)], [1]);
      for (const [series, ops] of Object.entries(clicked.bands)) {
        if (series === "ssh2") continue;
        for (const o of ops) assert(o < 0.18, `${series} band ${o}`);
        for (const o of clicked.lines[series]) assert(o < 1, `${series} line`);
      }
      assertEquals(clicked.legend.ssh2, 1);
      // The key figures' interval cells each on one line.
      assert(check.keyCellLines.length >= 10, `${check.keyCellLines.length}`);
      assertEquals([...new Set(check.keyCellLines)], [1]);
    }
  });
  const png = await Deno.readFile(shot);
  assert(isPng(png), "screenshot is a PNG");
  assert(isPng(await Deno.readFile(chartShot)), "the chart's is a PNG");
});

Deno.test("report: the committed screenshot of the sample report is a small PNG", async () => {
  const png = await Deno.readFile(`${SAMPLE_DIR}/report.png`);
  assert(isPng(png));
  // The page from its top through the comparison-pool chart: about
  // 1100 x 2750 px, 0.5 MB.
  assert(png.length < 640 * 1024, `${png.length} bytes`);
  // Width 1100 px (IHDR), as written by tests/report_browser.ts.
  assertEquals(pngSize(png).width, 1100);
});
