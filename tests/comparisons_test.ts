/**
 * Comparisons that hold up in print: one rule calls a difference in every
 * table (the printed 95 % interval leaves out no change; `~` exactly
 * where it does not), the summary's CPU attribution is never negative,
 * the terminal summary fits 100 columns, `deno task compare --format
 * json` carries the table's rows and values, and the progress bar moves
 * with each session. Only the APIs that existed before these changes are
 * called (through `as never` where their types grew), so each test also
 * runs against the old code and fails there.
 */
import { assert, assertEquals } from "./assert.ts";
import { FAKE_TARGET, FakeClient, MemorySink } from "./helpers.ts";
import {
  costWarnings,
  formatSummary,
  summarize,
  type SummaryRow,
} from "../src/run/summary.ts";
import { readRecord } from "../src/run/record.ts";
import {
  compareValues,
  formatComparison,
  METRIC_LABELS,
  type RunValues,
} from "../src/analysis/run_comparison.ts";
import { readNoiseModel } from "../src/analysis/run_noise.ts";
import { compareRuns } from "../src/cli/compare.ts";
import { seededRandom } from "../src/util/inference.ts";
import { Progress } from "../src/run/progress.ts";
import { runStages } from "../src/run/stages.ts";
import { InProcessRunner } from "../src/clients/runner.ts";

const here = (p: string) => new URL(p, import.meta.url).pathname;

/** A step result of `client` at pool 4 from per-round totals. */
function step(client: string, totals: number[][]) {
  return {
    client,
    pool: 4,
    rounds: totals.length,
    sessions: totals.flat().length,
    ok: totals.flat().length,
    failures: {},
    okTotals: totals.flat(),
    okRounds: totals.map((r) => r.map((total_ms) => ({ total_ms }))),
    roundWalls: totals.map((r) => Math.max(...r)),
    clientCpuMs: 8,
    serverCpuMs: 30,
    machineCpuMs: 45,
    machineWindowMs: 25,
    wallMs: 20,
    maxRssMb: 60,
  };
}

/**
 * Synthetic pairs of clients: unimodal at many separations, the reported
 * bimodal shape (a client whose sessions stall about half of the time
 * against a steady best; Mann-Whitney on round medians says different
 * while the interval of the medians' ratio reaches 1), and too few rounds.
 */
function syntheticCases(): { best: number[][]; other: number[][] }[] {
  const out: { best: number[][]; other: number[][] }[] = [];
  for (let seed = 1; seed <= 240; seed++) {
    const rnd = seededRandom(seed);
    const shape = seed % 3;
    const n = shape === 2 ? 2 + (seed % 2) : 6 + Math.floor(rnd() * 14);
    const best = Array.from(
      { length: n },
      () => Array.from({ length: 4 }, () => 41 + rnd() * 3),
    );
    const gap = (seed % 20) * 0.01;
    const stall = 0.45 + rnd() * 0.15;
    const other = Array.from(
      { length: n },
      () =>
        Array.from(
          { length: 4 },
          () =>
            shape === 1
              ? (rnd() < stall ? 80 : 38) + rnd() * 3
              : (41 + rnd() * 3) * (1 + gap + rnd() * 0.05),
        ),
    );
    out.push({ best, other });
  }
  return out;
}

const VS_BEST = /(\d+\.\d\d)x(?: \[(\d+\.\d\d), (\d+\.\d\d)\])?( ~)?/;

Deno.test("summary: ~ appears exactly where the printed vs-best interval includes 1.00x (the reported 1.85x [0.90, 1.94], p = 0.029 shape included)", () => {
  let disagree = 0;
  let called = 0;
  let few = 0;
  for (const { best, other } of syntheticCases()) {
    const rows = summarize(
      [step("best", best), step("other", other)] as never,
      2,
    );
    const row = rows.find((r) => r.client === "other")!;
    if (row.total_vs_best_x === 1) continue; // the other came out best
    const line = formatSummary(rows).split("\n").find((l) =>
      l.startsWith("other ")
    )!;
    const m = VS_BEST.exec(line);
    assert(m, line);
    const tilde = m[4] !== undefined;
    if (m[2] === undefined) {
      // No interval printed (fewer than 4 rounds a side): nothing called.
      assert(tilde, line);
      few++;
      continue;
    }
    const includes = Number(m[2]) <= 1 && 1 <= Number(m[3]);
    assertEquals(tilde, includes, line);
    if (!tilde) called++;
    if (includes && row.total_vs_best_p_value < 0.05) disagree++;
  }
  // The cases cover each branch, the test's disagreement among them.
  assert(
    disagree >= 5,
    `only ${disagree} cases where p < 0.05 and the interval includes 1`,
  );
  assert(called >= 20 && few >= 20, `${called} called, ${few} with few rounds`);
});

