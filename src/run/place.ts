/**
 * Where a run's sessions go (a "place"): the embedded server(s), each
 * behind an emulated link when an RTT is asked for, or the external hosts
 * of `--target`/`--hosts` with their verified host keys and the run's way
 * of logging in. A run opens one place per `--rtt` value in turn
 * ({@linkcode Places}); each gives the sweep its targets, the servers' CPU,
 * its health and its links ({@linkcode placeSweep}), and is closed with
 * everything it started.
 *
 * @module
 */
import type { ClientRunner } from "../clients/runner.ts";
import { NO_AGENT, type Target } from "../clients/seam.ts";
import {
  agentPid,
  decryptToMemory,
  isEncrypted,
  readPassphrase,
} from "../clients/auth.ts";
import type { MemoryFile } from "../util/memory_file.ts";
import { type SshServer, startServer } from "../server/server.ts";
import { UsageError } from "../util/errors.ts";
import { childPids } from "../util/proc.ts";
import type { ExternalTarget, RunConfig } from "./config.ts";
import {
  checkHostKeys,
  type HostKeyCheck,
  knownHostsText,
} from "./known_hosts.ts";
import type { RecordAuth, RecordHost } from "./record.ts";
import type { SweepOptions } from "./sweep.ts";
import { EmulatedLink } from "../net/mod.ts";
import { type PlaceWatch, watchPlace } from "./place_faults.ts";
import { makeOwnedTempDir } from "../util/owned_dirs.ts";
import { onExit } from "../util/exit_hooks.ts";

/** One host of a place, as its sessions' rows name it. */
export interface PlaceHost {
  /**
   * The `host` column: `sshd-N` for the N-th embedded server, else
   * `address:port`.
   */
  label: string;
  /** Its own emulated RTT (`--server-rtt`), ms; else the place's. */
  rttMs?: number;
  /** Why it could not be reached before the run (external hosts). */
  unreachable?: string;
}

/**
 * Where a run's sessions go: the external hosts of `--target`/`--hosts`,
 * or the embedded server(s), each behind an emulated link when an RTT is
 * asked for. Sessions are spread over `targets` round-robin.
 */
export interface Place {
  /** One target per host, in order (at least one). */
  targets: Target[];
  /** The hosts, in the same order. */
  hosts: PlaceHost[];
  /** The host keys verified for external hosts. */
  hostKeys?: HostKeyCheck;
  /** Temp dir of the run's own known_hosts file (external hosts). */
  keysDir?: string;
  /** The decrypted identity, in memory (an encrypted `--identity`). */
  memoryKey?: MemoryFile;
  /** How the clients log in to external hosts. */
  auth?: RecordAuth;
  /** The embedded servers (none for external hosts). */
  servers: SshServer[];
  /** The emulated links (one per server, when there is an RTT). */
  links: EmulatedLink[];
  /** The RTT of `--rtt` for this place (undefined: loopback or per server). */
  rttMs?: number;
  /** Aborted, naming what died, when a link's forwarder dies. */
  faults: PlaceWatch;
  /** Removes the exit hook of the place's own temp dir. */
  offExit?: () => void;
}

/**
 * The first target, on which calibration runs (a reachable one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firstTarget } from "./place.ts";
 * const t = (host: string) => ({ host, port: 22, user: "u", identityFile: "", command: "true" });
 * const place = {
 *   targets: [t("a"), t("b")],
 *   hosts: [{ label: "a:22", unreachable: "refused" }, { label: "b:22" }],
 * } as never;
 * assert.equal(firstTarget(place).host, "b"); // a could not be reached
 * assert.equal(firstTarget({ targets: [t("a")], hosts: [{ label: "a:22", unreachable: "refused" }] } as never).host, "a");
 * ```
 */
export function firstTarget(place: Place): Target {
  return place.targets[place.hosts.findIndex((h) => !h.unreachable)] ??
    place.targets[0];
}

