/**
 * The `openssh` client: the `ssh` binary most people already have, one
 * process per session (`Deno.Command`), `BatchMode=yes`, the given key only.
 *
 * How a session is timed: the process is spawned with `-v`, and the phases
 * end when its own log says so, read from stderr as it arrives:
 * `Connection established.` (connect, which therefore includes starting
 * the process), `Authenticated to ...` (auth), `Sending command:` (exec
 * sent; OpenSSH does not wait for the server's reply). Stdout is read line
 * by line to EOF (read); the process exit ends the session (close). The
 * process start cost is measured alone by {@linkcode OpensshClient.calibrate}
 * and kept in meta.json.
 *
 * Host keys: against the embedded server a known_hosts file generated for
 * the run is used with `StrictHostKeyChecking=yes`; against an external
 * target, the user's own known_hosts applies (an unknown host fails, as
 * BatchMode cannot ask).
 *
 * @module
 */
import { LineReader } from "./lines.ts";
import { median } from "../util/quantile.ts";
import { run, which } from "../util/proc.ts";
import { opensshVersion } from "../util/ssh_version.ts";
import type {
  Phase,
  PhaseClock,
  SessionContext,
  SessionOutcome,
  SshClient,
  Status,
  Target,
} from "./seam.ts";

const CONNECTED = "debug1: Connection established.";
const AUTHENTICATED = "Authenticated to ";
const SENDING = "debug1: Sending command:";

/**
 * `ssh` arguments for one session: verbose (for the phase marks), no TTY,
 * BatchMode, only the given key; against the embedded server, no user
 * config and the run's own known_hosts with strict checking.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sshArgs } from "./openssh.ts";
 * const args = sshArgs({ host: "127.0.0.1", port: 22, user: "me",
 *   identityFile: "/k", command: "true" });
 * assert.deepEqual(args.slice(0, 2), ["-v", "-T"]);
 * assert.deepEqual(args.slice(-3), ["127.0.0.1", "--", "true"]);
 * const embedded = sshArgs({ host: "127.0.0.1", port: 22, user: "me",
 *   identityFile: "/k", command: "true", knownHostsFile: "/kh" });
 * assert.deepEqual(embedded.slice(0, 2), ["-F", "/dev/null"]);
 * assert.ok(embedded.includes("StrictHostKeyChecking=yes"));
 * ```
 */
