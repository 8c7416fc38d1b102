/**
 * The `openssh` client: the `ssh` binary most people already have, one
 * process per session (`Deno.Command`), `BatchMode=yes`, the given key only.
 *
 * How a session is timed: the process is spawned with `-v`, and the phases
 * end when its own log says so, read from stderr as it arrives:
 * `Connection established.` (connect, which therefore includes starting
 * the process), `Authenticated to ...` (auth), `Sending command:` (exec
 * sent; OpenSSH does not wait for the server's reply). Stdout is read line
 * by line to EOF (read). The process start cost is measured alone by
 * {@linkcode OpensshClient.calibrate} and kept in meta.json.
 *
 * The two pipes are read independently, and nothing orders them here: ssh
 * logs `Sending command:` before any output exists, but under load its
 * stdout's end can be seen first (measured at pool 29 on 2 cores: in 5 to
 * 14 of 290 sessions, the exec line read 0.03 to 0.25 ms after stdout's
 * end, ssh exiting 0). So the read ends at stdout's end only once the log
 * caught up to the exec line (a read of 0 ms when the exec mark came
 * later); a log that ends without it is a failure of the phase it stopped
 * in. A failure whose log has no error line (ssh killed by a signal, say)
 * names the exit code or signal and the log's last line.
 *
 * Close and disconnect, told apart in the same log: OpenSSH logs
 * `debug1: channel 0: free: client-session` once the exit status came and
 * the channel's close was received and sent, while the connection is still
 * up (then `Transferred: ...` and `debug1: Exit status N`); that line ends
 * the close phase, and the process exit (observed here: the socket closed,
 * the process gone and reaped) ends the disconnect phase. Should a log
 * lack the line, close ends at the exit too (a zero disconnect). What this
 * resolves, measured on loopback: the server sends EOF, exit status and
 * close back to back, and the free line is usually read here 0.03 to 1 ms
 * *before* stdout's end is seen (stdout and stderr are separate pipes, read
 * independently), so close is 0 (a mark never precedes the one before it)
 * in most sessions; below ~1 ms openssh's close cannot be told from the
 * end of its read. The disconnect, free line to process exit, is the part
 * that is separable: median 0.5 ms at pool 1 (0 to 6 ms).
 *
 * More commands per session (`commandsPerSession` K > 1) go through a
 * connection master (OpenSSH's connection multiplexing): `ssh -v -N -M
 * -S <socket in a temp dir> -o ControlPersist=no` stays in the foreground
 * as this process's child and holds the one authenticated connection; its
 * log gives connect and auth as above. Each command, the first included, is
 * then `ssh -S <socket> -- command` (a mux client: a process of its own,
 * with no connection or auth of its own, and `ProxyCommand=false` so that
 * it can never fall back to one); the master logs `Sending command:` (exec)
 * and `channel N: free: client-session` (close) for each, and the mux
 * client's stdout and exit code are the command's (the master writes to
 * the mux client's stdout through a passed descriptor, so its end is seen
 * only once the mux client exits, after the master freed the channel: the
 * first command's read includes that exit and its close is 0). Finally
 * `ssh -S <socket> -O exit` asks the master to close the connection; its
 * exit, and the socket's directory removed, end the disconnect phase
 * (which therefore includes starting that control process). So with K > 1
 * the first command's exec phase also includes starting its mux client
 * process (median exec at pool 1: 51.9 ms with K = 3 against 44.0 ms with
 * K = 1, in two short runs). Not `ControlPersist`: it backgrounds the
 * master with fork and daemon(3), so it is no longer this process's child
 * (it cannot be reaped here; where the init process does not reap orphans,
 * as on this project's machine, each one stays a zombie), and it keeps the
 * first process's stderr open. Every process is killed on abort and
 * reaped, and the socket's directory removed, on every path. Should this
 * process itself be killed (SIGKILL, where nothing runs), the master dies
 * with it: it runs under `setpriv --pdeathsig KILL` (so the master's
 * connect phase also includes starting setpriv: 1.4 ms here, median of
 * 300 `ssh -V` spawns with and without it), and
 * the socket's directory is named after this process
 * (`ssh-bench-mux-PID-tSTART-*`, `util/owned_dirs.ts`), so the next run
 * removes it. When the benchmark above a worker is killed, the worker
 * gets SIGTERM (its parent-death signal) and kills every `ssh` it started
 * (per-session clients, mux clients, masters) and removes its socket
 * directories before it exits (`worker_exit.ts`): no wrapper per spawn,
 * so no phase of a session pays for that.
 *
 * Host keys: `ssh` gets the run's own known_hosts file (the embedded
 * server's generated one, or for `--target` the key the benchmark verified
 * against the user's known_hosts before the run) with
 * `StrictHostKeyChecking=yes`, no global known_hosts and no user config
 * (`-F /dev/null`), so it accepts that key only, as every other client.
 *
 * Teardown: once stdout was read to its end and the log shows the exit
 * status arrived (`client_input_channel_req: ... rtype exit-status`), a
 * failure of ssh's own while closing (`Connection to ... closed by remote
 * host.`, `client_loop: send disconnect: Broken pipe`: the server closed
 * the connection first) no longer fails the session: the status is `ok`
 * and the message goes to `teardownError`. ssh then exits
 * with 255 instead of the exit status, whose value is lost (and not in its
 * `-v` log): the row's exit code is empty. A session ssh ends normally
 * after such a message (`Connection to ... closed by remote host.`) keeps
 * its status and exit code, and the message as `teardownError`. With K >
 * 1, a failed `-O exit` is a teardown error too.
 *
 * Algorithm mismatch: ssh says `no matching cipher found. Their offer:
 * ...`; the error then names the kind and both lists, ssh's own offer read
 * with `ssh -G` and the same options.
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
import { textLines } from "../util/text_lines.ts";
import { makeOwnedTempDirSync } from "../util/owned_dirs.ts";
import { type PinKind, unsupportedPins } from "./algorithms.ts";
import {
  commandsPerSession,
  type Negotiated,
  type Phase,
  type PhaseClock,
  type SessionContext,
  type SessionOutcome,
  type SshClient,
  type Status,
  type Target,
} from "./seam.ts";

const CONNECTED = "debug1: Connection established.";
const AUTHENTICATED = "Authenticated to ";
const SENDING = "debug1: Sending command:";
const KEX_LINE = "debug1: kex: ";
/** A session channel freed: exit status received, close received and sent. */
const CHANNEL_FREED = /^debug1: channel \d+: free: client-session/;
/** A master's control socket listens. */
const MUX_LISTENER = /^debug1: channel \d+: new mux listener/;
/** The session channel's exit status arrived. */
const EXIT_STATUS =
  /^debug1: client_input_channel_req: channel \d+ rtype exit-status /;
