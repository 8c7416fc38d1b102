/**
 * A run killed with SIGKILL in any phase (calibration, mid-round,
 * teardown) leaves nothing once the next run of any kind (embedded,
 * `--target`, `--rtt` fleet) has started: no process, network namespace,
 * cgroup or temp folder of it; and a run alive meanwhile is untouched and
 * fails no session. Through the command line, against real sshd, workers
 * and emulated links. (Needs root and /dev/net/tun.)
 */
import { assert, assertEquals } from "./assert.ts";
import { BenchChild, csvRows, until } from "./bench_child.ts";
import {
  type Footprint,
  footprint,
  killLeft,
  leftOf,
  newFootprint,
  ownerAlive,
  ownerOf,
} from "./footprint.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { which } from "../src/util/proc.ts";
import { exists } from "../src/util/fs.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const CAN_LINK = Deno.uid() === 0 && which("ip") !== undefined &&
  (() => {
    try {
      return Deno.statSync("/dev/net/tun") !== undefined;
    } catch {
      return false;
    }
  })();

/**
 * A run with everything that can be left behind: openssh connection
 * masters (three commands per session), ssh2, two embedded servers, each
 * behind its own emulated link.
 */
function heavyRun(out: string): BenchChild {
  return new BenchChild([
    "--clients",
    "openssh,ssh2",
    "--commands-per-session",
    "3",
    "--rtt",
    "20",
    "--servers",
    "2",
    "--pool",
    "2",
    "--step-seconds",
    "60",
    "--timeout",
    "20",
    "--command",
    "sleep 1; echo hi",
    "--no-charts",
    "--out",
    out,
  ]);
}

/** Kills the run with SIGKILL in `phase`; returns what it had. */
async function killIn(
  phase: "calibration" | "mid-round" | "teardown",
  run: BenchChild,
  out: string,
): Promise<Footprint> {
  const f = newFootprint(run.pid);
  const each = () => footprint(f);
  const cmds = () => run.processes().map((p) => p.cmd);
  if (phase === "calibration") {
    // A calibration session (the remote no-op) in flight, no run folder yet.
    await until(
      "a calibration session",
      () =>
        cmds().some((c) => /\/ssh .* -- \S+ true$/.test(c.trim())) &&
        !exists(`${out}/meta.json`),
      { each, child: run },
    );
  } else {
    await until(
      "a connection master mid-round",
      () =>
        csvRows(`${out}/rounds.csv`) >= 1 &&
        cmds().some((c) => c.includes("ControlMaster=yes")),
      {
        each,
        child: run,
      },
    );
  }
  if (phase === "teardown") {
    // One sshd stopped: its teardown waits for it (3 s before SIGKILL),
    // so the kill below lands inside the teardown.
    const sshd = run.processes().find((p) => p.cmd.includes("[listener]"));
    assert(sshd, "a listening sshd");
    Deno.kill(sshd.pid, "SIGSTOP");
    run.child.kill("SIGINT");
    await until("the interruption", () => run.stderr.includes("interrupted"), {
      each,
      child: run,
    });
    await new Promise((r) => setTimeout(r, 500));
    footprint(f);
    assertEquals(exists(`${out}/meta.json`), true);
  }
  run.child.kill("SIGKILL");
  await run.exit();
  footprint(f); // what was started just before the kill
  return f;
}

/** A short run of `kind`, the "next start"; resolves when it has ended. */
async function nextStart(
  kind: "embedded" | "target" | "rtt",
  out: string,
): Promise<string> {
  const common = [
    "--clients",
    "ssh2",
    "--pool",
    "2",
    "--rounds",
    "1",
    "--step-seconds",
    "0",
    "--no-charts",
    "--out",
    out,
  ];
  let server: EmbeddedServer | undefined;
  let args = common;
  if (kind === "target") {
    server = await EmbeddedServer.start({ maxPool: 2, payloadBytes: 100 });
    const t = server.target;
    args = [
      "--target",
      `ssh://${t.user}@${t.host}:${t.port}`,
      "--identity",
      t.identityFile,
      "--known-hosts",
      t.knownHostsFile!,
      "--command",
      "true",
      ...common,
    ];
  } else if (kind === "rtt") {
    args = ["--rtt", "0", "--servers", "2", ...common];
  }
  try {
    const r = await new BenchChild(args).exit();
    assertEquals(r.code, 0, r.stderr);
    return r.stderr;
  } finally {
    await server?.stop();
  }
}

