/**
 * The sweep: for one client and one pool size, rounds of N sessions started
 * together, repeated until the step's time is used (at least the minimum
 * number of rounds). Each round is written to the sink as soon as it ends.
 *
 * @module
 */
import type { RoundRow, SessionRow } from "./schema.ts";
import { machineCpu, selfCpuMs } from "../util/cpu.ts";
import type { Target } from "../clients/seam.ts";
import type { SessionReport } from "../clients/protocol.ts";
import type { ClientRunner } from "../clients/runner.ts";
import { clusterInterval } from "../util/inference.ts";
import {
  type CpuSnapshot,
  cpuSnapshot,
  otherCpuMs,
} from "../util/other_cpu.ts";
import { roundDisturbed } from "./interference.ts";

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

/** Progress within a round, as each session's report arrives. */
export interface SessionProgress {
  /** Client name. */
  client: string;
  /** Pool size (the round's sessions). */
  pool: number;
  /** The round, from 1. */
  round: number;
  /** Sessions of the round reported so far. */
  done: number;
  /** Time spent in the step (all clients taking turns), ms. */
  elapsedMs: number;
  /** The step's planned time (every client's turns), ms. */
  stepMs: number;
  /** Clients taking turns in the step (steps it counts for). */
  steps: number;
}

/** Everything a step needs besides the client and pool size. */
export interface SweepOptions {
  /** Target and command (the first host's, in a fleet). */
  target: Target;
  /**
   * A fleet: session n (from 1) of every round goes to
   * `targets[(n - 1) % length]`; absent: every session to `target`.
   */
  targets?: readonly Target[];
  /**
   * The hosts in the same order (one when there is no fleet): the `host`
   * column, and each host's own RTT (else `rttMs`).
   */
  hosts?: readonly { label: string; rttMs?: number }[];
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
  /** Called as each session of a round reports (progress display). */
  onSession?: (p: SessionProgress) => void;
  /** Aborts the step: the round in flight is abandoned, not written. */
  signal?: AbortSignal;
  /** Checked after each round: a message stops the step (e.g. sshd died). */
  health?: () => string | undefined;
  /** This process's own CPU reader, ms (default: getrusage of itself). */
  harnessCpuMs?: () => number;
  /** Commands per session (default 1). */
  commandsPerSession?: number;
  /** The emulated RTT of this place, ms (stamped on every row). */
  rttMs?: number;
  /** The emulated link: its achieved hold times and CPU per round. */
  link?: {
    achieved(
      o?: { reset?: boolean },
    ): Promise<{ p50Ms: number; p99Ms: number }>;
    cpuMs(): number;
  };
  /**
   * End a step early once every client's median total is known to within
   * this fraction (`--precision 5%` is 0.05); the step's time stays the
   * maximum, `minRounds` the minimum.
   */
  precision?: number;
  /** Machine CPU reader (default: /proc/stat); undefined readings skip it. */
  machineCpu?: () => { busyMs: number; stealMs: number } | undefined;
  /**
   * Reader of the counters that give other processes' CPU (default: the
   * root cgroup, see `util/other_cpu.ts`); undefined readings leave it
   * unknown.
   */
  cpuSnapshot?: () => CpuSnapshot | undefined;
}

/** Summary of one step (client × pool size). */
export interface StepResult {
  /** Client name. */
  client: string;
  /** Pool size. */
  pool: number;
  /** Emulated RTT, ms; undefined on loopback. */
  rttMs?: number;
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
  /** The ok sessions of each round (intervals resample whole rounds). */
  okRounds: SessionRow[][];
  /** Slowest session of each round ("all hosts" time), ms. */
  roundWalls: number[];
  /** Sessions and ok sessions per host (rows with a `host`). */
  hostCounts?: Record<string, { sessions: number; ok: number }>;
  /** The host of each round's last session to end (ok or not). */
  slowestHosts?: (string | undefined)[];
  /** Client CPU over all rounds, ms. */
  clientCpuMs: number;
  /** Server CPU over all rounds, ms; NaN for an external target. */
  serverCpuMs: number;
  /** Busy CPU of the whole machine over all rounds, ms; NaN if unknown. */
  machineCpuMs: number;
  /** Length of the windows the machine CPU was read over, summed, ms. */
  machineWindowMs: number;
  /** CPU of processes outside the run over the rounds that measured it, ms. */
  otherCpuMs?: number;
  /** The windows of those rounds, summed, ms. */
  otherWindowMs?: number;
  /** Rounds with a reading of other CPU. */
  otherRounds?: number;
  /** Of them, disturbed (see `interference.ts`). */
  disturbedRounds?: number;
  /** Sum of round wall times, ms. */
  wallMs: number;
  /** Largest client RSS seen, MiB. */
  maxRssMb: number;
  /** Why the step stopped early, if it did. */
  stopped?: string;
}