/**
 * Opens the place of one RTT value (or the only place, without --rtt):
 * `--servers K` embedded servers, each with its own RTT under
 * `--server-rtt`, or the external hosts.
 *
 * @example An external host that does not answer is refused before any session (no server needed)
 * ```ts
 * import assert from "node:assert/strict";
 * import { openPlace } from "./place.ts";
 * import { UsageError } from "../util/errors.ts";
 * // A port nothing listens on: taken from the kernel, then released.
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = l.addr.port;
 * l.close();
 * const file = await Deno.makeTempFile();
 * const cfg = { targets: [{ host: "127.0.0.1", port, user: "u" }], command: "true",
 *   knownHostsFile: file } as never;
 * await assert.rejects(openPlace(cfg, 1, undefined), (e: Error) =>
 *   e instanceof UsageError &&
 *   e.message.startsWith("host key check failed, no session started: cannot connect to u@127.0.0.1:"));
 * await Deno.remove(file);
 * ```
 * Opening the embedded servers starts them (and, with an RTT, a link
 * that needs root): `tests/sweep_test.ts`, `tests/fleet_test.ts` and
 * `tests/rtt_test.ts` run that against real servers.
 */
export async function openPlace(
  cfg: RunConfig,
  maxPool: number,
  rttMs: number | undefined,
): Promise<Place> {
  if (cfg.targets) return await externalPlace(cfg, cfg.targets);
  const place: Place = {
    targets: [],
    hosts: [],
    servers: [],
    links: [],
    rttMs,
    faults: watchPlace([]),
  };
  const k = cfg.servers ?? 1;
  try {
    for (let i = 0; i < k; i++) {
      const rtt = cfg.serverRttMs?.[i] ?? rttMs;
      const link = rtt === undefined ? undefined : await EmulatedLink.start({
        rttMs: rtt,
        lossPct: cfg.lossPct,
        rateMbit: cfg.rateMbit,
        name: `${cfg.serverRttMs ? "--server-rtt" : "--rtt"} ${rtt} link${
          k > 1 ? ` of sshd-${i + 1}` : ""
        }`,
      });
      if (link) place.links.push(link);
      const server = await startServer(cfg.serverImpl ?? "openssh", {
        // Each server gets its share of a round's sessions.
        maxPool: Math.ceil(maxPool / k),
        maxStartups: cfg.serverMaxStartups,
        payloadBytes: cfg.payloadBytes,
        command: cfg.command,
        profile: cfg.serverProfile ?? "lean",
        algorithms: cfg.algorithms,
        wrap: link?.wrap,
        listenAddress: link?.hostAddress,
      });
      place.servers.push(server);
      place.targets.push(server.target);
      // A name that stays the same across --rtt places (each has new
      // servers on new ports): the address is in meta.json.
      // Its own RTT only with --server-rtt; with --rtt the place's.
      place.hosts.push({ label: `sshd-${i + 1}`, rttMs: cfg.serverRttMs?.[i] });
    }
    place.faults = watchPlace(place.links);
    return place;
  } catch (e) {
    await closePlace(place);
    throw e;
  }
}

/**
 * The place of external hosts: every host key checked against the
 * known_hosts file before any session (every unknown or changed key is one
 * error; in a fleet an unreachable host is a warning, its sessions fail at
 * connect), then written to a known_hosts file of the run's own, which
 * every client is given, so each accepts exactly those keys.
 */
