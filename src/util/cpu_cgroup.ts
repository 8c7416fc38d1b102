/**
 * CPU counted by the kernel for a whole process tree: the embedded sshd
 * and each client worker run in a CPU-accounting cgroup of their own
 * (cgroup v1 `cpuacct`, or v2 `cpu.stat`), whose usage includes every
 * process that ever ran in it, exited ones included, at nanosecond
 * resolution, and can be read at the same moments as the machine's CPU.
 * Reading sshd's listener and its reaped children from /proc instead
 * misses a quarter of sshd's CPU (measured: 10.1 of 14.2 ms per session
 * at pool 100, see README): some session processes' time never reaches
 * the listener's counters. Needs root; elsewhere callers fall back to
 * /proc and getrusage.
 *
 * @module
 */

/**
 * Prefix of every cgroup this module creates; the owner's pid follows, so
 * that a later run can remove those of a run that was killed.
 */
export const CGROUP_PREFIX = "ssh-bench-";

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
   * const cg = CpuCgroup.create(`ssh-bench-${Deno.pid}-doc`);
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

  /** Removes the cgroup (it must be empty: its processes have exited). */
  remove(): void {
    try {
      Deno.removeSync(this.path);
    } catch {
      // still busy or gone
    }
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the cgroups of runs whose process is gone (a run killed with
 * SIGKILL cannot remove its own).
 */
export function removeStaleCgroups(alive: (pid: number) => boolean): void {
  for (
    const root of [
      "/sys/fs/cgroup/cpuacct",
      "/sys/fs/cgroup",
      "/sys/fs/cgroup/unified",
    ]
  ) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(root)];
    } catch {
      continue;
    }
    for (const e of entries) {
      const m = new RegExp(`^${CGROUP_PREFIX}(\\d+)`).exec(e.name);
      if (e.isDirectory && m && !alive(Number(m[1]))) {
        try {
          Deno.removeSync(`${root}/${e.name}`);
        } catch {
          // still has processes
        }
      }
    }
  }
}
