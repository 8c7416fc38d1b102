/**
 * The `null` client: returns at once without any I/O. It measures the
 * harness itself (scheduling, timing, CSV, progress) behind the real seam.
 *
 * @module
 */
import { PHASES } from "./seam.ts";
import type { SessionContext, SessionOutcome, SshClient } from "./seam.ts";

/**
 * A client whose sessions do nothing: every phase ends immediately.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NullClient } from "./null.ts";
 * import { PHASES, PhaseClock } from "./seam.ts";
 * const clock = new PhaseClock();
 * const out = await new NullClient().runSession({} as never, {
 *   clock, signal: new AbortController().signal, timeoutMs: 1000,
 * });
 * assert.equal(out.status, "ok");
 * assert.deepEqual(Object.keys(clock.phases), [...PHASES]);
 * ```
 */
export class NullClient implements SshClient {
  readonly name = "null";
  version(): string {
    return "0";
  }
  runSession(_t: unknown, ctx: SessionContext): Promise<SessionOutcome> {
    for (const p of PHASES) ctx.clock.mark(p);
    return Promise.resolve({
      bytes: 0,
      lines: 0,
      exitCode: 0,
      status: "ok",
      error: "",
    });
  }
}