/** One finished round: its rows, and its wall time. */
interface RoundDone {
  sessions: SessionRow[];
  round: RoundRow;
  /** From the first reading of machine CPU to the last, ms. */
  machineWindowMs: number;
}

const span = (a: number | null, b: number | null) =>
  a === null || b === null ? undefined : b - a;

/**
 * A worker's session report as a `sessions.csv` row: marks (offsets from
 * the round start) become phase durations; `roundStart` is the round's
 * start since the run started. `close_ms` is close mark - read mark (the
 * first command's exit status and channel close), `reexec_ms` the report's
 * duration, `disconnect_ms` disconnect mark - close mark - `reexec_ms`.
 *
 * @example
 * ```ts
 * import { reportToRow } from "./sweep.ts";
 * import assert from "node:assert/strict";
 * const at = { runId: "r", client: "c", pool: 3, roundStart: 100 };
 * const row = reportToRow({ type: "session", round: 1, session: 2, start_ms: 1,
 *   connect_ms: 2, auth_ms: 30, exec_ms: null, read_ms: null, close_ms: null, end_ms: 31,
 *   reexec_ms: null, commands: 0, bytes: 0, lines: 0, exit_code: null,
 *   status: "auth_error", error: "denied" }, at);
 * assert.deepEqual([row.started_at_ms, row.connect_ms, row.auth_ms, row.exec_ms, row.total_ms],
 *   [101, 1, 28, undefined, 30]);
 * assert.equal(row.disconnect_ms, undefined);
 * // Three commands: the further two took 20 ms after the first one's close.
 * const k3 = reportToRow({ type: "session", round: 1, session: 1, start_ms: 0,
 *   connect_ms: 1, auth_ms: 30, exec_ms: 32, read_ms: 34, close_ms: 35, reexec_ms: 20,
 *   disconnect_ms: 56, end_ms: 56, commands: 3, bytes: 9, lines: 1, exit_code: 0,
 *   status: "ok", error: "" }, at);
 * assert.deepEqual([k3.close_ms, k3.reexec_ms, k3.disconnect_ms, k3.commands, k3.total_ms],
 *   [1, 20, 1, 3, 56]);
 * assert.equal(k3.teardown_error, undefined);
 * // A completed session whose teardown failed: ok, the error in its own column.
 * const torn = reportToRow({ type: "session", round: 1, session: 3, start_ms: 0,
 *   connect_ms: 1, auth_ms: 30, exec_ms: 32, read_ms: 34, close_ms: 35, reexec_ms: null,
 *   disconnect_ms: 36, end_ms: 36, commands: 1, bytes: 9, lines: 1, exit_code: 0,
 *   status: "ok", error: "", teardown_error: "disconnect: write EPIPE" }, at);
 * assert.deepEqual([torn.status, torn.error, torn.teardown_error], ["ok", "", "disconnect: write EPIPE"]);
 * ```
 */
export function reportToRow(
  s: SessionReport,
  at: { runId: string; client: string; pool: number; roundStart: number },
): SessionRow {
  return {
    run_id: at.runId,
    client: at.client,
    pool_size: at.pool,
    round: s.round,
    session: s.session,
    started_at_ms: at.roundStart + s.start_ms,
    connect_ms: span(s.start_ms, s.connect_ms),
    auth_ms: span(s.connect_ms, s.auth_ms),
    exec_ms: span(s.auth_ms, s.exec_ms),
    read_ms: span(s.exec_ms, s.read_ms),
    close_ms: span(s.read_ms, s.close_ms),
    disconnect_ms: s.disconnect_ms == null || s.close_ms === null
      ? undefined
      : s.disconnect_ms - s.close_ms - (s.reexec_ms ?? 0),
    total_ms: s.end_ms - s.start_ms,
    bytes: s.bytes,
    lines: s.lines,
    exit_code: s.exit_code ?? undefined,
    status: s.status,
    error: s.error,
    commands: s.commands,
    reexec_ms: s.reexec_ms ?? undefined,
    teardown_error: s.teardown_error || undefined,
  };
}

