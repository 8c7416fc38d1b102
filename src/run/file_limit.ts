/**
 * The open-file limit against the largest pool: raised as far as the hard
 * limit allows before any worker or sshd starts (children inherit it), a
 * refusal when the pool cannot fit at all, a warning when it may not.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import { raiseFileLimit } from "../util/proc.ts";

/** Descriptors a process holds besides its sessions' (runtime, pipes, logs). */
const BASE_FILES = 64;

/**
 * Open files a pool of `maxPool` sessions needs in the process that runs
 * them: `least` below which sessions are sure to fail (a socket per
 * session, two pipes per session for openssh's `ssh` processes), and
 * `enough` that leaves room for everything else (mux sockets, log pipes,
 * the server's side).
 *
 * @param clients the clients asked for; undefined: every one (openssh included).
 * @example
 * ```ts
 * import { filesNeeded } from "./file_limit.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(filesNeeded(100, ["ssh2"]), { least: 164, enough: 656, perSession: 1 });
 * assert.equal(filesNeeded(100).least, 264); // openssh among all clients
 * ```
 */
export function filesNeeded(
  maxPool: number,
  clients?: readonly string[],
): { least: number; enough: number; perSession: number } {
  const perSession = !clients || clients.includes("openssh") ? 2 : 1;
  return {
    least: maxPool * perSession + BASE_FILES,
    enough: maxPool * 4 + 256,
    perSession,
  };
}

/**
 * What an open-file limit means for a pool: an error line when it cannot
 * hold the pool's sessions at all, a warning line when it may be short,
 * nothing when it is enough. Pure (the limit is given).
 *
 * @param limit the soft limit, already raised as far as allowed.
 * @param hard the hard limit (shown in the fix).
 * @example
 * ```ts
 * import { fileLimitVerdict } from "./file_limit.ts";
 * import assert from "node:assert/strict";
 * const v = fileLimitVerdict(100_000, ["ssh2"], 20_000, 20_000);
 * assert.match(v.error!, /^pool 100000 needs at least 100064 open files .* the open-file limit is 20000/);
 * assert.match(v.error!, /pools of at most 19936/);
 * assert.match(fileLimitVerdict(30, ["ssh2"], 200, 200).warning!, /^warning: the open-file limit is 200, below the 376/);
 * assert.deepEqual(fileLimitVerdict(30, ["ssh2"], 20_000, 20_000), {});
 * ```
 */
export function fileLimitVerdict(
  maxPool: number,
  clients: readonly string[] | undefined,
  limit: number,
  hard: number,
): { error?: string; warning?: string } {
  const { least, enough, perSession } = filesNeeded(maxPool, clients);
  const raise = `ulimit -n ${enough} in the shell that starts the run${
    hard < enough ? ` (above the hard limit of ${hard}: as root)` : ""
  }`;
  if (limit < least) {
    const fits = Math.max(0, Math.floor((limit - BASE_FILES) / perSession));
    return {
      error: `pool ${maxPool} needs at least ${least} open files (${
        perSession === 2
          ? "openssh holds two pipes per session"
          : "a socket per session"
      }), but the open-file limit is ${limit}: its sessions would fail with EMFILE; raise the limit (${raise}), or use pools of at most ${fits}`,
    };
  }
  if (limit < enough) {
    return {
      warning:
        `warning: the open-file limit is ${limit}, below the ${enough} that pool ${maxPool} may need; sessions may fail with EMFILE (too many open files). Raise it (${raise}) before the run.`,
    };
  }
  return {};
}

/** The hard open-file limit of this process, from /proc (Infinity when unlimited or unknown). */
function hardFileLimit(): number {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((l) => l.startsWith("Max open files"));
    const hard = line?.trim().split(/\s+/)[4];
    return hard === undefined || hard === "unlimited" ? Infinity : Number(hard);
  } catch {
    return Infinity;
  }
}

/**
 * Raises this process's open-file limit for the largest pool (as far as
 * the hard limit allows), to be called before any worker or server
 * starts so they inherit it. Returns the warning line when the limit may
 * be short.
 *
 * @throws {UsageError} when the limit cannot hold the pool's sessions.
 * @example
 * ```ts
 * import { checkFileLimit } from "./file_limit.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkFileLimit(1, ["ssh2"]), undefined);
 * assert.throws(() => checkFileLimit(1e9, ["ssh2"]), /needs at least 1000000064 open files/);
 * ```
 */
export function checkFileLimit(
  maxPool: number,
  clients?: readonly string[],
): string | undefined {
  const limit = raiseFileLimit(filesNeeded(maxPool, clients).enough);
  const v = fileLimitVerdict(maxPool, clients, limit, hardFileLimit());
  if (v.error) throw new UsageError(v.error);
  return v.warning;
}
