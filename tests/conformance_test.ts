/**
 * The worker conformance suite: every registered client (`CLIENT_NAMES`
 * in src/clients/registry.ts, so a client added there is in it at once) runs
 * in a worker process of its own, started by `loadRunners` as a run starts
 * it, through the same cases on a real sshd (and the ok case on the Go
 * server too): an ok session, a non-zero exit, a command that writes
 * megabytes to stderr, a session timeout, a refused key, a changed host
 * key, the server gone mid-round, 3 commands per session, the worker
 * killed mid-round, and hostile host entries handed straight to the
 * runner. Each case checks the rows' status, error (naming the cause),
 * phases reached, counts, the protocol's round_done, and that the runner
 * serves the next round after the faults.
 *
 * The cases are exported ({@linkcode CASES}, {@linkcode runCase},
 * {@linkcode runConformance}) so the meta-test at the end can run one on a
 * worker that breaks the protocol, and check that it fails naming the
 * case. Adding a client is a registry line plus passing this file.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { CLIENT_NAMES, loadRunners } from "../src/clients/mod.ts";
import { WorkerRunner } from "../src/clients/worker_process.ts";
import type { RoundResult } from "../src/clients/runner.ts";
import type { SessionReport } from "../src/clients/protocol.ts";
import {
  PHASES,
  type Status,
  STATUSES,
  type Target,
} from "../src/clients/seam.ts";
import { reportToRow } from "../src/run/sweep.ts";
import type { SessionRow } from "../src/run/schema.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { GoServer } from "../src/server/go_server.ts";
import { descendants } from "../src/util/proc.ts";
import { strangerKey } from "./server_helpers.ts";
import { hostileHosts, hostileUser, markers } from "./hostile.ts";

/** Session timeout of every case but the timeout case, ms. */
const TIMEOUT_MS = 3000;
/** The timeout case's session timeout, ms. */
const SHORT_TIMEOUT_MS = 2000;
/** Sessions per round (started together) in the single-host cases. */
const POOL = 2;

/** The servers and files the cases share (one of each for every client). */
export interface Servers {
  /** The embedded OpenSSH sshd most cases run on. */
  sshd: EmbeddedServer;
  /** The embedded Go server (the benchmark's default), for the ok case. */
  go: GoServer;
  /** A private key neither server accepts (its `.pub` beside it). */
  strangerKey: string;
  /** known_hosts naming the sshd's address with a key it does not have. */
  changedKnownHosts: string;
  /** Scratch folder: those files, the protocol double. */
  dir: string;
}

/** Starts the shared servers and files. */
export async function startServers(): Promise<Servers> {
  const dir = await Deno.makeTempDir({ prefix: "conformance-" });
  const stranger = await strangerKey();
  const sshd = await EmbeddedServer.start({
    maxPool: 10,
    payloadBytes: 26_000,
  });
  let go: GoServer;
  try {
    go = await GoServer.start({ maxPool: 10, payloadBytes: 26_000 });
  } catch (e) {
    await sshd.stop();
    throw e;
  }
  const other = (await Deno.readTextFile(`${stranger.key}.pub`)).split(" ");
  const changedKnownHosts = `${dir}/known_hosts_changed`;
  await Deno.writeTextFile(
    changedKnownHosts,
    `[${sshd.target.host}]:${sshd.target.port} ${other[0]} ${other[1]}\n`,
  );
  // The stranger's key folder is removed with ours.
  await Deno.rename(stranger.dir, `${dir}/stranger`);
  return {
    sshd,
    go,
    strangerKey: `${dir}/stranger/id`,
    changedKnownHosts,
    dir,
  };
}

/** Stops the servers and removes the files. */
export async function stopServers(s: Servers): Promise<void> {
  await Promise.all([s.sshd.stop(), s.go.stop()]);
  await Deno.remove(s.dir, { recursive: true });
}

/**
 * How a client names the causes whose wording is its library's own. Each
 * regex must name the cause, not merely match any error.
 */
