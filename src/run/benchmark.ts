/**
 * A whole benchmark run: plan, server or target, calibration, run record,
 * stages, summary, teardown. Each part lives in its own module; this one
 * puts them in order and guarantees the teardown (files flushed, sshd
 * stopped, `meta.json` final) on every exit path.
 *
 * @module
 */
import { loadRunners } from "../clients/mod.ts";
import type { ClientRunner } from "../clients/runner.ts";
import { type Negotiated, NO_AGENT, type Target } from "../clients/seam.ts";
import {
  agentPid,
  decryptToMemory,
  isEncrypted,
  readPassphrase,
  takePassphraseEnv,
} from "../clients/auth.ts";
import type { MemoryFile } from "../util/memory_file.ts";
import { EmbeddedServer } from "../server/embedded.ts";
import { type SshServer, startServer } from "../server/server.ts";
import { UsageError } from "../util/errors.ts";
import { RUNS_DIR, utcStamp } from "../util/paths.ts";
import { childPids } from "../util/proc.ts";
import { opensshVersion } from "../util/ssh_version.ts";
import { calibrateAll } from "./calibration.ts";
import type { ExternalTarget, RunConfig } from "./config.ts";
import {
  checkHostKeys,
  type HostKeyCheck,
  knownHostsText,
} from "./known_hosts.ts";
import { CsvSink, toCsv } from "./csv_sink.ts";
import { checkFileLimit } from "./file_limit.ts";
import { checkOutDir } from "./out_dir.ts";
import { writeError } from "./write_error.ts";
import { countSteps } from "./presets.ts";
import { Progress } from "./progress.ts";
import {
  type ClientCalibration,
  provenance,
  type RecordAuth,
  type RecordHost,
  type RecordHostKeys,
  type RunRecord,
  type RunState,
  writeRecord,
} from "./record.ts";
import { hostSummary } from "./host_summary.ts";
import {
  columnNames,
  HOST_COLUMNS,
  type HostRow,
  INTERVAL_COLUMNS,
  SCHEMA_VERSION,
  SUMMARY_COLUMNS,
} from "./schema.ts";
import { runStages, type StagesOutcome } from "./stages.ts";
import type { SweepOptions } from "./sweep.ts";
import { EmulatedLink } from "../net/mod.ts";
import { describeStale, removeStale } from "./stale.ts";
import { faultAware, type PlaceWatch, watchPlace } from "./place_faults.ts";
import { makeOwnedTempDir } from "../util/owned_dirs.ts";
import { onExit } from "../util/exit_hooks.ts";
import {
  costWarnings,
  DEFAULT_MAX_FAILURES_PCT,
  type FailureCheck,
  failureCheck,
  intervals,
  type RoundTrips,
  roundTrips,
  summarize,
  summaryJson,
  type SummaryRow,
} from "./summary.ts";
import { interferenceRecord } from "./interference.ts";

/** How a run ended. */
export type RunStatus = Exclude<RunState, "running">;

/** What {@linkcode runBenchmark} returns. */
export interface BenchmarkResult {
  /** Run id (the folder's name). */
  runId: string;
  /** Run folder. */
  dir: string;
  /** How the run ended. */
  status: RunStatus;
  /** Why, when not complete. */
  reason?: string;
  /** One row per client and pool size. */
  summary: SummaryRow[];
  /**
   * Warnings about the run (the open-file limit), what the numbers measure
   * and failed sessions (also in meta.json).
   */
  warnings: string[];
  /** Failed sessions per client against `--max-failures` (`over`: exit 3). */
  failures: FailureCheck;
  /** What each client negotiated (from its calibration). */
  negotiated: Record<string, Negotiated | null>;
  /** The embedded server's implementation and version; undefined for targets. */
  server?: string;
  /** Round trips per client and phase (with two or more `--rtt` values). */
  roundTrips: RoundTrips;
  /** The summary per host (fleets; empty with one host). */
  hostSummary: HostRow[];
}

