/**
 * The sweep: for one client and one pool size, rounds of N sessions started
 * together, repeated until the step's time is used (at least the minimum
 * number of rounds). Each round is written to the sink as soon as it ends.
 *
 * @module
 */
import type { RoundRow, SessionRow } from "./schema.ts";
import { machineCpu, selfCpuMs } from "../util/cpu.ts";
import { PhaseClock } from "../clients/seam.ts";
import type { SessionOutcome, SshClient, Target } from "../clients/seam.ts";

/** Where finished rounds go (the CSV files, or a list in tests). */
export interface RoundSink {
  /** Stores one finished round. */
  write(sessions: readonly SessionRow[], round: RoundRow): void;
}

/** Progress of a step, after each round. */
export interface RoundProgress {
  /** Client name. */
  client: string;
  /** Pool size. */
  pool: number;
  /** Rounds finished in this step. */
  round: number;
  /** Sessions ok so far in this step. */
  ok: number;
  /** Sessions failed so far in this step. */
  failed: number;
  /** Time spent in this step, ms. */
  elapsedMs: number;
}

/** Everything a step needs besides the client and pool size. */
export interface SweepOptions {
  /** Target and command. */
  target: Target;
  /** Run id written in every row. */
  runId: string;
  /** `performance.now()` at run start; `started_at_ms` counts from it. */
  runStart: number;
  /** Minimum time per step, s (rounds repeat until it has elapsed). */
  stepSeconds: number;
  /** Minimum rounds per step. */
  minRounds: number;
  /** Per-session timeout, ms. */
  timeoutMs: number;
  /** Where rounds are written. */
  sink: RoundSink;
  /** Server CPU so far in ms (embedded server), or undefined. */
  serverCpuMs?: () => number | undefined;
  /** Awaited after a round before server CPU is read (lets sshd reap). */
  settle?: () => Promise<void>;
  /** Called after each round. */
  onRound?: (p: RoundProgress) => void;
  /** Aborts the step: the round in flight is abandoned, not written. */
  signal?: AbortSignal;
  /** Checked after each round: a message stops the step (e.g. sshd died). */
  health?: () => string | undefined;
  /** Process CPU reader, ms (default: this process and reaped children). */
  clientCpuMs?: () => number;
  /** Machine CPU reader (default: /proc/stat); undefined readings skip it. */
  machineCpu?: () => { busyMs: number; stealMs: number } | undefined;
}

/** Summary of one step (client × pool size). */
export interface StepResult {
  /** Client name. */
  client: string;
  /** Pool size. */
  pool: number;
  /** Rounds written. */
  rounds: number;
  /** Sessions written. */
  sessions: number;
  /** Sessions ok. */
  ok: number;
  /** Failed sessions by status. */
  failures: Record<string, number>;
  /** total_ms of every ok session. */
  okTotals: number[];
  /** Slowest session of each round ("all hosts" time), ms. */
  roundWalls: number[];
  /** Client CPU over all rounds, ms. */
  clientCpuMs: number;
  /** Server CPU over all rounds, ms; NaN for an external target. */
  serverCpuMs: number;
  /** Busy CPU of the whole machine over all rounds, ms; NaN if unknown. */
  machineCpuMs: number;
  /** Length of the windows the machine CPU was read over, summed, ms. */
  machineWindowMs: number;
  /** Sum of round wall times, ms. */
  wallMs: number;
  /** Largest client RSS seen, MiB. */
  maxRssMb: number;
  /** Why the step stopped early, if it did. */
  stopped?: string;
}

/** Extra time a client gets after its abort before its row is written anyway. */
const ABORT_GRACE_MS = 2000;

function defaultCpu(): number {
  const c = selfCpuMs();
  return c.self + c.children;
}

/**
 * Runs one session with a timeout and turns it into a row (without run
 * id, client, pool, round and session numbers, which the caller adds).
 */