export interface Expectation {
  /** The server refused the client's key. */
  refusedKey: RegExp;
  /** The server's host key is not the one known_hosts names. */
  changedHostKey: RegExp;
  /** The server's processes were killed while the command ran. */
  serverGone: RegExp;
  /** The host name does not resolve (a hostile entry, as a name). */
  unresolvable: RegExp;
  /**
   * A user name that would be an option (`-oProxyCommand=...`); absent:
   * the server refuses it as it refuses a key (`auth_error`, `refusedKey`,
   * TCP connected).
   */
  hostileUser?: Pick<RowExpectation, "status" | "error" | "phases">;
}

/** What every client says unless the table below says otherwise. */
export const DEFAULT_EXPECTATION: Expectation = {
  refusedKey: /^auth: .*(denied|refused|authentication failed)/i,
  changedHostKey: /host key/i,
  serverGone:
    /^read: .*(closed|reset|EOF|end of file|lost|disconnected|broken pipe)/i,
  unresolvable: /resolve|not known|ENOTFOUND|getaddrinfo/i,
};

/**
 * Where a client's wording legitimately differs, and why. A client not
 * listed uses {@linkcode DEFAULT_EXPECTATION}.
 */
export const EXPECTATIONS: Record<string, Partial<Expectation>> = {
  ssh2: {
    // ssh2's words once the server refused the one key it was given.
    refusedKey: /^auth: All configured authentication methods failed$/,
    // ssh2's words when hostVerifier refused the server's key.
    changedHostKey: /^auth: Host denied \(verification failed\)$/,
  },
  libssh2: {
    // libssh2_userauth_publickey_fromfile's message for a refused key.
    refusedKey:
      /^auth: Username\/PublicKey combination invalid \(libssh2 error -18\)$/,
    // LIBSSH2_ERROR_SOCKET_RECV: the socket read found the connection gone.
    serverGone: /^read: transport read \(libssh2 error -43\)$/,
  },
  openssh: {
    // OpenSSH (8.9 and later) refuses such a name itself, before any lookup.
    unresolvable: /^connect: hostname contains invalid characters$/,
    // The same for such a user name: refused before connecting.
    hostileUser: {
      status: "connect_error",
      error: /^connect: remote username contains invalid characters$/,
      phases: [],
    },
  },
  paramiko: {
    // Python encodes a name with IDNA before the lookup: a label over 63
    // characters fails there; a shorter one fails the lookup.
    unresolvable:
      /^connect: (UnicodeError: encoding with 'idna' codec failed \(UnicodeError: label too long\)|Name or service not known)$/,
  },
  xcrypto: {
    // x/crypto's own words once every offered method was refused.
    refusedKey:
      /^auth: ssh: unable to authenticate, attempted methods \[none publickey\], no supported methods remain$/,
    // Go's resolver: the name goes to the lookup, which finds no such host.
    unresolvable: /^connect: dial tcp: lookup .+: no such host$/,
  },
  asyncssh: {
    // As paramiko: Python's IDNA encoding, then the lookup.
    unresolvable:
      /^connect: (UnicodeError: encoding with 'idna' codec failed \(UnicodeError: label too long\)|Name or service not known)$/,
  },
};

/** The expectation of `client`: its table entry over the defaults. */
export function expectationOf(client: string): Expectation {
  return { ...DEFAULT_EXPECTATION, ...EXPECTATIONS[client] };
}

/** Everything a case needs. */
export interface CaseContext {
  /** Client name (as in the CSV). */
  client: string;
  /** The client's worker, as a run drives it. */
  runner: WorkerRunner;
  /** Shared servers and files. */
  servers: Servers;
  /** How the client words its errors. */
  expect: Expectation;
  /** Round numbers handed out so far. */
  rounds: number;
  /** The worker's stderr so far (shown when a case fails). */
  stderr?: () => string;
}

/** One case: a name (in every failure message) and its body. */
export interface ConformanceCase {
  name: string;
  /** Throws when the client fails the case (what it resolves to is unused). */
  run(c: CaseContext): Promise<unknown>;
}

/** One round's result, and the rows a run writes of it. */
interface Round {
  result: RoundResult;
  rows: SessionRow[];
}

/** A unique `sleep` for the command of a case, found on the server by it. */
let sleeps = 0;
function uniqueSleep(): string {
  return `sleep 60.${++sleeps}`;
}

