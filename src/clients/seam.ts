/**
 * Shared types: the target of a run, the client seam every SSH client
 * implements, and the per-session result that becomes one CSV row.
 *
 * @module
 */

/** Every status a session row can carry, in the order docs/data-format.md lists them. */
export const STATUSES = [
  "ok",
  "connect_error",
  "auth_error",
  "exec_error",
  "read_error",
  "timeout",
  "exit_nonzero",
] as const;

/**
 * Outcome of one session.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Status, STATUSES } from "./seam.ts";
 * const s: Status = "timeout";
 * assert.ok(STATUSES.includes(s));
 * ```
 */
export type Status = typeof STATUSES[number];

/** The phases of one session, in the order they happen. */
export const PHASES = [
  "connect",
  "auth",
  "exec",
  "read",
  "close",
  "reexec",
  "disconnect",
] as const;

/**
 * Name of one phase.
 *
 * - `connect`: TCP connect started until the socket is connected.
 * - `auth`: SSH handshake (version exchange, key exchange) and user auth.
 * - `exec`: session channel opened and the exec request accepted.
 * - `read`: stdout read line by line until end of file.
 * - `close`: exit status received and the first command's channel closed;
 *   the SSH session is still open (the post's "commands end").
 * - `reexec`: the further commands 2..K on the same connection, one after
 *   another, each a new channel, exec, read to end of file, exit status and
 *   channel close; only when `Target.commandsPerSession` K > 1.
 * - `disconnect`: closing the connection after the last command, until it
 *   is closed.
 *
 * The first four and `close` are the first command's. A session marks
 * `reexec` and `disconnect` only when every command before them ended
 * normally (a nonzero exit of the first command still disconnects and
 * marks `disconnect`; a failure in a further command marks neither).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Phase, PHASES } from "./seam.ts";
 * const p: Phase = "auth";
 * assert.equal(PHASES.indexOf(p), 1);
 * ```
 */
export type Phase = typeof PHASES[number];

/**
 * Where the sessions go and what they run.
 *
 * @example
 * ```ts
 * import type { Target } from "./seam.ts";
 * const t: Target = {
 *   host: "127.0.0.1", port: 22, user: "me",
 *   identityFile: "/home/me/.ssh/id_ed25519", command: "true",
 * };
 * // @ts-expect-error: the key and the command are required
 * const incomplete: Target = { host: "127.0.0.1", port: 22, user: "me" };
 * ```
 */
export interface Target {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
  /** Remote account. */
  user: string;
  /** Path of the private key (OpenSSH format, no passphrase). */
  identityFile: string;
  /** Path of the matching public key; defaults to `identityFile + ".pub"`. */
  publicKeyFile?: string;
  /** Remote command each session runs. */
  command: string;
  /**
   * known_hosts file naming the server's one host key (`[host]:port type
   * key`, or `host type key` for port 22): the embedded server's generated
   * one, or for `--target` the run's own copy of the key verified before
   * the run (`src/run/known_hosts.ts`). Clients accept only that key.
   */
  knownHostsFile?: string;
  /**
   * That host public key blob, base64: the only key a client accepts
   * (absent: any key). Clients prefer its type in the key exchange, as
   * OpenSSH does for a key it knows.
   */
  hostKeyBase64?: string;
  /**
   * Times the command runs on one authenticated connection, one after
   * another, each on a new channel (absent: once).
   */
  commandsPerSession?: number;
  /**
   * Algorithms pinned with `--kex`, `--ciphers`, `--macs`,
   * `--host-key-algorithms`: a client offers only these (in this order).
   */
  algorithms?: AlgorithmPins;
  /**
   * ssh-agent socket: when set, the client authenticates with the agent's
   * keys instead of `identityFile` (which may then be empty).
   */
  agentSocket?: string;
  /**
   * Pid of that agent, when known: its CPU (signing happens there) is
   * added to the client's per-round CPU by the worker runner.
   */
  agentPid?: number;
}

/**
 * Clients that cannot authenticate through ssh-agent, and why; a run with
 * agent auth leaves them out with this as the warning.
 */
export const NO_AGENT: Readonly<Record<string, string>> = {
  null: "the null client makes no connections",
};

/**
 * Algorithm lists a run pins, each in OpenSSH's names (e.g. `kex:
 * ["curve25519-sha256"]`); an absent list leaves the client's default.
 */
export interface AlgorithmPins {
  /** Key exchange methods. */
  kex?: string[];
  /** Ciphers (both directions). */
  ciphers?: string[];
  /** MACs (both directions; ignored by AEAD ciphers). */
  macs?: string[];
  /** Host-key (signature) algorithms. */
  hostKeyAlgorithms?: string[];
}