/** ssh's own words for a connection the server closed or reset. */
const TORN_DOWN =
  /^(Connection to \S+ closed by remote host\.|client_loop: send disconnect: .*|Write failed: .*|Connection reset by .*)$/;
/** ssh's message for an algorithm kind the server and ssh share none of. */
const NO_MATCH =
  /no matching (key exchange method|host key type|cipher|MAC) found\. Their offer: (\S+)/;
/** `ssh -G` keys and message words of each kind in {@linkcode NO_MATCH}. */
const NO_MATCH_KINDS: Record<string, [string, string]> = {
  "key exchange method": ["kexalgorithms", "key exchange"],
  "host key type": ["hostkeyalgorithms", "host key algorithm"],
  "cipher": ["ciphers", "cipher"],
  "MAC": ["macs", "MAC"],
};
/** A mux client's own failure (not the remote command's exit code 255). */
const MUX_FAILED =
  /^(mux_client|Control socket|muxclient|ssh:|kex_|Connection .*closed|.*(failed|denied|refused))/i;

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
 * assert.deepEqual(args.slice(-3), ["--", "127.0.0.1", "true"]);
 * const hostile = sshArgs({ host: "-oProxyCommand=x", port: 22, user: "me",
 *   identityFile: "/k", command: "true" });
 * assert.equal(hostile.indexOf("--"), hostile.indexOf("-oProxyCommand=x") - 1);
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
 * const agent = sshArgs({ host: "h", port: 22, user: "me", identityFile: "",
 *   command: "true", agentSocket: "/tmp/a.sock" });
 * assert.ok(agent.includes("IdentityAgent=/tmp/a.sock") && !agent.includes("-i"));
 * ```
 */
export function sshArgs(target: Target): string[] {
  const args = [
    "-v",
    "-T",
    "-o",
    "BatchMode=yes",
    ...(target.agentSocket ? ["-o", `IdentityAgent=${target.agentSocket}`] : [
      "-o",
      "IdentityAgent=none",
      "-o",
      "IdentitiesOnly=yes",
      "-i",
      target.identityFile,
    ]),
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
  // `--` first: the host is never read as an option, however it looks.
  return [...args, "--", target.host, target.command];
}

/**
 * `ssh` arguments of a connection master (K > 1): those of
 * {@linkcode sshArgs} without a command (`-N`), with `ControlMaster=yes`,
 * the socket as `ControlPath` and `ControlPersist=no` (it stays in the
 * foreground, a child of this process, until `-O exit`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { masterArgs } from "./openssh.ts";
 * const args = masterArgs({ host: "127.0.0.1", port: 22, user: "me",
 *   identityFile: "/k", command: "true" }, "/tmp/d/s");
 * assert.deepEqual(args.slice(0, 2), ["-v", "-T"]);
 * assert.ok(args.includes("-N") && args.includes("ControlPath=/tmp/d/s"));
 * assert.ok(args.includes("ControlPersist=no"));
 * assert.deepEqual(args.slice(-2), ["--", "127.0.0.1"]);
 * assert.ok(!args.includes("true"));
 * ```
 */
