/**
 * How the sweep runs a client's rounds: the {@linkcode ClientRunner}
 * interface, and its in-process implementation over the
 * {@linkcode SshClient} seam (used inside each Deno worker process, by the
 * harness benchmark and by tests). The worker-process implementation is in
 * `worker_process.ts`. Both report sessions in the worker protocol's shape
 * (`protocol.ts`): marks as ms offsets from the round start.
 *
 * @module
 */
import { selfCpuMs } from "../util/cpu.ts";
import type { SessionReport } from "./protocol.ts";
import type { PhaseClock, SessionOutcome, SshClient, Target } from "./seam.ts";
import { PHASES } from "./seam.ts";
import { timedSession } from "./timed.ts";

/** A round to run. */
export interface RoundSpec {
  /** Round number. */
  round: number;
  /** Sessions started together. */
  sessions: number;
  /** Where they go and what they run. */
  target: Target;
  /**
   * A fleet: session n (from 1) goes to `targets[(n - 1) % length]`;
   * `target` is `targets[0]`. Absent: every session goes to `target`.
   */
  targets?: readonly Target[];
  /** Commands per session (1: once). */
  commandsPerSession: number;
  /** Per-session timeout, ms. */
  timeoutMs: number;
  /** Aborted on interruption: the round is abandoned. */
  signal?: AbortSignal;
  /** Called as each session's report arrives (progress display). */
  onSession?: () => void;
}

/** A finished round. */
export interface RoundResult {
  /** `performance.now()` here when the round was handed over. */
  startedAt: number;
  /** One report per session, by session number. */
  sessions: SessionReport[];
  /** The client's own CPU during the round, ms (NaN when unknown). */
  cpuMs: number;
  /** The client's resident memory at the round's end, MiB. */
  rssMb: number;
}

/** Runs a client's rounds, in this process or in a worker process. */
export interface ClientRunner {
  /** Client name, as in the CSV. */
  readonly name: string;
  /** Version of the client's library or binary. */
  version(): string;
  /**
   * True when the client runs in a process of its own, so its CPU and RSS
   * are its own; false when they are this process's.
   */
  readonly isolated: boolean;
  /** Runs one round; undefined when interrupted (the round is abandoned). */
  runRound(spec: RoundSpec): Promise<RoundResult | undefined>;
  /** Client-specific calibration kept in meta.json. */
  calibrate?(): Promise<Record<string, unknown>>;
  /**
   * The client's CPU so far, ms, readable at any moment (a worker in a
   * cgroup of its own); when present, the sweep reads it at the same
   * moments as the machine's and the server's CPU, instead of taking the
   * round's `cpuMs`.
   */
  cpuNow?(): number;
  /** Stops the worker / frees the client. */
  close(): Promise<void>;
}

/**
 * A session's clock and outcome as a protocol report: phase ends become
 * offsets from `roundStart` (cumulative over every phase reached, the
 * `reexec` phase included), and the `reexec` phase's duration is
 * `reexec_ms`.
 *
 * @example
 * ```ts
 * import { toReport } from "./runner.ts";
 * import { PhaseClock } from "./seam.ts";
 * import assert from "node:assert/strict";
 * const clock = new PhaseClock(100);
 * clock.mark("connect", 101);
 * clock.mark("auth", 130);
 * const r = toReport(clock, { bytes: 0, lines: 0, exitCode: null, status: "timeout", error: "t" }, 140, 90, 1, 1);
 * assert.deepEqual([r.start_ms, r.connect_ms, r.auth_ms, r.exec_ms, r.end_ms], [10, 11, 40, null, 50]);
 * assert.deepEqual([r.reexec_ms, r.disconnect_ms, r.commands], [null, null, 0]);
 * // K = 3: close at 45, the two further commands take 20 ms, disconnect ends at 66.
 * const k3 = new PhaseClock(100);
 * for (const [p, t] of [["connect", 101], ["auth", 130], ["exec", 132], ["read", 134],
 *   ["close", 135], ["reexec", 155], ["disconnect", 156]] as const) k3.mark(p, t);
 * const r3 = toReport(k3, { bytes: 1, lines: 1, exitCode: 0, status: "ok", error: "", commands: 3 }, 157, 90, 1, 2);
 * assert.deepEqual([r3.close_ms, r3.reexec_ms, r3.disconnect_ms, r3.end_ms, r3.commands], [45, 20, 66, 67, 3]);
 * // An error while tearing down a completed session travels beside its ok status.
 * const torn = toReport(k3, { bytes: 1, lines: 1, exitCode: 0, status: "ok", error: "",
 *   teardownError: "disconnect: write EPIPE" }, 157, 90, 1, 3);
 * assert.deepEqual([torn.status, torn.teardown_error], ["ok", "disconnect: write EPIPE"]);
 * assert.equal(r3.teardown_error, undefined);
 * ```
 */