/**
 * Runs one round on the client's worker, `during` it (when given) an
 * action such as a kill; the round's reports and its `sessions.csv` rows
 * (as the sweep converts them).
 */
async function round(
  c: CaseContext,
  o: {
    sessions?: number;
    target: Target;
    targets?: Target[];
    k?: number;
    timeoutMs?: number;
    during?: () => Promise<void>;
  },
): Promise<Round> {
  const n = ++c.rounds;
  const sessions = o.sessions ?? o.targets?.length ?? POOL;
  const pending = c.runner.runRound({
    round: n,
    sessions,
    target: o.target,
    targets: o.targets,
    commandsPerSession: o.k ?? 1,
    timeoutMs: o.timeoutMs ?? TIMEOUT_MS,
  });
  await o.during?.();
  const result = await pending;
  assert(result, "the round was abandoned");
  assertEquals(
    result.sessions.map((s) => s.session),
    Array.from({ length: sessions }, (_, i) => i + 1),
    "one report per session, by session number",
  );
  const at = {
    runId: "conformance",
    client: c.client,
    pool: sessions,
    roundStart: 0,
  };
  for (const s of result.sessions) {
    checkReport(s, o.k ?? 1);
    assertEquals(s.round, n, `session ${s.session}: round number`);
  }
  return { result, rows: result.sessions.map((s) => reportToRow(s, at)) };
}

/** The marks of a report in phase order (reexec is a duration, not a mark). */
const MARKS = [
  "connect_ms",
  "auth_ms",
  "exec_ms",
  "read_ms",
  "close_ms",
] as const;

/** What every report must satisfy, whatever the case. */
function checkReport(s: SessionReport, k: number): void {
  const at = `session ${s.session} (${s.status}: ${s.error})`;
  assert((STATUSES as readonly string[]).includes(s.status), `${at}: status`);
  assertEquals(s.error === "", s.status === "ok", `${at}: error empty iff ok`);
  assert(s.start_ms >= 0, `${at}: start_ms ${s.start_ms}`);
  let last = s.start_ms;
  let reached = true;
  for (const m of MARKS) {
    const v = s[m];
    if (v === null) {
      reached = false;
      continue;
    }
    assert(reached, `${at}: ${m} set after a phase not reached`);
    assert(v >= last, `${at}: ${m} ${v} before ${last}`);
    last = v;
  }
  if (s.disconnect_ms != null) {
    assert(s.close_ms !== null, `${at}: disconnect without close`);
    assert(
      s.disconnect_ms >= s.close_ms + (s.reexec_ms ?? 0) - 1e-6,
      `${at}: disconnect_ms ${s.disconnect_ms} before close + reexec`,
    );
    last = s.disconnect_ms;
  }
  if (s.reexec_ms !== null) {
    assert(s.close_ms !== null && s.reexec_ms >= 0, `${at}: reexec_ms`);
  }
  assert(s.end_ms >= last, `${at}: end_ms ${s.end_ms} before ${last}`);
  assert(
    Number.isInteger(s.commands) && s.commands >= 0 && s.commands <= k,
    `${at}: commands ${s.commands} of ${k}`,
  );
  assert(Number.isInteger(s.bytes) && s.bytes >= 0, `${at}: bytes`);
  assert(Number.isInteger(s.lines) && s.lines >= 0, `${at}: lines`);
}

/** The phases a row reached, in order. */
function phasesOf(r: SessionRow): string[] {
  return PHASES.filter((p) => r[`${p}_ms`] !== undefined);
}

/** The phases of a session that ran every command (K > 1 adds reexec). */
function allPhases(k: number): string[] {
  return PHASES.filter((p) => p !== "reexec" || k > 1);
}

/** What one row must be. */
interface RowExpectation {
  status: Status;
  /** Matches the error column; ok rows must have none. */
  error?: RegExp;
  /** Exactly the phases reached. */
  phases: string[];
  bytes?: number;
  lines?: number;
  exitCode?: number;
  commands?: number;
}

