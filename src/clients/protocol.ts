/**
 * The client worker protocol: how the benchmark drives a client that runs
 * in a process of its own, in any language. JSON, one object per line,
 * UTF-8.
 *
 * The worker is started once per run (and again after a crash). It writes
 * a {@linkcode HelloMessage} first. Then, for each round, the benchmark
 * writes one {@linkcode RoundRequest} to the worker's stdin; the worker
 * starts `sessions` sessions together, writes one {@linkcode SessionReport}
 * per session as each ends (any order), then one {@linkcode RoundDone}.
 * Closing stdin asks the worker to exit. Right after the hello the
 * benchmark sends a round of 0 sessions: the worker answers with its
 * `round_done` at once, and its CPU then is the baseline (start-up and
 * imports are not charged to the first real round).
 *
 * Times: every `*_ms` mark is a millisecond offset on the worker's own
 * monotonic clock from the moment it received the round request (the
 * round start), so the worker never needs the benchmark's clock. A phase
 * not reached is `null`. The marks of one session, in order: `start_ms`,
 * `connect_ms`, `auth_ms`, `exec_ms`, `read_ms`, `close_ms` (the first
 * command's channel closed, the SSH session still open), then the further
 * commands 2..K (their time together is the duration `reexec_ms`, not a
 * mark), then `disconnect_ms` (the connection closed) and `end_ms`. A
 * worker that does not send `disconnect_ms` is accepted (read as null).
 *
 * stdout carries protocol lines only; anything else (a library's own
 * messages, tracebacks) goes to stderr, which the benchmark keeps in the
 * run folder. A line that does not parse, a worker that exits or that has
 * not finished a round within the session timeout plus a grace period:
 * the round's missing sessions become failed rows with the reason, and the
 * worker is restarted for the next round.
 *
 * @module
 */
import type { AlgorithmPins, Negotiated, Status } from "./seam.ts";
import { STATUSES } from "./seam.ts";

/**
 * Protocol version; a worker states the one it speaks in its hello.
 * Version 2 added {@linkcode RoundRequest.hosts} (fleets): a worker of
 * version 1 still runs single-host rounds.
 */
export const PROTOCOL_VERSION = 2;

/** The oldest protocol version the benchmark still speaks. */
export const MIN_PROTOCOL = 1;

/** First line of every worker. */
export interface HelloMessage {
  type: "hello";
  /** Protocol version the worker speaks. */
  protocol: number;
  /** Client name, e.g. `paramiko`. */
  client: string;
  /** Library version, e.g. `2.12.0`. */
  version: string;
}

/** A round to run: `sessions` sessions started together. */
export interface RoundRequest {
  type: "round";
  /** Round number (echoed back). */
  round: number;
  /** Sessions to start together. */
  sessions: number;
  /** Server address. */
  host: string;
  /** Server port. */
  port: number;
  /** Remote account. */
  user: string;
  /** Private key file (OpenSSH format, no passphrase). */
  identity_file: string;
  /** Public key file. */
  public_key_file: string;
  /**
   * Host-key policy: `known_hosts` (check against `known_hosts_file`,
   * refuse an unknown or changed key) or `any` (accept any key).
   */
  host_key_policy: "known_hosts" | "any";
  /** known_hosts file (with `known_hosts` policy). */
  known_hosts_file: string | null;
  /** Remote command. */
  command: string;
  /**
   * Times the command runs on one authenticated connection, one after
   * another, each on a new channel (1: once).
   */
  commands_per_session: number;
  /** Per-session timeout, ms: a session not done by then is a `timeout`. */
  timeout_ms: number;
  /** Algorithms to offer exclusively, when pinned. */
  algorithms: AlgorithmPins | null;
  /**
   * How to authenticate: `key` (the identity file; the default when
   * absent) or `agent` (the keys of the ssh-agent at `agent_socket`).
   */
  auth?: RoundAuth;
  /**
   * A fleet (protocol 2): when present, session n (from 1) goes to
   * `hosts[(n - 1) % hosts.length]`, using that entry's address, account,
   * key and known_hosts file in place of the top-level ones (which equal
   * `hosts[0]`). Absent or one entry: every session goes to the top-level
   * host. Sent only when a run has more than one host.
   */
  hosts?: RoundHost[];
}

