/**
 * Faults and interruption against a real sshd: the server killed mid-run,
 * the benchmark killed with SIGKILL. Nothing may be left behind.
 */
import { assert, assertEquals } from "./assert.ts";
import { loadRuns } from "../src/analysis/load.ts";
import { renderRun } from "../src/analysis/analyse.ts";
import { descendants } from "../src/util/proc.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import {
  assertNoNewDirs,
  benchSshdPids,
  serverDirs,
} from "./server_helpers.ts";

function spawnBench(out: string, extra: string[] = []): Deno.ChildProcess {
  // Extra arguments come last, so they override the defaults here.
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../src/cli/bench.ts", import.meta.url).pathname,
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

Deno.test("faults: sshd killed mid-run: failed rows, clear stop, valid files", async () => {
  const before = serverDirs();
  const out = await Deno.makeTempDir();
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
    await waitForRounds(`${out}/run`, 1);
    await new Promise((r) => setTimeout(r, 400));
    const [sshd] = benchSshdPids();
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
    // Every chart but the distribution (at pools 1 and 30; this run: 4).
    assertEquals(files.length, 7);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  assertEquals(benchSshdPids(), []);
  assertNoNewDirs(before);
});

Deno.test("faults: SIGKILL mid-run leaves parseable files; sshd dies with it", async () => {
  const before = serverDirs();
  const out = await Deno.makeTempDir();
  try {
    const child = spawnBench(`${out}/run`);
    await waitForRounds(`${out}/run`, 10);
    child.kill("SIGKILL");
    await child.output();
    // sshd was started with a parent-death signal.
    for (let i = 0; i < 50 && benchSshdPids().length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(benchSshdPids(), []);
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
    assertEquals(files.length, 8); // every chart
    // The killed run's temp dir is still there; the next server removes it.
    assert(serverDirs().some((d) => !before.includes(d)));
    const next = await EmbeddedServer.start({ maxPool: 1, payloadBytes: 10 });
    await next.stop();
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  assertEquals(benchSshdPids(), []);
  assertNoNewDirs(before);
});
