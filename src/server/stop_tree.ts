/**
 * What the embedded servers share, whichever implementation: how one
 * stops and how its CPU is read. Stopping: the listener
 * and every process under it (sessions, the commands they run) get
 * SIGTERM, the listener SIGKILL after 3 s, then whatever is left in its
 * cgroup is killed and the cgroup, the temp dir and the exit hook go.
 *
 * @module
 */
import type { CpuCgroup } from "../util/cpu_cgroup.ts";
import { descendants, procCpuMs } from "../util/proc.ts";

/** What {@linkcode stopServerTree} stops and removes. */
export interface ServerTree {
  /** The listener. */
  child: Deno.ChildProcess;
  /** Its cgroup (also holding session processes whose parent is gone). */
  cgroup?: CpuCgroup;
  /** Its temp dir. */
  dir: string;
  /** Removes the exit hook that would do all this at a forced exit. */
  offExit: () => void;
  /** Waited for between the listener's exit and the cgroup (log pipes). */
  drained?: Promise<void>;
}

function kill(f: () => void): void {
  try {
    f();
  } catch {
    // already gone
  }
}

/**
 * Stops a server's process tree and removes what it had.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stopServerTree } from "./stop_tree.ts";
 * const dir = Deno.makeTempDirSync();
 * const child = new Deno.Command("sh", { args: ["-c", "sleep 30 & sleep 30"] }).spawn();
 * let hooked = true;
 * await stopServerTree({ child, dir, offExit: () => hooked = false });
 * assert.equal((await child.status).signal, "SIGTERM");
 * assert.throws(() => Deno.statSync(dir));
 * assert.equal(hooked, false);
 * ```
 */
export async function stopServerTree(t: ServerTree): Promise<void> {
  const pid = t.child.pid;
  const kids = [
    ...new Set([...descendants(pid), ...(t.cgroup?.pids() ?? [])]),
  ].filter((p) => p !== pid);
  kill(() => t.child.kill("SIGTERM"));
  for (const k of kids) kill(() => Deno.kill(k, "SIGTERM"));
  const timer = setTimeout(() => kill(() => t.child.kill("SIGKILL")), 3000);
  await t.child.status;
  clearTimeout(timer);
  await t.drained;
  // Session processes still there (their parent gone) are killed.
  await t.cgroup?.killAndRemove(2000);
  await Deno.remove(t.dir, { recursive: true }).catch(() => {});
  t.offExit();
}

/**
 * A server's CPU so far, ms: its cgroup's usage (its whole tree, exited
 * processes included) while it runs and has one, else the listener's own
 * and its reaped children's from /proc (undefined once it is gone).
 */
export function serverCpuMs(
  pid: number,
  cgroup: CpuCgroup | undefined,
  stopped: boolean,
): number | undefined {
  if (cgroup && !stopped) return cgroup.usageMs();
  const c = procCpuMs(pid);
  return c === undefined ? undefined : c.self + c.children;
}
