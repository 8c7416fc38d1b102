/**
 * A client in a worker process of its own, driven through the worker
 * protocol (`protocol.ts`). The worker's CPU and RSS are its own (it
 * reports getrusage of itself and its children after each round). A worker
 * that crashes, hangs past the session timeout plus a grace period, or
 * prints a line that is not protocol never hangs the run: the round's
 * missing sessions become failed rows naming the reason, the worker is
 * killed, and a new one is started for the next round.
 *
 * @module
 */
import {
  MIN_PROTOCOL,
  parseWorkerLine,
  PROTOCOL_VERSION,
  type RoundDone,
  type RoundRequest,
  type SessionReport,
  unreported,
  type WorkerMessage,
} from "./protocol.ts";
import type { ClientRunner, RoundResult, RoundSpec } from "./runner.ts";
import type { Status } from "./seam.ts";
import { cgroupName, CpuCgroup } from "../util/cpu_cgroup.ts";
import { textLines } from "../util/text_lines.ts";
import { descendants, which } from "../util/proc.ts";
import { killPids, type Owner, ownerAlive, ownerOf } from "../util/owner.ts";
import { removeDeadDirs } from "../util/owned_dirs.ts";
import { onExit, sleepSync } from "../util/exit_hooks.ts";
import { faultOf } from "./round_fault.ts";

/** Time a worker gets beyond the session timeout to finish a round, ms. */
export const WORKER_GRACE_MS = 5000;
/** Time a worker gets to say hello, ms. */
const HELLO_TIMEOUT_MS = 30_000;
/** Exit code by which a worker says its library is missing. */
export const MISSING_LIBRARY_EXIT = 3;

/** Lines from a child's stdout, one at a time, with a deadline. */
class LineQueue {
  #lines: string[] = [];
  #waiter?: () => void;
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    (async () => {
      // A killed process ends its lines as its exit would.
      for await (const line of textLines(stream)) {
        if (line.trim() !== "") this.#push(line);
      }
      this.#ended = true;
      this.#waiter?.();
    })();
  }

  #push(line: string): void {
    this.#lines.push(line);
    this.#waiter?.();
  }

  /** The next line; "eof" when the stream ended, "deadline" when late. */
  async next(deadline: number): Promise<string | "eof" | "deadline"> {
    while (this.#lines.length === 0) {
      if (this.#ended) return "eof";
      const left = deadline - performance.now();
      if (left <= 0) return "deadline";
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#waiter = undefined;
    }
    return this.#lines.shift()!;
  }
}

/** Where a worker's stderr goes: a file once the run folder exists. */
export interface StderrSink {
  (text: string): void;
}

/** A running worker process. */
interface Live {
  child: Deno.ChildProcess;
  lines: LineQueue;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  /** Cumulative CPU at the previous round_done (or the baseline). */
  cpu: number;
  version: string;
  /** Protocol version of its hello. */
  protocol?: number;
  /** The worker as the owner of its temp folders (connection masters'). */
  owner?: Owner;
}

/**
 * A client whose sessions run in a worker process.
 *
 * @example
 * ```ts ignore
 * import { WorkerRunner } from "./worker_process.ts";
 * const w = await WorkerRunner.start("paramiko", ["/usr/bin/python3", "paramiko_worker.py"]);
 * if (typeof w !== "string") console.log(w.version());
 * ```
 */
export class WorkerRunner implements ClientRunner {
  readonly isolated = true;
  readonly name: string;
  readonly #argv: string[];
  #live?: Live;
  #version = "unknown";
  #stderr: StderrSink;
  /** Restarts after a failed round, for meta.json. */
  restarts = 0;
  /** Client-specific calibration measured outside the worker, if any. */
  calibrate?: () => Promise<Record<string, unknown>>;
  /** The worker's cgroup (root only): its whole tree's CPU, any moment. */
  #cgroup?: CpuCgroup;
  /** Every worker process started so far (owners of their temp folders). */
  #owners: Owner[] = [];
  /** Removes the exit hook (see {@linkcode close}). */
  #offExit?: () => void;
  static #count = 0;

  private constructor(name: string, argv: string[], stderr: StderrSink) {
    this.name = name;
    this.#argv = argv;
    this.#stderr = stderr;
  }

  /**
   * Starts the worker and waits for its hello. Returns a one-line notice
   * instead when it cannot run (missing interpreter or library).
   */
  static async start(
    name: string,
    argv: string[],
    stderr: StderrSink = () => {},
  ): Promise<WorkerRunner | string> {
    const w = new WorkerRunner(name, argv, stderr);
    const err = await w.#spawn();
    return err ?? w;
  }

