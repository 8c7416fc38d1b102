/**
 * A whole benchmark run: server, clients, calibration, stages of steps,
 * raw files, summary. The command line (`bench.ts`) is a thin wrapper.
 *
 * @module
 */
import type { RunConfig } from "./config.ts";
import { loadClients } from "../clients/mod.ts";
import { CsvSink } from "./csv_sink.ts";
import { UsageError } from "../util/errors.ts";
import { provenance, RUNS_DIR, utcStamp, writeMeta } from "./record.ts";
import { bestClient, countSteps } from "./presets.ts";
import { opensshVersion } from "../clients/openssh.ts";
import { childPids, raiseFileLimit } from "../util/proc.ts";
import {
  costWarnings,
  Progress,
  summarize,
  type SummaryRow,
} from "./summary.ts";
import { EmbeddedServer } from "../server/embedded.ts";
import { median } from "../util/quantile.ts";
import { runStep, type StepResult, timedSession } from "./sweep.ts";
import type { SshClient, Target } from "../clients/seam.ts";

/** How a run ended. */
export type RunStatus = "complete" | "interrupted" | "failed";

/** What {@linkcode runBenchmark} returns. */
export interface RunResult {
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
  /** Warnings about what the numbers measure (also in meta.json). */
  warnings: string[];
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

/** Number of remote no-op sessions before the sweep. */
const CALIBRATION_SESSIONS = 5;
/** A no-op slower than this means the remote shell start-up dominates. */
const NOOP_WARN_MS = 50;

/** No-op calibration of one client. */
interface NoopCalibration {
  /** Whole session, ms, per no-op session. */
  total_ms: number[];
  /** exec + read + close, ms: the remote command's share. */
  remote_ms: number[];
  /** Median of `total_ms`. */
  total_median_ms: number;
  /** Median of `remote_ms`. */
  remote_median_ms: number;
}

/**
 * Runs the remote no-op `true` a few times with `client`. The first failure
 * is a {@linkcode UsageError} (unreachable target, refused key): nothing is
 * swept.
 */
async function calibrate(
  client: SshClient,
  target: Target,
  timeoutMs: number,
): Promise<NoopCalibration> {
  const noop = { ...target, command: "true" };
  const total: number[] = [];
  const remote: number[] = [];
  for (let i = 0; i < CALIBRATION_SESSIONS; i++) {
    const { outcome, end, clock } = await timedSession(
      client,
      noop,
      Math.min(timeoutMs, 30_000),
    );
    if (outcome.status !== "ok") {
      const where = `${target.user}@${target.host}:${target.port}`;
      const hint = outcome.status === "connect_error"
        ? `cannot connect to ${where}; check the host and port and that sshd runs there`
        : outcome.status === "auth_error"
        ? `${where} refused the key ${target.identityFile}; check --identity and the account's authorized_keys`
        : outcome.status === "timeout"
        ? `no answer from ${where} within the timeout; check the address or raise --timeout`
        : `the remote no-op "true" failed on ${where}`;
      throw new UsageError(`${hint} (${client.name}: ${outcome.error})`);
    }
    const p = clock.phases;
    total.push(end - clock.start);
    remote.push((p.exec ?? 0) + (p.read ?? 0) + (p.close ?? 0));
  }
  return {
    total_ms: total,
    remote_ms: remote,
    total_median_ms: median(total),
    remote_median_ms: median(remote),
  };
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
): Promise<RunResult> {
  const log = hooks.log ?? ((l: string) => console.error(l));
  const clients = await loadClients(cfg.clients, log);
  const maxPool = Math.max(...cfg.stages.flatMap((s) => s.pools));
  const steps = countSteps(cfg.stages, clients.length);
  const estimate = steps * cfg.stepSeconds;
  log(
    `plan: ${
      clients.map((c) => c.name).join(", ")
    }; ${steps} steps of >= ${cfg.stepSeconds} s${
      cfg.minRounds > 1 ? ` and >= ${cfg.minRounds} rounds` : ""
    }; estimated ${
      estimate < 90
        ? `${Math.ceil(estimate)} s`
        : `${Math.ceil(estimate / 60)} min`
    } (longer if rounds outlast the step)`,
  );

  // Each session holds a socket (and for openssh, three pipes).
  const wantFiles = maxPool * 4 + 256;
  const files = raiseFileLimit(wantFiles);
  if (files < wantFiles) {
    log(
      `warning: the open-file limit is ${files}, below the ${wantFiles} that pool ${maxPool} may need; sessions may fail with EMFILE. Raise it (ulimit -n) before the run.`,
    );
  }

  if (cfg.out !== undefined && await exists(`${cfg.out}/sessions.csv`)) {
    throw new UsageError(
      `${cfg.out} already holds a run; choose another --out`,
    );
  }

  let server: EmbeddedServer | undefined;
  let target: Target;
  if (cfg.target) {
    target = {
      host: cfg.target.host,
      port: cfg.target.port,
      user: cfg.target.user,
      identityFile: cfg.target.identity,
      command: cfg.command!,
    };
  } else {
    server = await EmbeddedServer.start({
      maxPool,
      maxStartups: cfg.serverMaxStartups,
      payloadBytes: cfg.payloadBytes,
      command: cfg.command,
    });
    target = server.target;
  }

  const started = new Date();
  const runId = `${utcStamp(started)}-${cfg.name}`;
  const dir = cfg.out ?? `${RUNS_DIR}/${runId}`;
  const results: StepResult[] = [];
  let status: RunStatus = "complete";
  let reason: string | undefined;
  let sink: CsvSink | undefined;
  const meta: Record<string, unknown> = {};
  let summary: SummaryRow[] = [];
  let warnings: string[] = [];
  try {
    // Calibrate first: an unreachable target or a refused key stops here,
    // before a run folder exists.
    const calibration: Record<string, unknown> = {};
    for (const c of clients) {
      const noop = await calibrate(c, target, cfg.timeoutMs);
      calibration[c.name] = { ...noop, ...(await c.calibrate?.()) };
      log(
        `calibration: remote no-op "true" with ${c.name}: median ${
          noop.total_median_ms.toFixed(1)
        } ms in all, ${noop.remote_median_ms.toFixed(1)} ms from exec to close`,
      );
    }
    await Deno.mkdir(dir, { recursive: true });
    sink = CsvSink.create(dir);
    const prov = await provenance();
    Object.assign(meta, {
      run_id: runId,
      status: "running",
      preset: cfg.preset,
      parameters: {
        clients: clients.map((c) => c.name),
        stages: cfg.stages,
        step_seconds: cfg.stepSeconds,
        min_rounds: cfg.minRounds,
        timeout_ms: cfg.timeoutMs,
        command: target.command,
        payload_bytes: server ? cfg.payloadBytes : null,
        server_max_startups: cfg.serverMaxStartups ?? null,
      },
      started_at: started.toISOString(),
      ended_at: null,
      versions: {
        project_commit: prov.project_commit,
        deno: prov.deno,
        v8: prov.v8,
        kernel: prov.kernel,
        openssh_server: server?.version ?? null,
        openssh_client: (await opensshVersion("ssh")) ?? "not installed",
        clients: Object.fromEntries(clients.map((c) => [c.name, c.version()])),
      },
      machine: {
        cpu_model: prov.cpu_model,
        cores: prov.cores,
        mem_gib: prov.mem_gib,
      },
      target: {
        kind: server ? "embedded" : "external",
        host: target.host,
        port: target.port,
        user: target.user,
        command: target.command,
        payload: server?.payload ?? null,
        sshd_config: server?.config ?? null,
      },
      calibration: { command: "true", clients: calibration },
    });
    await writeMeta(dir, meta);

    const remoteBest = Math.min(
      ...Object.values(calibration).map((c) =>
        (c as NoopCalibration).remote_median_ms
      ),
    );
    if (remoteBest > NOOP_WARN_MS) {
      log(
        `warning: a remote no-op takes ${
          remoteBest.toFixed(0)
        } ms from exec to close (> ${NOOP_WARN_MS} ms): the remote shell's start-up dominates every session. Log in an account whose shell is /bin/sh without rc files.`,
      );
    }

    const progress = new Progress({
      totalSteps: steps,
      stepSeconds: cfg.stepSeconds,
      tty: hooks.tty,
    });
    const runStart = performance.now() - (Date.now() - started.getTime());
    const health = () =>
      server && !server.running
        ? "the embedded sshd exited; see its log above"
        : undefined;
    let previous: StepResult[] = [];
    outer: for (const stage of cfg.stages) {
      let stageClients = clients;
      if (stage.clients === "best") {
        const best = bestClient(previous) ?? clients[0].name;
        stageClients = clients.filter((c) => c.name === best);
        progress.note(
          `scaling ${best} (lowest median total at pool ${
            previous.at(-1)?.pool ?? "-"
          }) to pool ${stage.pools[stage.pools.length - 1]}`,
        );
      }
      const stageResults: StepResult[] = [];
      for (const client of stageClients) {
        for (const pool of stage.pools) {
          const r = await runStep(client, pool, {
            target,
            runId,
            runStart,
            stepSeconds: cfg.stepSeconds,
            minRounds: cfg.minRounds,
            timeoutMs: cfg.timeoutMs,
            sink: sink!,
            serverCpuMs: server ? () => server!.cpuMs() : undefined,
            settle: server ? () => settle(server!.pid) : undefined,
            onRound: (p) => progress.round(p),
            signal: hooks.signal,
            health,
          });
          if (r.rounds > 0) {
            results.push(r);
            stageResults.push(r);
            progress.step(r);
          }
          if (hooks.signal?.aborted) {
            status = "interrupted";
            reason = "interrupted by a signal";
            break outer;
          }
          if (r.stopped) {
            status = "failed";
            reason = r.stopped;
            break outer;
          }
        }
      }
      previous = stageResults;
    }
    progress.done();
  } catch (e) {
    status = hooks.signal?.aborted ? "interrupted" : "failed";
    reason = e instanceof Error ? e.message : String(e);
    throw e;
  } finally {
    sink?.close();
    summary = summarize(results);
    warnings = costWarnings(summary);
    if (server && status === "failed") {
      const tail = (await server.log()).trim().split("\n").slice(-5).join(
        "\n",
      );
      if (tail) log(`sshd log (last lines):\n${tail}`);
    }
    await server?.stop();
    for (const c of clients) c.close?.();
    if (meta.run_id) {
      meta.status = status;
      meta.reason = reason ?? null;
      meta.ended_at = new Date().toISOString();
      meta.summary = summary;
      meta.warnings = warnings;
      await writeMeta(dir, meta).catch(() => {});
    }
  }
  return { runId, dir, status, reason, summary, warnings };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Waits (up to 200 ms) until sshd has reaped its per-connection children. */
async function settle(pid: number): Promise<void> {
  const deadline = performance.now() + 200;
  while (childPids(pid).length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
}
