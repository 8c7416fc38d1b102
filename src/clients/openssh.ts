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
 * Algorithms: pins (`target.algorithms`) become `-o KexAlgorithms=...`,
 * `-o Ciphers=...`, `-o MACs=...`, `-o HostKeyAlgorithms=...`, each name
 * first checked against `ssh -Q` (read once, at load), so an unknown one
 * fails the session before `ssh` starts, naming it (ssh's own message does
 * not always say which). What was negotiated is read from the `debug1: kex:`
 * lines of the same `-v` log.
 *
 * @module
 */
import { LineReader } from "./lines.ts";
import { median } from "../util/quantile.ts";
import { run, which } from "../util/proc.ts";
import { opensshVersion } from "../util/ssh_version.ts";
import { type PinKind, unsupportedPins } from "./algorithms.ts";
import type {
  Negotiated,
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
const KEX_LINE = "debug1: kex: ";

/** The `ssh -o` option and the `ssh -Q` query of each kind of pin. */
const PIN_OPTIONS: Record<PinKind, { option: string; query: string }> = {
  kex: { option: "KexAlgorithms", query: "kex" },
  hostKeyAlgorithms: {
    option: "HostKeyAlgorithms",
    query: "HostKeyAlgorithms",
  },
  ciphers: { option: "Ciphers", query: "cipher" },
  macs: { option: "MACs", query: "mac" },
};

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
 * const pinned = sshArgs({ host: "127.0.0.1", port: 22, user: "me",
 *   identityFile: "/k", command: "true",
 *   algorithms: { kex: ["curve25519-sha256"], macs: ["hmac-sha2-256", "hmac-sha1"] } });
 * assert.ok(pinned.includes("KexAlgorithms=curve25519-sha256"));
 * assert.ok(pinned.includes("MACs=hmac-sha2-256,hmac-sha1"));
 * assert.ok(!pinned.some((a) => a.startsWith("Ciphers=")));
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
  for (const [kind, { option }] of Object.entries(PIN_OPTIONS)) {
    const names = target.algorithms?.[kind as PinKind];
    if (names) args.push("-o", `${option}=${names.join(",")}`);
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
  /** `ssh -Q` lists per kind of pin; absent when the query failed. */
  #supported: Partial<Record<PinKind, Set<string>>>;

  private constructor(
    ssh: string,
    version: string,
    supported: Partial<Record<PinKind, Set<string>>>,
  ) {
    this.#ssh = ssh;
    this.#version = version;
    this.#supported = supported;
  }

  /** Finds `ssh`; returns a one-line notice when it is missing. */
  static async load(): Promise<OpensshClient | string> {
    const ssh = which("ssh");
    if (!ssh) return "ssh not found; install the openssh-client package";
    const supported: Partial<Record<PinKind, Set<string>>> = {};
    const [version] = await Promise.all([
      opensshVersion(ssh),
      ...Object.entries(PIN_OPTIONS).map(async ([kind, { query }]) => {
        const r = await run(ssh, ["-Q", query]);
        if (r.code === 0) {
          supported[kind as PinKind] = new Set(r.stdout.split("\n"));
        }
      }),
    ]);
    return new OpensshClient(ssh, version ?? "unknown", supported);
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
    const unsupported = unsupportedPins(
      this.#version.split(" ")[0],
      target.algorithms,
      (kind, name) => this.#supported[kind]?.has(name),
    );
    if (unsupported) {
      return {
        bytes: 0,
        lines: 0,
        exitCode: null,
        status: "connect_error",
        error: unsupported,
      };
    }
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
  /** What the `debug1: kex:` lines said was negotiated, so far. */
  readonly kex: Partial<Negotiated> = {};

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
    } else if (this.phase === "auth" && line.startsWith(KEX_LINE)) {
      parseKexLine(line, this.kex);
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
 * Reads one `debug1: kex: ...` line of `ssh -v` into `into`: the key
 * exchange, the host-key algorithm, and the client-to-server cipher and MAC
 * (`<implicit>` for AEAD ciphers, as OpenSSH writes it). Other lines are
 * ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKexLine } from "./openssh.ts";
 * const n = {};
 * for (const l of [
 *   "debug1: kex: algorithm: sntrup761x25519-sha512@openssh.com",
 *   "debug1: kex: host key algorithm: ssh-ed25519",
 *   "debug1: kex: server->client cipher: aes128-ctr MAC: hmac-sha1 compression: none",
 *   "debug1: kex: client->server cipher: chacha20-poly1305@openssh.com MAC: <implicit> compression: none",
 *   "debug1: kex: sntrup761x25519-sha512@openssh.com need=64 dh_need=64",
 * ]) parseKexLine(l, n);
 * assert.deepEqual(n, {
 *   kex: "sntrup761x25519-sha512@openssh.com", hostKey: "ssh-ed25519",
 *   cipher: "chacha20-poly1305@openssh.com", mac: "<implicit>",
 * });
 * ```
 */
export function parseKexLine(line: string, into: Partial<Negotiated>): void {
  const m = /^debug1: kex: (?:(algorithm)|(host key algorithm)): (\S+)$/.exec(
    line,
  );
  if (m) {
    if (m[1]) into.kex = m[3];
    else into.hostKey = m[3];
    return;
  }
  const c = /^debug1: kex: client->server cipher: (\S+) MAC: (\S+)/.exec(line);
  if (c) {
    into.cipher = c[1];
    into.mac = c[2];
  }
}

/** The negotiated algorithms once all four were logged, else undefined. */
function negotiatedOf(kex: Partial<Negotiated>): Negotiated | undefined {
  const { kex: k, hostKey, cipher, mac } = kex;
  return k && hostKey && cipher && mac
    ? { kex: k, hostKey, cipher, mac }
    : undefined;
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
  const negotiated = negotiatedOf(log.kex);
  const read = {
    bytes: reader.bytes,
    lines: reader.lines,
    ...(negotiated && { negotiated }),
  };
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