export function toReport(
  clock: PhaseClock,
  outcome: SessionOutcome,
  end: number,
  roundStart: number,
  round: number,
  session: number,
): SessionReport {
  const marks: Record<string, number | null> = {};
  let at = clock.start - roundStart;
  for (const p of PHASES) {
    const d = clock.phases[p];
    if (d === undefined) {
      marks[p] = null;
      continue;
    }
    at += d;
    marks[p] = at;
  }
  return {
    type: "session",
    round,
    session,
    start_ms: clock.start - roundStart,
    connect_ms: marks.connect,
    auth_ms: marks.auth,
    exec_ms: marks.exec,
    read_ms: marks.read,
    close_ms: marks.close,
    disconnect_ms: marks.disconnect,
    end_ms: end - roundStart,
    reexec_ms: clock.phases.reexec ?? null,
    commands: outcome.commands ?? (outcome.status === "ok" ? 1 : 0),
    bytes: outcome.bytes,
    lines: outcome.lines,
    exit_code: outcome.exitCode,
    status: outcome.status,
    error: outcome.error,
    ...(outcome.teardownError && { teardown_error: outcome.teardownError }),
    negotiated: outcome.negotiated ?? null,
  };
}

/**
 * Runs an {@linkcode SshClient}'s sessions in this process. Its CPU is
 * this process's (self and reaped children) during the round.
 *
 * @example
 * ```ts
 * import { InProcessRunner } from "./runner.ts";
 * import { NullClient } from "./null.ts";
 * import assert from "node:assert/strict";
 * const r = await new InProcessRunner(new NullClient()).runRound({
 *   round: 1, sessions: 3, target: {} as never, commandsPerSession: 1, timeoutMs: 1000,
 * });
 * assert.equal(r?.sessions.length, 3);
 * assert.ok(r!.sessions.every((s) => s.status === "ok" && s.close_ms !== null));
 * assert.ok(r!.sessions.every((s) => s.reexec_ms === null && s.disconnect_ms !== null));
 * ```
 */
export class InProcessRunner implements ClientRunner {
  readonly isolated = false;
  readonly #client: SshClient;
  readonly #cpu: () => number;

  /** `cpu` reads this process's CPU in ms (default: getrusage). */
  constructor(client: SshClient, cpu?: () => number) {
    this.#client = client;
    this.#cpu = cpu ?? (() => {
      const c = selfCpuMs();
      return c.self + c.children;
    });
  }

  get name(): string {
    return this.#client.name;
  }

  version(): string {
    return this.#client.version();
  }

  async calibrate(): Promise<Record<string, unknown>> {
    return await this.#client.calibrate?.() ?? {};
  }

  async runRound(spec: RoundSpec): Promise<RoundResult | undefined> {
    const targets = (spec.targets?.length ? spec.targets : [spec.target]).map(
      (t) =>
        spec.commandsPerSession > 1
          ? { ...t, commandsPerSession: spec.commandsPerSession }
          : t,
    );
    const cpu0 = this.#cpu();
    const t0 = performance.now();
    const done = await Promise.all(
      Array.from(
        { length: spec.sessions },
        (_, i) =>
          timedSession(
            this.#client,
            targets[i % targets.length],
            spec.timeoutMs,
            spec.signal,
          ).finally(() => spec.onSession?.()),
      ),
    );
    if (spec.signal?.aborted) return undefined;
    const cpuMs = this.#cpu() - cpu0;
    return {
      startedAt: t0,
      sessions: done.map((d, i) =>
        toReport(d.clock, d.outcome, d.end, t0, spec.round, i + 1)
      ),
      cpuMs,
      rssMb: Deno.memoryUsage().rss / 2 ** 20,
    };
  }

  close(): Promise<void> {
    this.#client.close?.();
    return Promise.resolve();
  }
}
