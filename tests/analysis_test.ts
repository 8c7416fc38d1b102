/**
 * Statistics and charts on a small hand-checked fixture.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { fixture } from "./fixture.ts";
import { loadRuns } from "../src/analysis/load.ts";
import {
  failureRates,
  intervalMedians,
  poolStats,
  roundStats,
  withComposites,
} from "../src/analysis/stats.ts";
import {
  analyse,
  CHART_NAMES,
  chartsLeftOut,
  chartSpecs,
  intervalFor,
  renderRun,
} from "../src/analysis/analyse.ts";
import { colorScale, type Spec } from "../src/analysis/charts/mod.ts";
import { toSvg } from "../src/analysis/chart_render.ts";
import { chartsFor } from "../src/cli/charts.ts";
import { UsageError } from "../src/util/errors.ts";
import pl, { type DataFrame } from "nodejs-polars";
import * as vega from "vega";
import { compile } from "vega-lite";
import { Resvg } from "@resvg/resvg-js";

// deno-lint-ignore no-explicit-any
type Rec = Record<string, any>;
const recs = (df: DataFrame): Rec[] => df.toRecords() as Rec[];

const DIR = fixture();
const RUN = loadRuns([DIR]);

Deno.test("analysis: typed load, nulls for phases not reached", () => {
  const s = RUN.sessions;
  assertEquals(s.height, 8);
  assertEquals(String(s.getColumn("pool_size").dtype), "DataType(Int64)");
  assertEquals(String(s.getColumn("auth_ms").dtype), "DataType(Float64)");
  const failed = s.filter(pl.col("status").eq(pl.lit("auth_error")));
  assertEquals(failed.getColumn("auth_ms").toArray(), [null]);
  assertEquals(failed.getColumn("error").toArray(), [
    'auth: refused, "really"',
  ]);
  assertEquals(s.getColumn("series").toArray()[0], "ssh2");
});

Deno.test("analysis: composites per session", () => {
  const c = withComposites(RUN.sessions);
  const rows = recs(c);
  assertEquals(rows[0].commands_start_ms, 6);
  assertEquals(rows[0].commands_end_ms, 0);
  assertEquals(rows[0].channel_read_ms, 4);
  assertEquals(rows[3].commands_start_ms, null); // failed: auth not reached
});

Deno.test("analysis: interval boundaries, even-count medians, failures counted", () => {
  const t = recs(intervalMedians(RUN.sessions, 5000));
  const ssh2 = t.filter((r) => r.series === "ssh2");
  assertEquals(ssh2.map((r) => r.interval), [0, 1, 2]);
  assertEquals(ssh2.map((r) => r.interval_start_s), [0, 5, 10]);
  assertEquals(ssh2.map((r) => r.total_ms), [15, 35, 60]);
  assertEquals(ssh2.map((r) => r.ok), [2, 2, 2]);
  assertEquals(ssh2.map((r) => r.failed), [0, 1, 0]);
  assertEquals(ssh2.map((r) => r.pool_max), [1, 1, 2]);
  assertEquals(ssh2[1].commands_end_ms, 25); // close = total - 10 of 30, 40
  const lib = t.filter((r) => r.series === "libssh2");
  assertEquals(lib.map((r) => [r.interval, r.total_ms]), [[2, 15]]);
  // A 10 s interval puts everything of ssh2 pool 1 together.
  const t10 = recs(intervalMedians(RUN.sessions, 10_000));
  assertEquals(t10.filter((r) => r.series === "ssh2")[0].total_ms, 25);
});

Deno.test("analysis: per-pool percentiles and failure rates", () => {
  const p = recs(poolStats(RUN.sessions));
  const p1 = p.find((r) => r.series === "ssh2" && r.pool_size === 1)!;
  assertEquals([p1.sessions, p1.ok, p1.failed], [5, 4, 1]);
  assertEquals(p1.failure_rate, 0.2);
  assertEquals(p1.total_p50_ms, 25);
  assertEquals(Math.round(p1.total_p90_ms * 1000) / 1000, 37);
  assertEquals(Math.round(p1.total_p99_ms * 1000) / 1000, 39.7);
  assertEquals(p1.connect_p50_ms, 1);
  const f = recs(failureRates(RUN.sessions));
  assertEquals(f.length, 1);
  assertEquals([
    f[0].series,
    f[0].pool_size,
    f[0].status,
    f[0].count,
    f[0].rate,
  ], [
    "ssh2",
    1,
    "auth_error",
    1,
    0.2,
  ]);
});

Deno.test("analysis: per-round cost and all-hosts time", () => {
  const r = recs(roundStats(RUN.sessions, RUN.rounds));
  const p2 = r.find((x) => x.series === "ssh2" && x.pool_size === 2)!;
  assertEquals(p2.all_hosts_p50_ms, 70); // the slowest session of the round
  assertEquals(p2.client_cpu_ms_per_session, 10);
  assertEquals(p2.server_cpu_ms_per_session, 30);
  assertEquals(p2.sessions_per_s, 20);
  const p1 = r.find((x) => x.series === "ssh2" && x.pool_size === 1)!;
  assertEquals([p1.rounds, p1.sessions, p1.client_cpu_ms_per_session], [
    5,
    5,
    10,
  ]);
  assertEquals(p1.all_hosts_p50_ms, 20); // median of 10, 20, 30, 5, 40
  const lib = r.find((x) => x.series === "libssh2")!;
  assertEquals(lib.server_cpu_ms_per_session, null);
});

/** The charts a run with one host and no emulated RTT has. */
const ONE_HOST_CHARTS = CHART_NAMES.filter((n) => n !== "rtt" && n !== "hosts");

