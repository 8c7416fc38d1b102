/**
 * Faults and interruption against a real sshd: the server killed mid-run,
 * the benchmark killed with SIGKILL, Ctrl-C in every phase (calibration,
 * mid-round, a second one during teardown). Nothing may be left behind:
 * each check looks at the run's own processes, namespaces, cgroups and
 * folders (other runs may be going on on this machine meanwhile).
 */
import { assert, assertEquals } from "./assert.ts";
import { loadRuns } from "../src/analysis/load.ts";
import { renderRun } from "../src/analysis/analyse.ts";
import type { ChartFiles } from "../src/analysis/chart_render.ts";
import { descendants, which } from "../src/util/proc.ts";
import { removeStale } from "../src/run/stale.ts";
import { BenchChild, csvRows, until } from "./bench_child.ts";
import {
  type Footprint,
  footprint,
  killLeft,
  leftOf,
  newFootprint,
  ownerAlive,
} from "./footprint.ts";

const CAN_LINK = Deno.uid() === 0 && which("ip") !== undefined &&
  (() => {
    try {
      return Deno.statSync("/dev/net/tun") !== undefined;
    } catch {
      return false;
    }
  })();

/** The run's own sshd listener(s), from its process tree. */
function ownSshd(pid: number): number[] {
  return descendants(pid).filter((p) => {
    try {
      return Deno.readTextFileSync(`/proc/${p}/cmdline`).includes("[listener]");
    } catch {
      return false;
    }
  });
}

