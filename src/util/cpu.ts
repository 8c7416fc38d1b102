/**
 * CPU time readers: this process's own (and its reaped children's) at
 * microsecond resolution through `getrusage(2)`, and the whole machine's
 * busy time from `/proc/stat`.
 *
 * @module
 */

const TICK_MS = 10; // Linux USER_HZ is 100 on every mainstream build.
const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;

let libc:
  | Deno.DynamicLibrary<{
    getrusage: { parameters: ["i32", "buffer"]; result: "i32" };
  }>
  | undefined;

function rusageMs(who: number): number {
  libc ??= Deno.dlopen("libc.so.6", {
    getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  });
  // struct rusage starts with ru_utime and ru_stime, two struct timeval
  // (tv_sec, tv_usec as 64-bit longs on x86_64 and aarch64 Linux).
  const buf = new BigInt64Array(18);
  if (libc.symbols.getrusage(who, new Uint8Array(buf.buffer)) !== 0) return NaN;
  const us = (buf[0] + buf[2]) * 1_000_000n + buf[1] + buf[3];
  return Number(us) / 1000;
}

/**
 * User + system CPU of this process and of its children it has waited for
 * (e.g. the `ssh` processes of the openssh client), in ms with µs
 * resolution.
 *
 * @example
 * ```ts
 * import { selfCpuMs } from "./cpu.ts";
 * import assert from "node:assert/strict";
 * const a = selfCpuMs();
 * let x = 0;
 * for (let i = 0; i < 3e6; i++) x += i % 7;
 * const b = selfCpuMs();
 * assert.ok(b.self > a.self && b.children >= a.children && x > 0);
 * assert.notEqual(b.self % 10, 0); // not in 10 ms ticks
 * ```
 */
export function selfCpuMs(): { self: number; children: number } {
  return { self: rusageMs(RUSAGE_SELF), children: rusageMs(RUSAGE_CHILDREN) };
}

/** Whole-machine CPU since boot, from the `cpu` line of /proc/stat, in ms. */
export interface MachineCpu {
  /** Busy time of all cores: user, nice, system, irq, softirq, steal. */
  busyMs: number;
  /** Idle and I/O-wait time of all cores. */
  idleMs: number;
  /** Time a hypervisor ran something else while this VM wanted the CPU. */
  stealMs: number;
  /** Time in softirq handlers (on loopback: most of the TCP/IP stack). */
  softirqMs: number;
  /** Time in hard interrupt handlers. */
  irqMs: number;
}

/**
 * Parses the aggregate `cpu` line of `/proc/stat` (ticks of 10 ms). Guest
 * time is already part of user time there, so it is not added again.
 *
 * @example
 * ```ts
 * import { parseProcStat } from "./cpu.ts";
 * import assert from "node:assert/strict";
 * const text = "cpu  100 2 30 900 5 1 7 4 0 0\ncpu0 50 1 15 450 2 0 3 2 0 0\n";
 * assert.deepEqual(parseProcStat(text), {
 *   busyMs: (100 + 2 + 30 + 1 + 7 + 4) * 10, idleMs: (900 + 5) * 10,
 *   stealMs: 40, softirqMs: 70, irqMs: 10,
 * });
 * ```
 */
export function parseProcStat(text: string): MachineCpu {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("/proc/stat has no aggregate cpu line");
  const f = line.trim().split(/\s+/).slice(1).map((v) => Number(v) * TICK_MS);
  const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = f;
  return {
    busyMs: user + nice + system + irq + softirq + steal,
    idleMs: idle + iowait,
    stealMs: steal,
    softirqMs: softirq,
    irqMs: irq,
  };
}

/**
 * The machine's CPU times now, or undefined where /proc/stat is missing.
 *
 * @example
 * ```ts
 * import { machineCpu } from "./cpu.ts";
 * import assert from "node:assert/strict";
 * const m = machineCpu();
 * assert.ok(m !== undefined && m.busyMs > 0 && m.idleMs >= 0);
 * ```
 */
export function machineCpu(): MachineCpu | undefined {
  try {
    return parseProcStat(Deno.readTextFileSync("/proc/stat"));
  } catch {
    return undefined;
  }
}