Deno.test("charts: six specs, consistent colours, SVG and PNG files", async () => {
  const specs = chartSpecs(analyse(RUN), RUN.metas[0]);
  assertEquals(Object.keys(specs), ONE_HOST_CHARTS);
  const scale = colorScale(["libssh2", "ssh2"]);
  assertEquals(scale.domain, ["ssh2", "libssh2"]);
  assertEquals(
    JSON.stringify(specs["comparison-pool"]).includes(JSON.stringify(scale)),
    true,
  );
  assertEquals(
    JSON.stringify(specs.efficiency).includes(JSON.stringify(scale)),
    true,
  );
  assert(JSON.stringify(specs["comparison-time"]).includes("2 cores Test CPU"));
  const out = `${DIR}/charts`;
  const files = await renderRun(RUN, out);
  assertEquals(files.length, ONE_HOST_CHARTS.length);
  for (const f of files) {
    const svg = Deno.readTextFileSync(f.svg);
    assert(svg.startsWith("<svg") && svg.includes("</svg>"));
    const png = Deno.readFileSync(f.png);
    assertEquals(
      [...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""),
      "PNG",
    );
    const spec = JSON.parse(Deno.readTextFileSync(f.spec));
    assert(spec.$schema.includes("vega-lite"));
  }
  const failures = Deno.readTextFileSync(`${out}/failures.svg`);
  assert(failures.includes("auth_error"));
});

Deno.test("charts: a run without failures leaves the failures chart out, and says why", () => {
  const clean = RUN.sessions.filter(pl.col("status").eq(pl.lit("ok")));
  const a = analyse({ ...RUN, sessions: clean });
  assertEquals(a.failures.height, 0);
  assertEquals(chartSpecs(a, {}).failures, undefined);
  const why = chartsLeftOut(a).find((c) => c.name === "failures");
  assertEquals(why?.reason, "no session failed (all 7 sessions ended ok)");
});

Deno.test("analysis: a folder that is not a run is a one-line UsageError", () => {
  const empty = Deno.makeTempDirSync();
  try {
    assertThrows(
      () => loadRuns([empty]),
      (e: unknown) =>
        e instanceof UsageError && e.message.includes("not found"),
    );
    Deno.writeTextFileSync(`${empty}/sessions.csv`, "a,b\n1,2\n");
    assertThrows(
      () => loadRuns([empty]),
      (e: unknown) =>
        e instanceof UsageError && e.message.includes("unexpected header"),
    );
  } finally {
    Deno.removeSync(empty, { recursive: true });
  }
});

