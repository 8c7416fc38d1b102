/**
 * The clean-up at the start of every run (embedded, `--target`, fleet,
 * `--rtt`): what runs killed with SIGKILL left behind, which they could
 * not remove themselves. Everything a run makes carries its owner's pid
 * and start time in its name (`src/util/owner.ts`), and only what a dead
 * owner left is touched:
 *
 * - network namespaces `ssh-bench-net-*` of emulated links: the forwarder
 *   if it still runs, every process inside (the sshd listener and its
 *   session processes, which a dead link never lets finish), the namespace;
 * - cgroups `ssh-bench-PID-tSTART-*` of sshd and of client workers: every
 *   process still in them (sshd sessions, orphaned ssh clients and
 *   connection masters), then the cgroup;
 * - temp folders `ssh-bench-{sshd,mux,hostkeys}-PID-tSTART-*`: the ssh and
 *   sshd processes whose command line names them, then the folder;
 * - decrypted keys that versions before the in-memory key left
 *   (`ssh-bench-hostkeys-XXXX/identity`, no owner mark at all): the key and
 *   its folder once no process uses them, each named on a line of its own
 *   ({@linkcode oldKeyLines}).
 *
 * A concurrent run's own (a live owner) is never touched; see
 * `tests/stale_test.ts`.
 *
 * @module
 */
import {
  cleanupStale as removeStaleLinks,
  forwarderPids,
  linkNamespaces,
  ownerAlive,
  parseLinkName,
  pidsInNamespace,
} from "../net/netns.ts";
import { removeStaleCgroups } from "../util/cpu_cgroup.ts";
import {
  type OwnerlessKey,
  removeDeadDirs,
  removeOwnerlessKeys,
} from "../util/owned_dirs.ts";

/** What {@linkcode removeStale} removed. */
export interface StaleReport {
  /** Network namespaces removed. */
  namespaces: string[];
  /** Cgroups removed (full paths). */
  cgroups: string[];
  /** Temp folders removed. */
  dirs: string[];
  /** Processes killed: in namespaces and cgroups, using temp folders. */
  processes: number;
  /** Older versions' decrypted keys: removed (no users) or kept (in use). */
  oldKeys: OwnerlessKey[];
}

/**
 * Removes what runs that are no longer alive left on this machine: their
 * namespaces (and what runs inside), cgroups (and what runs in them) and
 * temp folders (and the ssh/sshd processes using them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeStale } from "./stale.ts";
 * import { makeOwnedTempDirSync } from "../util/owned_dirs.ts";
 * const gone = new Deno.Command("true").spawn();
 * await gone.status;
 * const left = makeOwnedTempDirSync("hostkeys", { pid: gone.pid, start: 1 });
 * const mine = makeOwnedTempDirSync("hostkeys");
 * const r = await removeStale();
 * assert.ok(r.dirs.includes(left));
 * assert.ok(Deno.statSync(mine).isDirectory); // a live owner's stays
 * Deno.removeSync(mine);
 * ```
 */
export async function removeStale(): Promise<StaleReport> {
  // Namespaces first: killing what runs inside ends the dead link's sshd
  // sessions, which also empties their cgroups.
  let inLinks = 0;
  for (const name of linkNamespaces()) {
    const n = parseLinkName(name);
    if (n && !ownerAlive(n)) {
      inLinks += new Set([...pidsInNamespace(name), ...forwarderPids(name)])
        .size;
    }
  }
  const namespaces = await removeStaleLinks();
  const cg = await removeStaleCgroups();
  const d = removeDeadDirs();
  return {
    namespaces,
    cgroups: cg.removed,
    dirs: d.dirs,
    processes: inLinks + cg.killed + d.killed.length,
    oldKeys: removeOwnerlessKeys(),
  };
}

/**
 * One line saying what {@linkcode removeStale} removed; undefined when it
 * removed nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeStale } from "./stale.ts";
 * assert.equal(describeStale({ namespaces: [], cgroups: [], dirs: [], processes: 0, oldKeys: [] }), undefined);
 * assert.equal(
 *   describeStale({ namespaces: ["n"], cgroups: ["a", "b"], dirs: ["/tmp/x"], processes: 3, oldKeys: [] }),
 *   "removed what killed runs left: 3 processes, 1 network namespace, 2 cgroups, 1 temp folder",
 * );
 * ```
 */
export function describeStale(r: StaleReport): string | undefined {
  const n = (k: number, one: string) =>
    `${k} ${one}${k === 1 ? "" : one.endsWith("s") ? "es" : "s"}`;
  const parts = [
    r.processes && n(r.processes, "process"),
    r.namespaces.length && n(r.namespaces.length, "network namespace"),
    r.cgroups.length && n(r.cgroups.length, "cgroup"),
    r.dirs.length && n(r.dirs.length, "temp folder"),
  ].filter(Boolean);
  return parts.length
    ? `removed what killed runs left: ${parts.join(", ")}`
    : undefined;
}

/**
 * One line per older version's decrypted key {@linkcode removeStale}
 * found: removed, or left because processes still use it (with the
 * command that removes it once they ended).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oldKeyLines } from "./stale.ts";
 * assert.deepEqual(oldKeyLines({ oldKeys: [
 *   { path: "/tmp/ssh-bench-hostkeys-ab12", users: [] },
 *   { path: "/tmp/ssh-bench-hostkeys-cd34", users: [7, 8] },
 * ] }), [
 *   "removed a decrypted key an older version left: /tmp/ssh-bench-hostkeys-ab12/identity (and its folder)",
 *   "left a decrypted key an older version left: /tmp/ssh-bench-hostkeys-cd34/identity is in use by pid 7, 8; once they ended: rm -r /tmp/ssh-bench-hostkeys-cd34",
 * ]);
 * ```
 */
export function oldKeyLines(r: Pick<StaleReport, "oldKeys">): string[] {
  return r.oldKeys.map((k) =>
    k.users.length === 0
      ? `removed a decrypted key an older version left: ${k.path}/identity (and its folder)`
      : `left a decrypted key an older version left: ${k.path}/identity is in use by pid ${
        k.users.join(", ")
      }; once they ended: rm -r ${k.path}`
  );
}
