/**
 * Who owns what a run leaves on the machine. Every temp folder, cgroup and
 * network namespace the tool creates carries its owner's pid and that
 * process's start time in its name; a later run may remove it only once
 * the owner is proven dead: no process with that pid, a zombie, or a
 * process with that pid but another start time (the pid was reused).
 * A live owner is never taken for a dead one, so what a concurrent run
 * holds is never touched.
 *
 * @module
 */

/** A process, told apart from any later one with the same pid. */
export interface Owner {
  /** Process id. */
  pid: number;
  /** Start time in clock ticks after boot (field 22 of /proc/PID/stat). */
  start: number;
}

/** Fields of /proc/PID/stat after the command name, or undefined. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * Start time of a process in clock ticks after boot; undefined when it is
 * gone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processStart } from "./owner.ts";
 * assert.ok((processStart(Deno.pid) ?? -1) > 0);
 * assert.equal(processStart(-5), undefined);
 * ```
 */
export function processStart(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[19]) : undefined;
}

let self: Owner | undefined;

/**
 * This process as an owner.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processStart, thisProcess } from "./owner.ts";
 * assert.deepEqual(thisProcess(), { pid: Deno.pid, start: processStart(Deno.pid) });
 * ```
 */
export function thisProcess(): Owner {
  self ??= { pid: Deno.pid, start: processStart(Deno.pid) ?? 0 };
  return self;
}

/**
 * The process `pid` as an owner (while it runs), else undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ownerOf } from "./owner.ts";
 * assert.equal(ownerOf(Deno.pid)?.pid, Deno.pid);
 * assert.equal(ownerOf(-1), undefined);
 * ```
 */
export function ownerOf(pid: number): Owner | undefined {
  const start = processStart(pid);
  return start === undefined ? undefined : { pid, start };
}

/**
 * The owner as it appears in names: `PID-tSTART`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ownerTag, parseOwnerTag } from "./owner.ts";
 * assert.equal(ownerTag({ pid: 42, start: 7 }), "42-t7");
 * assert.deepEqual(parseOwnerTag("42-t7"), { pid: 42, start: 7 });
 * assert.equal(parseOwnerTag("42-7"), undefined);
 * ```
 */
export function ownerTag(o: Owner = thisProcess()): string {
  return `${o.pid}-t${o.start}`;
}

/** Reads an {@linkcode ownerTag}; undefined for anything else. */
export function parseOwnerTag(tag: string): Owner | undefined {
  const m = /^(\d+)-t(\d+)$/.exec(tag);
  return m ? { pid: Number(m[1]), start: Number(m[2]) } : undefined;
}

/**
 * True while the owner runs: a process with its pid exists, is not a
 * zombie, and (when `start` is known) started at that time. Without a
 * start time (names written by older versions, which recorded the pid
 * only) a running process with that pid counts as the owner, so it is
 * never wrongly taken for dead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ownerAlive, thisProcess } from "./owner.ts";
 * const me = thisProcess();
 * assert.equal(ownerAlive(me), true);
 * assert.equal(ownerAlive({ pid: me.pid }), true);
 * assert.equal(ownerAlive({ pid: me.pid, start: me.start + 1 }), false); // a reused pid
 * const child = new Deno.Command("true").spawn();
 * await child.status;
 * assert.equal(ownerAlive({ pid: child.pid }), false);
 * ```
 */
export function ownerAlive(o: { pid: number; start?: number }): boolean {
  if (!(o.pid > 0)) return false;
  const f = statFields(o.pid);
  if (!f) return false;
  // Z: exited, not yet reaped; X: dead.
  if (f[0] === "Z" || f[0] === "X") return false;
  return o.start === undefined || Number(f[19]) === o.start;
}

/** SIGKILLs every pid (those already gone are skipped). */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
