/**
 * CPU used by processes outside a run, measured directly: the CPU every
 * task on the machine used (the CPU-accounting hierarchy's root) less
 * what the run's own cgroups used (its servers and workers, named
 * `ssh-bench-PID-tSTART-…` after this process, see `cpu_cgroup.ts`) and
 * this process's own CPU (getrusage of itself and its reaped children).
 *
 * Not the machine's busy time less client and server CPU (the summary's
 * "unattributed" part): that remainder also holds the run's own kernel
 * work (loopback TCP in softirq), idle workers and the benchmark process,
 * so every loopback run would look disturbed. Root-cgroup usage counts
 * task time only (on cgroup v1 `cpuacct.usage`, exact to the ns; on v2
 * the root's `cpu.stat` `usage_usec`), and softirq work done in a task's
 * context is that task's, so the run's own network work stays the run's.
 * Kernel threads (a kworker, ksoftirqd under load) count as other.
 *
 * Needs read access to the root cgroup and to the run's cgroups (root);
 * elsewhere {@linkcode cpuSnapshot} is undefined and the figure unknown.
 * Inside a container the root is the container's: "other" then means the
 * container's other processes.
 *
 * @module
 */
import { CGROUP_PREFIX } from "./cpu_cgroup.ts";
import { selfCpuMs } from "./cpu.ts";
import { ownerTag, thisProcess } from "./owner.ts";

/** One reading of the CPU counters {@linkcode otherCpuMs} subtracts. */
export interface CpuSnapshot {
  /** CPU of every task on the machine (the root cgroup), ms. */
  totalMs: number;
  /** CPU of each of the run's own cgroups, by name, ms. */
  ownMs: Map<string, number>;
  /** This process's CPU (self and reaped children), ms. */
  selfMs: number;
}

/** Where the root cgroup's usage is read, and how. */
interface Hierarchy {
  root: string;
  usageMs: (dir: string) => number;
}

function v1Usage(dir: string): number {
  return Number(Deno.readTextFileSync(`${dir}/cpuacct.usage`)) / 1e6;
}

function v2Usage(dir: string): number {
  const stat = Deno.readTextFileSync(`${dir}/cpu.stat`);
  const m = /usage_usec (\d+)/.exec(stat);
  if (!m) throw new Error(`${dir}/cpu.stat has no usage_usec`);
  return Number(m[1]) / 1000;
}

let found: Hierarchy | null | undefined;

/** The hierarchy the run's cgroups are made in (as `CpuCgroup.create` picks it). */
function hierarchy(): Hierarchy | undefined {
  if (found !== undefined) return found ?? undefined;
  found = null;
  const v1 = "/sys/fs/cgroup/cpuacct";
  try {
    v1Usage(v1);
    found = { root: v1, usageMs: v1Usage };
  } catch {
    for (const root of ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]) {
      try {
        Deno.statSync(`${root}/cgroup.controllers`);
        v2Usage(root);
        found = { root, usageMs: v2Usage };
        break;
      } catch {
        // not this one
      }
    }
  }
  return found ?? undefined;
}

/**
 * Reads the machine's task CPU, the run's own cgroups' (those whose name
 * starts with `prefix`, by default this process's) and this process's;
 * undefined where the root cgroup cannot be read.
 *
 * @example
 * ```ts
 * import { cpuSnapshot, otherCpuMs } from "./other_cpu.ts";
 * import assert from "node:assert/strict";
 * const a = cpuSnapshot();
 * let x = 0;
 * for (let i = 0; i < 2e6; i++) x += i % 3; // this process's own work
 * const b = cpuSnapshot();
 * if (a && b) {
 *   assert.ok(b.totalMs >= a.totalMs && b.selfMs > a.selfMs && x > 0);
 *   assert.ok(otherCpuMs(a, b) >= 0);
 * }
 * ```
 */
export function cpuSnapshot(
  prefix = `${CGROUP_PREFIX}${ownerTag(thisProcess())}-`,
): CpuSnapshot | undefined {
  const h = hierarchy();
  if (!h) return undefined;
  let totalMs: number;
  try {
    totalMs = h.usageMs(h.root);
  } catch {
    return undefined;
  }
  const ownMs = new Map<string, number>();
  try {
    for (const e of Deno.readDirSync(h.root)) {
      if (!e.isDirectory || !e.name.startsWith(prefix)) continue;
      try {
        ownMs.set(e.name, h.usageMs(`${h.root}/${e.name}`));
      } catch {
        // removed meanwhile
      }
    }
  } catch {
    return undefined;
  }
  const self = selfCpuMs();
  return { totalMs, ownMs, selfMs: self.self + self.children };
}

/**
 * CPU used between two snapshots by processes outside the run, ms: the
 * machine's task CPU less the run's cgroups' (a cgroup made meanwhile
 * counts from 0; one removed meanwhile is lost), less this process's and
 * `alsoOwnMs` (e.g. the packet forwarder's, which runs outside the
 * cgroups). Never below 0: the counters are read one after another, not
 * at once, so a few µs can fall on the wrong side.
 *
 * @example
 * ```ts
 * import { otherCpuMs } from "./other_cpu.ts";
 * import assert from "node:assert/strict";
 * const a = { totalMs: 1000, ownMs: new Map([["w", 100]]), selfMs: 50 };
 * const b = { totalMs: 1200, ownMs: new Map([["w", 160], ["srv", 30]]), selfMs: 60 };
 * assert.equal(otherCpuMs(a, b), 200 - 60 - 30 - 10);
 * assert.equal(otherCpuMs(a, b, 100), 0);
 * ```
 */
export function otherCpuMs(
  a: CpuSnapshot,
  b: CpuSnapshot,
  alsoOwnMs = 0,
): number {
  let own = 0;
  for (const [name, ms] of b.ownMs) own += ms - (a.ownMs.get(name) ?? 0);
  const other = (b.totalMs - a.totalMs) - own - (b.selfMs - a.selfMs) -
    alsoOwnMs;
  return Math.max(0, other);
}