export function sshArgs(target: Target): string[] {
  const args = [
    "-v",
    "-T",
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-i",
    target.identityFile,
    "-p",
    String(target.port),
    "-l",
    target.user,
  ];
  if (target.knownHostsFile) {
    args.unshift("-F", "/dev/null");
    args.push(
      "-o",
      `UserKnownHostsFile=${target.knownHostsFile}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "StrictHostKeyChecking=yes",
    );
  }
  return [...args, target.host, "--", target.command];
}

function classify(stderr: string[], phase: Phase): Status {
  const text = stderr.join("\n");
  if (/Permission denied/.test(text)) return "auth_error";
  if (phase === "connect" || phase === "auth") return "connect_error";
  if (phase === "exec") return "exec_error";
  return "read_error";
}

function lastError(stderr: string[]): string {
  const lines = stderr.filter((l) =>
    l && !l.startsWith("debug") &&
    !l.startsWith("OpenSSH_") && !l.startsWith("Transferred:") &&
    !l.startsWith(AUTHENTICATED) &&
    !l.startsWith("Bytes per second")
  );
  return lines[lines.length - 1] ?? "ssh failed";
}

/**
 * The OpenSSH `ssh` client behind the {@linkcode SshClient} seam.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OpensshClient } from "./openssh.ts";
 * const c = await OpensshClient.load();
 * assert.ok(typeof c !== "string", c as string); // a notice when ssh is missing
 * assert.equal(c.name, "openssh");
 * assert.match(c.version(), /^OpenSSH_/);
 * ```
 */
export class OpensshClient implements SshClient {
  readonly name = "openssh";
  #ssh: string;
  #version: string;

  private constructor(ssh: string, version: string) {
    this.#ssh = ssh;
    this.#version = version;
  }

  /** Finds `ssh`; returns a one-line notice when it is missing. */
  static async load(): Promise<OpensshClient | string> {
    const ssh = which("ssh");
    if (!ssh) return "ssh not found; install the openssh-client package";
    return new OpensshClient(ssh, (await opensshVersion(ssh)) ?? "unknown");
  }

  version(): string {
    return this.#version;
  }

  /** Process start cost: `ssh -V` spawned and reaped, 5 times, ms. */
  async calibrate(): Promise<Record<string, unknown>> {
    const spawn: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await run(this.#ssh, ["-V"]);
      spawn.push(performance.now() - t);
    }
    return { spawn_ms: spawn, spawn_median_ms: median(spawn) };
  }

  async runSession(
    target: Target,
    ctx: SessionContext,
  ): Promise<SessionOutcome> {
    const { clock, signal } = ctx;
    const reader = new LineReader();
    const log = new VerboseLog(clock);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#ssh, {
        args: sshArgs(target),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      return {
        bytes: 0,
        lines: 0,
        exitCode: null,
        status: "connect_error",
        error: `spawn ssh: ${(e as Error).message}`,
      };
    }
    const kill = () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    };
    signal.addEventListener("abort", kill);
    const readErr = log.follow(child.stderr);
    const readOut = (async () => {
      for await (const chunk of child.stdout) reader.push(chunk);
      reader.end();
    })();
    try {
      await readOut;
      const readDone = log.phase === "read";
      if (readDone) clock.mark("read");
      const status = await child.status;
      await readErr;
      return outcome(log, reader, status.code, readDone, signal.aborted);
    } finally {
      signal.removeEventListener("abort", kill);
    }
  }
}

/**
 * Follows `ssh -v`'s stderr as it arrives: keeps its lines and ends the
 * connect, auth and exec phases on the clock when the log says so.
 */
class VerboseLog {
  /** Every stderr line so far. */
  readonly lines: string[] = [];
  /** The phase under way. */
  phase: Phase = "connect";

  constructor(readonly clock: PhaseClock) {}

  /** Reads `stream` to its end, line by line. */
  async follow(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        this.#line(line);
      }
    }
    if (buf) this.lines.push(buf);
  }

  #line(line: string): void {
    this.lines.push(line);
    if (this.phase === "connect" && line.startsWith(CONNECTED)) {
      this.clock.mark("connect");
      this.phase = "auth";
    } else if (this.phase === "auth" && line.startsWith(AUTHENTICATED)) {
      this.clock.mark("auth");
      this.phase = "exec";
    } else if (this.phase === "exec" && line.startsWith(SENDING)) {
      this.clock.mark("exec");
      this.phase = "read";
    }
  }
}

/**
 * The outcome of a session whose `ssh` exited with `code`: a timeout when
 * aborted; ok (or exit_nonzero) when stdout was read to its end and ssh
 * itself did not fail, which ends the close phase; otherwise the error
 * from ssh's log, classified by the phase it stopped in.
 */
function outcome(
  log: VerboseLog,
  reader: LineReader,
  code: number,
  readDone: boolean,
  aborted: boolean,
): SessionOutcome {
  const read = { bytes: reader.bytes, lines: reader.lines };
  if (aborted) {
    return {
      ...read,
      exitCode: null,
      status: "timeout",
      error: `timed out during ${log.phase}`,
    };
  }
  const sshFailed = code === 255 &&
    log.lines.some((l) =>
      !l.startsWith("debug") &&
      /^(ssh:|.*denied|.*failed|.*closed|kex_)/i.test(l)
    );
  if (readDone && !sshFailed) {
    log.clock.mark("close");
    log.phase = "close";
    return {
      ...read,
      exitCode: code,
      status: code === 0 ? "ok" : "exit_nonzero",
      error: code === 0 ? "" : `exit code ${code}`,
    };
  }
  return {
    ...read,
    exitCode: null,
    status: classify(log.lines, log.phase),
    error: `${log.phase}: ${lastError(log.lines)}`,
  };
}