export function masterArgs(target: Target, socket: string): string[] {
  const args = sshArgs(target).slice(0, -3);
  return [
    ...args,
    "-N",
    "-o",
    "ControlMaster=yes",
    "-o",
    `ControlPath=${socket}`,
    "-o",
    "ControlPersist=no",
    "--",
    target.host,
  ];
}

/**
 * `ssh` arguments of a mux client of the master at `socket`: the command
 * (or, without one, `-O exit`), no TTY, BatchMode, never a master itself,
 * and `ProxyCommand=false` so that it fails instead of opening a connection
 * of its own should the socket not answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { muxArgs } from "./openssh.ts";
 * const t = { host: "127.0.0.1", port: 22, user: "me", identityFile: "/k",
 *   command: "true", knownHostsFile: "/kh" };
 * const run = muxArgs(t, "/tmp/d/s", "true");
 * assert.deepEqual(run.slice(0, 2), ["-F", "/dev/null"]);
 * assert.deepEqual(run.slice(-3), ["--", "127.0.0.1", "true"]);
 * assert.ok(run.includes("ControlPath=/tmp/d/s") && run.includes("ControlMaster=no"));
 * assert.deepEqual(muxArgs(t, "/tmp/d/s").slice(-4), ["-O", "exit", "--", "127.0.0.1"]);
 * ```
 */
export function muxArgs(
  target: Target,
  socket: string,
  command?: string,
): string[] {
  const args = [
    "-T",
    "-o",
    "BatchMode=yes",
    "-o",
    `ControlPath=${socket}`,
    "-o",
    "ControlMaster=no",
    "-o",
    "ProxyCommand=false",
    "-p",
    String(target.port),
    "-l",
    target.user,
  ];
  if (target.knownHostsFile) args.unshift("-F", "/dev/null");
  return command === undefined
    ? [...args, "-O", "exit", "--", target.host]
    : [...args, "--", target.host, command];
}

function classify(stderr: string[], phase: Phase): Status {
  const text = stderr.join("\n");
  if (/Permission denied/.test(text)) return "auth_error";
  if (phase === "connect" || phase === "auth") return "connect_error";
  if (phase === "exec") return "exec_error";
  return "read_error";
}

/** ssh's last error line in `stderr`, else `fallback`. */
function lastError(stderr: string[], fallback = "ssh failed"): string {
  const lines = stderr.filter((l) =>
    l && !l.startsWith("debug") &&
    !l.startsWith("OpenSSH_") && !l.startsWith("Transferred:") &&
    !l.startsWith(AUTHENTICATED) &&
    !l.startsWith("Bytes per second")
  );
  return lines[lines.length - 1] ?? fallback;
}