/** Hooks for the command line and for tests. */
export interface RunHooks {
  /** Aborting it interrupts the run (Ctrl-C). */
  signal?: AbortSignal;
  /** Where notices and warnings go (default: stderr). */
  log?: (line: string) => void;
  /** Progress bar/log on a TTY or not (default: detect). */
  tty?: boolean;
}

/** The plan line printed at the start. */
function planLine(cfg: RunConfig, clients: readonly ClientRunner[]): string {
  const steps = countSteps(cfg.stages, clients.length);
  const estimate = steps * cfg.stepSeconds;
  return `plan: ${
    clients.map((c) => c.name).join(", ")
  }; ${steps} steps of >= ${cfg.stepSeconds} s${
    cfg.minRounds > 1 ? ` and >= ${cfg.minRounds} rounds` : ""
  }; estimated ${
    estimate < 90
      ? `${Math.ceil(estimate)} s`
      : `${Math.ceil(estimate / 60)} min`
  } (longer if rounds outlast the step)`;
}

/** One host of a place, as its sessions' rows name it. */
interface PlaceHost {
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
interface Place {
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

/** The first target, on which calibration runs (a reachable one). */
function firstTarget(place: Place): Target {
  return place.targets[place.hosts.findIndex((h) => !h.unreachable)] ??
    place.targets[0];
}

/**
 * Opens the place of one RTT value (or the only place, without --rtt):
 * `--servers K` embedded servers, each with its own RTT under
 * `--server-rtt`, or the external hosts.
 */
async function openPlace(
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
 */
function usableClients(
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

/** What meta.json records of the verified host keys. */
function hostKeysRecord(c: HostKeyCheck, acceptNew: boolean): RecordHostKeys {
  return {
    known_hosts_file: c.knownHostsFile,
    accept_new: acceptNew,
    hosts: c.hosts.map((h) => ({
      host: h.host,
      port: h.port,
      key_type: h.keyType,
      fingerprint: h.fingerprint,
      trusted_by: h.acceptedNew ? "accepted_new" : "known_hosts",
      entry: h.entry,
    })),
  };
}

/** Stops a place's servers and links, removes its own known_hosts file. */
async function closePlace(p: Place | undefined): Promise<void> {
  await Promise.all((p?.servers ?? []).map((s) => s.stop()));
  await Promise.all((p?.links ?? []).map((l) => l.stop()));
  p?.memoryKey?.close();
  if (p?.keysDir) {
    await Deno.remove(p.keysDir, { recursive: true }).catch(() => {});
  }
  p?.offExit?.();
}

/** The run record as written at the start (state `running`). */
async function newRecord(p: {
  cfg: RunConfig;
  runId: string;
  started: Date;
  clients: readonly ClientRunner[];
  target: Target;
  server?: SshServer;
  hostKeys?: HostKeyCheck;
  auth?: RecordAuth;
  calibration: Record<string, ClientCalibration>;
}): Promise<RunRecord> {
  const { cfg, server, target } = p;
  const prov = await provenance();
  return {
    schema_version: SCHEMA_VERSION,
    run_id: p.runId,
    status: "running",
    preset: cfg.preset,
    argv: cfg.argv,
    parameters: {
      clients: p.clients.map((c) => c.name),
      stages: cfg.stages,
      step_seconds: cfg.stepSeconds,
      min_rounds: cfg.minRounds,
      timeout_ms: cfg.timeoutMs,
      command: target.command,
      payload_bytes: server ? cfg.payloadBytes : null,
      server_max_startups: cfg.serverMaxStartups ?? null,
      server_profile: server instanceof EmbeddedServer
        ? server.profile.name
        : null,
      server_impl: server?.impl ?? null,
      algorithms: cfg.algorithms ?? null,
      commands_per_session: cfg.commandsPerSession ?? 1,
      clients_in_process: cfg.inProcess ?? false,
      order: cfg.order ?? "interleaved",
      precision: cfg.precision ?? null,
      rtt_ms: cfg.rttMs ?? null,
      servers: cfg.targets ? null : cfg.servers ?? 1,
      server_rtt_ms: cfg.serverRttMs ?? null,
      max_failures_pct: cfg.maxFailuresPct ?? DEFAULT_MAX_FAILURES_PCT,
      loss_pct: cfg.lossPct ?? null,
      rate_mbit: cfg.rateMbit ?? null,
    },
    started_at: p.started.toISOString(),
    ended_at: null,
    versions: {
      project_commit: prov.project_commit,
      deno: prov.deno,
      v8: prov.v8,
      kernel: prov.kernel,
      openssh_server: server instanceof EmbeddedServer ? server.version : null,
      server: server?.version ?? null,
      openssh_client: (await opensshVersion("ssh")) ?? "not installed",
      clients: Object.fromEntries(p.clients.map((c) => [c.name, c.version()])),
    },
    machine: prov.machine,
    target: {
      kind: server ? "embedded" : "external",
      host: target.host,
      port: target.port,
      user: target.user,
      command: target.command,
      payload: server?.payload ?? null,
      sshd_config: server instanceof EmbeddedServer ? server.config : null,
      server_profile: server instanceof EmbeddedServer ? server.profile : null,
      server_config: server && !(server instanceof EmbeddedServer)
        ? server.config
        : null,
      host_keys: p.hostKeys
        ? hostKeysRecord(p.hostKeys, cfg.acceptNewHostKeys ?? false)
        : null,
      auth: p.auth
        ? {
          ...p.auth,
          clients: Object.fromEntries(
            p.clients.map((c) => [c.name, p.auth!.kind]),
          ),
        }
        : null,
    },
    calibration: { command: "true", clients: p.calibration },
    negotiated: Object.fromEntries(
      Object.entries(p.calibration).map(([k, c]) => [k, c.negotiated ?? null]),
    ),
  };
}

/**
 * Each worker's stderr: kept in memory until the run folder exists, then
 * appended to `<run>/workers/<client>.stderr.log` (only when non-empty).
 */
class WorkerLogs {
  #dir?: string;
  #pending = new Map<string, string[]>();
  #files = new Map<string, Deno.FsFile>();
  #enc = new TextEncoder();

  sink(name: string): (text: string) => void {
    return (text) => {
      if (!this.#dir) {
        const p = this.#pending.get(name) ?? [];
        if (p.length < 256) p.push(text);
        this.#pending.set(name, p);
        return;
      }
      this.#file(name)?.writeSync(this.#enc.encode(text));
    };
  }

  #file(name: string): Deno.FsFile | undefined {
    let f = this.#files.get(name);
    if (!f && this.#dir) {
      Deno.mkdirSync(this.#dir, { recursive: true });
      f = Deno.openSync(`${this.#dir}/${name}.stderr.log`, {
        append: true,
        create: true,
      });
      this.#files.set(name, f);
    }
    return f;
  }

  open(dir: string): void {
    this.#dir = dir;
    for (const [name, texts] of this.#pending) {
      this.#file(name)?.writeSync(this.#enc.encode(texts.join("")));
    }
    this.#pending.clear();
  }

  close(): void {
    for (const f of this.#files.values()) f.close();
    this.#files.clear();
  }
}

/** Waits (up to 200 ms) until sshd has reaped its per-connection children. */
async function settle(pid: number): Promise<void> {
  const deadline = performance.now() + 200;
  while (childPids(pid).length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Runs a benchmark as configured and writes its folder.
 *
 * @example
 * ```ts ignore
 * import { parseBenchArgs } from "../cli/bench_args.ts";
 * import { runBenchmark } from "./benchmark.ts";
 * const cfg = parseBenchArgs(["--preset", "quick"]);
 * if (cfg !== "help") console.log((await runBenchmark(cfg)).dir);
 * ```
 */
export async function runBenchmark(
  cfg: RunConfig,
  hooks: RunHooks = {},
): Promise<BenchmarkResult> {
  // Before anything is spawned: no child inherits the passphrase.
  takePassphraseEnv();
  const log = hooks.log ?? ((l: string) => console.error(l));
  // What runs killed with SIGKILL left (theirs only, never a live run's).
  const stale = describeStale(await removeStale());
  if (stale) log(stale);
  // Before anything starts: an unusable folder or a pool the open-file
  // limit cannot hold is refused at no cost, and the raised limit is
  // inherited by every worker and sshd.
  if (cfg.out !== undefined) checkOutDir(cfg.out);
  else checkOutDir(RUNS_DIR, { flag: "the runs folder", inside: true });
  const maxPool = Math.max(...cfg.stages.flatMap((s) => s.pools));
  // Warnings from before the run, for meta.json too.
  const early: string[] = [];
  const fileWarning = checkFileLimit(maxPool, cfg.clients);
  if (fileWarning) {
    early.push(fileWarning);
    log(fileWarning);
  }
  const stderr = new WorkerLogs();
  const allClients = await loadRunners(cfg.clients, log, {
    inProcess: cfg.inProcess,
    stderr: (name) => stderr.sink(name),
  });
  log(planLine(cfg, allClients));
  const rtts = cfg.rttMs ?? [undefined];
  let place: Place | undefined;
  /** Server CPU per embedded host over the places closed so far, ms. */
  const hostCpu = new Map<string, number>();
  /** The hosts of the last place opened, for meta.json. */
  let lastHosts: RecordHost[] | undefined;
  const started = new Date();
  const runId = `${utcStamp(started)}-${cfg.name}`;
  const dir = cfg.out ?? `${RUNS_DIR}/${runId}`;
  const outcome: StagesOutcome = { results: [], status: "complete" };
  const maxFailures = cfg.maxFailuresPct ?? DEFAULT_MAX_FAILURES_PCT;
  let sink: CsvSink | undefined;
  let record: RunRecord | undefined;
  let thrown: unknown;
  let offExit: (() => void) | undefined;
  try {
    place = await openPlace(cfg, maxPool, rtts[0]);
    for (const h of place.hosts) {
      if (h.unreachable) {
        log(
          `warning: ${h.label} could not be reached to read its host key (${h.unreachable}); its sessions will be failed rows: check the host and port, or drop it from the fleet`,
        );
      }
    }
    unevenWarning(cfg, place.hosts.length, log);
    const usable = usableClients(allClients, place, log);
    // Calibrate first: an unreachable target or a refused key stops here,
    // before a run folder exists. Clients that cannot honour pinned
    // algorithms drop out. Ctrl-C, or a link that dies, ends it at once.
    const { calibration, clients } = await calibrateAll(
      usable,
      firstTarget(place),
      cfg.timeoutMs,
      log,
      place.servers.length > 0,
      hooks.signal
        ? AbortSignal.any([hooks.signal, place.faults.signal])
        : place.faults.signal,
    );
    await Deno.mkdir(dir, { recursive: true });
    sink = CsvSink.create(dir);
    stderr.open(`${dir}/workers`);
    record = await newRecord({
      cfg,
      runId,
      started,
      clients,
      target: firstTarget(place),
      server: place.servers[0],
      hostKeys: place.hostKeys,
      auth: place.auth,
      calibration,
    });
    await writeRecord(dir, record);
    // A forced exit (a second Ctrl-C) skips finishRecord: meta.json still
    // ends `interrupted`.
    offExit = interruptedOnExit(dir, record);
    const progress = new Progress({
      totalSteps: countSteps(cfg.stages, clients.length) * rtts.length,
      stepSeconds: cfg.stepSeconds,
      tty: hooks.tty,
    });
    const runStart = performance.now() - (Date.now() - started.getTime());
    try {
      for (let i = 0; i < rtts.length && outcome.status === "complete"; i++) {
        if (i > 0) {
          addHostCpu(place, hostCpu);
          lastHosts = recordHosts(place, hostCpu);
          await closePlace(place);
          place = undefined;
          place = await openPlace(cfg, maxPool, rtts[i]);
        }
        if (place.rttMs !== undefined) {
          progress.note(`emulated round-trip time ${place.rttMs} ms`);
        }
        const faults = place.faults.signal;
        const o = await runStages(
          cfg.stages,
          // A link that dies ends the round in flight at once; its rows stay.
          clients.map((c) => faultAware(c, faults)),
          stepOptions(cfg, place, { runId, runStart, sink, hooks }),
          progress,
          cfg.order ?? "interleaved",
        );
        outcome.results.push(...o.results);
        outcome.status = o.status;
        outcome.reason = o.reason;
      }
    } finally {
      progress.done();
    }
  } catch (e) {
    thrown = e;
    outcome.status = hooks.signal?.aborted ? "interrupted" : "failed";
    outcome.reason = e instanceof Error ? e.message : String(e);
    throw e;
  } finally {
    // A flush that fails (a full disk) fails the run, after the teardown.
    let flush: unknown;
    try {
      sink?.close();
    } catch (e) {
      flush = e;
      if (thrown === undefined) {
        outcome.status = "failed";
        outcome.reason = e instanceof Error ? e.message : String(e);
      }
    }
    if (place) {
      addHostCpu(place, hostCpu);
      lastHosts = recordHosts(place, hostCpu);
    }
    // The last place opened (a later one may have failed to open).
    const hosts = lastHosts?.map((h) => ({
      ...h,
      server_cpu_ms: hostCpu.get(h.label) ?? h.server_cpu_ms,
    }));
    await teardown(place, allClients, outcome, log);
    stderr.close();
    const unsaved = record
      ? await finishRecord(
        dir,
        { ...record, hosts },
        outcome,
        (summary) =>
          runWarnings(
            early,
            summary,
            failureCheck(outcome.results, maxFailures),
          ),
        log,
      )
      : undefined;
    // One error line: what stopped the run, and whether meta.json says so.
    const failure = thrown ?? flush;
    if (
      unsaved && failure instanceof Error &&
      !failure.message.includes(`${dir}/meta.json`)
    ) {
      failure.message +=
        "; meta.json could not be updated either, so it does not say how the run ended";
    }
    // The run's end is written (or could not be): no exit hook may
    // rewrite meta.json as interrupted from here on.
    offExit?.();
    if (thrown === undefined && (flush ?? unsaved)) {
      // deno-lint-ignore no-unsafe-finally
      throw flush ?? new UsageError(
        `${unsaved!.message}; meta.json does not say how the run ended`,
        1,
      );
    }
  }
  const summary = summarize(outcome.results);
  const failures = failureCheck(outcome.results, maxFailures);
  const hostRows = hostSummary(outcome.results, place?.hosts ?? []);
  return {
    runId,
    dir,
    status: outcome.status,
    reason: outcome.reason,
    summary,
    warnings: runWarnings(early, summary, failures),
    failures,
    negotiated: record?.negotiated ?? {},
    server: record?.versions.server ?? undefined,
    roundTrips: roundTrips(outcome.results),
    hostSummary: hostRows,
  };
}

/**
 * A run's warnings, in order: those from before it (the open-file limit),
 * what the numbers measure, and failed sessions.
 */
function runWarnings(
  early: readonly string[],
  summary: readonly SummaryRow[],
  failures: FailureCheck,
): string[] {
  return [
    ...early,
    ...costWarnings(summary),
    ...(failures.warning ? [failures.warning] : []),
  ];
}

/** What every step at one place needs besides the client and pool size. */
function stepOptions(
  cfg: RunConfig,
  place: Place,
  p: { runId: string; runStart: number; sink: CsvSink; hooks: RunHooks },
): Omit<SweepOptions, "onRound"> {
  const { servers, links } = place;
  const cpu = (s: SshServer) => s.cpuMs();
  return {
    target: place.targets[0],
    targets: place.targets.length > 1 ? place.targets : undefined,
    hosts: place.hosts,
    runId: p.runId,
    runStart: p.runStart,
    stepSeconds: cfg.stepSeconds,
    minRounds: cfg.minRounds,
    timeoutMs: cfg.timeoutMs,
    commandsPerSession: cfg.commandsPerSession ?? 1,
    precision: cfg.precision,
    sink: p.sink,
    rttMs: place.rttMs,
    link: links.length ? fleetLink(links) : undefined,
    serverCpuMs: servers.length
      ? () => {
        let sum = 0;
        for (const s of servers) {
          const c = cpu(s);
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
    signal: p.hooks.signal,
    health: () =>
      servers.some((s) => !s.running)
        ? `the embedded ${servers[0].impl === "go" ? "Go server" : "sshd"} ${
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
 */
function unevenWarning(
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

/**
 * Stops sshd (showing its log's tail when the run failed) and the link,
 * frees clients.
 */
async function teardown(
  place: Place | undefined,
  clients: readonly ClientRunner[],
  outcome: StagesOutcome,
  log: (line: string) => void,
): Promise<void> {
  for (const [i, server] of (place?.servers ?? []).entries()) {
    if (outcome.status !== "failed") break;
    const tail = (await server.log()).trim().split("\n").slice(-5).join("\n");
    const name = place!.servers.length > 1 ? ` ${place!.hosts[i].label}` : "";
    const what = server.impl === "go" ? "Go server" : "sshd";
    if (tail) log(`${what}${name} log (last lines):\n${tail}`);
  }
  await closePlace(place);
  await Promise.all(clients.map((c) => c.close()));
}

/**
 * Registers an exit hook that marks the run `interrupted` in meta.json
 * when the process quits before {@linkcode finishRecord} (a second Ctrl-C
 * during teardown); returns the function that removes the hook.
 */
function interruptedOnExit(dir: string, record: RunRecord): () => void {
  return onExit(() => {
    const tmp = `${dir}/.meta.json.tmp`;
    Deno.writeTextFileSync(
      tmp,
      JSON.stringify(
        {
          ...record,
          status: "interrupted",
          reason: "interrupted by a second signal, which quit at once",
          ended_at: new Date().toISOString(),
        },
        null,
        2,
      ) + "\n",
    );
    Deno.renameSync(tmp, `${dir}/meta.json`);
  });
}

/**
 * Writes the record's final state, summary, intervals and warnings, then
 * the summary as `summary.csv` and `summary.json` and `intervals.csv` (and
 * `hosts.csv`).
 * Returns the error when `meta.json` could not be written (see
 * {@linkcode writeRecord}); a summary file that could not be written is
 * removed (never left empty or cut short) and, unless the run failed
 * anyway, warned about.
 */
async function finishRecord(
  dir: string,
  record: RunRecord,
  outcome: StagesOutcome,
  warnings: (summary: SummaryRow[]) => string[],
  log: (line: string) => void,
): Promise<Error | undefined> {
  const summary = summarize(outcome.results);
  const bounds = intervals(outcome.results);
  const byHost = hostSummary(
    outcome.results,
    (record.hosts ?? []).map((h) => ({ label: h.label, rttMs: h.rtt_ms })),
  );
  let unsaved: Error | undefined;
  // meta.json first: on a full disk, how the run ended matters most.
  await writeRecord(dir, {
    ...record,
    status: outcome.status,
    reason: outcome.reason ?? null,
    ended_at: new Date().toISOString(),
    summary,
    intervals: bounds,
    round_trips: roundTrips(outcome.results),
    warnings: warnings(summary),
    interference: interferenceRecord(summary),
    ...(byHost.length && { host_summary: byHost }),
  }).catch((e) => unsaved = e);
  const files: [string, string][] = [
    [`${dir}/summary.csv`, toCsv(summary, columnNames(SUMMARY_COLUMNS), true)],
    [`${dir}/summary.json`, summaryJson(summary)],
    [
      `${dir}/intervals.csv`,
      toCsv(bounds, columnNames(INTERVAL_COLUMNS), true),
    ],
  ];
  if (byHost.length) {
    files.unshift([
      `${dir}/hosts.csv`,
      toCsv(byHost, columnNames(HOST_COLUMNS), true),
    ]);
  }
  for (const [path, text] of files) {
    try {
      await Deno.writeTextFile(path, text);
    } catch (e) {
      await Deno.remove(path).catch(() => {});
      if (outcome.status !== "failed") {
        log(`warning: ${writeError(path, e).message}`);
      }
    }
  }
  return unsaved;
}