function spawnBench(out: string, extra: string[] = []): Deno.ChildProcess {
  // Extra arguments come last, so they override the defaults here.
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../src/cli/bench.ts", import.meta.url).pathname,
      // sshd's listener and sessions are what this test kills.
      "--server-impl",
      "openssh",
      "--clients",
      "ssh2,libssh2",
      "--pool",
      "1..200",
      "--step-seconds",
      "0.2",
      "--timeout",
      "5",
      "--out",
      out,
      "--no-charts",
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function waitForRounds(dir: string, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const text = await Deno.readTextFile(`${dir}/rounds.csv`).catch(() => "");
    if (text.split("\n").length > n + 1) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the run wrote no rounds");
}

/** The names of the charts written, in order. */
function chartNames(files: ChartFiles[]): string[] {
  return files.map((f) => f.png.split("/").at(-1)!.replace(/\.png$/, ""));
}

Deno.test("faults: sshd killed mid-run: failed rows, clear stop, valid files", async () => {
  const out = await Deno.makeTempDir();
  let f: Footprint | undefined;
  try {
    // Sessions that last ~1 s, so the kill lands in the middle of a round.
    const child = spawnBench(`${out}/run`, [
      "--command",
      "sleep 1; cat /etc/hostname",
      "--pool",
      "4",
      "--rounds",
      "100",
    ]);
    f = newFootprint(child.pid);
    await waitForRounds(`${out}/run`, 1);
    await new Promise((r) => setTimeout(r, 400));
    footprint(f);
    // This run's sshd only: other runs may be going on on this machine.
    const [sshd] = ownSshd(child.pid);
    assert(sshd, "the run's sshd is running");
    const kids = descendants(sshd);
    Deno.kill(sshd, "SIGKILL");
    for (const k of kids) {
      try {
        Deno.kill(k, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const res = await child.output();
    const stderr = new TextDecoder().decode(res.stderr);
    assertEquals(res.code, 1, stderr);
    assert(/error: the embedded sshd exited/.test(stderr), stderr);
    const meta = JSON.parse(await Deno.readTextFile(`${out}/run/meta.json`));
    assertEquals(meta.status, "failed");
    const run = loadRuns([`${out}/run`]);
    const statuses = run.sessions.getColumn("status").toArray() as string[];
    assert(statuses.includes("ok"));
    assert(statuses.some((s) => s !== "ok"), "sessions after the kill failed");
    const files = await renderRun(run, `${out}/run/charts`);
    // Every chart but the distribution (at pools 1 and 30; this run: 4),
    // rtt and hosts (one host, no emulated RTT).
    assertEquals(chartNames(files), [
      "comparison-time",
      "comparison-pool",
      "scaling",
      "efficiency",
      "failures",
    ]);
    assertEquals(leftOf(f), []);
  } finally {
    if (f) killLeft(f);
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("faults: SIGKILL mid-run leaves parseable files; sshd dies with it", async () => {
  const out = await Deno.makeTempDir();
  let f: Footprint | undefined;
  try {
    const child = spawnBench(`${out}/run`);
    f = newFootprint(child.pid);
    await waitForRounds(`${out}/run`, 10);
    footprint(f);
    const sshd = ownSshd(child.pid);
    assertEquals(sshd.length, 1, "the run's sshd");
    child.kill("SIGKILL");
    await child.output();
    // sshd was started with a parent-death signal.
    const listener = f.procs.get(sshd[0])!;
    await until("sshd to die with the run", () => !ownerAlive(listener));
    const meta = JSON.parse(await Deno.readTextFile(`${out}/run/meta.json`));
    assertEquals(meta.status, "running"); // nobody could update it
    const run = loadRuns([`${out}/run`]);
    assert(run.sessions.height > 0);
    // Session rows go first, then the round row: at most one round's
    // sessions can lack their round row, never the other way round.
    const counted = run.rounds.getColumn("ok").sum() +
      run.rounds.getColumn("failed").sum();
    const extra = run.sessions.height - counted;
    assert(
      extra >= 0 && extra <= 200,
      `sessions ${run.sessions.height}, rounds ${counted}`,
    );
    const files = await renderRun(run, `${out}/run/charts`);
    // Every chart but rtt and hosts (one host, no emulated RTT), and
    // failures unless a session failed.
    assertEquals(
      chartNames(files).filter((n) => n !== "failures"),
      [
        "comparison-time",
        "comparison-pool",
        "scaling",
        "efficiency",
        "distribution",
      ],
    );
    // The killed run's temp dir and cgroups are still there; the next
    // run's start removes them.
    assert(leftOf(f).some((l) => l.startsWith("folder ")), leftOf(f).join());
    await removeStale();
    assertEquals(leftOf(f), []);
  } finally {
    if (f) killLeft(f);
    await Deno.remove(out, { recursive: true });
  }
});

/** A run of openssh with three commands per session, and ssh2. */
function muxRun(out: string, extra: string[] = []): BenchChild {
  return new BenchChild([
    "--clients",
    "openssh,ssh2",
    "--commands-per-session",
    "3",
    "--pool",
    "2",
    "--step-seconds",
    "60",
    "--command",
    "sleep 1; echo hi",
    "--no-charts",
    "--out",
    out,
    ...extra,
  ]);
}

Deno.test({
  name:
    "faults: Ctrl-C during calibration stops it at once (--rtt 300), and leaves nothing",
  ignore: !CAN_LINK,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const out = await Deno.makeTempDir();
  const run = new BenchChild([
    "--clients",
    "openssh",
    "--rtt",
    "300",
    "--pool",
    "1",
    "--no-charts",
    "--out",
    `${out}/run`,
  ]);
  const f = newFootprint(run.pid);
  try {
    // A calibration session (the remote no-op) in flight.
    await until(
      "a calibration session",
      () =>
        run.processes().some((p) => /\/ssh .* -- \S+ true$/.test(p.cmd.trim())),
      {
        each: () => footprint(f),
        child: run,
      },
    );
    const signalledAt = performance.now();
    run.child.kill("SIGINT");
    const r = await run.exit();
    console.log(
      `  (SIGINT in calibration to exit: ${
        ((performance.now() - signalledAt) / 1000).toFixed(2)
      } s)`,
    );
    footprint(f);
    assertEquals(r.code, 130, r.stderr);
    // It stopped there: the calibration never finished (5 no-ops of
    // several round trips of 300 ms each), so no run folder either.
    assert(!r.stderr.includes('calibration: remote no-op "true"'), r.stderr);
    assert(!r.stderr.includes("error:"), r.stderr);
    assertEquals(csvRows(`${out}/run/rounds.csv`), 0);
    assertEquals(leftOf(f), []);
  } finally {
    killLeft(f);
    await run.kill();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "faults: Ctrl-C mid-round with openssh connection masters leaves no process, cgroup or mux folder",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const out = await Deno.makeTempDir();
  const run = muxRun(`${out}/run`);
  const f = newFootprint(run.pid);
  try {
    await until(
      "a connection master mid-round",
      () =>
        csvRows(`${out}/run/rounds.csv`) >= 1 &&
        run.processes().some((p) => p.cmd.includes("ControlMaster=yes")),
      {
        each: () => footprint(f),
        child: run,
      },
    );
    assert([...f.dirs].some((d) => d.includes("ssh-bench-mux-")));
    run.child.kill("SIGINT");
    const r = await run.exit();
    footprint(f);
    assertEquals(r.code, 130, r.stderr);
    const meta = JSON.parse(Deno.readTextFileSync(`${out}/run/meta.json`));
    assertEquals(meta.status, "interrupted");
    assertEquals(leftOf(f), []);
  } finally {
    killLeft(f);
    await run.kill();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "faults: a second Ctrl-C during teardown quits at once, ends meta.json interrupted and leaves nothing",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const out = await Deno.makeTempDir();
  const run = muxRun(`${out}/run`);
  const f = newFootprint(run.pid);
  try {
    await until(
      "a connection master mid-round",
      () =>
        csvRows(`${out}/run/rounds.csv`) >= 1 &&
        run.processes().some((p) => p.cmd.includes("ControlMaster=yes")),
      {
        each: () => footprint(f),
        child: run,
      },
    );
    // A stopped sshd holds the teardown (3 s before its SIGKILL): the
    // second Ctrl-C lands inside it.
    const [sshd] = ownSshd(run.pid);
    assert(sshd, "the run's sshd");
    Deno.kill(sshd, "SIGSTOP");
    run.child.kill("SIGINT");
    await until("the interruption", () => run.stderr.includes("interrupted"), {
      each: () => footprint(f),
      child: run,
    });
    await new Promise((r) => setTimeout(r, 300));
    footprint(f);
    run.child.kill("SIGINT");
    const r = await run.exit();
    assertEquals(r.code, 130, r.stderr);
    const meta = JSON.parse(Deno.readTextFileSync(`${out}/run/meta.json`));
    assertEquals(meta.status, "interrupted");
    assert(csvRows(`${out}/run/rounds.csv`) >= 1);
    assertEquals(leftOf(f), []);
  } finally {
    killLeft(f);
    await run.kill();
    await Deno.remove(out, { recursive: true });
  }
});