/**
 * Runs one round of `pool` sessions started together and measures it;
 * undefined when the run was interrupted meanwhile (the round is
 * abandoned, not written).
 */
async function runRound(
  runner: ClientRunner,
  pool: number,
  round: number,
  o: SweepOptions,
  onSession?: () => void,
): Promise<RoundDone | undefined> {
  const machine = o.machineCpu ?? machineCpu;
  const snapshot = o.cpuSnapshot ?? cpuSnapshot;
  const harness = o.harnessCpuMs ?? (() => selfCpuMs().self);
  await o.link?.achieved({ reset: true });
  const f0 = o.link?.cpuMs();
  const m0 = machine();
  const s0 = snapshot();
  const w0 = performance.now();
  const c0 = runner.cpuNow?.();
  const h0 = harness();
  const srv0 = o.serverCpuMs?.();
  const r = await runner.runRound({
    round,
    sessions: pool,
    target: o.target,
    targets: o.targets,
    commandsPerSession: o.commandsPerSession ?? 1,
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    onSession,
  });
  if (!r || o.signal?.aborted) return undefined;
  // Read before the settle wait, which is the harness's, not the client's.
  const h1 = harness();
  await o.settle?.();
  const srv1 = o.serverCpuMs?.();
  const c1 = runner.cpuNow?.();
  const m1 = machine();
  const s1 = snapshot();
  const t2 = performance.now();
  const held = await o.link?.achieved();
  const f1 = o.link?.cpuMs();
  const forwarder = f0 !== undefined && f1 !== undefined ? f1 - f0 : undefined;
  const roundStart = r.startedAt - o.runStart;
  const at = { runId: o.runId, client: runner.name, pool, roundStart };
  const hosts = o.hosts ?? [];
  const sessions = r.sessions.map((s) => {
    const h = hosts.length ? hosts[(s.session - 1) % hosts.length] : undefined;
    return {
      ...reportToRow(s, at),
      rtt_ms: h?.rttMs ?? o.rttMs,
      host: h?.label,
    };
  });
  const ok = sessions.filter((s) => s.status === "ok").length;
  const wall = Math.max(0, ...r.sessions.map((s) => s.end_ms));
  return {
    sessions,
    round: {
      run_id: o.runId,
      client: runner.name,
      pool_size: pool,
      round,
      started_at_ms: roundStart,
      wall_ms: wall,
      ok,
      failed: sessions.length - ok,
      // The worker's cgroup, read with the machine's and the server's CPU;
      // else what the worker reported for the round.
      client_cpu_ms: c0 !== undefined && c1 !== undefined ? c1 - c0 : r.cpuMs,
      server_cpu_ms: srv0 !== undefined && srv1 !== undefined
        ? srv1 - srv0
        : undefined,
      client_rss_mb: r.rssMb,
      machine_cpu_ms: m0 && m1 ? m1.busyMs - m0.busyMs : undefined,
      steal_cpu_ms: m0 && m1 ? m1.stealMs - m0.stealMs : undefined,
      harness_cpu_ms: runner.isolated ? h1 - h0 : undefined,
      rtt_ms: o.rttMs,
      link_hold_p50_ms: held?.p50Ms,
      link_hold_p99_ms: held?.p99Ms,
      forwarder_cpu_ms: forwarder,
      other_cpu_ms: s0 && s1 ? otherCpuMs(s0, s1, forwarder ?? 0) : undefined,
      cpu_window_ms: s0 && s1 ? t2 - w0 : undefined,
    },
    machineWindowMs: t2 - r.startedAt,
  };
}