for (
  const [phase, next] of [
    ["calibration", "embedded"],
    ["mid-round", "target"],
    ["teardown", "rtt"],
  ] as const
) {
  Deno.test({
    name:
      `stale: SIGKILL in ${phase} of an openssh --rtt fleet run: the next start (${next}) leaves nothing of it`,
    ignore: !CAN_LINK,
    ...opts,
  }, async () => {
    const out = await Deno.makeTempDir();
    let f: Footprint | undefined;
    try {
      const run = heavyRun(`${out}/run`);
      f = await killIn(phase, run, `${out}/run`);
      // It had everything: namespaces, cgroups, folders.
      assertEquals(f.namespaces.size, 2, [...f.namespaces].join(" "));
      assert(f.cgroups.size >= 2, [...f.cgroups].join(" "));
      assert(f.dirs.size >= 2, [...f.dirs].join(" "));
      // SIGKILL left some of it (nothing can run in a killed process).
      assert(leftOf(f).length > 0, "the kill left nothing to remove");
      const said = await nextStart(next, `${out}/next`);
      assertEquals(leftOf(f), [], said);
      assert(said.includes("removed what killed runs left:"), said);
    } finally {
      if (f) killLeft(f);
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  });
}

Deno.test({
  name:
    "stale: two runs at once, one SIGKILLed, a third started: the live one is untouched and never fails a session",
  ignore: !CAN_LINK,
  ...opts,
}, async () => {
  const out = await Deno.makeTempDir();
  let live: Footprint | undefined;
  let killed: Footprint | undefined;
  const a = heavyRun(`${out}/a`);
  try {
    const b = heavyRun(`${out}/b`);
    killed = await killIn("mid-round", b, `${out}/b`);
    live = newFootprint(a.pid);
    await until(
      "the live run's masters",
      () =>
        csvRows(`${out}/a/rounds.csv`) >= 1 &&
        a.processes().some((p) => p.cmd.includes("ControlMaster=yes")),
      {
        each: () => footprint(live!),
        child: a,
      },
    );
    // Its long-lived processes: sshd listeners, workers, forwarders.
    const core = a.processes().filter((p) =>
      p.cmd.includes("[listener]") || p.cmd.includes("deno_worker.ts") ||
      p.cmd.includes("netfwd")
    ).map((p) => live!.procs.get(p.pid) ?? ownerOf(p.pid)!);
    assertEquals(core.length, 2 + 2 + 2, JSON.stringify(core));
    const rounds = csvRows(`${out}/a/rounds.csv`);
    await nextStart("embedded", `${out}/c`);
    assertEquals(leftOf(killed), []);
    for (const o of core) {
      assert(ownerAlive(o), `process ${o.pid} of the live run`);
    }
    for (const n of live.namespaces) assert(exists(`/run/netns/${n}`), n);
    for (const c of live.cgroups) assert(exists(c), c);
    for (const d of [...live.dirs].filter((d) => d.includes("-sshd-"))) {
      assert(exists(d), d);
    }
    // It goes on: more rounds, and not one failed session in all of them.
    await until(
      "more rounds of the live run",
      () => csvRows(`${out}/a/rounds.csv`) >= rounds + 2,
      { child: a },
    );
    a.child.kill("SIGINT");
    const r = await a.exit();
    assertEquals(r.code, 130, r.stderr);
    const rows = Deno.readTextFileSync(`${out}/a/rounds.csv`).trim().split(
      "\n",
    );
    const header = rows[0].split(",");
    const failed = rows.slice(1).map((l) =>
      Number(l.split(",")[header.indexOf("failed")])
    );
    assert(failed.length >= rounds + 2);
    assertEquals(failed.filter((n) => n > 0), [], rows.join("\n"));
    // And its own teardown left nothing.
    assertEquals(leftOf(footprint(live)), []);
  } finally {
    await a.kill();
    if (live) killLeft(live);
    if (killed) killLeft(killed);
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});
