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
import type {
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
 * Version of an OpenSSH binary (`ssh` or `sshd`) as `-V` reports it, e.g.
 * `OpenSSH_9.2p1 Debian-2+deb12u10`; undefined when it cannot be run.
 *
 * @example
 * ```ts
 * import { opensshVersion } from "./openssh.ts";
 * console.log((await opensshVersion("ssh"))?.startsWith("OpenSSH"));
 * ```
 */
export async function opensshVersion(
  binary: string,
): Promise<string | undefined> {
  const r = await run(binary, ["-V"]);
  return r.code === 0 ? r.stderr.trim().split(",")[0] : undefined;
}

/**
 * `ssh` arguments for one session: verbose (for the phase marks), no TTY,
 * BatchMode, only the given key; against the embedded server, no user
 * config and the run's own known_hosts with strict checking.
 *
 * @example
 * ```ts
 * import { sshArgs } from "./openssh.ts";
 * const args = sshArgs({ host: "127.0.0.1", port: 22, user: "me",
 *   identityFile: "/k", command: "true" });
 * console.log(args.at(-1)); // "true"
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

function classify(stderr: string[], phase: string): Status {
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
 * ```ts ignore
 * import { OpensshClient } from "./openssh.ts";
 * const c = await OpensshClient.load();
 * if (typeof c !== "string") console.log(c.version());
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
    const stderr: string[] = [];
    let phase = "connect";
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
    const readErr = (async () => {
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of child.stderr) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n")) !== -1) {
          const line = buf.slice(0, i).replace(/\r$/, "");
          buf = buf.slice(i + 1);
          stderr.push(line);
          if (phase === "connect" && line.startsWith(CONNECTED)) {
            clock.mark("connect");
            phase = "auth";
          } else if (phase === "auth" && line.startsWith(AUTHENTICATED)) {
            clock.mark("auth");
            phase = "exec";
          } else if (phase === "exec" && line.startsWith(SENDING)) {
            clock.mark("exec");
            phase = "read";
          }
        }
      }
      if (buf) stderr.push(buf);
    })();
    const readOut = (async () => {
      for await (const chunk of child.stdout) reader.push(chunk);
      reader.end();
    })();
    try {
      await readOut;
      const readDone = phase === "read";
      if (readDone) clock.mark("read");
      const status = await child.status;
      await readErr;
      if (signal.aborted) {
        return {
          bytes: reader.bytes,
          lines: reader.lines,
          exitCode: null,
          status: "timeout",
          error: `timed out during ${phase}`,
        };
      }
      const sshFailed = status.code === 255 &&
        stderr.some((l) =>
          !l.startsWith("debug") &&
          /^(ssh:|.*denied|.*failed|.*closed|kex_)/i.test(l)
        );
      if (readDone && !sshFailed) {
        clock.mark("close");
        phase = "close";
        return {
          bytes: reader.bytes,
          lines: reader.lines,
          exitCode: status.code,
          status: status.code === 0 ? "ok" : "exit_nonzero",
          error: status.code === 0 ? "" : `exit code ${status.code}`,
        };
      }
      return {
        bytes: reader.bytes,
        lines: reader.lines,
        exitCode: null,
        status: classify(stderr, phase),
        error: `${phase}: ${lastError(stderr)}`,
      };
    } finally {
      signal.removeEventListener("abort", kill);
    }
  }
}