/** Where one host of a fleet is, and how to log in to it. */
export interface RoundHost {
  /** Server address. */
  host: string;
  /** Server port. */
  port: number;
  /** Remote account. */
  user: string;
  /** Private key file. */
  identity_file: string;
  /** Public key file. */
  public_key_file: string;
  /** known_hosts file holding this host's key (with `known_hosts` policy). */
  known_hosts_file: string | null;
}

/**
 * The request a session numbered `session` (from 1) runs under: the
 * request itself, or, in a fleet, with its host's entry in place of the
 * top-level address, account and files.
 *
 * @example
 * ```ts
 * import { forSession, type RoundRequest } from "./protocol.ts";
 * import assert from "node:assert/strict";
 * const h = (port: number) => ({ host: "127.0.0.1", port, user: "u",
 *   identity_file: `k${port}`, public_key_file: `k${port}.pub`, known_hosts_file: null });
 * const req = { type: "round", round: 1, sessions: 5, ...h(1), host_key_policy: "any",
 *   command: "true", commands_per_session: 1, timeout_ms: 1000, algorithms: null,
 *   hosts: [h(1), h(2)] } as RoundRequest;
 * assert.deepEqual([1, 2, 3, 4, 5].map((n) => forSession(req, n).port), [1, 2, 1, 2, 1]);
 * assert.equal(forSession(req, 2).identity_file, "k2");
 * assert.equal(forSession({ ...req, hosts: undefined }, 2).port, 1);
 * ```
 */
export function forSession(req: RoundRequest, session: number): RoundRequest {
  const hosts = req.hosts;
  if (!hosts || hosts.length === 0) return req;
  return { ...req, ...hosts[(session - 1) % hosts.length] };
}

/** The auth of a round request. */
export interface RoundAuth {
  kind: "key" | "agent";
  /** ssh-agent socket (with `agent`). */
  agent_socket: string | null;
}

/** One finished session. */
export interface SessionReport {
  type: "session";
  /** Round number. */
  round: number;
  /** Session number within the round, from 1. */
  session: number;
  /** Session start (before the TCP connect), ms from the round start. */
  start_ms: number;
  /** TCP connected. */
  connect_ms: number | null;
  /** Handshake and user auth done. */
  auth_ms: number | null;
  /** First command's channel open and exec accepted. */
  exec_ms: number | null;
  /** First command's stdout read to end of file. */
  read_ms: number | null;
  /**
   * Exit status received and the first command's channel closed; the SSH
   * session is still open.
   */
  close_ms: number | null;
  /**
   * Connection closed after the last command (after `close_ms` and the
   * further commands' `reexec_ms`); null when not reached. Optional on the
   * wire: a worker that does not send it is read as null.
   */
  disconnect_ms?: number | null;
  /** End of the session (success or failure), ms from the round start. */
  end_ms: number;
  /**
   * Time of the further commands (2..K) together, each a new channel,
   * exec, read, exit status and channel close: a duration, not a mark;
   * null when K = 1 or not reached.
   */
  reexec_ms: number | null;
  /** Commands that completed with exit code 0 (0..K; see seam.ts). */
  commands: number;
  /** Stdout bytes read (first command). */
  bytes: number;
  /** Stdout lines read (first command). */
  lines: number;
  /** Remote exit code, null when none was received. */
  exit_code: number | null;
  /** Outcome. */
  status: Status;
  /** Error message, empty when ok. */
  error: string;
  /**
   * An error while tearing down a session whose commands completed
   * (stdout read to end of file, exit status received): the status stays
   * `ok` or `exit_nonzero`. Optional on the wire; absent, null or empty
   * when the teardown went well.
   */
  teardown_error?: string | null;
  /** Negotiated algorithms, when the worker can tell. */
  negotiated?: Negotiated | null;
}

