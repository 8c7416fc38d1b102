/**
 * A worker process takes what it started with it, however it goes. The
 * benchmark starts each worker under `setpriv --pdeathsig TERM`
 * (`worker_process.ts`), so even a SIGKILLed benchmark sends its workers
 * a signal they can catch; on it (and on SIGINT, a normal exit,
 * `Deno.exit` or an uncaught error) the worker SIGKILLs every process it
 * started (openssh's per-session `ssh` and mux clients, its connection
 * masters, anything they started), and whatever else is left in its own
 * cgroup, removes the temp folders named after it (`ssh-bench-mux-*`,
 * `util/owned_dirs.ts`), then exits. Nothing of this runs per session:
 * the processes it starts carry no wrapper of their own, so openssh's
 * timed phases pay nothing for it. A worker that is itself SIGKILLed
 * runs none of it; what it left, the benchmark kills (its tree, its
 * cgroup) or the next run's start removes (`run/stale.ts`).
 *
 * @module
 */
import { onExit, sleepSync } from "../util/exit_hooks.ts";
import { descendants } from "../util/proc.ts";
import { killPids, ownerAlive, ownerOf, thisProcess } from "../util/owner.ts";
import { ownedDirs } from "../util/owned_dirs.ts";
import { parseCgroupName } from "../util/cpu_cgroup.ts";

/** Exit codes by signal, as a shell reports them (128 + number). */
const SIGNAL_EXIT = { SIGTERM: 143, SIGINT: 130 } as const;

/** What {@linkcode stopWhatThisStarted} did. */
export interface Stopped {
  /** Processes SIGKILLed. */
  killed: number[];
  /** Temp folders removed. */
  dirs: string[];
}

/** Live (not zombie) processes among `pids`, other than this one. */
function living(pids: readonly number[]): number[] {
  return pids.filter((p) => {
    if (p === Deno.pid) return false;
    const o = ownerOf(p);
    return o !== undefined && ownerAlive(o);
  });
}

/**
 * Processes in this process's own cgroup, other than itself, when that
 * cgroup is one the benchmark made for a worker (`ssh-bench-...-worker-*`);
 * else none (a cgroup shared with others is never emptied).
 */
function ownCgroupPids(): number[] {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/cgroup");
  } catch {
    return [];
  }
  for (const line of text.split("\n")) {
    // "2:cpuacct:/path" (v1) or "0::/path" (v2).
    const [, controllers, path] = line.split(":");
    if (!path || !(controllers === "cpuacct" || controllers === "")) continue;
    const name = path.split("/").pop() ?? "";
    if (!parseCgroupName(name) || !name.includes("-worker-")) continue;
    const roots = controllers === "cpuacct"
      ? ["/sys/fs/cgroup/cpuacct"]
      : ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
    for (const root of roots) {
      try {
        return Deno.readTextFileSync(`${root}${path}/cgroup.procs`).trim()
          .split(/\s+/).filter(Boolean).map(Number)
          .filter((p) => p !== Deno.pid);
      } catch {
        // not mounted there
      }
    }
  }
  return [];
}

/**
 * SIGKILLs every process this one started (its whole tree, and what is
 * left in its own worker cgroup), again until none is left (up to `ms`),
 * and removes the temp folders named after this process. Synchronous, for
 * exit paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stopWhatThisStarted } from "./worker_exit.ts";
 * import { makeOwnedTempDirSync } from "../util/owned_dirs.ts";
 * const code = `import { stopWhatThisStarted } from ${
 *   JSON.stringify(import.meta.resolve("./worker_exit.ts"))};
 * import { makeOwnedTempDirSync } from ${
 *   JSON.stringify(import.meta.resolve("../util/owned_dirs.ts"))};
 * const dir = makeOwnedTempDirSync("mux");
 * const c = new Deno.Command("sh", { args: ["-c", "sleep 30 & wait"] }).spawn();
 * await new Promise((r) => setTimeout(r, 200));
 * const r = stopWhatThisStarted();
 * console.log(JSON.stringify({ dir, r, signal: (await c.status).signal }));`;
 * const out = await new Deno.Command(Deno.execPath(), {
 *   args: ["eval", code],
 * }).output();
 * const { dir, r, signal } = JSON.parse(new TextDecoder().decode(out.stdout));
 * assert.equal(signal, "SIGKILL");
 * assert.equal(r.killed.length, 2); // sh and its sleep
 * assert.deepEqual(r.dirs, [dir]);
 * assert.throws(() => Deno.statSync(dir));
 * ```
 */
export function stopWhatThisStarted(ms = 500): Stopped {
  const killed = new Set<number>();
  const deadline = performance.now() + ms;
  for (;;) {
    const left = living([...descendants(Deno.pid), ...ownCgroupPids()]);
    if (left.length === 0 || performance.now() > deadline) break;
    killPids(left);
    left.forEach((p) => killed.add(p));
    sleepSync(5);
  }
  const me = thisProcess();
  const dirs: string[] = [];
  for (const d of ownedDirs()) {
    if (d.owner?.pid !== me.pid || d.owner.start !== me.start) continue;
    try {
      Deno.removeSync(d.path, { recursive: true });
      dirs.push(d.path);
    } catch {
      // removed meanwhile
    }
  }
  return { killed: [...killed], dirs };
}

/**
 * Makes this process (a worker) stop what it started on every way out:
 * SIGTERM (the parent-death signal) and SIGINT exit at once (143, 130),
 * and a normal exit, `Deno.exit` or an uncaught error run
 * {@linkcode stopWhatThisStarted} first. Call it once, first thing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const code = `import { stopOnEveryExit } from ${
 *   JSON.stringify(import.meta.resolve("./worker_exit.ts"))};
 * stopOnEveryExit();
 * const c = new Deno.Command("sleep", { args: ["30"] }).spawn();
 * console.log(c.pid);
 * await c.status;`;
 * const w = new Deno.Command(Deno.execPath(), {
 *   args: ["eval", code], stdout: "piped",
 * }).spawn();
 * const reader = w.stdout.getReader();
 * const sleep = Number(new TextDecoder().decode((await reader.read()).value));
 * reader.releaseLock();
 * w.kill("SIGTERM");
 * assert.equal((await w.status).code, 143);
 * const stat = (() => {
 *   try {
 *     return Deno.readTextFileSync(`/proc/${sleep}/stat`);
 *   } catch {
 *     return "gone";
 *   }
 * })();
 * assert.ok(stat === "gone" || / [ZX] /.test(stat), stat); // its sleep is dead
 * ```
 */
export function stopOnEveryExit(): void {
  onExit(() => stopWhatThisStarted());
  for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
    Deno.addSignalListener(signal as Deno.Signal, () => Deno.exit(code));
  }
  // An uncaught error ends the process without `unload`.
  const onError = () => stopWhatThisStarted();
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onError);
}