async function externalPlace(
  cfg: RunConfig,
  ts: readonly ExternalTarget[],
): Promise<Place> {
  const hostKeys = await checkHostKeys(ts, {
    knownHostsFile: cfg.knownHostsFile,
    acceptNew: cfg.acceptNewHostKeys,
    hostKeyAlgorithms: cfg.algorithms?.hostKeyAlgorithms,
    unreachableOk: ts.length > 1,
  });
  const t = ts[0];
  const keysDir = await makeOwnedTempDir("hostkeys");
  // A forced exit (a second Ctrl-C) skips closePlace: the dir goes then.
  const offExit = onExit(() => Deno.removeSync(keysDir, { recursive: true }));
  let memoryKey: MemoryFile | undefined;
  try {
    const knownHostsFile = `${keysDir}/known_hosts`;
    await Deno.writeTextFile(knownHostsFile, knownHostsText(hostKeys.hosts));
    // An encrypted key: decrypted once, here, never once per session, into
    // memory that dies with the run (every client opens it by its /proc
    // path); only its public key goes to the run's temp dir.
    let identityFile = t.identity ?? "";
    let publicKeyFile: string | undefined;
    let kind: RecordAuth["kind"] = t.agentSocket ? "agent" : "key";
    if (t.identity && await isEncrypted(t.identity)) {
      const d = await decryptToMemory(
        t.identity,
        readPassphrase(t.identity),
        keysDir,
      );
      memoryKey = d.key;
      identityFile = d.key.path;
      publicKeyFile = d.publicKeyFile;
      kind = "decrypted_key";
    }
    const pid = t.agentSocket ? agentPid(t.agentSocket) : undefined;
    const hosts: PlaceHost[] = [];
    const targets = ts.map((h): Target => {
      const verified = hostKeys.hosts.find((v) =>
        v.host === h.host && v.port === h.port
      );
      const down = hostKeys.unreachable.find((u) =>
        u.host === h.host && u.port === h.port
      );
      hosts.push({ label: `${h.host}:${h.port}`, unreachable: down?.error });
      return {
        host: h.host,
        port: h.port,
        user: h.user,
        identityFile,
        publicKeyFile,
        command: cfg.command!,
        knownHostsFile,
        // An unreachable host has no verified key: no key will do.
        hostKeyBase64: verified?.key ?? "unverified",
        algorithms: cfg.algorithms,
        agentSocket: t.agentSocket,
        agentPid: pid,
      };
    });
    return {
      targets,
      hosts,
      servers: [],
      links: [],
      hostKeys,
      keysDir,
      memoryKey,
      faults: watchPlace([]),
      offExit,
      auth: {
        kind,
        identity: t.identity ?? null,
        agent_socket: t.agentSocket ?? null,
        agent_pid: pid ?? null,
        clients: {},
        left_out: {},
      },
    };
  } catch (e) {
    memoryKey?.close();
    await Deno.remove(keysDir, { recursive: true }).catch(() => {});
    offExit();
    throw e;
  }
}

/**
 * The clients that can log in the place's way: with an agent, those that
 * cannot use one are left out with a warning that says why (recorded in
 * meta.json); an error when none is left.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usableClients } from "./place.ts";
 * const runners = [{ name: "ssh2" }, { name: "null" }] as never[];
 * const lines: string[] = [];
 * // A key: every client.
 * const key = { targets: [{ identityFile: "/k" }] } as never;
 * assert.equal(usableClients(runners, key, (l) => lines.push(l)).length, 2);
 * // An agent: null cannot use one, so it is left out, with why.
 * const agent = { targets: [{ agentSocket: "/s", agentPid: 7 }],
 *   auth: { left_out: {} } } as never;
 * const kept = usableClients(runners, agent, (l) => lines.push(l)) as { name: string }[];
 * assert.deepEqual(kept.map((c) => c.name), ["ssh2"]);
 * assert.match(lines[0], /^warning: null left out: it cannot log in through ssh-agent/);
 * assert.deepEqual(Object.keys((agent as { auth: { left_out: object } }).auth.left_out), ["null"]);
 * assert.throws(() => usableClients([runners[1]], agent, () => {}), /no client left/);
 * ```
 */