/**
 * The algorithms a session actually negotiated, in OpenSSH's names. `mac`
 * is `<implicit>` for AEAD ciphers (chacha20-poly1305, AES-GCM).
 */
export interface Negotiated {
  /** Key exchange method. */
  kex: string;
  /** Host-key algorithm. */
  hostKey: string;
  /** Cipher, client to server. */
  cipher: string;
  /** MAC, client to server. */
  mac: string;
}

/** Phase durations in milliseconds; a phase not reached is absent. */
export type PhaseTimings = Partial<Record<Phase, number>>;

/**
 * What a client reports about one session apart from its timings, which it
 * records on the {@linkcode PhaseClock} it is given.
 *
 * @example
 * ```ts
 * import type { SessionOutcome } from "./seam.ts";
 * const o: SessionOutcome = {
 *   bytes: 26, lines: 1, exitCode: 0, status: "ok", error: "",
 * };
 * const bad: SessionOutcome = {
 *   bytes: 0, lines: 0, exitCode: null, error: "",
 *   // @ts-expect-error: a status is one of STATUSES
 *   status: "failed",
 * };
 * ```
 */
export interface SessionOutcome {
  /** Bytes of stdout read. */
  bytes: number;
  /** Lines of stdout read (a final line without newline counts). */
  lines: number;
  /** Remote exit code, or null when none was received. */
  exitCode: number | null;
  /** Outcome. */
  status: Status;
  /** Error message; empty when `status` is `ok`. */
  error: string;
  /**
   * An error while tearing down a session whose commands completed
   * (stdout read to end of file, exit status received), e.g. the server
   * closed the connection first and the client's close or disconnect hit
   * a closed socket. The status stays `ok` or `exit_nonzero`; absent when
   * the teardown went well.
   */
  teardownError?: string;
  /** What the session negotiated, when the client can tell. */
  negotiated?: Negotiated;
  /**
   * Commands completed with exit code 0 (absent: 1 when ok, else 0). A
   * failure in command j is a failed session with `commands` j - 1; the
   * further commands' time is the `reexec` phase on the clock.
   */
  commands?: number;
}

/**
 * Records phase boundaries of one session with `performance.now()`.
 * The sweep owns it, so the phases reached survive a timeout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PhaseClock } from "./seam.ts";
 * const clock = new PhaseClock(100);
 * clock.mark("connect", 103);
 * clock.mark("auth", 110);
 * assert.deepEqual(clock.phases, { connect: 3, auth: 7 });
 * assert.equal(clock.last, 110);
 * assert.equal(clock.elapsed(125), 25);
 * ```
 */
export class PhaseClock {
  /** `performance.now()` at session start. */
  readonly start: number;
  #last: number;
  /** Durations of the phases completed so far, in ms. */
  readonly phases: PhaseTimings = {};

  /** Starts the clock at `now` (default: this moment). */
  constructor(now: number = performance.now()) {
    this.start = now;
    this.#last = now;
  }

  /** Ends `phase` now: its duration is the time since the previous mark. */
  mark(phase: Phase, now: number = performance.now()): void {
    this.phases[phase] = now - this.#last;
    this.#last = now;
  }

  /** `performance.now()` of the latest mark (the start before any). */
  get last(): number {
    return this.#last;
  }

  /** Time since the session started, in ms. */
  elapsed(now: number = performance.now()): number {
    return now - this.start;
  }
}

/** What a client gets for one session. */
export interface SessionContext {
  /** Record each phase end on this clock. */
  clock: PhaseClock;
  /** Aborted on timeout or interruption: release everything and return. */
  signal: AbortSignal;
  /** The session's timeout, ms (clients may bound their own waits by it). */
  timeoutMs: number;
}

/**
 * The commands a session runs on its connection: `target.commandsPerSession`
 * (absent, or below 1: one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandsPerSession } from "./seam.ts";
 * assert.equal(commandsPerSession({} as never), 1);
 * assert.equal(commandsPerSession({ commandsPerSession: 3 } as never), 3);
 * ```
 */
export function commandsPerSession(
  target: Pick<Target, "commandsPerSession">,
): number {
  const k = target?.commandsPerSession;
  return k !== undefined && Number.isFinite(k) && k > 1 ? Math.floor(k) : 1;
}

