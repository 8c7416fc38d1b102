/**
 * A whole benchmark run: plan, server or target, calibration, run record,
 * stages, summary, teardown. Each part lives in its own module; this one
 * puts them in order and guarantees the teardown (files flushed, sshd
 * stopped, `meta.json` final) on every exit path.
 *
 * @module
 */
import { loadRunners } from "../clients/registry.ts";
import type { ClientRunner } from "../clients/runner.ts";
import type { Negotiated, Target } from "../clients/seam.ts";
import { takePassphraseEnv } from "../clients/auth.ts";
import { EmbeddedServer } from "../server/embedded.ts";
import type { SshServer } from "../server/server.ts";
import { UsageError } from "../util/errors.ts";
import { RUNS_DIR, utcStamp } from "../util/paths.ts";
import { opensshVersion } from "../util/ssh_version.ts";
import { calibrateAll } from "./calibration.ts";
import type { RunConfig } from "./config.ts";
import type { HostKeyCheck } from "./known_hosts.ts";
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
import { describeStale, oldKeyLines, removeStale } from "./stale.ts";
import { faultAware } from "./place_faults.ts";
import {
  firstTarget,
  type Place,
  Places,
  placeSweep,
  placeWarnings,
  usableClients,
} from "./place.ts";
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
  const swept = await removeStale();
  const stale = describeStale(swept);
  if (stale) log(stale);
  oldKeyLines(swept).forEach((line) => log(line));
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
  const places = new Places(cfg, maxPool);
  /** The place open at the end, whose hosts the summary per host names. */
  let lastPlace: Place | undefined;
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
    let place = await places.open(rtts[0]);
    placeWarnings(cfg, place, log);
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
        if (i > 0) place = await places.open(rtts[i]);
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
    // The last place opened (a later one may have failed to open).
    const hosts = places.hosts();
    lastPlace = places.current;
    await places.close(outcome.status === "failed", log);
    await Promise.all(allClients.map((c) => c.close()));
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
  const hostRows = hostSummary(outcome.results, lastPlace?.hosts ?? []);
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
  return {
    ...placeSweep(place),
    runId: p.runId,
    runStart: p.runStart,
    stepSeconds: cfg.stepSeconds,
    minRounds: cfg.minRounds,
    timeoutMs: cfg.timeoutMs,
    commandsPerSession: cfg.commandsPerSession ?? 1,
    precision: cfg.precision,
    sink: p.sink,
    signal: p.hooks.signal,
  };
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