function expectRow(r: SessionRow, e: RowExpectation): void {
  const at = `session ${r.session}`;
  const got = `${r.status}${r.error ? ` (${r.error})` : ""}`;
  assertEquals(
    r.status,
    e.status,
    `${at}: status ${got}, expected ${e.status}`,
  );
  if (e.error) assertMatch(r.error, e.error, `${at}: error "${r.error}"`);
  else assertEquals(r.error, "", `${at}: error "${r.error}"`);
  assertEquals(phasesOf(r), e.phases, `${at}: phases reached`);
  if (e.bytes !== undefined) assertEquals(r.bytes, e.bytes, `${at}: bytes`);
  if (e.lines !== undefined) assertEquals(r.lines, e.lines, `${at}: lines`);
  if (e.exitCode !== undefined) {
    assertEquals(r.exit_code, e.exitCode, `${at}: exit code`);
  }
  if (e.commands !== undefined) {
    assertEquals(r.commands, e.commands, `${at}: commands completed`);
  }
}

/** The round's worker answered with its round_done (its CPU is known). */
function assertRoundDone(r: Round): void {
  if (Number.isFinite(r.result.cpuMs)) return;
  // The runner's reason, where it had sessions left to write it in.
  const why = r.rows.find((x) => x.error.startsWith("worker: "));
  assert(
    false,
    `the round ended without its round_done (the worker's CPU is unknown)${
      why ? `; session ${why.session}: status ${why.status} (${why.error})` : ""
    }`,
  );
}

/** The next round is the ok case: the runner still serves rounds. */
async function assertServes(c: CaseContext, what: string): Promise<void> {
  try {
    await okSession(c, c.servers.sshd);
  } catch (e) {
    throw new Error(`${what}, the next round: ${(e as Error).message}`);
  }
}

/**
 * A round whose every row must be `e` (failed rows: nothing read, no
 * command completed), its round_done received.
 */
async function roundOf(
  c: CaseContext,
  o: Parameters<typeof round>[1],
  e: RowExpectation,
): Promise<Round> {
  const r = await round(c, o);
  assertRoundDone(r);
  const failed = e.status !== "ok" && e.status !== "exit_nonzero";
  for (const row of r.rows) {
    expectRow(row, failed ? { bytes: 0, commands: 0, ...e } : e);
  }
  return r;
}

/** The ok case on one server: every phase, the whole payload, exit 0. */
async function okSession(
  c: CaseContext,
  server: EmbeddedServer | GoServer,
  k = 1,
): Promise<Round> {
  const r = await roundOf(c, { target: server.target, k }, {
    status: "ok",
    phases: allPhases(k),
    // bytes and lines are the first command's.
    ...server.payload,
    exitCode: 0,
    commands: k,
  });
  for (const row of r.rows) {
    assertEquals(row.teardown_error, undefined, "no teardown error");
  }
  return r;
}

/** Pids of processes under `pid` whose command line is `argv`. */
function processesRunning(pid: number, argv: string): number[] {
  const want = argv.split(" ").join("\0");
  return descendants(pid).filter((p) => {
    try {
      return Deno.readTextFileSync(`/proc/${p}/cmdline`).replace(/\0$/, "") ===
        want;
    } catch {
      return false;
    }
  });
}

/**
 * Waits until `n` processes under the server run `argv` (every session's
 * command started), then `settleMs` more (the exec reply reaches the
 * client); throws after `timeoutMs`.
 */