/**
 * The seam every SSH client implements. One call runs one full session:
 * connect, authenticate, exec `target.command`, read stdout line by line,
 * wait for the exit status and channel close (mark `close`), run the
 * command again K - 1 times on new channels of the same connection when
 * {@linkcode commandsPerSession} K > 1 (mark `reexec`), disconnect (mark
 * `disconnect`).
 *
 * A client never throws for a failed session: it returns an outcome with
 * the matching status. It must free every resource before it returns, and
 * return promptly once `ctx.signal` is aborted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PhaseClock, type SshClient } from "./seam.ts";
 * const instant: SshClient = {
 *   name: "null",
 *   version: () => "0",
 *   runSession: (_t, ctx) => {
 *     for (
 *       const p of ["connect", "auth", "exec", "read", "close", "disconnect"] as const
 *     ) ctx.clock.mark(p);
 *     return Promise.resolve({
 *       bytes: 0, lines: 0, exitCode: 0, status: "ok", error: "",
 *     });
 *   },
 * };
 * const clock = new PhaseClock();
 * const out = await instant.runSession({} as never, {
 *   clock, signal: new AbortController().signal, timeoutMs: 1000,
 * });
 * assert.equal(out.status, "ok");
 * assert.equal(Object.keys(clock.phases).length, 6);
 * ```
 */
export interface SshClient {
  /** Short name used in CSV rows and on the command line. */
  readonly name: string;
  /** Version string of the underlying library or binary. */
  version(): string;
  /** Runs one session; see the interface description. */
  runSession(target: Target, ctx: SessionContext): Promise<SessionOutcome>;
  /** Client-specific calibration kept in meta.json (e.g. process start cost). */
  calibrate?(): Promise<Record<string, unknown>>;
  /** Releases process-wide resources (called once at the end of a run). */
  close?(): void;
}

/**
 * The key type named inside a public key blob given in base64 (an SSH
 * string at its start, e.g. `ssh-ed25519`); undefined when it does not
 * parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostKeyType } from "./seam.ts";
 * const blob = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
 * assert.equal(hostKeyType(blob), "ssh-ed25519");
 * assert.equal(hostKeyType("not base64!"), undefined);
 * ```
 */
export function hostKeyType(base64: string): string | undefined {
  let raw: string;
  try {
    raw = atob(base64);
  } catch {
    return undefined;
  }
  if (raw.length < 5) return undefined;
  const n = ((raw.charCodeAt(0) << 24) | (raw.charCodeAt(1) << 16) |
    (raw.charCodeAt(2) << 8) | raw.charCodeAt(3)) >>> 0;
  if (n < 1 || n > 64 || raw.length < 4 + n) return undefined;
  const type = raw.slice(4, 4 + n);
  return /^[A-Za-z0-9@._-]+$/.test(type) ? type : undefined;
}

/**
 * The host-key (signature) algorithms that verify a key of `keyType`, in
 * OpenSSH's order: an RSA key signs with rsa-sha2-512, rsa-sha2-256 or
 * ssh-rsa; every other type is its own algorithm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostKeyAlgorithmsFor } from "./seam.ts";
 * assert.deepEqual(hostKeyAlgorithmsFor("ssh-ed25519"), ["ssh-ed25519"]);
 * assert.deepEqual(hostKeyAlgorithmsFor("ssh-rsa"), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
 * ```
 */
export function hostKeyAlgorithmsFor(keyType: string): string[] {
  return keyType === "ssh-rsa"
    ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
    : [keyType];
}

/**
 * A client's host-key algorithm list with those that verify the known key
 * (`hostKeyBase64`) moved to the front, as OpenSSH orders its offer for a
 * host it knows; undefined when nothing moves (no known key, or its
 * algorithms already lead), so that the client's default stays untouched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { preferKnownHostKey } from "./seam.ts";
 * const ed = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
 * const list = ["ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"];
 * assert.deepEqual(preferKnownHostKey(list, ed), ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]);
 * assert.equal(preferKnownHostKey(["ssh-ed25519", "ssh-rsa"], ed), undefined);
 * assert.equal(preferKnownHostKey(list, undefined), undefined);
 * ```
 */
export function preferKnownHostKey(
  list: readonly string[],
  hostKeyBase64: string | undefined,
): string[] | undefined {
  const type = hostKeyBase64 && hostKeyType(hostKeyBase64);
  if (!type) return undefined;
  const first = hostKeyAlgorithmsFor(type).filter((a) => list.includes(a));
  if (first.length === 0) return undefined;
  if (first.every((a, i) => list[i] === a)) return undefined;
  return [...first, ...list.filter((a) => !first.includes(a))];
}