/** Adds a written round to the step's totals. */
function addRound(res: StepResult, done: RoundDone): void {
  const r = done.round;
  res.rounds = r.round;
  res.sessions += done.sessions.length;
  res.ok += r.ok;
  const ok: SessionRow[] = [];
  let last: SessionRow | undefined;
  for (const s of done.sessions) {
    if (
      !last || s.started_at_ms + s.total_ms > last.started_at_ms + last.total_ms
    ) {
      last = s;
    }
    if (s.host !== undefined) {
      const c = (res.hostCounts ??= {})[s.host] ??= { sessions: 0, ok: 0 };
      c.sessions++;
      if (s.status === "ok") c.ok++;
    }
    if (s.status === "ok") {
      res.okTotals.push(s.total_ms);
      ok.push(s);
    } else res.failures[s.status] = (res.failures[s.status] ?? 0) + 1;
  }
  res.okRounds.push(ok);
  res.roundWalls.push(r.wall_ms);
  (res.slowestHosts ??= []).push(last?.host);
  if (Number.isFinite(r.client_cpu_ms)) res.clientCpuMs += r.client_cpu_ms;
  if (r.server_cpu_ms !== undefined) res.serverCpuMs += r.server_cpu_ms;
  res.wallMs += r.wall_ms;
  if (r.machine_cpu_ms === undefined) res.machineCpuMs = NaN;
  else res.machineCpuMs += r.machine_cpu_ms;
  res.machineWindowMs += done.machineWindowMs;
  const disturbed = roundDisturbed(r.other_cpu_ms, r.cpu_window_ms);
  if (disturbed !== undefined) {
    res.otherCpuMs = (res.otherCpuMs ?? 0) + r.other_cpu_ms!;
    res.otherWindowMs = (res.otherWindowMs ?? 0) + r.cpu_window_ms!;
    res.otherRounds = (res.otherRounds ?? 0) + 1;
    res.disturbedRounds = (res.disturbedRounds ?? 0) + (disturbed ? 1 : 0);
  }
  res.maxRssMb = Math.max(res.maxRssMb, r.client_rss_mb);
}

function emptyStep(name: string, pool: number, o: SweepOptions): StepResult {
  return {
    client: name,
    pool,
    rttMs: o.rttMs,
    rounds: 0,
    sessions: 0,
    ok: 0,
    failures: {},
    okTotals: [],
    okRounds: [],
    roundWalls: [],
    hostCounts: {},
    slowestHosts: [],
    clientCpuMs: 0,
    serverCpuMs: o.serverCpuMs ? 0 : NaN,
    machineCpuMs: 0,
    machineWindowMs: 0,
    wallMs: 0,
    maxRssMb: 0,
  };
}

/**
 * Whether a step's median total is known to within `precision` (a
 * fraction): the 95 % interval reaches no further than that from the
 * median on either side.
 *
 * @example
 * ```ts
 * import { precise } from "./sweep.ts";
 * import assert from "node:assert/strict";
 * const rounds = (v: number[][]) => ({ okRounds: v.map((r) => r.map((total_ms) => ({ total_ms }))) }) as never;
 * assert.equal(precise(rounds([[100, 101], [100, 102], [101, 100]]), 0.05), true);
 * assert.equal(precise(rounds([[100], [200], [150]]), 0.05), false);
 * assert.equal(precise(rounds([[100, 100]]), 0.05), false); // one round: unknown
 * ```
 */
export function precise(r: StepResult, precision: number): boolean {
  const perRound = r.okRounds.map((x) => x.map((s) => s.total_ms)).filter((x) =>
    x.length > 0
  );
  if (perRound.length < 2) return false;
  const ci = clusterInterval(perRound);
  return Math.max(ci.median - ci.low, ci.high - ci.median) <=
    precision * ci.median;
}

/**
 * Runs one step of several clients at one pool size, taking turns round
 * by round (the turn order rotates each time, so that every client meets
 * the same machine state): until the step's time (`stepSeconds` per
 * client) is used, or every client's median total is known to within
 * `precision` (when set), and each client ran at least `minRounds`
 * rounds. Each round is written to the sink as soon as it ends. With one
 * client this is the post's one-client-at-a-time step.
 *
 * @example
 * ```ts
 * import { runTurns } from "./sweep.ts";
 * import { NullClient } from "../clients/null.ts";
 * import { InProcessRunner } from "../clients/runner.ts";
 * import assert from "node:assert/strict";
 * const a = new InProcessRunner(new NullClient());
 * const b = new InProcessRunner(Object.assign(new NullClient(), { name: "b" }));
 * const order: string[] = [];
 * const [ra, rb] = await runTurns([a, b], 2, {
 *   target: {} as never, runId: "x", runStart: performance.now(), stepSeconds: 0,
 *   minRounds: 3, timeoutMs: 1000, sink: { write: (_, r) => order.push(r.client) },
 * });
 * assert.deepEqual([ra.rounds, rb.rounds], [3, 3]);
 * assert.deepEqual(order, ["null", "b", "b", "null", "null", "b"]); // rotating turns
 * ```
 */
