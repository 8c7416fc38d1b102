/**
 * Faults of a run's place that end the round in flight at once: when the
 * packet forwarder of an emulated link dies (killed, crashed), no packet
 * crosses the link any more and every session on it would hang until its
 * timeout. The watch aborts a signal, with a {@linkcode RoundFault} that
 * says what died, the moment the forwarder exits; the runners end their
 * round and keep its rows, failed and naming the cause
 * ({@linkcode faultAware}); the run then stops with that reason.
 *
 * @module
 */
import type { ClientRunner, RoundResult } from "../clients/runner.ts";
import { unreported } from "../clients/protocol.ts";
import { faultOf, RoundFault } from "../clients/round_fault.ts";

/** Something whose death ends the round in flight (an emulated link). */
export interface Mortal {
  /** Resolves, with what happened in one line, when it dies. */
  readonly died: Promise<string>;
}

/** What {@linkcode watchPlace} returns. */
export interface PlaceWatch {
  /** Aborted, with a {@linkcode RoundFault}, when something died. */
  readonly signal: AbortSignal;
  /** What died, once something did. */
  reason(): string | undefined;
}

/**
 * Watches `parts` (a place's links): the first to die aborts the signal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { watchPlace } from "./place_faults.ts";
 * const { promise: died, resolve: kill } = Promise.withResolvers<string>();
 * const w = watchPlace([{ died }]);
 * assert.equal(w.reason(), undefined);
 * kill("the packet forwarder of the --rtt 20 link (pid 9) was killed by SIGKILL");
 * await new Promise((r) => setTimeout(r, 0));
 * assert.equal(w.signal.aborted, true);
 * assert.match(w.reason() ?? "", /pid 9\) was killed by SIGKILL/);
 * ```
 */
export function watchPlace(parts: readonly Mortal[]): PlaceWatch {
  const ac = new AbortController();
  for (const p of parts) {
    p.died.then((why) => {
      if (!ac.signal.aborted) ac.abort(new RoundFault(why));
    });
  }
  return { signal: ac.signal, reason: () => faultOf(ac.signal)?.message };
}

/** Every session of a round as a failed report naming `why`. */
function failedRound(
  round: number,
  sessions: number,
  t0: number,
  why: string,
): RoundResult {
  const endMs = performance.now() - t0;
  return {
    startedAt: t0,
    sessions: Array.from(
      { length: sessions },
      (_, i) => unreported(round, i + 1, endMs, "read_error", why),
    ),
    cpuMs: NaN,
    rssMb: NaN,
  };
}

/**
 * `runner`, with each round also ended by `fault`: the round's rows are
 * kept (a worker keeps those it had reported, the rest fail naming the
 * cause; a runner that abandoned the round gets every session failed so),
 * where an interruption (the round's own signal) still abandons it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { faultAware } from "./place_faults.ts";
 * import { RoundFault } from "../clients/round_fault.ts";
 * import { InProcessRunner } from "../clients/runner.ts";
 * import { NullClient } from "../clients/null.ts";
 * const fault = new AbortController();
 * const r = faultAware(new InProcessRunner(new NullClient()), fault.signal);
 * const spec = { round: 1, sessions: 2, target: {} as never, commandsPerSession: 1, timeoutMs: 1000 };
 * assert.deepEqual((await r.runRound(spec))?.sessions.map((s) => s.status), ["ok", "ok"]);
 * fault.abort(new RoundFault("the link died"));
 * const after = await r.runRound({ ...spec, round: 2 });
 * assert.deepEqual(after?.sessions.map((s) => [s.status, s.error]),
 *   [["read_error", "the link died"], ["read_error", "the link died"]]);
 * ```
 */
export function faultAware(
  runner: ClientRunner,
  fault: AbortSignal,
): ClientRunner {
  return {
    get name() {
      return runner.name;
    },
    get isolated() {
      return runner.isolated;
    },
    version: () => runner.version(),
    ...(runner.calibrate && { calibrate: () => runner.calibrate!() }),
    get cpuNow() {
      const f = runner.cpuNow;
      return f ? () => f.call(runner) : undefined;
    },
    async runRound(spec) {
      const t0 = performance.now();
      const signal = spec.signal
        ? AbortSignal.any([spec.signal, fault])
        : fault;
      const r = fault.aborted
        ? undefined
        : await runner.runRound({ ...spec, signal });
      const f = faultOf(signal);
      if (!f) return r;
      return r ?? failedRound(spec.round, spec.sessions, t0, f.message);
    },
    close: () => runner.close(),
  };
}