async function commandsStarted(
  serverPid: number,
  argv: string,
  n: number,
  settleMs = 500,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (processesRunning(serverPid, argv).length < n) {
    if (performance.now() > deadline) {
      throw new Error(`the server never ran ${n} × ${argv}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => setTimeout(r, settleMs));
}

function kill(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** The cases, in the order they run. */
export const CASES: readonly ConformanceCase[] = [
  {
    name: "ok session",
    run: (c) => okSession(c, c.servers.sshd),
  },
  {
    name: "ok session on the Go server",
    run: (c) => okSession(c, c.servers.go),
  },
  {
    name: "non-zero exit",
    run: (c) =>
      roundOf(c, {
        // Three lines, the last without a newline, then exit 3.
        target: {
          ...c.servers.sshd.target,
          command: "printf 'a\\nbb\\nccc'; exit 3",
        },
      }, {
        status: "exit_nonzero",
        error: /^exit code 3$/,
        // A nonzero first command still closes and disconnects.
        phases: allPhases(1),
        bytes: 8,
        lines: 3,
        exitCode: 3,
        commands: 0,
      }),
  },
  {
    name: "command writing to stderr",
    run: (c) =>
      roundOf(c, {
        // 3 MB of stderr, more than any channel window: a client must
        // drain it (and not count it) to read the stdout after it.
        target: {
          ...c.servers.sshd.target,
          command: "echo out; head -c 3000000 /dev/zero >&2; echo put",
        },
      }, {
        status: "ok",
        phases: allPhases(1),
        bytes: 8,
        lines: 2,
        exitCode: 0,
        commands: 1,
      }),
  },
  {
    name: "session timeout",
    async run(c) {
      const r = await roundOf(c, {
        target: { ...c.servers.sshd.target, command: uniqueSleep() },
        timeoutMs: SHORT_TIMEOUT_MS,
      }, {
        status: "timeout",
        error: /^timed out during read$/,
        phases: ["connect", "auth", "exec"],
      });
      for (const row of r.rows) {
        // Not before the timeout (the timer's granularity aside).
        assert(row.total_ms >= SHORT_TIMEOUT_MS - 5, `total ${row.total_ms}`);
      }
    },
  },
  {
    name: "refused key",
    run: (c) =>
      roundOf(c, {
        target: {
          ...c.servers.sshd.target,
          identityFile: c.servers.strangerKey,
          publicKeyFile: `${c.servers.strangerKey}.pub`,
        },
      }, {
        status: "auth_error",
        error: c.expect.refusedKey,
        phases: ["connect"],
      }),
  },
  {
    name: "changed host key",
    run: (c) =>
      roundOf(c, {
        target: {
          ...c.servers.sshd.target,
          knownHostsFile: c.servers.changedKnownHosts,
          hostKeyBase64: undefined,
        },
      }, {
        status: "connect_error",
        error: c.expect.changedHostKey,
        // TCP connected; the handshake stopped at the key.
        phases: ["connect"],
      }),
  },
  {
    name: "server gone mid-round",
    async run(c) {
      // A server of its own, killed (listener, connections, commands)
      // while every session's command runs.
      const doomed = await EmbeddedServer.start({
        maxPool: POOL,
        payloadBytes: 100,
      });
      try {
        const sleep = uniqueSleep();
        const restarts = c.runner.restarts;
        await roundOf(c, {
          target: { ...doomed.target, command: sleep },
          during: async () => {
            await commandsStarted(doomed.pid, sleep, POOL);
            for (const p of [doomed.pid, ...descendants(doomed.pid)]) kill(p);
          },
        }, {
          status: "read_error",
          error: c.expect.serverGone,
          phases: ["connect", "auth", "exec"],
        });
        assertEquals(c.runner.restarts, restarts, "the worker did not crash");
      } finally {
        await doomed.stop();
      }
      await assertServes(c, "after the server went");
    },
  },
  {
    name: "3 commands per session",
    async run(c) {
      const r = await okSession(c, c.servers.sshd, 3);
      for (const row of r.rows) {
        assert(row.reexec_ms! > 0, `session ${row.session}: reexec_ms`);
      }
    },
  },
  {
    name: "worker killed mid-round",
    async run(c) {
      const sleep = uniqueSleep();
      const restarts = c.runner.restarts;
      const pid = c.runner.pid;
      assert(pid !== undefined, "a live worker");
      const r = await round(c, {
        target: { ...c.servers.sshd.target, command: sleep },
        during: async () => {
          await commandsStarted(c.servers.sshd.pid, sleep, POOL);
          kill(pid);
        },
      });
      for (const row of r.rows) {
        // The runner's own rows: nothing was reported before the kill.
        expectRow(row, {
          status: "read_error",
          error: /^worker: the worker exited \(code \d+, SIGKILL\)$/,
          phases: [],
          bytes: 0,
          commands: 0,
        });
      }
      await assertServes(c, "after the worker was killed");
      assertEquals(c.runner.restarts, restarts + 1, "one new worker");
    },
  },
  {
    name: "hostile hosts",
    async run(c) {
      const base = c.servers.sshd.target;
      const tag = `conformance-${c.client}`;
      const targets: Target[] = hostileHosts(tag).map((host) => ({
        ...base,
        host,
      }));
      // A hostile user goes to the real server: refused there as a user.
      targets.push({ ...base, user: hostileUser(tag) });
      // K = 2 too: openssh then goes through a connection master.
      for (const k of [1, 2]) {
        const r = await round(c, { target: targets[0], targets, k });
        assertRoundDone(r);
        // The worker, and what it spawns, runs in this process's folder.
        assertEquals(
          markers([Deno.cwd()]),
          [],
          `K = ${k}: a hostile entry ran`,
        );
        const user = r.rows.pop()!;
        for (const row of r.rows) {
          expectRow(row, {
            status: "connect_error",
            error: c.expect.unresolvable,
            phases: [],
            bytes: 0,
            commands: 0,
          });
        }
        expectRow(user, {
          ...c.expect.hostileUser ?? {
            status: "auth_error",
            error: c.expect.refusedKey,
            phases: ["connect"],
          },
          bytes: 0,
          commands: 0,
        });
      }
    },
  },
];

/** A case by name (throws for an unknown one). */
export function caseNamed(name: string): ConformanceCase {
  const c = CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no conformance case named "${name}"`);
  return c;
}

/** Runs one case; a failure names the case and the client. */
export async function runCase(
  k: ConformanceCase,
  c: CaseContext,
): Promise<void> {
  try {
    await k.run(c);
  } catch (e) {
    const tail = c.stderr?.().trim().split("\n").slice(-5).join("\n");
    throw new Error(
      `conformance case "${k.name}" failed for client ${c.client}: ${
        (e as Error).message
      }${tail ? `\nworker stderr (last lines):\n${tail}` : ""}`,
      { cause: e },
    );
  }
}

/**
 * Runs every case (or `o.cases`) on a worker from `factory`, each as a
 * test step when `o.step` is given; throws after the last naming every
 * case that failed.
 */
export async function runConformance(
  client: string,
  factory: () => Promise<WorkerRunner>,
  servers: Servers,
  o: {
    cases?: readonly ConformanceCase[];
    step?: (name: string, f: () => Promise<void>) => Promise<boolean>;
    stderr?: () => string;
  } = {},
): Promise<void> {
  const runner = await factory();
  const c: CaseContext = {
    client,
    runner,
    servers,
    expect: expectationOf(client),
    rounds: 0,
    stderr: o.stderr,
  };
  const failed: string[] = [];
  try {
    for (const k of o.cases ?? CASES) {
      if (o.step) {
        if (!await o.step(k.name, () => runCase(k, c))) failed.push(k.name);
      } else {
        try {
          await runCase(k, c);
        } catch (e) {
          failed.push((e as Error).message);
        }
      }
    }
  } finally {
    await runner.close();
  }
  if (failed.length > 0) {
    throw new Error(
      `client ${client} failed ${failed.length} conformance case(s):\n${
        failed.join("\n")
      }`,
    );
  }
}

/** The worker of a registered client, started as a run starts it. */
async function registeredWorker(
  name: string,
  stderr: (t: string) => void,
): Promise<WorkerRunner> {
  const [r] = await loadRunners([name], () => {}, { stderr: () => stderr });
  assert(r instanceof WorkerRunner, `${name} runs in a worker process`);
  return r;
}

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "conformance: every registered client through every case",
  ...opts,
}, async (t) => {
  assert(!CLIENT_NAMES.some((n) => ["null", "ssh2-nagle"].includes(n)));
  const servers = await startServers();
  try {
    for (const name of CLIENT_NAMES) {
      await t.step(name, async (t) => {
        let err = "";
        await runConformance(
          name,
          () => registeredWorker(name, (text) => err += text),
          servers,
          {
            step: (n, f) => t.step(n, f),
            stderr: () => err,
          },
        );
      });
    }
  } finally {
    await stopServers(servers);
  }
});

