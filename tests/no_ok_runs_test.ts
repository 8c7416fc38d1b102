/**
 * Runs on a real sshd in which no session ended ok (every command exited
 * non-zero, every session timed out, the first round interrupted): `deno
 * task charts` and `deno task report` must work on them, leave out the
 * charts that have nothing to show and say why. Each on sshd and on the
 * Go server (the default).
 */
import { assert, assertEquals } from "./assert.ts";
import { CHART_NAMES } from "../src/analysis/analyse.ts";
import { benchCli } from "./server_helpers.ts";
import { assertOwnServerGone } from "./own_server.ts";
import { exists } from "../src/util/fs.ts";
import { run, type RunResult } from "../src/util/proc.ts";

/** Runs `src/cli/<name>.ts` as a subprocess. */
function taskCli(
  name: "charts" | "report",
  args: string[],
): Promise<RunResult> {
  return run(Deno.execPath(), [
    "run",
    "-A",
    new URL(`../src/cli/${name}.ts`, import.meta.url).pathname,
    ...args,
  ]);
}

/** The embedded servers each case runs on. */
const IMPLS = ["openssh", "go"] as const;

/** The run in `dir` was on the server `impl`, as meta.json says. */
function assertServer(dir: string, impl: typeof IMPLS[number]): void {
  const meta = JSON.parse(Deno.readTextFileSync(`${dir}/meta.json`));
  assertEquals(meta.parameters.server_impl, impl);
}

/** The charts that need ok sessions to have anything to draw. */
const TIMING_CHARTS = [
  "comparison-time",
  "comparison-pool",
  "scaling",
  "distribution",
];

/**
 * Charts and report of a run: both exit 0; the charts in `drawn` are
 * written, every chart in `leftOut` is not, and the charts' stderr, the
 * page and the post all carry `why` and name each chart left out.
 */
async function checkChartsAndReport(
  dir: string,
  o: { drawn: string[]; leftOut: string[]; why: RegExp },
): Promise<void> {
  const charts = await taskCli("charts", [dir]);
  assertEquals(charts.code, 0, charts.stderr);
  for (const name of o.drawn) {
    assert(exists(`${dir}/charts/${name}.png`), `${name}.png drawn`);
    assert(charts.stdout.includes(`${dir}/charts/${name}.png`), charts.stdout);
  }
  for (const name of o.leftOut) {
    assert(!exists(`${dir}/charts/${name}.png`), `${name}.png left out`);
    assert(!charts.stdout.includes(`/${name}.png`), charts.stdout);
    assert(charts.stderr.includes(name), charts.stderr);
  }
  assert(o.why.test(charts.stderr), charts.stderr);
  assert(!/error:/.test(charts.stderr), charts.stderr);

  const report = await taskCli("report", [dir]);
  assertEquals(report.code, 0, report.stderr);
  const html = await Deno.readTextFile(`${dir}/report.html`);
  const md = await Deno.readTextFile(`${dir}/report.md`);
  assertEquals(
    [...html.matchAll(/<div class="chart" id="chart-([\w-]+)"/g)].map((m) =>
      m[1]
    ),
    CHART_NAMES.filter((n) => o.drawn.includes(n)),
  );
  const images = [...md.matchAll(/\]\(charts\/([\w-]+)\.png\)/g)].map((m) =>
    m[1]
  );
  assertEquals(images, CHART_NAMES.filter((n) => o.drawn.includes(n)));
  for (const name of images) assert(exists(`${dir}/charts/${name}.png`));
  for (const text of [html, md]) {
    assert(o.why.test(text), text.slice(0, 4000));
    for (const name of o.leftOut) {
      assert(text.includes(`${name}`), `${name} named as left out`);
    }
  }
}

for (const impl of IMPLS) {
  Deno.test(`no ok session: every command exits 3; charts and report render, timing charts left out (${impl} server)`, async () => {
    const out = await Deno.makeTempDir();
    try {
      const dir = `${out}/run`;
      const r = await benchCli([
        "--clients",
        "ssh2",
        "--pool",
        "1..2",
        "--step-seconds",
        "0",
        "--rounds",
        "1",
        "--command",
        "exit 3",
        "--no-charts",
        "--server-impl",
        impl,
        "--out",
        dir,
      ]);
      assert(r.code === 0 || r.code === 3, r.stderr);
      const sessions = await Deno.readTextFile(`${dir}/sessions.csv`);
      assertEquals(sessions.trim().split("\n").length - 1, 3, sessions);
      assert(!sessions.includes(",ok,"), sessions);
      await checkChartsAndReport(dir, {
        drawn: ["efficiency", "failures"],
        leftOut: [...TIMING_CHARTS, "rtt", "hosts"],
        why: /no session ended ok \(3 sessions: 3 exit\\?_nonzero\)/i,
      });
      // The failures chart shows the failed sessions.
      const spec = JSON.parse(
        await Deno.readTextFile(`${dir}/charts/failures.vl.json`),
      );
      assert(
        JSON.stringify(spec.data.values).includes('"status":"exit_nonzero"'),
      );
      assertServer(dir, impl);
      await assertOwnServerGone(dir);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}

for (const impl of IMPLS) {
  Deno.test(`no ok session: every session times out; charts and report render (${impl} server)`, async () => {
    const out = await Deno.makeTempDir();
    try {
      const dir = `${out}/run`;
      const r = await benchCli([
        "--clients",
        "ssh2",
        "--pool",
        "2",
        "--step-seconds",
        "0",
        "--rounds",
        "1",
        "--command",
        "sleep 30",
        "--timeout",
        "1",
        "--no-charts",
        "--server-impl",
        impl,
        "--out",
        dir,
      ]);
      assert(r.code === 0 || r.code === 3, r.stderr);
      await checkChartsAndReport(dir, {
        drawn: ["efficiency", "failures"],
        leftOut: [...TIMING_CHARTS, "rtt", "hosts"],
        why: /no session ended ok \(2 sessions: 2 timeout\)/i,
      });
      assertServer(dir, impl);
      await assertOwnServerGone(dir);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}

for (const impl of IMPLS) {
  Deno.test(`no ok session: first round interrupted (no rows at all); report says so, no chart drawn (${impl} server)`, async () => {
    const out = await Deno.makeTempDir();
    try {
      const dir = `${out}/run`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../src/cli/bench.ts", import.meta.url).pathname,
          "--clients",
          "ssh2",
          "--pool",
          "2",
          "--step-seconds",
          "0",
          "--rounds",
          "1",
          "--command",
          "sleep 30",
          "--timeout",
          "60",
          "--no-charts",
          "--server-impl",
          impl,
          "--out",
          dir,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // meta.json is written after calibration, as the first round starts.
      for (let i = 0; i < 300 && !exists(`${dir}/meta.json`); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert(exists(`${dir}/meta.json`), "the run started");
      await new Promise((r) => setTimeout(r, 1000));
      child.kill("SIGINT");
      const res = await child.output();
      assertEquals(res.code, 130, new TextDecoder().decode(res.stderr));
      const sessions = await Deno.readTextFile(`${dir}/sessions.csv`);
      assertEquals(sessions.trim().split("\n").length, 1, "header only");
      await checkChartsAndReport(dir, {
        drawn: [],
        leftOut: [...CHART_NAMES],
        why: /no session was recorded/i,
      });
      const md = await Deno.readTextFile(`${dir}/report.md`);
      assert(md.includes("This run is interrupted"), md.slice(0, 2000));
      assert(md.includes("No session was recorded: there are no figures"));
      assert(!md.includes("|  |"), "no empty table");
      assertServer(dir, impl);
      await assertOwnServerGone(dir);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}
