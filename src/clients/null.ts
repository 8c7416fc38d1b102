/**
 * The `null` client: returns at once without any I/O. It measures the
 * harness itself (scheduling, timing, CSV, progress) behind the real seam.
 *
 * @module
 */
import { commandsPerSession, PHASES } from "./seam.ts";
import type {
  SessionContext,
  SessionOutcome,
  SshClient,
  Target,
} from "./seam.ts";

/**
 * A client whose sessions do nothing: every phase ends immediately
 * (`reexec` only when the target asks for more than one command).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NullClient } from "./null.ts";
 * import { PHASES, PhaseClock } from "./seam.ts";
 * const run = async (target: object) => {
 *   const clock = new PhaseClock();
 *   const out = await new NullClient().runSession(target as never, {
 *     clock, signal: new AbortController().signal, timeoutMs: 1000,
 *   });
 *   return { out, phases: Object.keys(clock.phases) };
 * };
 * const one = await run({});
 * assert.equal(one.out.status, "ok");
 * assert.deepEqual(one.phases, PHASES.filter((p) => p !== "reexec"));
 * const three = await run({ commandsPerSession: 3 });
 * assert.deepEqual(three.phases, [...PHASES]);
 * assert.equal(three.out.commands, 3);
 * ```
 */
export class NullClient implements SshClient {
  readonly name = "null";
  version(): string {
    return "0";
  }
  runSession(t: Target, ctx: SessionContext): Promise<SessionOutcome> {
    const k = commandsPerSession(t);
    for (const p of PHASES) {
      if (p !== "reexec" || k > 1) ctx.clock.mark(p);
    }
    return Promise.resolve({
      bytes: 0,
      lines: 0,
      exitCode: 0,
      status: "ok",
      error: "",
      commands: k,
    });
  }
}