/**
 * A worker that breaks the protocol one way (`mode`): it wraps the real
 * ssh2 worker, passing its lines through except that `wrong-status`
 * reports a non-zero exit as ok, `no-round-done` drops every round's
 * round_done, `garbage` prints a line that is not protocol before a
 * round's first session line, `garbage-late` one before its round_done
 * (every session reported already); `faithful` changes nothing (the
 * control).
 */
const DOUBLE = `
const [mode, ...inner] = Deno.args;
const child = new Deno.Command(inner[0], {
  args: inner.slice(1), stdin: "piped", stdout: "piped", stderr: "inherit",
}).spawn();
const enc = new TextEncoder();
const dec = new TextDecoder();
const out = (line) => {
  const b = enc.encode(line + "\\n");
  for (let o = 0; o < b.length;) o += Deno.stdout.writeSync(b.subarray(o));
};
(async () => {
  const w = child.stdin.getWriter();
  for await (const chunk of Deno.stdin.readable) await w.write(chunk);
  await w.close();
})();
const noisy = new Set();
function transform(m) {
  if (m.type === "session" && mode === "wrong-status" && m.status === "exit_nonzero") {
    return [JSON.stringify({ ...m, status: "ok", error: "" })];
  }
  if (m.type === "session" && mode === "garbage" && !noisy.has(m.round)) {
    noisy.add(m.round);
    return ["Traceback (most recent call last):", JSON.stringify(m)];
  }
  if (m.type === "round_done" && m.round > 0) {
    if (mode === "no-round-done") return [];
    if (mode === "garbage-late") return ["Traceback (most recent call last):", JSON.stringify(m)];
  }
  return [JSON.stringify(m)];
}
let buf = "";
for await (const chunk of child.stdout) {
  buf += dec.decode(chunk, { stream: true });
  for (let i; (i = buf.indexOf("\\n")) !== -1;) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    for (const l of transform(JSON.parse(line))) out(l);
  }
}
Deno.exit((await child.status).code);
`;