  version(): string {
    return this.#version;
  }

  /**
   * Process id of the worker serving rounds now; undefined after a failed
   * round, until the next round starts a new one.
   */
  get pid(): number | undefined {
    return this.#live?.child.pid;
  }

  /** Present when the worker runs in a cgroup (see ClientRunner.cpuNow). */
  get cpuNow(): (() => number) | undefined {
    const cg = this.#cgroup;
    // Plus the ssh-agent CPU of this client's rounds so far (signing).
    return cg ? () => cg.usageMs() + this.#agentMs : undefined;
  }

  /** ssh-agent CPU over this client's rounds so far, ms. */
  #agentMs = 0;

  /** Spawns the worker and reads its hello and baseline; a notice on failure. */
  async #spawn(): Promise<string | undefined> {
    let child: Deno.ChildProcess;
    try {
      const argv = withParentDeath(this.#argv);
      child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      return `cannot start ${this.#argv[0]} (${(e as Error).message})`;
    }
    // (setpriv execs the worker: the pid and start time are the worker's.)
    const owner = ownerOf(child.pid);
    this.#cgroup ??= CpuCgroup.create(
      cgroupName(`worker-${this.name}-${WorkerRunner.#count++}`),
    );
    try {
      this.#cgroup?.add(child.pid);
    } catch {
      // the worker's own getrusage reports stay the measure
      this.#cgroup = undefined;
    }
    const errText: string[] = [];
    this.#pumpStderr(child.stderr, errText);
    if (owner) this.#owners.push(owner);
    // A forced exit (a second Ctrl-C) skips close(): the worker, what it
    // started (ssh clients, connection masters), its cgroup and its
    // folders go then.
    this.#offExit ??= onExit(() => this.#exitNow());
    const live: Live = {
      child,
      lines: new LineQueue(child.stdout),
      stdin: child.stdin.getWriter(),
      cpu: 0,
      version: "unknown",
      owner,
    };
    const hello = await this.#read(live, performance.now() + HELLO_TIMEOUT_MS);
    if (typeof hello === "string" || hello.type !== "hello") {
      await this.#kill(live);
      const status = await child.status;
      const last = errText.join("").trim().split("\n").at(-1) ?? "";
      return status.code === MISSING_LIBRARY_EXIT
        ? last || "its library is missing"
        : `the worker did not start (${
          typeof hello === "string" ? hello : "no hello"
        }${last ? `: ${last}` : ""})`;
    }
    if (
      !(hello.protocol >= MIN_PROTOCOL && hello.protocol <= PROTOCOL_VERSION)
    ) {
      await this.#kill(live);
      return `the worker speaks protocol ${hello.protocol}, not ${MIN_PROTOCOL} to ${PROTOCOL_VERSION}`;
    }
    live.version = hello.version;
    live.protocol = hello.protocol;
    this.#version = hello.version;
    this.#live = live;
    // A round of 0 sessions: the worker's start-up cost as the baseline.
    const base = await this.#exchange(live, {
      round: 0,
      sessions: 0,
      target: { host: "", port: 0, user: "", identityFile: "", command: "" },
      commandsPerSession: 1,
      timeoutMs: HELLO_TIMEOUT_MS,
    });
    if (!base.done) {
      await this.#kill(live);
      this.#live = undefined;
      return `the worker failed its first empty round (${base.failure})`;
    }
    return undefined;
  }

  #pumpStderr(stream: ReadableStream<Uint8Array>, keep: string[]): void {
    (async () => {
      const dec = new TextDecoder();
      try {
        for await (const chunk of stream) {
          const text = dec.decode(chunk, { stream: true });
          if (keep.length < 64) keep.push(text);
          this.#stderr(text);
        }
      } catch {
        // killed
      }
    })();
  }

  /** Sends where stderr goes from now on. */
  setStderr(sink: StderrSink): void {
    this.#stderr = sink;
  }

  async #read(
    live: Live,
    deadline: number,
  ): Promise<WorkerMessage | string> {
    const line = await live.lines.next(deadline);
    if (line === "eof") {
      const s = await live.child.status;
      return `the worker exited (code ${s.code}${
        s.signal ? `, ${s.signal}` : ""
      })`;
    }
    if (line === "deadline") return "the worker did not finish in time";
    try {
      return parseWorkerLine(line);
    } catch (e) {
      return `the worker printed a malformed line (${(e as Error).message})`;
    }
  }

  /** Sends a request and collects its sessions and round_done. */
  async #exchange(
    live: Live,
    spec: RoundSpec,
  ): Promise<
    { sessions: SessionReport[]; done?: RoundDone; failure?: string }
  > {
    const t = spec.target;
    const fleet = spec.targets && spec.targets.length > 1
      ? spec.targets
      : undefined;
    if (fleet && (live.protocol ?? 1) < 2) {
      return {
        sessions: [],
        failure:
          `the worker speaks protocol ${live.protocol}: a round over several hosts needs protocol 2 (RoundRequest.hosts)`,
      };
    }
    const req: RoundRequest = {
      type: "round",
      round: spec.round,
      sessions: spec.sessions,
      host: t.host,
      port: t.port,
      user: t.user,
      identity_file: t.identityFile,
      public_key_file: t.publicKeyFile ?? `${t.identityFile}.pub`,
      host_key_policy: t.knownHostsFile ? "known_hosts" : "any",
      known_hosts_file: t.knownHostsFile ?? null,
      command: t.command,
      commands_per_session: spec.commandsPerSession,
      timeout_ms: spec.timeoutMs,
      algorithms: t.algorithms ?? null,
      auth: t.agentSocket
        ? { kind: "agent", agent_socket: t.agentSocket }
        : { kind: "key", agent_socket: null },
      ...(fleet && {
        hosts: fleet.map((h) => ({
          host: h.host,
          port: h.port,
          user: h.user,
          identity_file: h.identityFile,
          public_key_file: h.publicKeyFile ?? `${h.identityFile}.pub`,
          known_hosts_file: h.knownHostsFile ?? null,
        })),
      }),
    };
    const sessions: SessionReport[] = [];
    try {
      await live.stdin.write(
        new TextEncoder().encode(JSON.stringify(req) + "\n"),
      );
    } catch (e) {
      return {
        sessions,
        failure: `cannot write to the worker (${(e as Error).message})`,
      };
    }
    const deadline = performance.now() + spec.timeoutMs + WORKER_GRACE_MS;
    for (;;) {
      const m = await this.#read(live, deadline);
      if (typeof m === "string") return { sessions, failure: m };
      if (m.type === "session" && m.round === spec.round) {
        sessions.push(m);
        spec.onSession?.();
      } else if (m.type === "round_done" && m.round === spec.round) {
        return { sessions, done: m };
      }
    }
  }

  /**
   * Kills the worker and everything it started (its ssh clients and
   * connection masters would otherwise live on, orphaned), and removes
   * the temp folders it left.
   */
  async #kill(live: Live): Promise<void> {
    const tree = descendants(live.child.pid);
    try {
      live.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    killPids(tree);
    await live.child.status;
    await this.#reap(live);
  }

  /** After the worker exited: what is left of its tree, and its folders. */
  async #reap(live: Live): Promise<void> {
    // Orphans still in its cgroup (the cgroup itself stays for a restart).
    for (let i = 0; i < 100; i++) {
      const left = this.#cgroup?.pids() ?? [];
      if (left.length === 0) break;
      killPids(left);
      await new Promise((r) => setTimeout(r, 10));
    }
    if (live.owner) removeDeadDirs({ owner: live.owner });
  }

  /** The exit hook: everything {@linkcode close} would stop, at once. */
  #exitNow(): void {
    const live = this.#live;
    if (live) killPids([live.child.pid, ...descendants(live.child.pid)]);
    this.#cgroup?.killAndRemoveSync();
    // Their folders can go once the workers are dead (zombies included).
    const deadline = performance.now() + 1000;
    while (
      this.#owners.some((o) => ownerAlive(o)) && performance.now() < deadline
    ) sleepSync(10);
    for (const owner of this.#owners) removeDeadDirs({ owner });
  }

  async runRound(spec: RoundSpec): Promise<RoundResult | undefined> {
    if (!this.#live) {
      const err = await this.#spawn();
      if (err) return this.#failedRound(spec, performance.now(), err);
      this.restarts++;
    }
    const live = this.#live!;
    const agent0 = pidCpuMs(spec.target.agentPid);
    const t0 = performance.now();
    const abort = () => this.#kill(live);
    spec.signal?.addEventListener("abort", abort);
    const r = await this.#exchange(live, spec).finally(() =>
      spec.signal?.removeEventListener("abort", abort)
    );
    const fault = faultOf(spec.signal);
    if (fault) {
      // The place failed under the round (e.g. its link died): the worker
      // was killed; the round's rows stay, failed, naming the cause.
      this.#live = undefined;
      return this.#failedRound(spec, t0, fault.message, r.sessions, "");
    }
    if (spec.signal?.aborted) {
      this.#live = undefined;
      return undefined;
    }
    if (!r.done) {
      await this.#kill(live);
      this.#live = undefined;
      return this.#failedRound(spec, t0, r.failure!, r.sessions);
    }
    const cpu = r.done.cpu_ms.self + r.done.cpu_ms.children;
    // Signing in an agent is the client's work: the agent's CPU over the
    // round (0 without one) is added.
    const agentDelta = pidCpuMs(spec.target.agentPid) - agent0;
    const agentMs = Number.isFinite(agentDelta) ? agentDelta : 0;
    this.#agentMs += agentMs;
    const cpuMs = cpu - live.cpu + agentMs;
    live.cpu = cpu;
    return {
      startedAt: t0,
      sessions: complete(spec, r.sessions, "", "read_error", 0),
      cpuMs,
      rssMb: r.done.rss_mb,
    };
  }

  #failedRound(
    spec: RoundSpec,
    t0: number,
    why: string,
    got: SessionReport[] = [],
    prefix = "worker: ",
  ): RoundResult {
    const status: Status = /in time/.test(why) ? "timeout" : "read_error";
    return {
      startedAt: t0,
      sessions: complete(
        spec,
        got,
        why,
        status,
        performance.now() - t0,
        prefix,
      ),
      cpuMs: NaN,
      rssMb: NaN,
    };
  }

  async close(): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    if (live) {
      try {
        await live.stdin.close();
      } catch {
        // already closed
      }
      const t = setTimeout(() => this.#kill(live), 3000);
      await live.child.status;
      clearTimeout(t);
      await this.#reap(live);
    }
    await this.#cgroup?.killAndRemove(2000);
    this.#offExit?.();
    this.#offExit = undefined;
  }
}

