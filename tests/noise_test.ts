/**
 * The run-to-run noise model: the estimator against figures worked out by
 * hand, the random-effects test it feeds, `deno task noise` on run
 * folders (matching parameters or not), and what `deno task compare`
 * says about a missing or garbled model.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  betweenRun,
  compareValues,
  fitNoiseCells,
  type NoiseModel,
  noiseObservations,
  type RunValues,
} from "../src/analysis/mod.ts";
import { run, type RunResult } from "../src/util/proc.ts";

const V1 = new URL("./fixtures/v1-run", import.meta.url).pathname;

function cli(
  script: "noise" | "compare",
  args: string[],
): Promise<RunResult> {
  return run(Deno.execPath(), [
    "run",
    "-A",
    new URL(`../src/cli/${script}.ts`, import.meta.url).pathname,
    ...args,
  ]);
}

/** Copies of the v1 fixture run, each with `edit` applied to its meta.json. */
async function runCopies(
  root: string,
  edits: ((meta: Record<string, unknown>) => void)[],
): Promise<string[]> {
  const dirs: string[] = [];
  for (const [i, edit] of edits.entries()) {
    const dir = `${root}/run-${i + 1}`;
    await Deno.mkdir(dir);
    for (const f of ["sessions.csv", "rounds.csv"]) {
      await Deno.copyFile(`${V1}/${f}`, `${dir}/${f}`);
    }
    const meta = JSON.parse(await Deno.readTextFile(`${V1}/meta.json`));
    edit(meta);
    await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify(meta));
    dirs.push(dir);
  }
  return dirs;
}

/** One run's values: `rounds` of total_ms for ssh2 at pool 1. */
function oneCell(rounds: number[][]): RunValues {
  return new Map([["ssh2|1", new Map([["total_ms", rounds]])]]) as RunValues;
}

Deno.test("noise: the moment estimator matches a hand computation", () => {
  // Cell ssh2@1, three runs with ln medians ln 50 + (0.03, −0.01, −0.02):
  //   mean ln 50 + 0, deviations 0.03, −0.01, −0.02,
  //   sample variance (0.0009 + 0.0001 + 0.0004) / 2 = 0.0007;
  //   se 0.01, 0.01, 0.02: mean se² (0.0001 + 0.0001 + 0.0004) / 3 = 0.0002;
  //   tau² = 0.0007 − 0.0002 = 0.0005, tau = 0.0223607, 100·(e^tau − 1) = 2.26 %.
  // Cell ssh2@8, four runs, ln medians ln 80 + (0.01, −0.01, 0.01, −0.01):
  //   sample variance 4·0.0001 / 3 = 0.000133333; se 0.02 each: 0.0004;
  //   tau² = −0.000266667 (no between-run variance seen), tau 0.
  // Pooled: (2·0.0005 + 3·−0.000266667) / 5 = 0.00004, tau 0.0063246, 0.63 %.
  const at = (base: number, d: number[]) => d.map((x) => base * Math.exp(x));
  const m = fitNoiseCells([
    {
      client: "ssh2",
      pool_size: 1,
      metric: "total_ms",
      medians: at(50, [0.03, -0.01, -0.02]),
      log_ses: [0.01, 0.01, 0.02],
    },
    {
      client: "ssh2",
      pool_size: 8,
      metric: "total_ms",
      medians: at(80, [0.01, -0.01, 0.01, -0.01]),
      log_ses: [0.02, 0.02, 0.02, 0.02],
    },
  ]).total_ms!;
  const [c1, c8] = m.cells;
  assertEquals([c1.runs, c8.runs], [3, 4]);
  assert(Math.abs(c1.tau2_raw - 0.0005) < 1e-12);
  assertEquals(c1.tau.toFixed(7), "0.0223607");
  assertEquals(c1.between_run_pct.toFixed(2), "2.26");
  assert(Math.abs(c8.tau2_raw - -0.000266667) < 1e-9);
  assertEquals(c8.tau, 0);
  assertEquals(m.df, 5);
  assert(Math.abs(m.tau2_raw - 0.00004) < 1e-12);
  assertEquals(m.tau.toFixed(7), "0.0063246");
  assertEquals(m.between_run_pct.toFixed(2), "0.63");
});

Deno.test("noise: runs that differ only within their rounds give no between-run variance", () => {
  // Three runs drawn from one distribution with the same rounds reordered:
  // identical medians, so the spread is 0 and tau is clipped to 0.
  const rounds = Array.from(
    { length: 20 },
    (_, i) => [40 + (i * 7 % 11) * 0.31, 40.5 + (i % 3) * 0.45],
  );
  const runs = [
    rounds,
    [...rounds].reverse(),
    rounds.slice(10).concat(
      rounds.slice(0, 10),
    ),
  ].map(oneCell);
  const obs = noiseObservations(runs);
  assertEquals(obs.length, 1);
  assertEquals(obs[0].medians.length, 3);
  assert(obs[0].log_ses.every((s) => s > 0));
  const m = fitNoiseCells(obs).total_ms!;
  assertEquals([m.tau, m.cells[0].tau], [0, 0]);
  assert(m.tau2_raw < 0);
});

