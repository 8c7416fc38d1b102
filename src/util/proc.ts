/**
 * Small process helpers: run a command to completion, find binaries,
 * read CPU times from /proc.
 *
 * @module
 */
import { exists } from "./fs.ts";

/** Result of {@linkcode run}. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Text written to its stdin (then closed); without it stdin is closed. */
  stdin?: string;
  /** Environment variables set for it, on top of this process's. */
  env?: Record<string, string>;
  /** It gets `env` only: nothing of this process's environment. */
  clearEnv?: boolean;
}

/**
 * Runs a command to completion and captures its output. A missing binary
 * gives code 127 instead of throwing; a command that exits without reading
 * all of `stdin` is no error (its code says how it ended).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run } from "./proc.ts";
 * const r = await run("uname", ["-s"]);
 * assert.deepEqual([r.code, r.stdout.trim()], [0, "Linux"]);
 * const missing = "/nonexistent/tool";
 * assert.equal((await run(missing, [])).code, 127);
 * assert.equal((await run("cat", [], { stdin: "in\n" })).stdout, "in\n");
 * Deno.env.set("PROC_RUN_EXAMPLE", "inherited");
 * const env = await run("/usr/bin/env", [], { env: { A: "1" }, clearEnv: true });
 * assert.equal(env.stdout, "A=1\n");
 * // Exits at once, never reading the 1 MB it is given.
 * const early = await run("sh", ["-c", "exit 3"], { stdin: "x".repeat(2 ** 20) });
 * assert.equal(early.code, 3);
 * ```
 */
export async function run(
  cmd: string,
  args: string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  try {
    const child = new Deno.Command(cmd, {
      args,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: opts.env,
      clearEnv: opts.clearEnv,
    }).spawn();
    if (opts.stdin !== undefined) {
      // A child that exits first closes the pipe: a broken pipe here.
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin)).catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${cmd}: not found` };
    }
    throw e;
  }
}

/**
 * Finds an executable by name in PATH and the sbin directories.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { which } from "./proc.ts";
 * assert.match(which("sh") ?? "", /^(\/usr)?\/bin\/sh$/);
 * const missing = "no-such-binary-here";
 * assert.equal(which(missing), undefined);
 * ```
 */
export function which(name: string): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat([
    "/usr/sbin",
    "/sbin",
    "/usr/bin",
    "/bin",
  ]);
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${name}`;
    try {
      const st = Deno.statSync(p);
      if (st.isFile && (st.mode ?? 0) & 0o111) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const TICK_MS = 10; // Linux USER_HZ is 100 on every mainstream build.

/**
 * CPU times of a process from `/proc/<pid>/stat`, in ms: its own user+system
 * time and that of its children it has waited for. Undefined if the
 * process is gone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { procCpuMs } from "./proc.ts";
 * const cpu = procCpuMs("self");
 * assert.ok(cpu !== undefined && cpu.self >= 0 && cpu.children >= 0);
 * ```
 */
export function procCpuMs(
  pid: number | "self",
): { self: number; children: number } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const f = (i: number) => Number(rest[i]) * TICK_MS;
  return { self: f(11) + f(12), children: f(13) + f(14) };
}

/**
 * Process ids whose parent is `ppid`, read from /proc. Where the kernel
 * lists children per thread, only those forked by the main thread are
 * seen: sshd and shells fork from it (Deno spawns from other threads).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { childPids } from "./proc.ts";
 * const sh = new Deno.Command("sh", { args: ["-c", "sleep 5 & wait"] })
 *   .spawn();
 * // The child is a copy of sh until it has exec'd sleep.
 * const cmdline = (pid: number) => Deno.readTextFileSync(`/proc/${pid}/cmdline`);
 * let kids: number[] = [];
 * for (let i = 0; i < 1000; i++) {
 *   kids = childPids(sh.pid);
 *   if (kids.length > 0 && /^sleep/.test(cmdline(kids[0]))) break;
 *   await new Promise((r) => setTimeout(r, 5));
 * }
 * assert.equal(kids.length, 1);
 * assert.match(cmdline(kids[0]), /^sleep/);
 * Deno.kill(kids[0]);
 * await sh.status;
 * ```
 */
export function childPids(ppid: number): number[] {
  try {
    // One small read where the kernel offers it (CONFIG_PROC_CHILDREN);
    // children forked by the main thread, which is how sshd forks.
    const text = Deno.readTextFileSync(`/proc/${ppid}/task/${ppid}/children`);
    return text.trim() === "" ? [] : text.trim().split(/\s+/).map(Number);
  } catch {
    // fall back to a scan of /proc
  }
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const text = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
      if (Number(rest[1]) === ppid) out.push(Number(e.name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * Every descendant of `pid` (children, their children, ...), read from /proc.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { descendants } from "./proc.ts";
 * const sh = new Deno.Command("sh", {
 *   args: ["-c", "sh -c 'sleep 5 & wait' & wait"],
 * }).spawn();
 * let all: number[] = [];
 * while ((all = descendants(sh.pid)).length < 2) {
 *   await new Promise((r) => setTimeout(r, 5));
 * }
 * assert.equal(all.length, 2); // the inner sh and its sleep
 * assert.ok(!all.includes(sh.pid));
 * for (const pid of all) Deno.kill(pid); // the inner sh first, then sleep
 * await sh.status;
 * ```
 */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    for (const c of childPids(todo.pop()!)) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/**
 * True when a process with this pid exists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pidAlive } from "./proc.ts";
 * assert.equal(pidAlive(Deno.pid), true);
 * ```
 */
export function pidAlive(pid: number): boolean {
  return exists(`/proc/${pid}`);
}

const RLIMIT_NOFILE = 7;

/**
 * Raises this process's open-file soft limit to at least `want` where the
 * hard limit allows (children, like sshd, inherit it). Returns the soft
 * limit in effect afterwards.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { raiseFileLimit } from "./proc.ts";
 * assert.ok(raiseFileLimit(256) >= 256);
 * ```
 */
export function raiseFileLimit(want: number): number {
  const lib = Deno.dlopen("libc.so.6", {
    getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  });
  try {
    const lim = new BigUint64Array(2);
    const buf = new Uint8Array(lim.buffer);
    if (lib.symbols.getrlimit(RLIMIT_NOFILE, buf) !== 0) return 0;
    if (lim[0] >= BigInt(want)) return Number(lim[0]);
    const target = lim[1] < BigInt(want) ? lim[1] : BigInt(want);
    const next = new BigUint64Array([target, lim[1]]);
    lib.symbols.setrlimit(RLIMIT_NOFILE, new Uint8Array(next.buffer));
    lib.symbols.getrlimit(RLIMIT_NOFILE, buf);
    return Number(lim[0]);
  } finally {
    lib.close();
  }
}
