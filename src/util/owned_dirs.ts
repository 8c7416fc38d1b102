/**
 * The tool's temp folders, named after their owner so that a later run
 * can tell a dead run's from a live one's: `ssh-bench-KIND-PID-tSTART-XXXX`
 * under $TMPDIR (default /tmp), where KIND is `sshd` (an embedded server's
 * keys, config and payload), `mux` (an openssh connection master's
 * socket) or `hostkeys` (the run's own known_hosts for external hosts).
 * Folders of older versions (`ssh-bench-KIND-XXXX`) are removed only when
 * their `owner.pid` names a process that is gone; without one, nothing
 * proves them dead and they stay.
 *
 * Other `ssh-bench-` folders (the synthetic data's, a test browser's
 * profile) are not this module's and are never touched.
 *
 * @module
 */
import {
  killPids,
  type Owner,
  ownerAlive,
  ownerTag,
  parseOwnerTag,
  thisProcess,
} from "./owner.ts";

/** The kinds of temp folder a run makes. */
export const TEMP_KINDS = ["sshd", "mux", "hostkeys"] as const;
/** One of {@linkcode TEMP_KINDS}. */
export type TempKind = typeof TEMP_KINDS[number];

/** Where temp folders go: $TMPDIR, else /tmp. */
export function tempRoot(): string {
  return Deno.env.get("TMPDIR") ?? "/tmp";
}

/**
 * The name prefix of a kind's folders (`ssh-bench-mux-`); the owner tag
 * follows.
 */
export function tempPrefix(kind: TempKind): string {
  return `ssh-bench-${kind}-`;
}

/**
 * Creates a folder of `kind` owned by `owner` (default: this process).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeOwnedTempDirSync, ownedDirs } from "./owned_dirs.ts";
 * const dir = makeOwnedTempDirSync("mux");
 * assert.match(dir, new RegExp(`/ssh-bench-mux-${Deno.pid}-t\\d+-`));
 * assert.deepEqual(ownedDirs().find((d) => d.path === dir)?.owner?.pid, Deno.pid);
 * Deno.removeSync(dir);
 * ```
 */
export function makeOwnedTempDirSync(
  kind: TempKind,
  owner: Owner = thisProcess(),
): string {
  return Deno.makeTempDirSync({
    dir: tempRoot(),
    prefix: `${tempPrefix(kind)}${ownerTag(owner)}-`,
  });
}

/** The asynchronous form of {@linkcode makeOwnedTempDirSync}. */
export async function makeOwnedTempDir(
  kind: TempKind,
  owner: Owner = thisProcess(),
): Promise<string> {
  return await Deno.makeTempDir({
    dir: tempRoot(),
    prefix: `${tempPrefix(kind)}${ownerTag(owner)}-`,
  });
}

/** A temp folder of the tool's. */
export interface OwnedDir {
  /** Full path. */
  path: string;
  /** Its kind. */
  kind: TempKind;
  /** Its owner, from the name; undefined for an older version's folder. */
  owner?: Owner;
}

/**
 * Reads a folder name made by {@linkcode makeOwnedTempDirSync} (or an older
 * version's `ssh-bench-KIND-XXXX`, with no owner); undefined for any other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDirName } from "./owned_dirs.ts";
 * assert.deepEqual(parseDirName("ssh-bench-mux-12-t345-a1b2c3"),
 *   { kind: "mux", owner: { pid: 12, start: 345 } });
 * assert.deepEqual(parseDirName("ssh-bench-sshd-0123abcd"), { kind: "sshd" });
 * assert.equal(parseDirName("ssh-bench-synthetic-0123abcd"), undefined);
 * ```
 */
export function parseDirName(
  name: string,
): { kind: TempKind; owner?: Owner } | undefined {
  const m = /^ssh-bench-(sshd|mux|hostkeys)-(?:(\d+-t\d+)-)?[^/]+$/.exec(name);
  if (!m) return undefined;
  const kind = m[1] as TempKind;
  const owner = m[2] ? parseOwnerTag(m[2]) : undefined;
  return owner ? { kind, owner } : { kind };
}