Deno.test("noise: a 3 % change is noise when runs differ by 2 %, a 30 % one is not", () => {
  // Tight rounds: within one run the median is known to well under 1 %.
  const base = Array.from({ length: 16 }, (_, i) => [100 + (i % 4) * 0.1, 100]);
  const scaled = (f: number) => oneCell(base.map((r) => r.map((v) => v * f)));
  const tau2pct = () => Math.log(1.02);
  const within = compareValues(scaled(1), scaled(1.03)).rows[0];
  assertEquals([within.method, within.significant], ["within-run", true]);
  const re = compareValues(scaled(1), scaled(1.03), 0, tau2pct).rows[0];
  assertEquals([re.method, re.significant], ["random-effects", false]);
  // z = ln 1.03 / sqrt(se² + se² + 2·ln(1.02)²) ≈ 0.0296 / 0.0280 ≈ 1.05
  assert(re.p_value > 0.25 && re.p_value < 0.35, String(re.p_value));
  assertEquals(re.tau, Math.log(1.02));
  // Widened: ln 100 ± 1.96·sqrt(se² + tau²), about ±3.9 %.
  assert(re.a.low < 96.5 && re.a.high > 103.5);
  assert(re.b.low < 100 && re.b.high > 103);
  const big = compareValues(scaled(1), scaled(1.3), 0, tau2pct).rows[0];
  assertEquals(big.significant, true);
  assert(big.p_value < 1e-10);
  // --noise on top of the model: a real but small change still prints ~.
  const small = compareValues(scaled(1), scaled(1.3), 40, tau2pct).rows[0];
  assertEquals(small.significant, false);
});

Deno.test("noise: a cell's own tau where the model has it and it is larger, else the metric's pooled one", () => {
  const model = {
    metrics: {
      total_ms: {
        tau: 0.02,
        cells: [
          { client: "ssh2", pool_size: 1, runs: 5, tau: 0 },
          { client: "ssh2", pool_size: 8, runs: 2, tau: 0.5 },
          { client: "libssh2", pool_size: 8, runs: 5, tau: 0.04 },
        ],
      },
    },
  } as unknown as NoiseModel;
  const tau = betweenRun(model);
  assertEquals(tau("ssh2", 1, "total_ms"), 0.02); // its own 0: the pooled floor
  assertEquals(tau("libssh2", 8, "total_ms"), 0.04); // noisier than pooled
  assertEquals(tau("ssh2", 8, "total_ms"), 0.02); // two runs: not its own
  assertEquals(tau("libssh2", 1, "total_ms"), 0.02);
  assertEquals(tau("ssh2", 1, "reexec_ms"), undefined);
});