/**
 * What ended an `ssh` whose log holds no error line: the signal that
 * killed it or its exit code, and the log's last line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { silentExit } from "./openssh.ts";
 * assert.equal(
 *   silentExit(["debug1: pledge: network"], 137, "SIGKILL"),
 *   "ssh was killed by SIGKILL (its log ends: debug1: pledge: network)",
 * );
 * assert.equal(silentExit([], 255, null), "ssh exited 255 with an empty log");
 * ```
 */
export function silentExit(
  stderr: readonly string[],
  code: number,
  signal: string | null,
): string {
  const why = signal ? `ssh was killed by ${signal}` : `ssh exited ${code}`;
  const tail = stderr.findLast((l) => l.trim() !== "");
  return tail ? `${why} (its log ends: ${tail})` : `${why} with an empty log`;
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
    const out = await this.#session(target, ctx);
    const m = out.status === "connect_error" && NO_MATCH.exec(out.error);
    if (!m || ctx.signal.aborted) return out;
    const [key, label] = NO_MATCH_KINDS[m[1]];
    const ours = await this.#offer(target, key);
    return {
      ...out,
      error: `${
        out.error.split(":")[0]
      }: no common ${label} with the server (client offers: ${
        ours ?? "see ssh -G"
      }; server offers: ${m[2]})`,
    };
  }

  /** What ssh offers of one kind (an `ssh -G` key) for `target`. */
  async #offer(target: Target, key: string): Promise<string | undefined> {
    const args = sshArgs(target).filter((a) => a !== "-v" && a !== "-T");
    // Without the command: `... -- host`.
    const r = await run(this.#ssh, ["-G", ...args.slice(0, -1)]);
    const line = r.stdout.split("\n").find((l) => l.startsWith(`${key} `));
    return line?.slice(key.length + 1).trim();
  }

  async #session(
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
    const k = commandsPerSession(target);
    if (k > 1) return await this.#throughMaster(target, ctx, k);
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
      const eofAt = performance.now();
      // stdout and stderr are separate pipes, read independently: under
      // load the log can be read behind stdout, its exec line after
      // stdout's end. The read is done once the log caught up to the exec
      // (false if the log ended without it); it is marked in `outcome`,
      // only for a session that ended well: a killed ssh (timeout) or a
      // lost connection ends stdout too, short of the command's end.
      const readDone = await log.until(() => log.phase === "read");
      const status = await child.status;
      const exitAt = performance.now();
      await readErr;
      return outcome(
        log,
        reader,
        status.code,
        readDone ? eofAt : undefined,
        signal.aborted,
        exitAt,
        status.signal,
      );
    } finally {
      signal.removeEventListener("abort", kill);
    }
  }

  /**
   * A session of `k` commands through a connection master (see the module
   * doc): the master connects and authenticates, each command is a mux
   * client, `-O exit` disconnects. Every process is reaped and the socket's
   * directory removed before this returns.
   */
  async #throughMaster(
    target: Target,
    ctx: SessionContext,
    k: number,
  ): Promise<SessionOutcome> {
    const { clock, signal } = ctx;
    const reader = new LineReader();
    const log = new VerboseLog(clock);
    const live = new Set<Deno.ChildProcess>();
    const reaped: Promise<unknown>[] = [];
    const kill = () => {
      for (const c of live) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    };
    const spawn = (
      args: string[],
      stdout: "piped" | "null",
      dieWithParent = false,
    ) => {
      if (signal.aborted) throw new Error("aborted");
      // The master holds the connection for the whole session: it must
      // die with this process even on SIGKILL (a mux client or `-O exit`
      // ends with it).
      const argv = dieWithParent && SETPRIV
        ? [SETPRIV, "--pdeathsig", "KILL", "--", this.#ssh, ...args]
        : [this.#ssh, ...args];
      const c = new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "null",
        stdout,
        stderr: "piped",
      }).spawn();
      live.add(c);
      reaped.push(c.status.then(() => live.delete(c)));
      return c;
    };
    /** Runs one command as a mux client, its stdout into `into`. */
    const command = async (socket: string, into: LineReader) => {
      const c = spawn(muxArgs(target, socket, target.command), "piped");
      const err = new Response(c.stderr).text().catch(() => "");
      for await (const chunk of c.stdout) into.push(chunk);
      into.end();
      const eofAt = performance.now();
      const { code } = await c.status;
      const stderr = (await err).split("\n").filter((l) => l !== "");
      // A mux client that failed itself, not the remote command's 255.
      const failed = code === 255 && stderr.some((l) => MUX_FAILED.test(l));
      return { code, stderr, eofAt, failed };
    };
    let commands = 0;
    let exitCode: number | null = null;
    let dir: string | undefined;
    let readErr: Promise<void> | undefined;
    const result = (status: Status, error: string): SessionOutcome => {
      const negotiated = negotiatedOf(log.kex);
      const aborted = signal.aborted;
      return {
        bytes: reader.bytes,
        lines: reader.lines,
        exitCode: aborted ? null : exitCode,
        status: aborted ? "timeout" : status,
        error: aborted ? `timed out during ${log.phase}` : error,
        commands,
        ...(negotiated && { negotiated }),
      };
    };
    /** Command `j` failed: exec_error before the master sent it, else read_error. */
    const commandFailed = (j: number, stderr: string[]) => {
      const status: Status = log.sent.length < j ? "exec_error" : "read_error";
      const step = status === "exec_error" ? "exec" : "read";
      const what = `${step}: ${lastError([...stderr, ...log.lines])}`;
      return result(status, j > 1 ? `command ${j} of ${k}: ${what}` : what);
    };
    signal.addEventListener("abort", kill);
    try {
      // Named after this process, so that the next run removes it (and
      // kills a master still using it) should this process be killed.
      dir = makeOwnedTempDirSync("mux");
      const socket = `${dir}/s`;
      const master = spawn(masterArgs(target, socket), "null", true);
      readErr = log.follow(master.stderr);
      const masterExit = master.status;
      // Connect and auth from the master's log, then its socket listens.
      if (!await log.until(() => log.muxReady)) {
        const { code } = await masterExit;
        await readErr;
        return {
          ...outcome(log, reader, code, undefined, signal.aborted, 0),
          commands,
        };
      }
      // The first command: exec, read and close as for one command.
      const first = await command(socket, reader);
      if (first.failed) return commandFailed(1, first.stderr);
      // Its channel freed in the master's log (which also has its exec by then).
      const freed = await log.until(() => log.freed.length >= 1);
      if (!freed || log.phase !== "read") {
        return result(
          classify(log.lines, log.phase),
          `${log.phase}: ${lastError([...first.stderr, ...log.lines])}`,
        );
      }
      clock.mark("read", Math.max(first.eofAt, clock.last));
      clock.mark("close", Math.max(log.freed[0], clock.last));
      log.phase = "close";
      exitCode = first.code;
      if (first.code === 0) {
        commands = 1;
        log.phase = "reexec";
        for (let j = 2; j <= k; j++) {
          const r = await command(socket, new LineReader());
          if (r.failed) return commandFailed(j, r.stderr);
          exitCode = r.code;
          if (r.code !== 0) {
            return result(
              "exit_nonzero",
              `command ${j} of ${k}: exit code ${r.code}`,
            );
          }
          commands = j;
        }
        clock.mark("reexec");
      }
      // After every command, or the first one's nonzero exit (as for K = 1).
      log.phase = "disconnect";
      const ctl = spawn(muxArgs(target, socket), "null");
      const ctlErr = new Response(ctl.stderr).text().catch(() => "");
      const { code } = await ctl.status;
      let teardown: string | undefined;
      if (code !== 0) {
        // Every command completed: the failed teardown is kept apart, and
        // the master (if still there) is stopped.
        const stderr = (await ctlErr).split("\n").filter((l) => l !== "");
        teardown = `disconnect: ${lastError(stderr)}`;
        kill();
      }
      await masterExit;
      // The master's socket is gone with it; its directory too, as part of
      // tearing the multiplexed connection down.
      removeDir(dir);
      dir = undefined;
      clock.mark("disconnect");
      return {
        ...result(
          exitCode === 0 ? "ok" : "exit_nonzero",
          exitCode === 0 ? "" : `exit code ${exitCode}`,
        ),
        ...(teardown && !signal.aborted && { teardownError: teardown }),
      };
    } catch (e) {
      // A spawn or file-system failure (e.g. out of processes or files).
      const { phase } = log;
      return result(
        phase === "connect" || phase === "auth"
          ? "connect_error"
          : phase === "exec"
          ? "exec_error"
          : "read_error",
        `${phase}: ${(e as Error).message}`,
      );
    } finally {
      signal.removeEventListener("abort", kill);
      kill();
      await Promise.all(reaped);
      await readErr;
      if (dir) removeDir(dir);
    }
  }
}

