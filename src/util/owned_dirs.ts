/**
 * The tool's temp folders, named after their owner so that a later run
 * can tell a dead run's from a live one's: `ssh-bench-KIND-PID-tSTART-XXXX`
 * under $TMPDIR (default /tmp), where KIND is `sshd` (an embedded server's
 * keys, config and payload), `mux` (an openssh connection master's
 * socket) or `hostkeys` (the run's own known_hosts for external hosts).
 * Folders of older versions (`ssh-bench-KIND-XXXX`) are removed only when
 * their `owner.pid` names a process that is gone; without one, nothing
 * proves them dead and they stay, except one that holds a decrypted key
 * (`identity`, which versions before the in-memory key left after a
 * SIGKILL): that goes once no process has a file of it open, its cwd in
 * it or its path on the command line ({@linkcode removeOwnerlessKeys}).
 *
 * Other `ssh-bench-` folders (the synthetic data's, a test browser's
 * profile) are not this module's and are never touched.
 *
 * @module
 */
import { exists } from "./fs.ts";
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

/** An older version's folder holding a decrypted key (see below). */
export interface OwnerlessKey {
  /** The folder. */
  path: string;
  /** Processes using it (open file, cwd, command line); none: removed. */
  users: number[];
}

/**
 * Pids of the processes (other than this one) that have a file under one
 * of `dirs` open, their working directory in it, or its path on their
 * command line, by folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { holders } from "./owned_dirs.ts";
 * const dir = Deno.makeTempDirSync();
 * const sleeper = new Deno.Command("sleep", { args: ["30"], cwd: dir }).spawn();
 * await new Promise((r) => setTimeout(r, 100));
 * assert.deepEqual(holders([dir]).get(dir), [sleeper.pid]);
 * sleeper.kill();
 * await sleeper.status;
 * assert.deepEqual(holders([dir]).get(dir), []);
 * Deno.removeSync(dir);
 * ```
 */
export function holders(dirs: readonly string[]): Map<string, number[]> {
  const out = new Map(dirs.map((d) => [d, [] as number[]]));
  if (dirs.length === 0) return out;
  const inside = (p: string) =>
    dirs.filter((d) => p === d || p.startsWith(`${d}/`));
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    const pid = Number(e.name);
    const hits = new Set<string>();
    const link = (p: string) => {
      try {
        inside(Deno.readLinkSync(p)).forEach((d) => hits.add(d));
      } catch {
        // closed or exited meanwhile, or not ours to read
      }
    };
    link(`/proc/${pid}/cwd`);
    try {
      for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
        link(`/proc/${pid}/fd/${fd.name}`);
      }
    } catch {
      // exited meanwhile
    }
    try {
      const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
      for (const a of argv) {
        for (const d of dirs) if (a.includes(d)) hits.add(d);
      }
    } catch {
      // exited meanwhile
    }
    for (const d of hits) out.get(d)!.push(pid);
  }
  return out;
}

/**
 * Removes older versions' decrypted keys: a folder of the tool's with no
 * owner mark (no owner in its name, no `owner.pid`) that holds an
 * `identity` file, once no process uses it ({@linkcode holders}): the key
 * is unlinked first, then the folder with what else it holds (the
 * known_hosts and the public key). Every other folder, a live owner's
 * above all, is left alone; one still in use is kept and reported with
 * its users. The scan of /proc runs only when there is such a folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeOwnerlessKeys } from "./owned_dirs.ts";
 * const old = Deno.makeTempDirSync({ prefix: "ssh-bench-hostkeys-" });
 * Deno.writeTextFileSync(`${old}/identity`, "a key", { mode: 0o600 });
 * const plain = Deno.makeTempDirSync({ prefix: "ssh-bench-hostkeys-" });
 * const r = removeOwnerlessKeys();
 * assert.deepEqual(r.find((k) => k.path === old), { path: old, users: [] });
 * assert.throws(() => Deno.statSync(old));
 * assert.ok(Deno.statSync(plain).isDirectory); // no key: not this one's
 * Deno.removeSync(plain);
 * ```
 */
export function removeOwnerlessKeys(): OwnerlessKey[] {
  const found = ownedDirs().filter((d) =>
    !d.owner && !exists(`${d.path}/owner.pid`) &&
    exists(`${d.path}/identity`)
  );
  if (found.length === 0) return [];
  const users = holders(found.map((d) => d.path));
  const out: OwnerlessKey[] = [];
  for (const d of found) {
    const pids = users.get(d.path) ?? [];
    if (pids.length === 0) {
      try {
        Deno.removeSync(`${d.path}/identity`);
      } catch {
        continue; // removed meanwhile (another run's start), or not ours to
      }
      try {
        Deno.removeSync(d.path, { recursive: true });
      } catch {
        // the key is gone; the rest goes with the next start
      }
    }
    out.push({ path: d.path, users: pids });
  }
  return out;
}
