/**
 * One session on the seam with a timeout: the caller owns the
 * {@linkcode PhaseClock}, so the phases a session reached survive a
 * timeout, and a client that ignores its abort still yields a `timeout`
 * outcome after a grace period. A client that throws yields a failed
 * outcome, never an exception.
 *
 * @module
 */
import { PhaseClock } from "./seam.ts";
import type { SessionOutcome, SshClient, Target } from "./seam.ts";

/** Extra time a client gets after its abort before its row is written anyway. */
const ABORT_GRACE_MS = 2000;

/**
 * Runs one session with a timeout.
 *
 * @example
 * ```ts
 * import { timedSession } from "./timed.ts";
 * import { NullClient } from "./null.ts";
 * import assert from "node:assert/strict";
 * const { outcome, clock, end } = await timedSession(new NullClient(), {} as never, 1000);
 * assert.equal(outcome.status, "ok");
 * assert.ok(end >= clock.start && clock.phases.close !== undefined);
 * ```
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