Deno.test("summary: the reported case prints ~ whatever its p-value", () => {
  // 1.89x [0.96, 1.92] with p = 0.004: the sessions of one client stall
  // about half the time, and resampled rounds move its median between modes.
  const rnd = seededRandom(2);
  const n = 8 + Math.floor(rnd() * 10); // 15
  const best = Array.from(
    { length: n },
    () => Array.from({ length: 4 }, () => 41 + rnd() * 3),
  );
  const stall = 0.45 + rnd() * 0.15; // 0.50
  const other = Array.from(
    { length: n },
    () =>
      Array.from({ length: 4 }, () => (rnd() < stall ? 80 : 38) + rnd() * 3),
  );
  const rows = summarize(
    [step("best", best), step("other", other)] as never,
    2,
  );
  const o = rows.find((r) => r.client === "other")!;
  assert(o.total_vs_best_p_value < 0.05, String(o.total_vs_best_p_value));
  assert(o.total_vs_best_ci_low_x <= 1, String(o.total_vs_best_ci_low_x));
  const line = formatSummary(rows).split("\n").find((l) =>
    l.startsWith("other ")
  )!;
  assert(/\d\.\d\dx \[\d\.\d\d, \d\.\d\d\] ~/.test(line), line);
});

/** One run's values of `ssh2` at pool 8: total_ms rounds. */
function values(rounds: number[][]): RunValues {
  return new Map([["ssh2|8", new Map([["total_ms", rounds]])]]) as never;
}

Deno.test("compare: ~ appears exactly where the printed change interval includes 0.0 %", () => {
  let called = 0;
  let notCalled = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const rnd = seededRandom(seed);
    const n = 4 + Math.floor(rnd() * 12);
    const shift = 1 + (seed % 15) * 0.004;
    const bimodal = seed % 4 === 0;
    const a = Array.from(
      { length: n },
      () => Array.from({ length: 3 }, () => 100 + rnd() * 4),
    );
    const b = Array.from(
      { length: n },
      () =>
        Array.from(
          { length: 3 },
          () =>
            bimodal
              ? (rnd() < 0.5 ? 190 : 95) + rnd() * 4
              : (100 + rnd() * 4) * shift,
        ),
    );
    const text = formatComparison(
      compareValues(values(a), values(b)),
      ["a", "b"],
      "table",
      0,
    );
    const line = text.split("\n").find((l) => l.startsWith("ssh2"))!;
    const m = /(~ )?\(?([+-]\d+\.\d)%\)?\s+\[([+-]\d+\.\d), ([+-]\d+\.\d)\]/
      .exec(line);
    assert(m, line);
    const includes = Number(m[3]) <= 0 && 0 <= Number(m[4]);
    assertEquals(m[1] !== undefined, includes, line);
    if (includes) notCalled++;
    else called++;
  }
  assert(called >= 20 && notCalled >= 20, `${called} called, ${notCalled} not`);
});

Deno.test("summary: unattributed CPU is never negative; where the tick-counted machine fell short, a note says so", () => {
  // libssh2 at pool 4 in the report: machine 13.25, client 1.99, server 12.47 ms/session.
  const s = {
    ...step("libssh2", [[70, 71, 72, 73], [70, 71, 72, 74]]),
    clientCpuMs: 1.99 * 8,
    serverCpuMs: 12.47 * 8,
    machineCpuMs: 13.25 * 8,
  };
  const [row] = summarize([s] as never, 2);
  assertEquals(row.unattributed_cpu_ms_per_session, 0);
  const note = costWarnings([row]).find((w) => w.startsWith("note:"));
  assert(note?.includes("libssh2 at pool 4 (-1.21 ms/session)"), String(note));
});

