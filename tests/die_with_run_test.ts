/**
 * What a client worker starts dies with the run, SIGKILL included, with
 * no next start to sweep it: openssh's per-session `ssh` processes (one
 * command per session) and its mux clients and connection masters (three
 * commands per session), killed mid-round while their command still runs
 * (`sleep 30`), are gone within a few seconds, and so are the worker and
 * its mux folders. Against a real sshd. Only this run's processes are
 * counted (by its process tree, its cgroups and the folders its command
 * lines name): other runs may go on on this machine.
 */
import { assert, assertEquals } from "./assert.ts";
import { BenchChild, until } from "./bench_child.ts";
import {
  type Footprint,
  footprint,
  killLeft,
  newFootprint,
  type Owner,
  ownerAlive,
  ownerOf,
} from "./footprint.ts";
import { exists } from "../src/util/fs.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function cmdline(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0")
      .filter((a) => a !== "");
  } catch {
    return [];
  }
}

/** True for an `ssh` client's command line (setpriv wrapper included). */
function isSsh(argv: readonly string[]): boolean {
  const name = (a: string | undefined) => a?.split("/").pop();
  return name(argv[0]) === "ssh" ||
    (name(argv[0]) === "setpriv" && argv.some((a) => name(a) === "ssh"));
}

/**
 * The run's ssh clients alive now: those its footprint holds (tree and
 * cgroups), plus any ssh whose command line names one of its folders
 * (its known_hosts, a mux socket), found even once reparented.
 */
function liveSsh(f: Footprint, seen: Map<number, Owner>): string[] {
  for (const [pid, o] of f.procs) {
    if (isSsh(cmdline(pid))) seen.set(pid, o);
  }
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    const argv = cmdline(pid);
    if (!isSsh(argv) || seen.has(pid)) continue;
    const line = argv.join(" ");
    if ([...f.dirs].some((d) => line.includes(`${d}/`))) {
      const o = ownerOf(pid);
      if (o) seen.set(pid, o);
    }
  }
  return [...seen.values()].filter((o) => ownerAlive(o)).map((o) =>
    `${o.pid}: ${cmdline(o.pid).join(" ").slice(0, 160)}`
  );
}

for (const k of [1, 3]) {
  Deno.test({
    name: `die with the run: SIGKILL mid-round of openssh (${k} command${
      k > 1 ? "s" : ""
    } per session, sleep 30): no ssh of it is left, before any next start`,
    ...opts,
  }, async () => {
    const out = await Deno.makeTempDir();
    const run = new BenchChild([
      "--clients",
      "openssh",
      "--commands-per-session",
      String(k),
      "--command",
      "sleep 30",
      "--pool",
      "2",
      "--rounds",
      "1",
      "--step-seconds",
      "0",
      "--timeout",
      "60",
      "--no-charts",
      "--out",
      `${out}/run`,
    ]);
    const f = newFootprint(run.pid);
    const seen = new Map<number, Owner>();
    try {
      // Both sessions' command under way (K = 3: through their masters).
      await until(
        "two sessions running sleep 30",
        () =>
          run.processes().filter((p) =>
            isSsh(p.cmd.split(" ")) && / -- \S+ sleep 30\s*$/.test(p.cmd)
          ).length >= 2,
        { each: () => footprint(f), child: run, ms: 120_000 },
      );
      footprint(f);
      const before = liveSsh(f, seen);
      assert(before.length >= 2, before.join("\n"));
      const worker = run.processes().find((p) =>
        p.cmd.includes("deno_worker.ts openssh")
      );
      assert(worker, "the openssh worker");
      const workerOwner = f.procs.get(worker.pid)!;
      const mux = [...f.dirs].filter((d) => d.includes("ssh-bench-mux-"));
      if (k > 1) assert(mux.length >= 1, [...f.dirs].join(" "));
      const killedAt = performance.now();
      run.child.kill("SIGKILL");
      await run.exit();
      footprint(f); // anything started just before the kill
      let left: string[] = [];
      try {
        await until("the run's ssh clients to die with it", () => {
          footprint(f);
          left = liveSsh(f, seen);
          return left.length === 0;
        }, { ms: 5000 });
      } catch {
        // reported below, with what is left
      }
      assertEquals(left, [], `ssh clients outlived the run`);
      console.log(
        `  (K=${k}: ${seen.size} ssh processes gone ${
          ((performance.now() - killedAt) / 1000).toFixed(2)
        } s after the SIGKILL)`,
      );
      await until("the worker to exit", () => !ownerAlive(workerOwner), {
        ms: 5000,
      });
      // Its folders went with it (no next start has run).
      assertEquals(mux.filter((d) => exists(d)), []);
    } finally {
      killLeft(f);
      await run.kill();
      await Deno.remove(out, { recursive: true });
    }
  });
}
