/**
 * Provenance of a run, written to `meta.json`: parameters, versions,
 * machine, target (never a key), calibration, and the run's state.
 *
 * @module
 */
import { run } from "../util/proc.ts";

/** The project's data folder. */
export const DATA_DIR: string = new URL("../../data", import.meta.url).pathname;

/** Folder under which runs are written by default (data/runs). */
export const RUNS_DIR = `${DATA_DIR}/runs`;

/**
 * A compact UTC timestamp for folder names, e.g. `20261125T215336Z`.
 *
 * @example
 * ```ts
 * import { utcStamp } from "./record.ts";
 * console.log(utcStamp(new Date("2026-11-25T21:53:36.887Z"))); // 20261125T215336Z
 * ```
 */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Versions and machine facts kept with the data. */
export interface Provenance {
  /** Project git commit (with `-dirty` if the tree had changes), or "unknown". */
  project_commit: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** Kernel release (`uname -r`). */
  kernel: string;
  /** CPU model name. */
  cpu_model: string;
  /** Logical cores. */
  cores: number;
  /** Total memory, GiB. */
  mem_gib: number;
}

/**
 * Reads versions and machine facts.
 *
 * @example
 * ```ts
 * import { provenance } from "./record.ts";
 * const p = await provenance();
 * console.log(p.cores >= 1);
 * ```
 */
export async function provenance(): Promise<Provenance> {
  const root = new URL("../..", import.meta.url).pathname;
  const commit = await run("git", [
    "-C",
    root,
    "rev-parse",
    "--short=12",
    "HEAD",
  ]);
  const dirty = await run("git", [
    "-C",
    root,
    "status",
    "--porcelain",
    "--",
    "src",
    "deno.json",
  ]);
  let cpu = "unknown";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = /model name\s*:\s*(.*)/.exec(info)?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  return {
    project_commit: commit.code === 0
      ? commit.stdout.trim() + (dirty.stdout.trim() ? "-dirty" : "")
      : "unknown",
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    kernel: Deno.osRelease(),
    cpu_model: cpu,
    cores: navigator.hardwareConcurrency,
    mem_gib: Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10,
  };
}

/**
 * Writes `meta.json` atomically (temp file + rename), so a kill never
 * leaves it half-written.
 *
 * @example
 * ```ts ignore
 * import { writeMeta } from "./record.ts";
 * await writeMeta("data/runs/x", { status: "running" });
 * ```
 */
export async function writeMeta(dir: string, meta: unknown): Promise<void> {
  const tmp = `${dir}/.meta.json.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(meta, null, 2) + "\n");
  await Deno.rename(tmp, `${dir}/meta.json`);
}
