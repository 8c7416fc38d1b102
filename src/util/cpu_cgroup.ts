/**
 * CPU counted by the kernel for a whole process tree: the embedded sshd
 * and each client worker run in a CPU-accounting cgroup of their own
 * (cgroup v1 `cpuacct`, or v2 `cpu.stat`), whose usage includes every
 * process that ever ran in it, exited ones included, at nanosecond
 * resolution, and can be read at the same moments as the machine's CPU.
 * Reading sshd's listener and its reaped children from /proc instead
 * misses a quarter of sshd's CPU (measured: 10.1 of 14.2 ms per session
 * at pool 100, see docs/methodology.md, costs that add up): some session processes' time never reaches
 * the listener's counters. Needs root; elsewhere callers fall back to
 * /proc and getrusage.
 *
 * @module
 */

import { sleepSync } from "./exit_hooks.ts";
import { exists } from "./fs.ts";
import {
  killPids,
  type Owner,
  ownerAlive,
  ownerTag,
  thisProcess,
} from "./owner.ts";

/**
 * Prefix of every cgroup this module creates; the owner's pid and start
 * time follow (`ssh-bench-PID-tSTART-what`, see {@linkcode cgroupName}),
 * so that a later run can remove those of a run that was killed.
 */
export const CGROUP_PREFIX = "ssh-bench-";

/** The hierarchies searched for cgroups of this tool. */
const ROOTS = [
  "/sys/fs/cgroup/cpuacct",
  "/sys/fs/cgroup",
  "/sys/fs/cgroup/unified",
];

/**
 * The name of a cgroup owned by `owner` (default: this process).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cgroupName, parseCgroupName } from "./cpu_cgroup.ts";
 * const name = cgroupName("sshd-1", { pid: 42, start: 7 });
 * assert.equal(name, "ssh-bench-42-t7-sshd-1");
 * assert.deepEqual(parseCgroupName(name), { pid: 42, start: 7 });
 * // An older version's name: the pid only.
 * assert.deepEqual(parseCgroupName("ssh-bench-42-worker-ssh2-0"), { pid: 42 });
 * assert.equal(parseCgroupName("other-42"), undefined);
 * ```
 */
export function cgroupName(what: string, owner: Owner = thisProcess()): string {
  return `${CGROUP_PREFIX}${ownerTag(owner)}-${what}`;
}

/** The owner a cgroup's name records; undefined for a name not ours. */
export function parseCgroupName(
  name: string,
): { pid: number; start?: number } | undefined {
  const m = /^ssh-bench-(\d+)(?:-t(\d+))?(?:-|$)/.exec(name);
  if (!m) return undefined;
  return m[2] === undefined
    ? { pid: Number(m[1]) }
    : { pid: Number(m[1]), start: Number(m[2]) };
}

/** A CPU-accounting cgroup holding one sshd and everything it starts. */
export class CpuCgroup {
  readonly path: string;
  readonly #usage: () => number;

  private constructor(path: string, usage: () => number) {
    this.path = path;
    this.#usage = usage;
  }

