/** Test helpers: a fake client and an in-memory sink. */
import type { RoundRow, SessionRow } from "../src/run/schema.ts";
import type { RoundSink } from "../src/run/sweep.ts";
import type {
  SessionContext,
  SessionOutcome,
  SshClient,
  Target,
} from "../src/clients/seam.ts";
import { PHASES } from "../src/clients/seam.ts";

/** A target that no test client connects to. */
export const FAKE_TARGET: Target = {
  host: "127.0.0.1",
  port: 1,
  user: "nobody",
  identityFile: "/nonexistent",
  command: "true",
};

/** Collects rounds in memory. */
export class MemorySink implements RoundSink {
  sessions: SessionRow[] = [];
  rounds: RoundRow[] = [];
  write(sessions: readonly SessionRow[], round: RoundRow): void {
    this.sessions.push(...sessions);
    this.rounds.push(round);
  }
}

/**
 * A client behind the real seam that does no I/O: it marks every phase
 * after `delayMs`, and can hang, fail or throw on chosen sessions, or
 * complete one and then fail its teardown (`teardown`: an ok outcome with
 * a `teardownError`, as a client reports a server that closed first).
 */
export class FakeClient implements SshClient {
  readonly name: string;
  calls = 0;
  active = 0;
  maxActive = 0;
  constructor(
    private o: {
      name?: string;
      delayMs?: number;
      behave?: (n: number) => "ok" | "hang" | "fail" | "throw" | "teardown";
    } = {},
  ) {
    this.name = o.name ?? "fake";
  }
  version(): string {
    return "0";
  }
  async runSession(
    _target: Target,
    ctx: SessionContext,
  ): Promise<SessionOutcome> {
    const n = ++this.calls;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const mode = this.o.behave?.(n) ?? "ok";
      ctx.clock.mark("connect");
      if (mode === "throw") throw new Error("boom");
      if (mode === "hang") {
        // Ignores nothing: returns when aborted, like a well-behaved client.
        await new Promise<void>((r) =>
          ctx.signal.addEventListener("abort", () => r())
        );
        return {
          bytes: 0,
          lines: 0,
          exitCode: null,
          status: "timeout",
          error: "aborted",
        };
      }
      if (mode === "fail") {
        return {
          bytes: 0,
          lines: 0,
          exitCode: null,
          status: "auth_error",
          error: 'auth: denied, with "quotes", commas\nand a newline',
        };
      }
      await new Promise((r) => setTimeout(r, this.o.delayMs ?? 1));
      // Every phase but re-execute, which only K > 1 sessions have.
      for (const p of PHASES.slice(1)) if (p !== "reexec") ctx.clock.mark(p);
      if (mode === "teardown") {
        return {
          bytes: 10,
          lines: 2,
          exitCode: 0,
          status: "ok",
          error: "",
          teardownError: "disconnect: write EPIPE",
        };
      }
      return { bytes: 10, lines: 2, exitCode: 0, status: "ok", error: "" };
    } finally {
      this.active--;
    }
  }
}