Deno.test("bench:analysis synthetic run has exactly the sessions asked for", async () => {
  const { syntheticRun } = await import("../src/selfbench/synthetic.ts");
  const dir = await syntheticRun(1001);
  try {
    const run = loadRuns([dir]);
    assertEquals(run.sessions.height, 1001);
    const counted = run.rounds.getColumn("ok").sum() +
      run.rounds.getColumn("failed").sum();
    assertEquals(counted, 1001);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("analysis: several runs compare as one series per client and run", async () => {
  const other = fixture("second");
  try {
    const both = loadRuns([DIR, other]);
    assertEquals(both.sessions.height, 16);
    const series = [...new Set(both.sessions.getColumn("series").toArray())]
      .sort();
    assertEquals(series, [
      "libssh2 (fixture)",
      "libssh2 (second)",
      "ssh2 (fixture)",
      "ssh2 (second)",
    ]);
    const pools = recs(poolStats(both.sessions));
    assertEquals(pools.length, 6);
    const files = await renderRun(both, `${other}/charts`);
    assertEquals(files.length, ONE_HOST_CHARTS.length);
    const scale = colorScale(series as string[]);
    assertEquals(new Set(scale.range).size, 4); // four distinct colours
  } finally {
    Deno.removeSync(other, { recursive: true });
  }
});

const SEED = new URL("../data/runs/sample-seed", import.meta.url).pathname;
const SEED_RUN = loadRuns([SEED]);
const SEED_SPECS = chartSpecs(analyse(SEED_RUN), SEED_RUN.metas[0]);

/** One mark of a headless vega scenegraph, as far as these tests read it. */
interface SceneMark {
  marktype: string;
  role?: string;
  items: {
    opacity?: number;
    text?: string;
    datum?: Rec;
    items?: SceneMark[];
  }[];
}

/** Every mark of a spec rendered headless, with the axis it is part of. */
async function sceneMarks(spec: Spec): Promise<SceneMark[]> {
  // deno-lint-ignore no-explicit-any
  const view = new vega.View(vega.parse(compile(spec as any).spec), {
    renderer: "none",
  });
  try {
    await view.runAsync();
    const out: SceneMark[] = [];
    const walk = (m: SceneMark) => {
      out.push(m);
      for (const item of m.items ?? []) {
        for (const child of item.items ?? []) walk(child);
      }
    };
    walk(
      (view.scenegraph() as unknown as { root: SceneMark }).root,
    );
    return out;
  } finally {
    view.finalize();
  }
}

/** The opacity an item is drawn with (vega's default is 1). */
const drawn = (i: { opacity?: number }) => i.opacity ?? 1;

Deno.test("charts: interval bands stay faint and legend symbols full strength in the static render", async () => {
  const marks = await sceneMarks(SEED_SPECS["comparison-pool"]!);
  const bands = marks.filter((m) => m.marktype === "area" && m.role === "mark")
    .flatMap((m) => m.items);
  assert(bands.length > 0, "the chart has interval bands");
  assertEquals([...new Set(bands.map(drawn))], [0.18]);
  const symbols = marks.filter((m) => m.role === "legend-symbol")
    .flatMap((m) => m.items);
  assertEquals(
    symbols.length,
    SEED_RUN.metas[0].parameters!.clients!.length,
    "one legend entry per client",
  );
  assertEquals([...new Set(symbols.map(drawn))], [1]);
});

/** Labels of each axis of a spec rendered headless, by the axis' title. */
async function axisLabels(spec: Spec): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (
    const axis of (await sceneMarks(spec)).filter((m) => m.role === "axis")
  ) {
    const inner = axis.items.flatMap((i) => i.items ?? []);
    const title = inner.find((m) => m.role === "axis-title")?.items[0]?.text;
    const labels = inner.filter((m) => m.role === "axis-label")
      .flatMap((m) => m.items.map((i) => String(i.text)));
    if (title) out.set(title, [...(out.get(title) ?? []), ...labels]);
  }
  return out;
}

Deno.test("charts: pool-size axes have whole-number ticks only", async () => {
  // The fixture's pools are 1 and 2: ticks 1.0, 1.2, ... without the fix.
  const specs = chartSpecs(analyse(RUN), RUN.metas[0]);
  let checked = 0;
  for (const name of ["comparison-pool", "scaling", "efficiency", "failures"]) {
    const axes = await axisLabels(specs[name as keyof typeof specs]!);
    const labels = axes.get("pool size (concurrent sessions)");
    assert(labels?.length, `${name}: a pool-size axis`);
    for (const l of labels) assert(/^\d+$/.test(l), `${name}: tick "${l}"`);
    checked++;
  }
  assertEquals(checked, 4);
});

/** Where the drawn content of an SVG ends, from resvg's bounding box. */
function contentRight(svg: string): number {
  const noBackground = svg.replace(
    /<rect width="[\d.]+" height="[\d.]+" fill="white"\/>/,
    "",
  );
  const box = new Resvg(noBackground, {
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  }).getBBox();
  assert(box, "something is drawn");
  return box.x + box.width;
}

Deno.test("charts: the SVG is as wide as what it shows, and names its font with fallbacks", async () => {
  for (const name of ["efficiency", "comparison-pool", "scaling"] as const) {
    // The chart alone: its caption is wrapped to whatever width it has.
    const svg = await toSvg(SEED_SPECS[name]!, { caption: false });
    const width = Number(/^<svg [^>]*width="([\d.]+)"/.exec(svg)?.[1]);
    const right = contentRight(svg);
    // The chart's 12 px padding, and a little for the width estimate.
    assert(
      width - right <= 30,
      `${name}: ${width} px wide, content ends at ${right.toFixed(0)} px`,
    );
    // The caption under it does not widen it.
    const captioned = await toSvg(SEED_SPECS[name]!);
    assertEquals(
      Number(/^<svg [^>]*width="([\d.]+)"/.exec(captioned)?.[1]),
      width,
    );
    const fonts = [...captioned.matchAll(/font-family="([^"]*)"/g)].map((m) =>
      m[1]
    );
    assert(fonts.length > 10, `${name}: ${fonts.length} fonts named`);
    assertEquals(
      [...new Set(fonts)],
      ["DejaVu Sans, Helvetica, Arial, sans-serif"],
      `${name}: font stack`,
    );
  }
  // Where text is the widest part: laid out with the font's own widths,
  // not vega's canvas-free guess of 0.8 em a character.
  const titled = await toSvg({
    title: "Median total per session at each pool size",
    data: { values: [{ x: 1 }] },
    mark: "point",
    encoding: { x: { field: "x", type: "quantitative" } },
    width: 40,
    height: 20,
    padding: 12,
  });
  const width = Number(/^<svg [^>]*width="([\d.]+)"/.exec(titled)?.[1]);
  assert(width - contentRight(titled) <= 20, `${width} px wide`);
  // A legend of many series (the RTT run: 5 clients x 4 RTTs) wraps into
  // rows of six instead of one row 2,400 px wide.
  const rtt = loadRuns([
    new URL("../data/runs/sample-rtt", import.meta.url).pathname,
  ]);
  const wide = await toSvg(
    chartSpecs(analyse(rtt), rtt.metas[0])["comparison-pool"]!,
    { caption: false },
  );
  const wideWidth = Number(/^<svg [^>]*width="([\d.]+)"/.exec(wide)?.[1]);
  assert(wideWidth < 1000, `${wideWidth} px wide`);
});

Deno.test("charts: a title, one short subtitle, and the provenance as a caption under the chart", async () => {
  const provenance = SEED_RUN.metas[0].versions!.clients!.ssh2;
  for (const [name, spec] of Object.entries(SEED_SPECS)) {
    assertEquals(typeof spec!.title.subtitle, "string", `${name}: one line`);
    assert(
      spec!.title.subtitle.length <= 100,
      `${name}: ${spec!.title.subtitle}`,
    );
    assert(
      spec!.title.subtitle.endsWith("; embedded Go server, loopback, 2 cores"),
      `${name}: where: ${spec!.title.subtitle}`,
    );
    assert(!JSON.stringify(spec!.title).includes("kex"), `${name}: no kex`);
    // The full provenance stays in the spec, and ends the SVG.
    const caption = spec!.usermeta.caption;
    assert(caption.provenance.some((l: string) => l.startsWith("kex: ")));
    assert(
      caption.provenance.some((l: string) => l.includes(`ssh2 ${provenance}`)),
    );
  }
  const svg = await toSvg(SEED_SPECS.efficiency!);
  const footer = /<g class="caption"[^>]*>(.*)<\/g><\/svg>$/.exec(svg)?.[1] ??
    "";
  assert(footer.includes("cipher: aes128-gcm@openssh.com (ssh2"), footer);
  assert(footer.includes("CPU time (user + system) per session"), footer);
  // Under the chart: below every mark vega drew.
  const chartHeight = Number(
    /^<svg [^>]*height="([\d.]+)"/.exec(
      await toSvg(SEED_SPECS.efficiency!, {
        caption: false,
      }),
    )?.[1],
  );
  const firstLine = Number(
    /<g class="caption"[^>]*><text x="[\d.]+" y="([\d.]+)"/.exec(svg)?.[1],
  );
  assert(firstLine > chartHeight - 12, `${firstLine} vs ${chartHeight}`);
});

Deno.test("charts: no chart drawn empty; stale ones removed; rtt and hosts only when the run has them", async () => {
  const out = await Deno.makeTempDir();
  try {
    // Files of an earlier rendering, and a file that is not a chart.
    for (
      const f of ["rtt.png", "rtt.svg", "rtt.vl.json", "hosts.png", "notes.txt"]
    ) {
      await Deno.writeTextFile(`${out}/${f}`, "old");
    }
    const { files, leftOut } = await chartsFor([DIR], { out });
    assertEquals(
      files.map((f) => f.png),
      ONE_HOST_CHARTS.map((n) => `${out}/${n}.png`),
    );
    assertEquals(leftOut.map((c) => c.name), ["rtt", "hosts"]);
    const left = (await Array.fromAsync(Deno.readDir(out), (e) => e.name))
      .filter((n) => /^(rtt|hosts)\.|notes/.test(n));
    assertEquals(left, ["notes.txt"]);
    const rtt = new URL("../data/runs/sample-rtt", import.meta.url).pathname;
    const fleet =
      new URL("../data/runs/sample-fleet", import.meta.url).pathname;
    const rttRun = loadRuns([rtt]);
    assert(chartSpecs(analyse(rttRun), rttRun.metas[0]).rtt);
    const fleetRun = loadRuns([fleet]);
    assert(chartSpecs(analyse(fleetRun), fleetRun.metas[0]).hosts);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("charts: the time chart's interval follows the run's length", async () => {
  // The seed run's first 20 s as a run of its own: 1 s intervals, not
  // four 5 s points.
  const start = Date.parse(String(SEED_RUN.metas[0].started_at));
  const short = {
    ...SEED_RUN,
    sessions: SEED_RUN.sessions.filter(pl.col("started_at_ms").lt(20_000)),
    metas: [{
      ...SEED_RUN.metas[0],
      ended_at: new Date(start + 20_000).toISOString(),
    }],
  };
  const picked = intervalFor(short);
  assertEquals(picked, { intervalMs: 1000, runSeconds: 20 });
  const spec = chartSpecs(
    analyse(short, picked.intervalMs),
    short.metas[0],
    picked.intervalMs,
    picked.runSeconds,
  )["comparison-time"]!;
  assertEquals(
    spec.title.text,
    "SSH clients compared: median per 1-second interval",
  );
  assert(/picked for this 20 s run/.test(spec.usermeta.caption.note));
  const starts = new Set(
    spec.vconcat[0].data.values.map((v: Rec) => v.interval_start_s),
  );
  // (The first sessions start after the calibration, at about 2 s.)
  assert(starts.size >= 15, `${starts.size} intervals`);
  // Long enough: 5 s, as the seed run's charts have.
  assertEquals(intervalFor(SEED_RUN).intervalMs, 5000);

  // deno task charts picks it (the fixture: no end recorded, its last
  // session starts at 12 s), unless --interval says otherwise.
  const out = await Deno.makeTempDir();
  try {
    const timeSpec = async () =>
      JSON.parse(await Deno.readTextFile(`${out}/comparison-time.vl.json`));
    await chartsFor([DIR], { out });
    const auto = await timeSpec();
    assertEquals(
      auto.title.text,
      "SSH clients compared: median per 0.5-second interval",
    );
    assert(/picked for this 12 s run/.test(auto.usermeta.caption.note));
    await chartsFor([DIR], { out, intervalMs: 5000 });
    const given = await timeSpec();
    assertEquals(
      given.title.text,
      "SSH clients compared: median per 5-second interval",
    );
    assert(!/picked/.test(given.usermeta.caption.note));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