Deno.test("summary: the terminal summary fits 100 columns (and says what it left out)", () => {
  for (const run of ["sample-seed", "sample-rtt", "sample-fleet"]) {
    const rows = readRecord(here(`../data/runs/${run}`))!.summary!;
    const text = formatSummary(rows as SummaryRow[]);
    const wide = text.split("\n").filter((l) => l.length > 100);
    assertEquals(wide, [], `${run}: ${wide.length} lines over 100 columns`);
    assert(text.includes("summary.csv"), text);
  }
});

/** A table cell's numbers with the decimals each was printed with. */
function printed(cell: string): { v: number; d: number }[] {
  return [...cell.matchAll(/[+-]?\d+(?:\.(\d+))?/g)].map((m) => ({
    v: Number(m[0]),
    d: m[1]?.length ?? 0,
  }));
}

/** `json` rounds to `p` as printed. */
function same(json: number | null, p: { v: number; d: number }): boolean {
  return json !== null && Math.abs(json - p.v) <= 0.5 * 10 ** -p.d + 1e-9;
}

Deno.test("compare: --format json has the table's rows and values", () => {
  const dirs = [1, 2].map((i) => here(`../data/runs/sample-noise-go-${i}`));
  const model = readNoiseModel(here("../data/noise.json"));
  for (const options of [{}, { model }]) {
    const table = compareRuns(dirs, "table", options).split("\n");
    const json = JSON.parse(compareRuns(dirs, "json" as never, options));
    const head = table.findIndex((l) => l.startsWith("client "));
    const lines = table.slice(head + 1, table.indexOf("", head));
    const rows = json.comparisons[0].rows;
    assertEquals(rows.length, lines.length);
    assert(rows.length > 0);
    assertEquals(json.warnings, table.slice(0, head - 1).filter(Boolean));
    lines.forEach((line: string, i: number) => {
      const cells = line.split(/ {2,}/);
      const r = rows[i];
      assertEquals([cells[0], Number(cells[1])], [r.client, r.pool_size]);
      assertEquals(
        cells[2],
        METRIC_LABELS[r.metric as keyof typeof METRIC_LABELS],
      );
      for (const [cell, side] of [[cells[3], r.a], [cells[4], r.b]]) {
        const [m, lo, hi] = printed(cell);
        assert(
          same(side.median, m) && same(side.ci_low, lo) &&
            same(side.ci_high, hi),
          `${cell} vs ${JSON.stringify(side)}`,
        );
      }
      const [delta] = printed(cells[5]);
      assert(same(r.delta_pct, delta), `${cells[5]} vs ${r.delta_pct}`);
      assertEquals(cells[5].startsWith("~"), r.verdict === "~", cells[5]);
      const ci = printed(cells[6]);
      if (ci.length === 0) assertEquals(r.delta_ci_low_pct, null);
      else {
        assert(
          same(r.delta_ci_low_pct, ci[0]) && same(r.delta_ci_high_pct, ci[1]),
          cells[6],
        );
      }
      assert(same(r.p_value, printed(cells[7])[0]), cells[7]);
    });
  }
});

Deno.test("progress: the bar moves with each session of a round, not once a round", async () => {
  const writes: string[] = [];
  const progress = new Progress(
    {
      totalSteps: 1,
      stepSeconds: 0,
      tty: true,
      write: (s: string) => writes.push(s),
      redrawMs: 0,
    } as never,
  );
  const client = new InProcessRunner(new FakeClient({ delayMs: 5 }));
  const out = await runStages(
    [{ pools: [6], clients: "all" }],
    [client],
    {
      target: FAKE_TARGET,
      runId: "x",
      runStart: performance.now(),
      stepSeconds: 0,
      minRounds: 1,
      timeoutMs: 5000,
      sink: new MemorySink(),
    },
    progress,
  );
  assertEquals(out.results[0].rounds, 1);
  // One redraw per session of the one round, each counting it.
  const counted = writes.filter((w) => /\d\/6 sessions/.test(w));
  assertEquals(counted.length, 6, writes.join("\n"));
  assert(counted.at(-1)!.includes("6/6 sessions"));
});