export async function runTurns(
  clients: readonly ClientRunner[],
  pool: number,
  o: SweepOptions,
): Promise<StepResult[]> {
  const res = clients.map((c) => emptyStep(c.name, pool, o));
  const stepStart = performance.now();
  const stepMs = o.stepSeconds * 1000 * clients.length;
  const more = () =>
    res.some((r) => r.rounds < o.minRounds) ||
    (performance.now() - stepStart < stepMs &&
      !(o.precision !== undefined &&
        res.every((r) => precise(r, o.precision!))));
  for (let turn = 0; more(); turn++) {
    for (let k = 0; k < clients.length; k++) {
      const i = (turn + k) % clients.length;
      if (o.signal?.aborted) return res;
      const r = res[i];
      let reported = 0;
      const onSession = o.onSession &&
        (() =>
          o.onSession!({
            client: r.client,
            pool,
            round: r.rounds + 1,
            done: ++reported,
            elapsedMs: performance.now() - stepStart,
            stepMs,
            steps: clients.length,
          }));
      const done = await runRound(clients[i], pool, r.rounds + 1, o, onSession);
      if (!done) return res; // abandoned: not written
      // A server or link that died under the round: its failed rows say so.
      const bad = o.health?.();
      if (bad) blame(done.sessions, bad);
      o.sink.write(done.sessions, done.round);
      addRound(r, done);
      o.onRound?.({
        client: r.client,
        pool,
        round: r.rounds,
        ok: r.ok,
        failed: r.sessions - r.ok,
        elapsedMs: performance.now() - stepStart,
      });
      if (bad) {
        for (const x of res) x.stopped = bad;
        return res;
      }
    }
  }
  return res;
}

/**
 * Names what died (`health`'s message, up to its first `;`) in the error
 * of each failed row of the round it died under, the client's own error
 * kept in brackets: `the embedded Go server exited (auth: read
 * ECONNRESET)`. Rows that already name it are left as they are.
 *
 * @example
 * ```ts
 * import { blame } from "./sweep.ts";
 * import assert from "node:assert/strict";
 * const rows = [{ status: "ok", error: "" }, { status: "connect_error", error: "auth: read ECONNRESET" },
 *   { status: "timeout", error: "" }] as never[];
 * blame(rows, "the embedded Go server exited; see its log above");
 * assert.deepEqual(rows.map((r: { error: string }) => r.error), ["",
 *   "the embedded Go server exited (auth: read ECONNRESET)", "the embedded Go server exited"]);
 * // A link's death the rows already name (faultAware): left as it is.
 * const link = [{ status: "read_error", error: "the packet forwarder of the --rtt 20 link was killed" }] as never[];
 * blame(link, "the packet forwarder of the --rtt 20 link was killed");
 * assert.equal((link[0] as { error: string }).error, "the packet forwarder of the --rtt 20 link was killed");
 * ```
 */
export function blame(rows: SessionRow[], health: string): void {
  const cause = health.split(";")[0].trim();
  for (const s of rows) {
    if (s.status === "ok" || (s.error ?? "").includes(cause)) continue;
    s.error = s.error ? `${cause} (${s.error})` : cause;
  }
}

/**
 * Runs one step of one client (see {@linkcode runTurns}).
 *
 * @example
 * ```ts
 * import { runStep } from "./sweep.ts";
 * import { NullClient } from "../clients/null.ts";
 * import { InProcessRunner } from "../clients/runner.ts";
 * import assert from "node:assert/strict";
 * const written: number[] = [];
 * const r = await runStep(new InProcessRunner(new NullClient()), 10, {
 *   target: {} as never, runId: "x", runStart: performance.now(), stepSeconds: 0,
 *   minRounds: 3, timeoutMs: 1000, sink: { write: (s) => written.push(s.length) },
 * });
 * assert.equal(r.rounds, 3);
 * assert.deepEqual(written, [10, 10, 10]);
 * ```
 */
export async function runStep(
  client: ClientRunner,
  pool: number,
  o: SweepOptions,
): Promise<StepResult> {
  return (await runTurns([client], pool, o))[0];
}