Deno.test("noise: deno task noise writes a model from matching runs, and compare uses it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dirs = await runCopies(root, [
      (m) => m.run_id = "a",
      (m) => m.run_id = "b",
      (m) => {
        m.run_id = "c";
        // Another payload folder and port each run: not a difference.
        const p = m.parameters as Record<string, unknown>;
        p.command = "cat /tmp/ssh-bench-0123456789abcdef/payload.txt";
        (m.target as Record<string, unknown>).port = 40000;
      },
    ]);
    const out = `${root}/noise.json`;
    const r = await cli("noise", ["--out", out, ...dirs]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(
      r.stdout,
      /^noise model: .*noise\.json, made \d{4}-\d\d-\d\d from 3 runs \(run-1, run-2, run-3\)/,
    );
    assertMatch(r.stdout, /^total ms +all +3 +0\.0 %$/m);
    const model = JSON.parse(await Deno.readTextFile(out));
    assertEquals(model.runs.map((x: { run_id: string }) => x.run_id), [
      "a",
      "b",
      "c",
    ]);
    assertEquals(model.machine.cores, 2);
    assertEquals(model.metrics.total_ms.tau, 0); // the same data three times
    assert(model.metrics.total_ms.cells.length > 0);
    const c = await cli("compare", ["--noise-model", out, dirs[0], dirs[1]]);
    assertEquals(c.code, 0, c.stderr);
    assertMatch(
      c.stdout,
      /^noise model: .* from 3 runs \(run-1, run-2, run-3\)/,
    );
    assertMatch(c.stdout, /p: the z test of the same/);
    const csv = await cli("compare", [
      "--noise-model",
      out,
      "--format",
      "csv",
      dirs[0],
      dirs[1],
    ]);
    assertEquals(csv.code, 0, csv.stderr);
    assertMatch(
      csv.stdout,
      /,method,between_run_pct,delta_ci_low_pct,delta_ci_high_pct,machine_busy\n/,
    );
    assertMatch(csv.stdout, /,random-effects,0,[-\d.]*,[-\d.]*,\n/);
    const none = await cli("compare", [
      "--noise-model",
      "none",
      "--format",
      "csv",
      dirs[0],
      dirs[1],
    ]);
    assertEquals(none.code, 0, none.stderr);
    assertMatch(none.stderr, /^warning: no noise model.*deno task noise/);
    assertMatch(none.stdout, /,within-run,,[-\d.]*,[-\d.]*,\n/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("noise: runs of different commands are refused in one line (exit 2)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dirs = await runCopies(root, [
      () => {},
      () => {},
      (m) => (m.parameters as Record<string, unknown>).payload_bytes = 2600000,
    ]);
    const r = await cli("noise", ["--out", `${root}/n.json`, ...dirs]);
    assertEquals(r.code, 2);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, r.stderr);
    assertMatch(
      lines[0],
      /^error: parameters\.payload_bytes differs: .*run-1 has 26000, .*run-3 has 2600000; .*deno task bench --like/,
    );
    const two = await cli("noise", dirs.slice(0, 2));
    assertEquals(two.code, 2);
    assertMatch(two.stderr, /^error: give 3 or more run folders/);
    const twice = await cli("noise", [
      "--out",
      `${root}/n.json`,
      dirs[0],
      dirs[0],
      dirs[1],
    ]);
    assertEquals(twice.code, 2);
    assertMatch(twice.stderr, /^error: .*run-1 is given twice/);
    await Deno.remove(`${dirs[1]}/meta.json`);
    const noMeta = await cli("noise", ["--out", `${root}/n.json`, ...dirs]);
    assertEquals(noMeta.code, 2);
    assertMatch(noMeta.stderr, /^error: .*run-2 has no readable meta.json/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("noise: compare names a missing or garbled model in one line (exit 2)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cases: [string, string | undefined, RegExp][] = [
      [
        "missing.json",
        undefined,
        /missing\.json not found: make one with deno task noise/,
      ],
      [
        "garbled.json",
        "{ not json",
        /garbled\.json is not a noise model \(not JSON\)/,
      ],
      [
        "other.json",
        '{"kind": "something else"}',
        /other\.json is not a noise model \(kind is not/,
      ],
      [
        "cells.json",
        JSON.stringify({
          kind: "ssh-bench run-to-run noise model",
          version: 1,
          runs: [],
          metrics: { total_ms: { tau: 0.01, cells: [{ client: "ssh2" }] } },
        }),
        /cells\.json is not a noise model \(a cell of total_ms lacks/,
      ],
    ];
    for (const [name, text, pattern] of cases) {
      if (text !== undefined) await Deno.writeTextFile(`${root}/${name}`, text);
      const r = await cli("compare", [
        "--noise-model",
        `${root}/${name}`,
        V1,
        V1,
      ]);
      assertEquals(r.code, 2, name);
      const lines = r.stderr.trim().split("\n");
      assertEquals(lines.length, 1, r.stderr);
      assertMatch(lines[0], /^error: /);
      assertMatch(lines[0], pattern);
      assertEquals(r.stdout, "");
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("noise: compare takes groups of repeated runs (A1,A2,A3 B1,B2,B3) and refuses a group of different commands", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dirs = await runCopies(root, [
      (m) => m.run_id = "a1",
      (m) => m.run_id = "a2",
      (m) => m.run_id = "a3",
      (m) => m.run_id = "b1",
      (m) => m.run_id = "b2",
      (m) => {
        m.run_id = "b3";
        (m.parameters as Record<string, unknown>).payload_bytes = 2_600_000;
      },
    ]);
    const [a, b] = [dirs.slice(0, 3).join(","), dirs.slice(3, 5).join(",")];
    const r = await cli("compare", ["--noise-model", "none", a, b]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /client +pool +metric +a1 \+2 runs +b1 \+1 runs/);
    assertMatch(r.stdout, /^Repeated runs: each side the geometric mean/m);
    // The same data on both sides: no change, not significant.
    assertMatch(
      r.stdout,
      /total ms .* ~ \(\+0\.0%\) +\[-[\d.]+, \+[\d.]+\] +1\.000/,
    );
    const csv = await cli("compare", ["--format", "csv", a, b]);
    assertEquals(csv.code, 0, csv.stderr);
    assert(
      csv.stdout.trim().split("\n").slice(1).every((l) =>
        l.includes(",false,") && /,repeats,[\d.]*,[-\d.]*,[-\d.]*,$/.test(l)
      ),
      csv.stdout,
    );
    const mixed = await cli("compare", [a, dirs.slice(3).join(",")]);
    assertEquals(mixed.code, 2);
    assertMatch(
      mixed.stderr,
      /^error: parameters\.payload_bytes differs: .*run-4 has 26000, .*run-6 has 2600000; a group of repeats needs runs of one command/,
    );
    assertEquals(mixed.stderr.trim().split("\n").length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