export function usableClients(
  all: ClientRunner[],
  place: Place,
  log: (line: string) => void,
): ClientRunner[] {
  if (!place.targets[0].agentSocket) return all;
  const kept = all.filter((c) => {
    const why = NO_AGENT[c.name];
    if (why === undefined) return true;
    log(
      `warning: ${c.name} left out: it cannot log in through ssh-agent (${why})`,
    );
    place.auth!.left_out[c.name] = why;
    return false;
  });
  if (kept.length === 0) {
    throw new UsageError(
      "no client left that can log in through ssh-agent; give --identity FILE instead",
    );
  }
  if (place.targets[0].agentPid === undefined) {
    log(
      `warning: the ssh-agent at ${
        place.targets[0].agentSocket
      } was not found among this user's processes: its signing CPU is not counted in client CPU`,
    );
  }
  return kept;
}

/**
 * Stops a place's servers and links, removes its own known_hosts file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closePlace } from "./place.ts";
 * import { exists } from "../util/fs.ts";
 * await closePlace(undefined); // none opened: nothing to do
 * const keysDir = await Deno.makeTempDir();
 * let stopped = 0;
 * let hook = true;
 * await closePlace({ servers: [{ stop: async () => { stopped++; } }], links: [],
 *   keysDir, offExit: () => { hook = false; } } as never);
 * assert.equal(stopped, 1);
 * assert.ok(!exists(keysDir));
 * assert.equal(hook, false); // its exit hook removed too
 * ```
 */
export async function closePlace(p: Place | undefined): Promise<void> {
  await Promise.all((p?.servers ?? []).map((s) => s.stop()));
  await Promise.all((p?.links ?? []).map((l) => l.stop()));
  p?.memoryKey?.close();
  if (p?.keysDir) {
    await Deno.remove(p.keysDir, { recursive: true }).catch(() => {});
  }
  p?.offExit?.();
}