/** setpriv (util-linux), for a parent-death signal; undefined where absent. */
const SETPRIV = which("setpriv");

/** Removes a directory and what is in it; never throws. */
function removeDir(dir: string): void {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // already gone
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
  /** When each `Sending command:` line came (`performance.now()`). */
  readonly sent: number[] = [];
  /** When each session channel was freed (`channel N: free: client-session`). */
  readonly freed: number[] = [];
  /** A master's control socket listens. */
  muxReady = false;
  /** The session channel's exit status arrived (single-command sessions). */
  exitStatus = false;
  /** The stream has ended. */
  #ended = false;
  /** Waiters of {@linkcode until}, checked after every line. */
  #waiters: { test: () => boolean; resolve: (v: boolean) => void }[] = [];

  constructor(readonly clock: PhaseClock) {}

  /** Reads `stream` to its end, line by line. */
  async follow(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const line of textLines(stream)) this.#line(line);
    } finally {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w.resolve(w.test());
    }
  }

  /** True once `test()` holds after a line; false if the log ends first. */
  until(test: () => boolean): Promise<boolean> {
    if (test()) return Promise.resolve(true);
    if (this.#ended) return Promise.resolve(false);
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  #line(line: string): void {
    this.lines.push(line);
    const now = performance.now();
    if (line.startsWith(SENDING)) this.sent.push(now);
    else if (CHANNEL_FREED.test(line)) this.freed.push(now);
    else if (MUX_LISTENER.test(line)) this.muxReady = true;
    else if (EXIT_STATUS.test(line)) this.exitStatus = true;
    this.#line1(line);
    if (this.#waiters.length) {
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.test()) return true;
        w.resolve(true);
        return false;
      });
    }
  }

  #line1(line: string): void {
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
 * The outcome of a session whose `ssh` exited with `code` at `exitAt`: a
 * timeout when aborted; ok (or exit_nonzero) when stdout was read to its
 * end (at `eofAt`, once the log had the exec) and ssh itself did not fail,
 * which ends the read phase (at `eofAt`), the close phase (at the
 * channel's free line) and the disconnect phase (at the exit); otherwise
 * the error from ssh's log, classified by the phase it stopped in, and no
 * phase after it ends.
 */
function outcome(
  log: VerboseLog,
  reader: LineReader,
  code: number,
  eofAt: number | undefined,
  aborted: boolean,
  exitAt: number,
  killedBy: string | null = null,
): SessionOutcome {
  const readDone = eofAt !== undefined;
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
  // ssh's own complaint about the teardown, after the exit status came.
  const torn = log.exitStatus
    ? log.lines.filter((l) => TORN_DOWN.test(l)).at(-1)
    : undefined;
  if (readDone && (!sshFailed || torn)) {
    // Read: stdout's end; close: the channel freed (the connection still
    // up); disconnect: the process exit. Marks never precede the one
    // before (the exec line can be read after stdout's end).
    const { clock } = log;
    clock.mark("read", Math.max(eofAt, clock.last));
    clock.mark("close", Math.max(log.freed[0] ?? exitAt, clock.last));
    clock.mark("disconnect", Math.max(exitAt, clock.last));
    log.phase = "disconnect";
    if (sshFailed) {
      // The command completed; ssh failed while closing and exited 255,
      // which hides the exit status it had received.
      return {
        ...read,
        exitCode: null,
        status: "ok",
        error: "",
        teardownError:
          `disconnect: ${torn} (ssh exited 255 after the exit status arrived; its value is unknown)`,
      };
    }
    return {
      ...read,
      exitCode: code,
      status: code === 0 ? "ok" : "exit_nonzero",
      error: code === 0 ? "" : `exit code ${code}`,
      ...(torn && { teardownError: `disconnect: ${torn}` }),
    };
  }
  return {
    ...read,
    exitCode: null,
    status: classify(log.lines, log.phase),
    error: `${log.phase}: ${
      lastError(log.lines, silentExit(log.lines, code, killedBy))
    }`,
  };
}