export async function timedSession(
  client: SshClient,
  target: Target,
  timeoutMs: number,
  outer?: AbortSignal,
): Promise<{ clock: PhaseClock; outcome: SessionOutcome; end: number }> {
  const clock = new PhaseClock();
  const ac = new AbortController();
  const onOuter = () => ac.abort();
  outer?.addEventListener("abort", onOuter);
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  let grace: ReturnType<typeof setTimeout> | undefined;
  const timedOut = (): SessionOutcome => ({
    bytes: 0,
    lines: 0,
    exitCode: null,
    status: "timeout",
    error: `no result within ${timeoutMs} ms`,
  });
  try {
    const hard = new Promise<SessionOutcome>((resolve) => {
      ac.signal.addEventListener("abort", () => {
        grace = setTimeout(() => resolve(timedOut()), ABORT_GRACE_MS);
      });
    });
    let outcome: SessionOutcome;
    try {
      outcome = await Promise.race([
        client.runSession(target, {
          clock,
          signal: ac.signal,
          timeoutMs,
        }),
        hard,
      ]);
    } catch (e) {
      // A client must not throw; if it does, the session is a failed row.
      outcome = {
        bytes: 0,
        lines: 0,
        exitCode: null,
        status: "read_error",
        error: `client threw: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
    const end = performance.now();
    if (ac.signal.aborted && !outer?.aborted && outcome.status !== "ok") {
      outcome = { ...outcome, status: "timeout" };
    }
    return { clock, outcome, end };
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
    outer?.removeEventListener("abort", onOuter);
  }
}

/** One finished round: its rows, and its wall time. */
interface RoundDone {
  sessions: SessionRow[];
  round: RoundRow;
  /** From the first reading of machine CPU to the last, ms. */
  machineWindowMs: number;
}

/**
 * Runs one round of `pool` sessions started together and measures it;
 * undefined when the run was interrupted meanwhile (the round is
 * abandoned, not written).
 */
async function runRound(
  client: SshClient,
  pool: number,
  round: number,
  o: SweepOptions,
  cpu: () => number,
): Promise<RoundDone | undefined> {
  const machine = o.machineCpu ?? machineCpu;
  const m0 = machine();
  const cpu0 = cpu();
  const srv0 = o.serverCpuMs?.();
  const t0 = performance.now();
  const done = await Promise.all(
    Array.from(
      { length: pool },
      () => timedSession(client, o.target, o.timeoutMs, o.signal),
    ),
  );
  if (o.signal?.aborted) return undefined;
  const t1 = Math.max(...done.map((d) => d.end));
  // Client CPU is read before the settle wait, so that the harness's
  // wait for sshd to reap its children is not charged to the client.
  const cpu1 = cpu();
  await o.settle?.();
  const srv1 = o.serverCpuMs?.();
  const m1 = machine();
  const t2 = performance.now();
  const sessions: SessionRow[] = done.map((d, i) => ({
    run_id: o.runId,
    client: client.name,
    pool_size: pool,
    round,
    session: i + 1,
    started_at_ms: d.clock.start - o.runStart,
    connect_ms: d.clock.phases.connect,
    auth_ms: d.clock.phases.auth,
    exec_ms: d.clock.phases.exec,
    read_ms: d.clock.phases.read,
    close_ms: d.clock.phases.close,
    total_ms: d.end - d.clock.start,
    bytes: d.outcome.bytes,
    lines: d.outcome.lines,
    exit_code: d.outcome.exitCode ?? undefined,
    status: d.outcome.status,
    error: d.outcome.error,
  }));
  const ok = sessions.filter((r) => r.status === "ok").length;
  return {
    sessions,
    round: {
      run_id: o.runId,
      client: client.name,
      pool_size: pool,
      round,
      started_at_ms: t0 - o.runStart,
      wall_ms: t1 - t0,
      ok,
      failed: sessions.length - ok,
      client_cpu_ms: cpu1 - cpu0,
      server_cpu_ms: srv0 !== undefined && srv1 !== undefined
        ? srv1 - srv0
        : undefined,
      client_rss_mb: Deno.memoryUsage().rss / 2 ** 20,
      machine_cpu_ms: m0 && m1 ? m1.busyMs - m0.busyMs : undefined,
      steal_cpu_ms: m0 && m1 ? m1.stealMs - m0.stealMs : undefined,
    },
    machineWindowMs: t2 - t0,
  };
}

/** Adds a written round to the step's totals. */
function addRound(res: StepResult, done: RoundDone): void {
  const r = done.round;
  res.rounds = r.round;
  res.sessions += done.sessions.length;
  res.ok += r.ok;
  for (const s of done.sessions) {
    if (s.status === "ok") res.okTotals.push(s.total_ms);
    else res.failures[s.status] = (res.failures[s.status] ?? 0) + 1;
  }
  res.roundWalls.push(r.wall_ms);
  res.clientCpuMs += r.client_cpu_ms;
  if (r.server_cpu_ms !== undefined) res.serverCpuMs += r.server_cpu_ms;
  res.wallMs += r.wall_ms;
  if (r.machine_cpu_ms === undefined) res.machineCpuMs = NaN;
  else res.machineCpuMs += r.machine_cpu_ms;
  res.machineWindowMs += done.machineWindowMs;
  res.maxRssMb = Math.max(res.maxRssMb, r.client_rss_mb);
}

/**
 * Runs one step: rounds of `pool` concurrent sessions of `client`, each
 * written to the sink as soon as it ends, until the step's time is used
 * and at least the minimum number of rounds ran.
 *
 * @example
 * ```ts
 * import { runStep } from "./sweep.ts";
 * import { NullClient } from "../clients/null.ts";
 * import assert from "node:assert/strict";
 * const written: number[] = [];
 * const r = await runStep(new NullClient(), 10, {
 *   target: {} as never, runId: "x", runStart: performance.now(), stepSeconds: 0,
 *   minRounds: 3, timeoutMs: 1000, sink: { write: (s) => written.push(s.length) },
 * });
 * assert.equal(r.rounds, 3);
 * assert.equal(r.okTotals.length, 30);
 * assert.deepEqual(written, [10, 10, 10]);
 * ```
 */
export async function runStep(
  client: SshClient,
  pool: number,
  o: SweepOptions,
): Promise<StepResult> {
  const cpu = o.clientCpuMs ?? defaultCpu;
  const res: StepResult = {
    client: client.name,
    pool,
    rounds: 0,
    sessions: 0,
    ok: 0,
    failures: {},
    okTotals: [],
    roundWalls: [],
    clientCpuMs: 0,
    serverCpuMs: o.serverCpuMs ? 0 : NaN,
    machineCpuMs: 0,
    machineWindowMs: 0,
    wallMs: 0,
    maxRssMb: 0,
  };
  const stepStart = performance.now();
  const stepMs = o.stepSeconds * 1000;
  while (
    res.rounds < o.minRounds || performance.now() - stepStart < stepMs
  ) {
    if (o.signal?.aborted) break;
    const done = await runRound(client, pool, res.rounds + 1, o, cpu);
    if (!done) break; // abandoned: not written
    o.sink.write(done.sessions, done.round);
    addRound(res, done);
    o.onRound?.({
      client: client.name,
      pool,
      round: res.rounds,
      ok: res.ok,
      failed: res.sessions - res.ok,
      elapsedMs: performance.now() - stepStart,
    });
    const bad = o.health?.();
    if (bad) {
      res.stopped = bad;
      break;
    }
  }
  return res;
}