/**
 * The round's reports by session number; a session the worker never
 * reported becomes a failed report naming why.
 */
function complete(
  spec: RoundSpec,
  got: SessionReport[],
  why: string,
  status: Status,
  endMs: number,
  prefix = "worker: ",
): SessionReport[] {
  const by = new Map(got.map((s) => [s.session, s]));
  return Array.from({ length: spec.sessions }, (_, i) =>
    by.get(i + 1) ??
      unreported(
        spec.round,
        i + 1,
        endMs,
        status,
        `${prefix}${why || "no report for this session"}`,
      ));
}

/**
 * CPU of process `pid` so far, ms: /proc/PID/schedstat (time on CPU, ns),
 * else /proc/PID/stat's utime + stime (10 ms ticks); 0 without a pid, NaN
 * when neither can be read.
 */
export function pidCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const ns = Number(
      Deno.readTextFileSync(`/proc/${pid}/schedstat`).split(" ")[0],
    );
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {
    // no schedstat: the tick counts
  }
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime), counted from after the command.
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** setpriv (util-linux), for a parent-death signal; undefined where absent. */
const SETPRIV = which("setpriv");

/**
 * `argv` run under `setpriv --pdeathsig TERM`, so a worker dies with the
 * benchmark even when that is SIGKILLed (else it would finish its round,
 * holding its sessions open, up to the timeout). SIGTERM, not SIGKILL: a
 * worker that starts processes of its own (the openssh client's `ssh`
 * per session, its mux clients and masters) catches it and kills them
 * first (`worker_exit.ts`), which costs its sessions nothing (no wrapper
 * per spawn); the Python and Go workers start none and die of it as of
 * SIGKILL. `argv` itself when setpriv is absent or the program cannot be
 * found (spawning it directly then gives the usual "cannot start" notice).
 */
function withParentDeath(argv: readonly string[]): string[] {
  const cmd = argv[0];
  const path = cmd.includes("/") ? cmd : which(cmd);
  let runnable = false;
  try {
    runnable = path !== undefined &&
      ((Deno.statSync(path).mode ?? 0) & 0o111) !== 0;
  } catch {
    // not there
  }
  return SETPRIV && runnable
    ? [SETPRIV, "--pdeathsig", "TERM", "--", ...argv]
    : [...argv];
}