/** The tool's temp folders on disk now. */
export function ownedDirs(): OwnedDir[] {
  const root = tempRoot();
  const out: OwnedDir[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(root)];
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory) continue;
    const p = parseDirName(e.name);
    if (p) out.push({ path: `${root}/${e.name}`, ...p });
  }
  return out;
}

/**
 * True when the folder's owner is proven dead: a named owner that no
 * longer runs, or (an older version's folder) an `owner.pid` naming a
 * process that is gone.
 */
export function ownerDead(d: OwnedDir): boolean {
  if (d.owner) return !ownerAlive(d.owner);
  try {
    const pid = Number(Deno.readTextFileSync(`${d.path}/owner.pid`).trim());
    return Number.isInteger(pid) && pid > 0 && !ownerAlive({ pid });
  } catch {
    return false; // nothing proves it dead
  }
}

/** A process's pid and command line. */
interface Proc {
  pid: number;
  cmdline: string;
  argv0: string;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const raw = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      const argv = raw.split("\0");
      out.push({
        pid: Number(e.name),
        cmdline: argv.join(" "),
        argv0: argv[0],
      });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Programs a run starts with a temp folder's path on their command line. */
function isOurs(p: Proc): boolean {
  const name = p.argv0.split("/").pop() ?? "";
  // sshd rewrites its title ("sshd: /usr/sbin/sshd -D -f ... [listener]").
  // ssh-bench-server: the embedded Go server (src/server/go/).
  return ["ssh", "sshd", "setpriv", "nsenter", "ssh-bench-server"].includes(
    name,
  ) ||
    p.argv0.startsWith("sshd:") || p.argv0.startsWith("sshd-session");
}

/**
 * Pids of the ssh and sshd processes (and their setpriv and nsenter
 * wrappers) whose command line names a path inside one of `dirs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processesUsing } from "./owned_dirs.ts";
 * assert.deepEqual(processesUsing(["/nonexistent/ssh-bench-mux-1-t2-x"]), []);
 * ```
 */
export function processesUsing(dirs: readonly string[]): number[] {
  if (dirs.length === 0) return [];
  return processes().filter((p) =>
    p.pid !== Deno.pid && isOurs(p) &&
    dirs.some((d) => p.cmdline.includes(`${d}/`))
  ).map((p) => p.pid);
}

/**
 * Removes the temp folders whose owner is proven dead (only those of
 * `owner` when given, e.g. a worker just killed), after SIGKILLing the
 * ssh and sshd processes that still use them (a connection master, a
 * server listening on a dead run's config). Folders of live owners are
 * left alone. Returns what was removed and killed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeOwnedTempDirSync, removeDeadDirs } from "./owned_dirs.ts";
 * const child = new Deno.Command("true").spawn();
 * await child.status;
 * const dead = { pid: child.pid, start: 1 };
 * const mine = makeOwnedTempDirSync("mux");
 * const theirs = makeOwnedTempDirSync("mux", dead);
 * const r = removeDeadDirs();
 * assert.ok(r.dirs.includes(theirs) && !r.dirs.includes(mine));
 * assert.throws(() => Deno.statSync(theirs));
 * Deno.removeSync(mine);
 * ```
 */
export function removeDeadDirs(
  o: { owner?: Owner } = {},
): { dirs: string[]; killed: number[] } {
  const dead = ownedDirs().filter((d) =>
    (!o.owner ||
      (d.owner?.pid === o.owner.pid && d.owner.start === o.owner.start)) &&
    ownerDead(d)
  );
  const killed = processesUsing(dead.map((d) => d.path));
  killPids(killed);
  const dirs: string[] = [];
  for (const d of dead) {
    try {
      Deno.removeSync(d.path, { recursive: true });
      dirs.push(d.path);
    } catch {
      // removed meanwhile (by another run's clean-up)
    }
  }
  return { dirs, killed };
}
