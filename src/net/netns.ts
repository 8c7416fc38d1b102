/**
 * Network namespaces and devices of emulated links: their names, how a free
 * address slot is chosen, what is left of a link, and the clean-up of links
 * whose owning process is gone (a run killed with SIGKILL cannot clean up
 * after itself).
 *
 * A link in slot N is the namespace `ssh-bench-net-N-<owner pid>-<owner
 * start time>` under /run/netns, a TUN device `sbnetN` on each side
 * (10.77.N.1/30 in the root namespace, 10.77.N.2/30 inside), and the
 * forwarder process between the two. The devices are not persistent: the
 * kernel removes them when the forwarder exits. The namespace is a bind
 * mount that stays until `ip netns del`, so it carries its owner's pid and
 * start time (a reused pid is not taken for the owner).
 *
 * @module
 */
import { run } from "../util/proc.ts";
import { exists } from "../util/fs.ts";
import { killPids, ownerAlive as isAlive } from "../util/owner.ts";

/** Prefix of every namespace an emulated link creates. */
export const NETNS_PREFIX = "ssh-bench-net-";
/** Prefix of the TUN devices (`sbnetN`, one in each namespace). */
export const DEVICE_PREFIX = "sbnet";
/** Where `ip netns` keeps named namespaces. */
export const NETNS_DIR = "/run/netns";
/** Slots 0..MAX_SLOT-1: addresses 10.77.N.1 and 10.77.N.2. */
export const MAX_SLOT = 256;

/** What a link's namespace name says about it. */
export interface LinkName {
  /** Address slot: the link uses 10.77.slot.0/30. */
  slot: number;
  /** Pid of the process that started the link. */
  ownerPid: number;
  /** That process's start time (clock ticks after boot, /proc stat). */
  ownerStart: number;
}

/**
 * The namespace name of a link.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linkName, parseLinkName } from "./netns.ts";
 * const name = linkName({ slot: 7, ownerPid: 4242, ownerStart: 99 });
 * assert.equal(name, "ssh-bench-net-7-4242-99");
 * assert.deepEqual(parseLinkName(name), { slot: 7, ownerPid: 4242, ownerStart: 99 });
 * assert.equal(parseLinkName("ssh-bench-net-x"), undefined);
 * ```
 */
export function linkName(n: LinkName): string {
  return `${NETNS_PREFIX}${n.slot}-${n.ownerPid}-${n.ownerStart}`;
}

/** Reads a name made by {@linkcode linkName}; undefined for any other. */
export function parseLinkName(name: string): LinkName | undefined {
  const m = /^ssh-bench-net-(\d+)-(\d+)-(\d+)$/.exec(name);
  if (!m) return undefined;
  return {
    slot: Number(m[1]),
    ownerPid: Number(m[2]),
    ownerStart: Number(m[3]),
  };
}

/** The device name of slot `slot` (the same on both sides). */
export function deviceName(slot: number): string {
  return `${DEVICE_PREFIX}${slot}`;
}

export { processStart } from "../util/owner.ts";

/**
 * True while the process that started the link `n` runs (a zombie, or a
 * process that reuses its pid, is not it).
 */
export function ownerAlive(n: LinkName): boolean {
  return isAlive({ pid: n.ownerPid, start: n.ownerStart });
}

/** Names of the links' namespaces under /run/netns. */
export function linkNamespaces(): string[] {
  try {
    return [...Deno.readDirSync(NETNS_DIR)].map((e) => e.name)
      .filter((n) => n.startsWith(NETNS_PREFIX)).sort();
  } catch {
    return [];
  }
}

/** The links' TUN devices in this process's (root) namespace. */
export function linkDevices(): string[] {
  try {
    return [...Deno.readDirSync("/sys/class/net")].map((e) => e.name)
      .filter((n) => new RegExp(`^${DEVICE_PREFIX}\\d+$`).test(n)).sort();
  } catch {
    return [];
  }
}

function allPids(): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(e.name)) out.push(Number(e.name));
  }
  return out;
}

/**
 * Processes inside namespace `name` (found by the namespace's inode, as
 * `ip netns pids` does). Zombies no longer count: an exited process has
 * left its namespace.
 */
export function pidsInNamespace(name: string): number[] {
  let ino: number;
  try {
    ino = Deno.statSync(`${NETNS_DIR}/${name}`).ino ?? -1;
  } catch {
    return [];
  }
  const want = `net:[${ino}]`;
  return allPids().filter((pid) => {
    try {
      return Deno.readLinkSync(`/proc/${pid}/ns/net`) === want;
    } catch {
      return false;
    }
  });
}