Deno.test({
  name:
    "conformance: a worker that breaks the protocol fails the suite, naming the case",
  ...opts,
}, async (t) => {
  const servers = await startServers();
  const file = `${servers.dir}/double.js`;
  await Deno.writeTextFile(file, DOUBLE);
  const here = (p: string) => new URL(p, import.meta.url).pathname;
  const inner = [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    "--config",
    here("../deno.json"),
    here("../src/clients/deno_worker.ts"),
    "ssh2",
  ];
  /** The case `name` on the double in `mode`: its error, or undefined. */
  const runOn = async (mode: string, name: string) => {
    const factory = async () => {
      const r = await WorkerRunner.start(`double-${mode}`, [
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        file,
        mode,
        ...inner,
      ]);
      assert(typeof r !== "string", String(r));
      return r;
    };
    try {
      await runConformance(`double-${mode}`, factory, servers, {
        cases: [caseNamed(name)],
      });
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  };
  try {
    await t.step("faithful (the control): passes", async () => {
      assertEquals(await runOn("faithful", "ok session"), undefined);
      assertEquals(await runOn("faithful", "non-zero exit"), undefined);
    });
    await t.step("a wrong status in a session row", async () => {
      const e = await runOn("wrong-status", "non-zero exit");
      assert(e, "the case passed");
      assertMatch(e, /^conformance case "non-zero exit" failed/m);
      assertMatch(e, /status ok, expected exit_nonzero/);
    });
    await t.step("no round_done", async () => {
      const e = await runOn("no-round-done", "ok session");
      assert(e, "the case passed");
      assertMatch(e, /^conformance case "ok session" failed/m);
      assertMatch(e, /without its round_done/);
    });
    await t.step("a line that is not protocol", async () => {
      const e = await runOn("garbage", "ok session");
      assert(e, "the case passed");
      assertMatch(e, /^conformance case "ok session" failed/m);
      assertMatch(
        e,
        /status read_error \(worker: the worker printed a malformed line \(not JSON: Traceback/,
      );
    });
    await t.step(
      "a line that is not protocol, after every session line",
      async () => {
        const e = await runOn("garbage-late", "ok session");
        assert(e, "the case passed");
        assertMatch(e, /^conformance case "ok session" failed/m);
        assertMatch(e, /without its round_done/);
      },
    );
  } finally {
    await stopServers(servers);
  }
});
