/**
 * `--rtt` end to end: a run through the emulated link records the RTT on
 * every row, connect never beats the RTT, the achieved hold times sit next
 * to the asked ones, and nothing (forwarder, namespace, device, sshd)
 * outlives the run, also after Ctrl-C and after sshd dies.
 */
import { parse } from "csv-parse/sync";
import { assert, assertEquals } from "./assert.ts";
import { linkResources } from "../src/net/mod.ts";
import { benchSshdPids, waitForRounds } from "./server_helpers.ts";

const BENCH = new URL("../src/cli/bench.ts", import.meta.url).pathname;

function rows(path: string): Record<string, string>[] {
  return parse(Deno.readTextFileSync(path), { columns: true });
}

function assertNothingLeft(): void {
  const left = linkResources();
  assertEquals(left.namespaces.filter((n) => n.includes(`-${Deno.pid}-`)), []);
  assertEquals(left.forwarders, []);
  assertEquals(left.devices, []);
  assertEquals(benchSshdPids(), []);
}

function start(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name:
    "rtt: sessions through the emulated link, connect >= RTT - 1 ms, achieved hold recorded",
  ...opts,
}, async () => {
  const out = await Deno.makeTempDir();
  try {
    const child = start([
      "--clients",
      "ssh2,libssh2",
      "--pool",
      "1,2",
      "--rtt",
      "0,30",
      "--rounds",
      "2",
      "--step-seconds",
      "0",
      "--no-charts",
      "--out",
      `${out}/run`,
    ]);
    const r = await child.output();
    const err = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 0, err);
    const s = rows(`${out}/run/sessions.csv`);
    assertEquals(s.length, 2 * 2 * (1 + 2) * 2);
    assert(s.every((x) => x.status === "ok"), JSON.stringify(s[0]));
    for (const x of s) {
      assert(x.rtt_ms === "0" || x.rtt_ms === "30", x.rtt_ms);
      assert(
        Number(x.connect_ms) >= Number(x.rtt_ms) - 1,
        `connect ${x.connect_ms} ms at RTT ${x.rtt_ms}`,
      );
    }
    for (const x of rows(`${out}/run/rounds.csv`)) {
      const hold = Number(x.link_hold_p50_ms);
      assert(
        Math.abs(hold - Number(x.rtt_ms) / 2) < 3,
        `hold ${hold} at RTT ${x.rtt_ms}`,
      );
      assert(Number(x.forwarder_cpu_ms) >= 0);
    }
    const meta = JSON.parse(Deno.readTextFileSync(`${out}/run/meta.json`));
    assertEquals(meta.parameters.rtt_ms, [0, 30]);
    assert(meta.round_trips.ssh2.total > 5, JSON.stringify(meta.round_trips));
    assertNothingLeft();
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** Starts a long --rtt run and waits for its first rounds on disk. */
async function longRun(out: string): Promise<Deno.ChildProcess> {
  const child = start([
    "--clients",
    "ssh2",
    "--pool",
    "2",
    "--rtt",
    "20",
    "--step-seconds",
    "60",
    "--no-charts",
    "--out",
    `${out}/run`,
  ]);
  await waitForRounds(`${out}/run`, 2);
  return child;
}

Deno.test({
  name: "rtt: Ctrl-C leaves no forwarder, namespace, device or sshd",
  ...opts,
}, async () => {
  const out = await Deno.makeTempDir();
  try {
    const child = await longRun(out);
    child.kill("SIGINT");
    const r = await child.output();
    assertEquals(r.code, 130, new TextDecoder().decode(r.stderr));
    assertEquals(
      JSON.parse(Deno.readTextFileSync(`${out}/run/meta.json`)).status,
      "interrupted",
    );
    assertNothingLeft();
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name: "rtt: sshd dying mid-run stops the run and leaves nothing behind",
  ...opts,
}, async () => {
  const out = await Deno.makeTempDir();
  try {
    const child = await longRun(out);
    for (const pid of benchSshdPids()) Deno.kill(pid, "SIGKILL");
    const r = await child.output();
    const err = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 1, err);
    assert(err.includes("the embedded sshd exited"), err);
    assertNothingLeft();
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