/**
 * Forwarder processes (by their command line: the `--ns` path), of the
 * namespace `name` or, without it, of any link.
 */
export function forwarderPids(name?: string): number[] {
  const out: number[] = [];
  for (const pid of allPids()) {
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    } catch {
      continue;
    }
    const i = argv.indexOf("--ns");
    if (i < 1 || !argv[0].endsWith("netfwd")) continue;
    const ns = argv[i + 1] ?? "";
    if (
      name === undefined
        ? ns.startsWith(`${NETNS_DIR}/${NETNS_PREFIX}`)
        : ns === `${NETNS_DIR}/${name}`
    ) {
      out.push(pid);
    }
  }
  return out;
}

const killAll = killPids;

/**
 * SIGKILLs every process inside namespace `name` and waits (up to
 * `timeoutMs`) until none is left. Returns how many were killed.
 */
export async function killNamespacePids(
  name: string,
  timeoutMs = 3000,
): Promise<number> {
  const first = pidsInNamespace(name);
  const deadline = performance.now() + timeoutMs;
  let pids = first;
  while (pids.length > 0 && performance.now() < deadline) {
    killAll(pids);
    await new Promise((r) => setTimeout(r, 10));
    pids = pidsInNamespace(name);
  }
  return first.length;
}

/** `ip netns del name`; true when the namespace is gone afterwards. */
export async function deleteNamespace(name: string): Promise<boolean> {
  await run("ip", ["netns", "del", name]);
  return !exists(`${NETNS_DIR}/${name}`);
}

/**
 * The synchronous form of a link's removal, for the `unload` event (no
 * awaiting there): kills its forwarder and the processes inside, and
 * deletes the namespace.
 */
export function removeLinkSync(name: string, forwarderPid?: number): void {
  killAll(forwarderPid ? [forwarderPid] : forwarderPids(name));
  killAll(pidsInNamespace(name));
  try {
    new Deno.Command("ip", {
      args: ["netns", "del", name],
      stdout: "null",
      stderr: "null",
    }).outputSync();
  } catch {
    // ip is gone: nothing more can be done here
  }
}

/**
 * Removes what links of dead owners left behind: their forwarders (if
 * still running), the processes inside their namespaces, and the
 * namespaces. Links of live processes, this one included, are left alone.
 * Returns the names of the namespaces removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cleanupStale } from "./netns.ts";
 * assert.ok(Array.isArray(await cleanupStale()));
 * ```
 */
export async function cleanupStale(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of linkNamespaces()) {
    const n = parseLinkName(name);
    // A name not made by linkName records no owner: nothing proves it dead.
    if (!n || ownerAlive(n)) continue;
    killAll(forwarderPids(name));
    await killNamespacePids(name);
    if (await deleteNamespace(name)) removed.push(name);
  }
  // A forwarder whose namespace is already gone (it dies with its owner,
  // so this is a belt for a forwarder started by hand).
  for (const pid of forwarderPids()) {
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    } catch {
      continue; // exited meanwhile
    }
    const ns = argv[argv.indexOf("--ns") + 1] ?? "";
    const n = parseLinkName(ns.slice(NETNS_DIR.length + 1));
    if (n && !ownerAlive(n)) killAll([pid]);
  }
  return removed;
}

/** Everything links have on this machine now; for checks and tests. */
export interface LinkResources {
  /** Namespaces under /run/netns named by {@linkcode linkName}. */
  namespaces: string[];
  /** `sbnetN` devices in the root namespace. */
  devices: string[];
  /** Forwarder process ids. */
  forwarders: number[];
}

/**
 * What links have on this machine now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linkResources } from "./netns.ts";
 * const r = linkResources();
 * assert.ok(Array.isArray(r.namespaces) && Array.isArray(r.devices));
 * ```
 */
export function linkResources(): LinkResources {
  return {
    namespaces: linkNamespaces(),
    devices: linkDevices(),
    forwarders: forwarderPids(),
  };
}

/**
 * Slots in use on this machine: by a link's namespace or device, or by any
 * IPv4 address in 10.77.N.0/24 in the root namespace.
 */
export async function usedSlots(): Promise<Set<number>> {
  const used = new Set<number>();
  for (const name of linkNamespaces()) {
    const n = parseLinkName(name);
    if (n) used.add(n.slot);
  }
  for (const d of linkDevices()) {
    used.add(Number(d.slice(DEVICE_PREFIX.length)));
  }
  const r = await run("ip", ["-o", "-4", "addr", "show"]);
  for (const m of r.stdout.matchAll(/\binet 10\.77\.(\d+)\./g)) {
    used.add(Number(m[1]));
  }
  return used;
}