/** The round is over; the worker's own cost so far. */
export interface RoundDone {
  type: "round_done";
  /** Round number. */
  round: number;
  /**
   * CPU of the worker process (user + system, getrusage RUSAGE_SELF) and
   * of its reaped children (RUSAGE_CHILDREN), ms since it started.
   */
  cpu_ms: { self: number; children: number };
  /** Resident set size now, MiB. */
  rss_mb: number;
}

/** Any line a worker writes. */
export type WorkerMessage = HelloMessage | SessionReport | RoundDone;

const isNum = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v);
const isMark = (v: unknown) => v === null || isNum(v);

/**
 * Parses and checks one line from a worker; throws with what is wrong.
 *
 * @example
 * ```ts
 * import { parseWorkerLine } from "./protocol.ts";
 * import assert from "node:assert/strict";
 * const m = parseWorkerLine('{"type":"round_done","round":1,"cpu_ms":{"self":5.2,"children":0},"rss_mb":30}');
 * assert.equal(m.type, "round_done");
 * assert.throws(() => parseWorkerLine("Traceback (most recent call last):"), /not JSON/);
 * assert.throws(() => parseWorkerLine('{"type":"session","round":1}'), /session/);
 * const s = '{"type":"session","round":1,"session":1,"start_ms":0,"connect_ms":1,' +
 *   '"auth_ms":2,"exec_ms":3,"read_ms":4,"close_ms":5,"reexec_ms":null,"end_ms":6,' +
 *   '"commands":1,"bytes":0,"lines":0,"exit_code":0,"status":"ok","error":""';
 * // disconnect_ms is optional: absent reads as null.
 * assert.equal((parseWorkerLine(s + "}") as { disconnect_ms: unknown }).disconnect_ms, null);
 * assert.equal((parseWorkerLine(s + ',"disconnect_ms":6}') as { disconnect_ms: unknown }).disconnect_ms, 6);
 * assert.throws(() => parseWorkerLine(s + ',"disconnect_ms":"6"}'), /session/);
 * // teardown_error is optional too: a string, or null for none.
 * const torn = parseWorkerLine(s + ',"teardown_error":"disconnect: write EPIPE"}');
 * assert.equal((torn as { teardown_error?: string }).teardown_error, "disconnect: write EPIPE");
 * assert.equal(parseWorkerLine(s + ',"teardown_error":null}').type, "session");
 * assert.throws(() => parseWorkerLine(s + ',"teardown_error":1}'), /session/);
 * ```
 */
export function parseWorkerLine(line: string): WorkerMessage {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(line);
  } catch {
    throw new Error(`not JSON: ${line.slice(0, 80)}`);
  }
  if (m === null || typeof m !== "object") {
    throw new Error(`not an object: ${line.slice(0, 80)}`);
  }
  switch (m.type) {
    case "hello":
      if (isNum(m.protocol) && typeof m.client === "string") {
        return m as unknown as HelloMessage;
      }
      break;
    case "session":
      if (
        isNum(m.round) && isNum(m.session) && isNum(m.start_ms) &&
        isNum(m.end_ms) &&
        ["connect_ms", "auth_ms", "exec_ms", "read_ms", "close_ms", "reexec_ms"]
          .every((k) => isMark(m[k])) &&
        (m.disconnect_ms === undefined || isMark(m.disconnect_ms)) &&
        isNum(m.bytes) && isNum(m.lines) && isNum(m.commands) &&
        (m.exit_code === null || isNum(m.exit_code)) &&
        (STATUSES as readonly unknown[]).includes(m.status) &&
        typeof m.error === "string" &&
        (m.teardown_error == null || typeof m.teardown_error === "string")
      ) {
        return {
          ...m,
          disconnect_ms: m.disconnect_ms ?? null,
        } as unknown as SessionReport;
      }
      break;
    case "round_done": {
      const cpu = m.cpu_ms as Record<string, unknown> | undefined;
      if (
        isNum(m.round) && cpu && isNum(cpu.self) && isNum(cpu.children) &&
        isNum(m.rss_mb)
      ) return m as unknown as RoundDone;
      break;
    }
  }
  throw new Error(
    `malformed ${String(m.type ?? "message")} line: ${line.slice(0, 120)}`,
  );
}