  /**
   * Creates the cgroup `name` under the machine's CPU-accounting
   * hierarchy; undefined when there is none or this process may not.
   *
   * @example
   * ```ts
   * import { CpuCgroup } from "./cpu_cgroup.ts";
   * import assert from "node:assert/strict";
   * import { cgroupName } from "./cpu_cgroup.ts";
   * const cg = CpuCgroup.create(cgroupName("doc"));
   * if (cg) {
   *   assert.equal(cg.usageMs(), 0); // nothing ran in it yet
   *   cg.remove();
   * }
   * ```
   */
  static create(name: string): CpuCgroup | undefined {
    const v1 = "/sys/fs/cgroup/cpuacct";
    const v2 = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].find((d) =>
      exists(`${d}/cgroup.procs`) && exists(`${d}/cgroup.controllers`)
    );
    try {
      if (exists(`${v1}/cpuacct.usage`)) {
        const path = `${v1}/${name}`;
        Deno.mkdirSync(path);
        return new CpuCgroup(
          path,
          () => Number(Deno.readTextFileSync(`${path}/cpuacct.usage`)) / 1e6,
        );
      }
      if (v2) {
        const path = `${v2}/${name}`;
        Deno.mkdirSync(path);
        return new CpuCgroup(path, () => {
          const stat = Deno.readTextFileSync(`${path}/cpu.stat`);
          return Number(/usage_usec (\d+)/.exec(stat)?.[1]) / 1000;
        });
      }
    } catch {
      // not root, or no cgroup file system: the caller falls back
    }
    return undefined;
  }

  /** Moves process `pid` (and what it starts from now on) into the cgroup. */
  add(pid: number): void {
    Deno.writeTextFileSync(`${this.path}/cgroup.procs`, String(pid));
  }

  /** CPU used by every process that ran in the cgroup, ms (ns resolution). */
  usageMs(): number {
    return this.#usage();
  }

  /** Processes in the cgroup now (those reparented to init included). */
  pids(): number[] {
    try {
      return Deno.readTextFileSync(`${this.path}/cgroup.procs`).trim().split(
        /\s+/,
      ).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Removes the cgroup once its processes have exited (up to `ms`). */
  async removeWhenEmpty(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      try {
        const procs = Deno.readTextFileSync(`${this.path}/cgroup.procs`);
        if (procs.trim() === "") break;
      } catch {
        return; // gone
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    this.remove();
  }

  /**
   * SIGKILLs every process in the cgroup, again until none is left (up to
   * `ms`), then removes it. Returns how many processes were killed.
   */
  async killAndRemove(ms = 2000): Promise<number> {
    return await killAndRemove(this.path, ms);
  }

  /** The synchronous form of {@linkcode killAndRemove}, for exit hooks. */
  killAndRemoveSync(ms = 1000): number {
    return killAndRemoveSyncAt(this.path, ms);
  }

  /** Removes the cgroup (it must be empty: its processes have exited). */
  remove(): void {
    try {
      Deno.removeSync(this.path);
    } catch {
      // still busy or gone
    }
  }
}

function procsOf(path: string): number[] | undefined {
  try {
    return Deno.readTextFileSync(`${path}/cgroup.procs`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return undefined; // gone
  }
}

async function killAndRemove(path: string, ms: number): Promise<number> {
  const killed = new Set<number>();
  const deadline = performance.now() + ms;
  for (;;) {
    const pids = procsOf(path);
    if (pids === undefined) return killed.size;
    if (pids.length === 0 || performance.now() > deadline) break;
    killPids(pids);
    for (const p of pids) killed.add(p);
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    Deno.removeSync(path);
  } catch {
    // a process would not die, or removed meanwhile
  }
  return killed.size;
}

function killAndRemoveSyncAt(path: string, ms: number): number {
  const killed = new Set<number>();
  const deadline = performance.now() + ms;
  for (;;) {
    const pids = procsOf(path);
    if (pids === undefined) return killed.size;
    if (pids.length === 0 || performance.now() > deadline) break;
    killPids(pids);
    for (const p of pids) killed.add(p);
    sleepSync(10);
  }
  try {
    Deno.removeSync(path);
  } catch {
    // a process would not die
  }
  return killed.size;
}

/** This tool's cgroups whose owner is proven dead, as full paths. */
export function staleCgroups(): string[] {
  const out: string[] = [];
  for (const root of ROOTS) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(root)];
    } catch {
      continue;
    }
    for (const e of entries) {
      const owner = e.isDirectory ? parseCgroupName(e.name) : undefined;
      if (owner && !ownerAlive(owner)) out.push(`${root}/${e.name}`);
    }
  }
  return out;
}

/**
 * Removes the cgroups of runs whose process is gone (a run killed with
 * SIGKILL cannot remove its own), SIGKILLing first whatever still runs in
 * them: a dead run's sshd session processes, its orphaned ssh clients.
 * Cgroups of live owners are left alone. Returns the cgroups removed and
 * how many processes were killed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeStaleCgroups } from "./cpu_cgroup.ts";
 * const r = await removeStaleCgroups();
 * assert.ok(Array.isArray(r.removed) && r.killed >= 0);
 * ```
 */
export async function removeStaleCgroups(): Promise<
  { removed: string[]; killed: number }
> {
  const removed: string[] = [];
  let killed = 0;
  for (const path of staleCgroups()) {
    killed += await killAndRemove(path, 2000);
    if (!exists(path)) removed.push(path);
  }
  return { removed, killed };
}