/** Waits (up to 200 ms) until sshd has reaped its per-connection children. */
async function settle(pid: number): Promise<void> {
  const deadline = performance.now() + 200;
  while (childPids(pid).length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The links of a place as one, for the rounds' columns: hold times are
 * the median of the links' medians and the largest p99 (with one link:
 * that link's), forwarder CPU the sum.
 */
function fleetLink(links: readonly EmulatedLink[]): SweepOptions["link"] {
  return {
    async achieved(o) {
      // After a round, a link that died meanwhile (the round's rows name
      // it) has no hold times: the others count, else none (empty cells).
      const all = (await Promise.all(
        links.map((l) =>
          o?.reset ? l.achieved(o) : l.achieved(o).catch(() => undefined)
        ),
      )).filter((a) => a !== undefined);
      if (all.length === 0) return { p50Ms: NaN, p99Ms: NaN };
      const p50s = all.map((a) => a.p50Ms).sort((a, b) => a - b);
      return {
        p50Ms: p50s.length % 2
          ? p50s[(p50s.length - 1) / 2]
          : (p50s[p50s.length / 2 - 1] + p50s[p50s.length / 2]) / 2,
        p99Ms: Math.max(...all.map((a) => a.p99Ms)),
      };
    },
    cpuMs: () => links.reduce((sum, l) => sum + l.cpuMs(), 0),
  };
}

/**
 * Warns when pool sizes are not multiples of a fleet's host count: the
 * first hosts then get one session more in every round (round-robin
 * starts at the first host each round).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unevenWarning } from "./place.ts";
 * const cfg = { stages: [{ pools: [1, 4, 6, 8] }] } as never;
 * const lines: string[] = [];
 * unevenWarning(cfg, 4, (l) => lines.push(l));
 * assert.match(lines[0], /^warning: pool sizes 1, 6 are not multiples of the 4 hosts: .*\(and some hosts none below pool 4\)/);
 * unevenWarning(cfg, 1, (l) => lines.push(l)); // one host: nothing to spread
 * unevenWarning({ stages: [{ pools: [4, 8] }] } as never, 4, (l) => lines.push(l));
 * assert.equal(lines.length, 1);
 * ```
 */
export function unevenWarning(
  cfg: RunConfig,
  hosts: number,
  log: (line: string) => void,
): void {
  if (hosts < 2) return;
  const uneven = [...new Set(cfg.stages.flatMap((s) => s.pools))].filter((
    p,
  ) => p % hosts !== 0).sort((a, b) => a - b);
  if (uneven.length === 0) return;
  const shown = uneven.length > 6
    ? `${uneven.slice(0, 6).join(", ")} and ${uneven.length - 6} more`
    : uneven.join(", ");
  log(
    `warning: pool sizes ${shown} are not multiples of the ${hosts} hosts: the first hosts get one session more in every round${
      uneven.some((p) => p < hosts)
        ? " (and some hosts none below pool " + hosts + ")"
        : ""
    }, which weighs on the per-host comparison; use pool sizes that are multiples of ${hosts}`,
  );
}

/** Adds each embedded server's CPU so far to its host's total. */
function addHostCpu(place: Place, acc: Map<string, number>): void {
  place.servers.forEach((s, i) => {
    const c = s.cpuMs();
    const label = place.hosts[i].label;
    if (c !== undefined) acc.set(label, (acc.get(label) ?? 0) + c);
  });
}

/** The hosts as meta.json records them. */
function recordHosts(place: Place, cpu: Map<string, number>): RecordHost[] {
  return place.hosts.map((h, i) => ({
    label: h.label,
    kind: place.servers.length ? "embedded" : "external",
    host: place.targets[i].host,
    port: place.targets[i].port,
    user: place.targets[i].user,
    rtt_ms: h.rttMs ?? null,
    server_cpu_ms: cpu.get(h.label) ?? null,
    unreachable: h.unreachable ?? null,
  }));
}

/** What the sweep needs of a place: where sessions go and what it costs. */
export type PlaceSweep = Pick<
  SweepOptions,
  | "target"
  | "targets"
  | "hosts"
  | "rttMs"
  | "link"
  | "serverCpuMs"
  | "settle"
  | "health"
>;

/**
 * The sweep's view of a place: its targets (round-robin over several),
 * the servers' CPU summed, a wait for sshd to reap its children after a
 * round, and a health check naming what died (a server, a link).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { placeSweep } from "./place.ts";
 * import { watchPlace } from "./place_faults.ts";
 * // Two stand-in servers: their CPU summed, the one that exited named.
 * const server = (cpu: number, running = true) => ({ impl: "go", pid: 0, running, cpuMs: () => cpu });
 * const place = { targets: [{ host: "a" }, { host: "b" }], hosts: [{ label: "sshd-1" }, { label: "sshd-2" }],
 *   servers: [server(3), server(4, false)], links: [], faults: watchPlace([]) } as never;
 * const sweep = placeSweep(place);
 * assert.equal(sweep.target.host, "a");
 * assert.equal(sweep.targets?.length, 2);
 * assert.equal(sweep.serverCpuMs?.(), 7);
 * assert.equal(sweep.health?.(), "the embedded Go server sshd-2 exited; see its log above");
 * // External hosts: no server CPU, no wait, nothing to die.
 * const ext = placeSweep({ targets: [{ host: "h" }], hosts: [{ label: "h:22" }], servers: [],
 *   links: [], faults: watchPlace([]) } as never);
 * assert.deepEqual([ext.targets, ext.serverCpuMs, ext.settle, ext.health?.()], [undefined, undefined, undefined, undefined]);
 * ```
 */
export function placeSweep(place: Place): PlaceSweep {
  const { servers, links } = place;
  return {
    target: place.targets[0],
    targets: place.targets.length > 1 ? place.targets : undefined,
    hosts: place.hosts,
    rttMs: place.rttMs,
    link: links.length ? fleetLink(links) : undefined,
    serverCpuMs: servers.length
      ? () => {
        let sum = 0;
        for (const s of servers) {
          const c = s.cpuMs();
          if (c === undefined) return undefined;
          sum += c;
        }
        return sum;
      }
      : undefined,
    settle: servers.length
      ? async () => {
        await Promise.all(servers.map((s) => settle(s.pid)));
      }
      : undefined,
    health: () =>
      servers.some((s) => !s.running)
        ? `the embedded ${serverName(servers[0])} ${
          servers.length > 1
            ? `${place.hosts[servers.findIndex((s) => !s.running)].label} `
            : ""
        }exited; see its log above`
        : place.faults.reason() ??
          (links.some((l) => !l.running)
            ? "the packet forwarder of an emulated link exited"
            : undefined),
  };
}

function serverName(s: SshServer): string {
  return s.impl === "go" ? "Go server" : "sshd";
}

/**
 * Logs what a run needs to know about its place before it starts: hosts
 * whose key could not be read (their sessions will fail) and pool sizes
 * that spread unevenly over a fleet.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { placeWarnings } from "./place.ts";
 * const lines: string[] = [];
 * placeWarnings({ stages: [{ pools: [2] }] } as never, {
 *   hosts: [{ label: "a:22" }, { label: "b:22", unreachable: "connection refused" }],
 * } as never, (l) => lines.push(l));
 * assert.equal(lines.length, 1);
 * assert.match(lines[0], /^warning: b:22 could not be reached to read its host key \(connection refused\); its sessions will be failed rows/);
 * ```
 */
export function placeWarnings(
  cfg: RunConfig,
  place: Place,
  log: (line: string) => void,
): void {
  for (const h of place.hosts) {
    if (h.unreachable) {
      log(
        `warning: ${h.label} could not be reached to read its host key (${h.unreachable}); its sessions will be failed rows: check the host and port, or drop it from the fleet`,
      );
    }
  }
  unevenWarning(cfg, place.hosts.length, log);
}

/**
 * The places of a run, one per `--rtt` value, opened in turn: opening the
 * next closes the current one, and each embedded host's server CPU is
 * added up over all of them (a host keeps its label across places).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Places } from "./place.ts";
 * const places = new Places({} as never, 1);
 * assert.equal(places.current, undefined);
 * assert.equal(places.hosts(), undefined);
 * await places.close(false, () => {}); // nothing open: nothing to do
 * ```
 */
export class Places {
  #cfg: RunConfig;
  #maxPool: number;
  #cpu = new Map<string, number>();
  #lastHosts?: RecordHost[];
  /** The place open now, if any. */
  current?: Place;

  constructor(cfg: RunConfig, maxPool: number) {
    this.#cfg = cfg;
    this.#maxPool = maxPool;
  }

  /** Closes the current place (its CPU counted), then opens the next. */
  async open(rttMs: number | undefined): Promise<Place> {
    await this.#closeCurrent();
    this.current = await openPlace(this.#cfg, this.#maxPool, rttMs);
    return this.current;
  }

  /**
   * The hosts of the last place opened, as meta.json records them, with
   * each embedded host's server CPU over every place so far.
   */
  hosts(): RecordHost[] | undefined {
    if (this.current) this.#count(this.current);
    return this.#lastHosts;
  }

  /**
   * Closes the current place; when the run failed, first logs the last
   * lines of each embedded server's log.
   */
  async close(failed: boolean, log: (line: string) => void): Promise<void> {
    const place = this.current;
    if (!place) return;
    for (const [i, server] of place.servers.entries()) {
      if (!failed) break;
      const tail = (await server.log()).trim().split("\n").slice(-5).join(
        "\n",
      );
      const name = place.servers.length > 1 ? ` ${place.hosts[i].label}` : "";
      if (tail) log(`${serverName(server)}${name} log (last lines):\n${tail}`);
    }
    await this.#closeCurrent();
  }

  #counted = new WeakSet<Place>();

  /** Adds a place's server CPU once, and keeps its hosts for meta.json. */
  #count(place: Place): void {
    if (!this.#counted.has(place)) {
      this.#counted.add(place);
      addHostCpu(place, this.#cpu);
    }
    this.#lastHosts = recordHosts(place, this.#cpu);
  }

  async #closeCurrent(): Promise<void> {
    const place = this.current;
    if (!place) return;
    this.#count(place);
    this.current = undefined;
    await closePlace(place);
  }
}
