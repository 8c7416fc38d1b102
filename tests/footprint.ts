/**
 * What one run has on the machine, found from its process id: its
 * processes (and their start times, so that a reused pid is not taken for
 * one of them), network namespaces, cgroups and temp folders. Taken while
 * the run lives ({@linkcode footprint}) and checked after it died
 * ({@linkcode leftOf}); it names the run's resources both the way this
 * version does (owner pid and start time in every name) and the way older
 * ones did (the pid only, or no owner at all: then by the paths its
 * processes' command lines name), so a test of it also fails on old code.
 */
// Only what older versions had too, so that these checks run on them.
import { descendants } from "../src/util/proc.ts";
import { exists } from "../src/util/fs.ts";
import {
  linkNamespaces,
  parseLinkName,
  pidsInNamespace,
  processStart,
} from "../src/net/netns.ts";

/** A process, told apart from a later one with the same pid. */
export interface Owner {
  pid: number;
  start: number;
}

/** `pid` with its start time while it runs. */
export function ownerOf(pid: number): Owner | undefined {
  const start = processStart(pid);
  return start === undefined ? undefined : { pid, start };
}

/** True while `o` runs (not a zombie, same start time). */
export function ownerAlive(o: Owner): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${o.pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return f[0] !== "Z" && f[0] !== "X" && Number(f[19]) === o.start;
  } catch {
    return false;
  }
}

/** The pid a cgroup name of this tool records (any version's naming). */
function cgroupPid(name: string): number | undefined {
  const m = /^ssh-bench-(\d+)(?:-|$)/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The tool's temp folders and the pid their name records, if any. */
function tempDirs(): { path: string; pid?: number }[] {
  const root = Deno.env.get("TMPDIR") ?? "/tmp";
  const out: { path: string; pid?: number }[] = [];
  for (const e of Deno.readDirSync(root)) {
    const m = /^ssh-bench-(?:sshd|mux|hostkeys)-(?:(\d+)-t\d+-)?/.exec(e.name);
    if (e.isDirectory && m) {
      out.push({
        path: `${root}/${e.name}`,
        pid: m[1] ? Number(m[1]) : undefined,
      });
    }
  }
  return out;
}

/** A run's resources. */
export interface Footprint {
  /** The run's own process. */
  run: Owner;
  /** Every process seen in its tree, cgroups or namespaces. */
  procs: Map<number, Owner>;
  /** Its network namespaces. */
  namespaces: Set<string>;
  /** Its cgroups (full paths). */
  cgroups: Set<string>;
  /** Its temp folders. */
  dirs: Set<string>;
}

const CGROUP_ROOTS = [
  "/sys/fs/cgroup/cpuacct",
  "/sys/fs/cgroup",
  "/sys/fs/cgroup/unified",
];

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function cgroupProcs(path: string): number[] {
  try {
    return Deno.readTextFileSync(`${path}/cgroup.procs`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** An empty footprint of the run `pid` (which must be running). */
export function newFootprint(pid: number): Footprint {
  const run = ownerOf(pid);
  if (!run) throw new Error(`the run ${pid} is not running`);
  return {
    run,
    procs: new Map(),
    namespaces: new Set(),
    cgroups: new Set(),
    dirs: new Set(),
  };
}

/**
 * Adds what the run has now to `f` (call it as often as useful: the later
 * the more processes it sees; call it once more after the kill for what
 * was started in between).
 */
export function footprint(f: Footprint): Footprint {
  const add = (pid: number) => {
    if (f.procs.has(pid) || pid === f.run.pid) return;
    const o = ownerOf(pid);
    if (o) f.procs.set(pid, o);
  };
  for (const pid of descendants(f.run.pid)) add(pid);
  const owners = new Set([f.run.pid, ...f.procs.keys()]);
  for (const ns of linkNamespaces()) {
    if (parseLinkName(ns)?.ownerPid === f.run.pid) f.namespaces.add(ns);
  }
  for (const ns of f.namespaces) pidsInNamespace(ns).forEach(add);
  for (const root of CGROUP_ROOTS) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(root)];
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory && cgroupPid(e.name) === f.run.pid) {
        f.cgroups.add(`${root}/${e.name}`);
      }
    }
  }
  for (const cg of f.cgroups) cgroupProcs(cg).forEach(add);
  for (const d of tempDirs()) {
    if (d.pid !== undefined && owners.has(d.pid)) f.dirs.add(d.path);
  }
  // Older versions' folders carry no owner: those its processes name.
  for (const pid of [f.run.pid, ...f.procs.keys()]) {
    for (
      const m of cmdline(pid).matchAll(
        /\/tmp\/ssh-bench-(?:sshd|mux|hostkeys)-[^/\s]+/g,
      )
    ) {
      f.dirs.add(m[0]);
    }
  }
  return f;
}

/**
 * What of `f` is still there, one line each (empty: nothing): live
 * processes (same pid and start time, not a zombie), namespaces, cgroups,
 * folders.
 */
export function leftOf(f: Footprint): string[] {
  const left: string[] = [];
  for (const o of f.procs.values()) {
    if (ownerAlive(o)) {
      left.push(`process ${o.pid}: ${cmdline(o.pid).slice(0, 120)}`);
    }
  }
  const ns = new Set(linkNamespaces());
  for (const n of f.namespaces) if (ns.has(n)) left.push(`namespace ${n}`);
  for (const c of f.cgroups) if (exists(c)) left.push(`cgroup ${c}`);
  for (const d of f.dirs) if (exists(d)) left.push(`folder ${d}`);
  return left;
}

/** Pids of `f`'s processes still running. */
export function liveProcs(f: Footprint): number[] {
  return [...f.procs.values()].filter((o) => ownerAlive(o)).map((o) => o.pid);
}

/**
 * SIGKILLs what of `f` still runs (a test's own clean-up after a failed
 * check, so that nothing it started outlives it).
 */
export function killLeft(f: Footprint): void {
  for (const pid of liveProcs(f)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}