/** Whether a round request's `hosts` is absent or a list of host entries. */
function hostsOk(hosts: unknown): boolean {
  if (hosts === undefined || hosts === null) return true;
  return Array.isArray(hosts) &&
    hosts.every((h) =>
      h !== null && typeof h === "object" && typeof h.host === "string" &&
      isNum(h.port) && typeof h.user === "string" &&
      typeof h.identity_file === "string" &&
      typeof h.public_key_file === "string" &&
      (h.known_hosts_file === null || typeof h.known_hosts_file === "string")
    );
}

/**
 * Parses and checks a round request (the worker side of the protocol).
 *
 * @example
 * ```ts
 * import { parseRoundRequest } from "./protocol.ts";
 * import assert from "node:assert/strict";
 * const r = parseRoundRequest(JSON.stringify({ type: "round", round: 2, sessions: 0,
 *   host: "", port: 0, user: "", identity_file: "", public_key_file: "",
 *   host_key_policy: "any", known_hosts_file: null, command: "", commands_per_session: 1,
 *   timeout_ms: 1000, algorithms: null }));
 * assert.equal(r.round, 2);
 * assert.throws(() => parseRoundRequest('{"type":"round"}'), /malformed round request/);
 * // auth is optional: absent reads as the key file.
 * assert.deepEqual(r.auth, { kind: "key", agent_socket: null });
 * const a = parseRoundRequest(JSON.stringify({ ...r, auth: { kind: "agent", agent_socket: "/s" } }));
 * assert.equal(a.auth?.agent_socket, "/s");
 * assert.throws(() => parseRoundRequest(JSON.stringify({ ...r, auth: { kind: "agent" } })), /malformed/);
 * // hosts (a fleet) is optional; when given, every entry must be complete.
 * assert.throws(() => parseRoundRequest(JSON.stringify({ ...r, hosts: [{ host: "h" }] })), /malformed/);
 * ```
 */
export function parseRoundRequest(line: string): RoundRequest {
  const m = JSON.parse(line) as Record<string, unknown>;
  const auth = (m?.auth ?? { kind: "key", agent_socket: null }) as Record<
    string,
    unknown
  >;
  const authOk = (auth.kind === "key" &&
    (auth.agent_socket == null || typeof auth.agent_socket === "string")) ||
    (auth.kind === "agent" && typeof auth.agent_socket === "string");
  if (
    m?.type === "round" && isNum(m.round) && isNum(m.sessions) &&
    typeof m.host === "string" && isNum(m.port) &&
    typeof m.command === "string" && isNum(m.commands_per_session) &&
    isNum(m.timeout_ms) && authOk && hostsOk(m.hosts)
  ) {
    return {
      ...m,
      auth: { kind: auth.kind, agent_socket: auth.agent_socket ?? null },
    } as unknown as RoundRequest;
  }
  throw new Error(`malformed round request: ${line.slice(0, 120)}`);
}

/**
 * The report of a session that reached no phase (its worker never
 * reported it, or the round was cut short): failed with `status` and
 * `error`, ended at `endMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unreported } from "./protocol.ts";
 * const r = unreported(3, 2, 12.5, "read_error", "worker: gone");
 * assert.deepEqual([r.round, r.session, r.end_ms, r.status, r.connect_ms], [3, 2, 12.5, "read_error", null]);
 * ```
 */
export function unreported(
  round: number,
  session: number,
  endMs: number,
  status: Status,
  error: string,
): SessionReport {
  return {
    type: "session",
    round,
    session,
    start_ms: 0,
    connect_ms: null,
    auth_ms: null,
    exec_ms: null,
    read_ms: null,
    close_ms: null,
    end_ms: endMs,
    reexec_ms: null,
    commands: 0,
    bytes: 0,
    lines: 0,
    exit_code: null,
    status,
    error,
  };
}
