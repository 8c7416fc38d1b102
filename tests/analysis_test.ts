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
  chartSpecs,
  renderRun,
} from "../src/analysis/analyse.ts";
import { colorScale } from "../src/analysis/chart_specs.ts";
import { toPng, toSvg } from "../src/analysis/chart_render.ts";
import { UsageError } from "../src/util/errors.ts";
import pl, { type DataFrame } from "nodejs-polars";

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

Deno.test("charts: five specs, consistent colours, SVG and PNG files", async () => {
  const specs = chartSpecs(analyse(RUN), RUN.metas[0]);
  assertEquals(Object.keys(specs), [...CHART_NAMES]);
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
  assertEquals(files.length, CHART_NAMES.length);
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

Deno.test("charts: a run without failures still has a valid failures chart", async () => {
  const clean = RUN.sessions.filter(pl.col("status").eq(pl.lit("ok")));
  const a = analyse({ ...RUN, sessions: clean });
  assertEquals(a.failures.height, 0);
  const svg = await toSvg(chartSpecs(a, {}).failures!);
  assert(svg.includes("no failed sessions"));
  assert(toPng(svg).length > 1000);
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
    assertEquals(files.length, CHART_NAMES.length);
    const scale = colorScale(series as string[]);
    assertEquals(new Set(scale.range).size, 4); // four distinct colours
  } finally {
    Deno.removeSync(other, { recursive: true });
  }
});
