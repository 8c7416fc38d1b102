/**
 * An emulated network link with a round-trip time: a network namespace for
 * the server, reached from the root namespace through two TUN devices and
 * the forwarder process between them (`src/net/forwarder.c`), which holds
 * every IP packet for RTT/2 in each direction and keeps their order.
 * Delay acts on packets, so TCP's own timing (handshake, Nagle, delayed
 * ACKs) plays out as on a real network.
 *
 * Needs root (namespaces, TUN devices). Everything is removed by
 * {@linkcode EmulatedLink.stop}; on `Deno.exit` and normal exit by an
 * exit hook (`util/exit_hooks.ts`); when the owner is killed, the
 * forwarder dies with it (end of its stdin, and PR_SET_PDEATHSIG), taking
 * the devices along, and the next run's start (`run/stale.ts`), the next
 * {@linkcode EmulatedLink.start} or {@linkcode cleanupStale} removes the
 * namespace and whatever still runs in it. A forwarder that dies while
 * the link is in use resolves {@linkcode EmulatedLink.died} at once, with
 * what happened.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import { procCpuMs, run, which } from "../util/proc.ts";
import { onExit } from "../util/exit_hooks.ts";
import { ensureForwarder } from "./forwarder_build.ts";
import {
  cleanupStale,
  deleteNamespace,
  deviceName,
  killNamespacePids,
  linkDevices,
  linkName,
  MAX_SLOT,
  NETNS_DIR,
  processStart,
  removeLinkSync,
  usedSlots,
} from "./netns.ts";

/** Options for {@linkcode EmulatedLink.start}. */
export interface LinkOptions {
  /** Round-trip time to add, ms; each direction holds packets rttMs / 2. */
  rttMs: number;
  /** Share of packets dropped at random, per direction, in percent. */
  lossPct?: number;
  /** Rate limit per direction (the kernel's `tbf` on each device), Mbit/s. */
  rateMbit?: number;
  /** MTU of both devices (default 1500, as on an Ethernet path). */
  mtu?: number;
  /**
   * Packets the forwarder holds per direction (power of two; default
   * 65536), within 32 MB of packet bytes per direction; beyond either, a
   * packet is dropped and counted as `overflow`.
   */
  queuePackets?: number;
  /** Kernel queue of each device, packets (default 10000; Linux: 500). */
  txQueueLen?: number;
  /**
   * Run the forwarder at real-time priority (SCHED_FIFO 10) so that busy
   * clients and servers on the same cores do not delay its timer (default
   * true; falls back silently where not permitted, see `realtime`).
   */
  realtime?: boolean;
  /**
   * What the link is called in messages (default `RTT ms link`), e.g.
   * `--rtt 20 link`: "the packet forwarder of the --rtt 20 link (pid N)
   * was killed by SIGKILL".
   */
  name?: string;
}

/** Delay achieved in one direction, or both together. */
export interface DelayStats {
  /** Packets forwarded. */
  count: number;
  /** Their bytes. */
  bytes: number;
  /** Median time a packet was held, ms. */
  p50Ms: number;
  /** 99th percentile of that time, ms. */
  p99Ms: number;
  /** Shortest hold, ms. */
  minMs: number;
  /** Longest hold, ms. */
  maxMs: number;
  /** Packets dropped on purpose (`lossPct`). */
  lost: number;
  /** Packets dropped because the forwarder's queue was full. */
  overflow: number;
  /** Packets dropped by the kernel before the forwarder read them. */
  kernelDrops: number;
  /** Packets the forwarder could not write to the other device. */
  writeErrors: number;
  /** All drops: lost + overflow + kernelDrops + writeErrors. */
  drops: number;
  /** Most packets held at once. */
  peakQueue: number;
}

/**
 * What {@linkcode EmulatedLink.achieved} returns. The delays are one-way
 * hold times per packet, from the forwarder reading a packet to its writing
 * it to the other device; to compare with the RTT asked for, compare with
 * `oneWayMs` (RTT / 2). Time a packet waits in the kernel's device queue
 * before the forwarder reads it is not included (it reads as soon as the
 * device is readable; `kernelDrops` shows when that queue overflows).
 */
export interface Achieved extends DelayStats {
  /** The round-trip time asked for, ms. */
  rttMs: number;
  /** The hold asked for per direction (rttMs / 2), ms. */
  oneWayMs: number;
  /** Client to server (root namespace to the link's namespace). */
  toServer: DelayStats;
  /** Server to client. */
  toClient: DelayStats;
  /** Seconds since the statistics were last reset (or the start). */
  seconds: number;
  /** Forwarder CPU (user + system) in that time, ms. */
  cpuMs: number;
  /**
   * The system part of `cpuMs`, ms: reading and writing the devices, and
   * the kernel's delivery of each packet written (its protocol processing
   * up to the receiving socket runs in the forwarder's write).
   */
  systemCpuMs: number;
  /** Times the forwarder woke up in that time. */
  wakeups: number;
  /** Packets held right now. */
  heldNow: number;
}

interface RawDir {
  count: number;
  bytes: number;
  lost: number;
  overflow: number;
  werr: number;
  kdrop: number;
  p50_ns: number;
  p99_ns: number;
  min_ns: number;
  max_ns: number;
  qpeak: number;
}

interface RawReport {
  delay_ns: number;
  elapsed_ns: number;
  cpu_us: number;
  sys_us: number;
  wakeups: number;
  held: number;
  up: RawDir;
  down: RawDir;
  all: RawDir;
}

function dirStats(d: RawDir): DelayStats {
  const ms = (ns: number) => ns / 1e6;
  return {
    count: d.count,
    bytes: d.bytes,
    p50Ms: ms(d.p50_ns),
    p99Ms: ms(d.p99_ns),
    minMs: ms(d.min_ns),
    maxMs: ms(d.max_ns),
    lost: d.lost,
    overflow: d.overflow,
    kernelDrops: d.kdrop,
    writeErrors: d.werr,
    drops: d.lost + d.overflow + d.kdrop + d.werr,
    peakQueue: d.qpeak,
  };
}

/**
 * Converts one report line of the forwarder to {@linkcode Achieved}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseReport } from "./emulated_link.ts";
 * const d = { count: 4, bytes: 400, lost: 1, overflow: 0, werr: 0, kdrop: 2,
 *   p50_ns: 20_050_000, p99_ns: 20_300_000, min_ns: 20_001_000,
 *   max_ns: 20_400_000, qpeak: 3 };
 * const a = parseReport(JSON.stringify({ delay_ns: 20_000_000,
 *   elapsed_ns: 2e9, cpu_us: 1500, sys_us: 900, wakeups: 7, held: 0,
 *   up: d, down: d, all: d }));
 * assert.equal(a.rttMs, 40);
 * assert.equal(a.oneWayMs, 20);
 * assert.equal(a.p50Ms, 20.05);
 * assert.equal(a.drops, 3);
 * assert.equal(a.cpuMs, 1.5);
 * assert.equal(a.seconds, 2);
 * ```
 */
export function parseReport(line: string): Achieved {
  const r = JSON.parse(line) as RawReport;
  return {
    ...dirStats(r.all),
    rttMs: (2 * r.delay_ns) / 1e6,
    oneWayMs: r.delay_ns / 1e6,
    toServer: dirStats(r.up),
    toClient: dirStats(r.down),
    seconds: r.elapsed_ns / 1e9,
    cpuMs: r.cpu_us / 1000,
    systemCpuMs: r.sys_us / 1000,
    wakeups: r.wakeups,
    heldNow: r.held,
  };
}

/** Reads lines from a byte stream. */
class LineReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = "";
  #dec = new TextDecoder();
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  /** The next line without its newline; undefined at end of stream. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const i = this.#buf.indexOf("\n");
      if (i >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        return line;
      }
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      this.#buf += this.#dec.decode(value, { stream: true });
    }
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/**
 * Awaits `p` for at most `ms` (then rejects, naming `what`). Its timer
 * also keeps the process alive meanwhile, which the forwarder's unref'd
 * pipes do not.
 */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: no answer within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How a process ended, in words: `was killed by SIGKILL`, `exited with
 * code 2: <first line of its stderr>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { howExited } from "./emulated_link.ts";
 * assert.equal(howExited({ success: false, code: 137, signal: "SIGKILL" }), "was killed by SIGKILL");
 * assert.equal(howExited({ success: false, code: 2, signal: null }, "bad\nmore"), "exited with code 2: bad");
 * ```
 */
export function howExited(s: Deno.CommandStatus, stderr = ""): string {
  if (s.signal) return `was killed by ${s.signal}`;
  const line = stderr.trim().split("\n")[0];
  return `exited with code ${s.code}${line ? `: ${line}` : ""}`;
}

/**
 * Throws {@linkcode UsageError} unless this process can build links: root,
 * /dev/net/tun, `ip` (iproute2) and `nsenter` (util-linux).
 */
export function checkLinkPrerequisites(): void {
  if (Deno.uid() !== 0) {
    throw new UsageError(
      "emulated round-trip times need root (network namespaces and TUN devices): run as root, e.g. sudo deno task ...",
    );
  }
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    throw new UsageError(
      "/dev/net/tun is missing: this kernel or container has no TUN support (modprobe tun, or give the container the device)",
    );
  }
  if (!which("ip")) {
    throw new UsageError(
      "ip not found: install iproute2 (run .ci/setup, or apt-get install iproute2)",
    );
  }
  if (!which("nsenter")) {
    throw new UsageError(
      "nsenter not found: install util-linux (apt-get install util-linux)",
    );
  }
}

function validate(o: LinkOptions): void {
  const bad = (what: string) => {
    throw new UsageError(`emulated link: ${what}`);
  };
  if (!Number.isFinite(o.rttMs) || o.rttMs < 0 || o.rttMs > 60_000) {
    bad(`rttMs ${o.rttMs}: give a round-trip time from 0 to 60000 ms`);
  }
  if (o.lossPct !== undefined && !(o.lossPct >= 0 && o.lossPct <= 100)) {
    bad(`lossPct ${o.lossPct}: give a percentage from 0 to 100`);
  }
  if (o.rateMbit !== undefined && !(o.rateMbit > 0 && o.rateMbit <= 100_000)) {
    bad(`rateMbit ${o.rateMbit}: give a rate above 0 and up to 100000 Mbit/s`);
  }
  const q = o.queuePackets;
  if (
    q !== undefined && !(Number.isInteger(q) && q >= 2 && (q & (q - 1)) === 0)
  ) {
    bad(`queuePackets ${q}: give a power of two, e.g. 65536`);
  }
  if (o.mtu !== undefined && !(o.mtu >= 576 && o.mtu <= 65_000)) {
    bad(`mtu ${o.mtu}: give 576 to 65000`);
  }
}

async function ipBatch(ns: string | undefined, lines: string[]): Promise<void> {
  const args = ns ? ["-n", ns, "-batch", "-"] : ["-batch", "-"];
  const r = await run("ip", args, { stdin: lines.join("\n") + "\n" });
  if (r.code !== 0) {
    throw new UsageError(
      `setting up the emulated link failed: ip ${args.join(" ")}: ${
        r.stderr.trim().split("\n")[0]
      }`,
    );
  }
}

async function tbf(ns: string | undefined, dev: string, mbit: number) {
  const bytesPerSec = (mbit * 1e6) / 8;
  // Burst: 4 ms of traffic, at least 16 KB (tbf needs burst >= rate / HZ);
  // a 500 ms queue before the forwarder's.
  const burst = Math.max(16_384, Math.round(bytesPerSec * 0.004));
  const args = [
    ...(ns ? ["-n", ns] : []),
    "qdisc",
    "replace",
    "dev",
    dev,
    "root",
    "tbf",
    "rate",
    `${Math.round(mbit * 1000)}kbit`,
    "burst",
    String(burst),
    "latency",
    "500ms",
  ];
  const r = await run("tc", args);
  if (r.code !== 0) {
    throw new UsageError(
      `the rate limit failed: tc ${args.join(" ")}: ${r.stderr.trim()}`,
    );
  }
}

/**
 * A running emulated link. The server side is the namespace
 * {@linkcode EmulatedLink.namespace}: start the server there with the
 * command prefix {@linkcode EmulatedLink.wrap}, listening on
 * {@linkcode EmulatedLink.hostAddress}, and connect to that address from
 * this (the root) namespace.
 *
 * @example Needs root (network namespaces and TUN devices), so not run by `deno test --doc`; tests/net_test.ts runs these lines as root and reports them as ignored otherwise
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { EmulatedLink } from "./emulated_link.ts";
 * // Not root: start() throws "emulated round-trip times need root ...".
 * const link = await EmulatedLink.start({ rttMs: 20 });
 * try {
 *   assert.match(link.hostAddress, /^10\.77\.\d+\.2$/);
 *   assert.deepEqual(link.wrap.slice(0, 1), ["nsenter"]);
 *   // A program run with `wrap` sees the server side's address.
 *   const out = await new Deno.Command(link.wrap[0], {
 *     args: [...link.wrap.slice(1), "cat", "/proc/net/fib_trie"],
 *   }).output();
 *   assert.match(new TextDecoder().decode(out.stdout), new RegExp(link.hostAddress));
 *   const a = await link.achieved({ reset: true });
 *   assert.equal(a.oneWayMs, 10);
 * } finally {
 *   await link.stop();
 * }
 * ```
 */
export class EmulatedLink {
  /** Name of the server's network namespace (under /run/netns). */
  readonly namespace: string;
  /** Address slot N: the link uses 10.77.N.0/30. */
  readonly slot: number;
  /** The TUN device on each side. */
  readonly device: string;
  /** The server's address inside the namespace (10.77.N.2). */
  readonly hostAddress: string;
  /** This side's address (10.77.N.1), the source of client connections. */
  readonly clientAddress: string;
  /**
   * Command prefix that runs a program inside the namespace:
   * `[...wrap, program, ...args]`. nsenter execs the program, so the pid
   * of the spawned process is the program's.
   */
  readonly wrap: string[];
  /** Options in effect. */
  readonly rttMs: number;
  /** Random loss per direction, percent. */
  readonly lossPct: number;
  /** Rate limit per direction, Mbit/s, if any. */
  readonly rateMbit: number | undefined;
  /** True when the forwarder runs at real-time priority. */
  readonly realtime: boolean;
  /** Resolves with the forwarder's exit status once it exits. */
  readonly exited: Promise<Deno.CommandStatus>;
  /**
   * Resolves, as soon as the forwarder exits without {@linkcode stop}
   * (killed, crashed), with what happened in one line: "the packet
   * forwarder of the --rtt 20 link (pid 4242) was killed by SIGKILL".
   * Never resolves for a link that is stopped.
   */
  readonly died: Promise<string>;
  /** What the link is called in messages (`LinkOptions.name`). */
  readonly name: string;
  #child: Deno.ChildProcess;
  #pid: number;
  #lines: LineReader;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stderr: Promise<string>;
  #ctl: Promise<unknown> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  #exitedNow = false;
  #lastCpuMs = 0;
  #offExit: () => void;

  private constructor(p: {
    namespace: string;
    slot: number;
    opts: LinkOptions;
    realtime: boolean;
    child: Deno.ChildProcess;
    lines: LineReader;
    stderr: Promise<string>;
  }) {
    this.namespace = p.namespace;
    this.slot = p.slot;
    this.device = deviceName(p.slot);
    this.hostAddress = `10.77.${p.slot}.2`;
    this.clientAddress = `10.77.${p.slot}.1`;
    this.wrap = ["nsenter", `--net=${NETNS_DIR}/${p.namespace}`, "--"];
    this.rttMs = p.opts.rttMs;
    this.lossPct = p.opts.lossPct ?? 0;
    this.rateMbit = p.opts.rateMbit;
    this.realtime = p.realtime;
    this.#child = p.child;
    this.#pid = p.child.pid;
    this.#lines = p.lines;
    this.#stdin = p.child.stdin.getWriter();
    this.#stderr = p.stderr;
    this.exited = p.child.status;
    this.exited.then(() => {
      this.#exitedNow = true;
    });
    this.name = p.opts.name ?? `${this.rttMs} ms link`;
    this.died = this.exited.then(async (status) => {
      if (this.#stopping) return await new Promise<never>(() => {});
      return `${this.#forwarder()} ${
        howExited(status, await within(this.#stderr, 1000, "").catch(() => ""))
      }`;
    });
    // A forced exit skips stop(): the link goes with the process anyway.
    this.#offExit = onExit(() => removeLinkSync(this.namespace, this.#pid));
  }

  /** "the packet forwarder of the --rtt 20 link (pid N)". */
  #forwarder(): string {
    return `the packet forwarder of the ${this.name} (pid ${this.#pid})`;
  }

  /** Process id of the forwarder. */
  get pid(): number {
    return this.#pid;
  }

  /** True while the forwarder runs and `stop` has not been called. */
  get running(): boolean {
    return !this.#exitedNow && this.#stopping === undefined;
  }

  /**
   * Creates the namespace, starts the forwarder (building it first if
   * needed), and configures devices, addresses, routes and the optional
   * rate limit. Removes links left by dead processes first. Throws
   * {@linkcode UsageError} (one line) when not root, a tool is missing or
   * the set-up fails; nothing is left behind then.
   */
  static async start(opts: LinkOptions): Promise<EmulatedLink> {
    validate(opts);
    checkLinkPrerequisites();
    const bin = await ensureForwarder();
    await cleanupStale();
    const ownerStart = processStart(Deno.pid) ?? 0;
    const tried = new Set<number>();
    for (let attempt = 0; attempt < 16; attempt++) {
      const used = await usedSlots();
      // A random free slot rather than the lowest: packets still in flight
      // to a link just stopped (retransmissions of another run's sessions)
      // should not land in the next link.
      const free: number[] = [];
      for (let s = 0; s < MAX_SLOT; s++) {
        if (!used.has(s) && !tried.has(s)) free.push(s);
      }
      const slot = free.length === 0
        ? -1
        : free[Math.floor(Math.random() * free.length)];
      if (slot < 0) {
        throw new UsageError(
          `no free address slot for an emulated link (10.77.0-${
            MAX_SLOT - 1
          }.0/30 all in use): stop other runs`,
        );
      }
      tried.add(slot);
      const ns = linkName({ slot, ownerPid: Deno.pid, ownerStart });
      const add = await run("ip", ["netns", "add", ns]);
      if (add.code !== 0) {
        if (/exists/i.test(add.stderr)) continue;
        throw new UsageError(
          `ip netns add ${ns} failed: ${add.stderr.trim().split("\n")[0]}`,
        );
      }
      const link = await EmulatedLink.#spawn(bin, ns, slot, opts);
      if (link === "busy") {
        await deleteNamespace(ns);
        continue;
      }
      try {
        await link.#configure(opts);
      } catch (e) {
        await link.stop();
        throw e;
      }
      return link;
    }
    throw new UsageError(
      "no free address slot for an emulated link after 16 tries: stop other runs",
    );
  }

  static async #spawn(
    bin: string,
    ns: string,
    slot: number,
    opts: LinkOptions,
  ): Promise<EmulatedLink | "busy"> {
    const args = [
      "--ns",
      `${NETNS_DIR}/${ns}`,
      "--dev",
      deviceName(slot),
      "--delay-us",
      String(Math.round((opts.rttMs * 1000) / 2)),
      "--loss-ppm",
      String(Math.round((opts.lossPct ?? 0) * 10_000)),
      "--slots",
      String(opts.queuePackets ?? 65536),
      "--parent",
      String(Deno.pid),
      "--rt",
      opts.realtime === false ? "0" : "10",
    ];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(bin, {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      await deleteNamespace(ns);
      throw new UsageError(`the packet forwarder ${bin} did not start: ${e}`);
    }
    const lines = new LineReader(child.stdout);
    const stderr = new Response(child.stderr).text().catch(() => "");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      lines.next(),
      new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), 10_000);
      }),
    ]);
    clearTimeout(timer);
    if (first === undefined || !first.startsWith("ready ")) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      const status = await child.status;
      await lines.cancel();
      const err = (await stderr).trim().split("\n")[0];
      await child.stdin.close().catch(() => {});
      if (status.code === 3) return "busy";
      await killNamespacePids(ns);
      await deleteNamespace(ns);
      throw new UsageError(
        `the packet forwarder did not start: ${
          err || `exit code ${status.code}`
        }`,
      );
    }
    // A link forgotten without stop() must not keep the process alive
    // (the unload handler removes it at exit); awaiting the forwarder
    // therefore goes through `within`, whose timer keeps the process up.
    child.unref();
    const link = new EmulatedLink({
      namespace: ns,
      slot,
      opts,
      realtime: / rt=[1-9]/.test(first),
      child,
      lines,
      stderr,
    });
    return link;
  }

  async #configure(o: LinkOptions): Promise<void> {
    const dev = this.device;
    const mtu = o.mtu ?? 1500;
    const qlen = o.txQueueLen ?? 10_000;
    // No IPv6 link-local addresses: nothing but the benchmark's own
    // packets crosses the link.
    await ipBatch(undefined, [
      `link set dev ${dev} addrgenmode none`,
      `link set dev ${dev} mtu ${mtu} txqueuelen ${qlen} up`,
      `addr add ${this.clientAddress}/30 dev ${dev}`,
    ]);
    await ipBatch(this.namespace, [
      "link set dev lo up",
      `link set dev ${dev} addrgenmode none`,
      `link set dev ${dev} mtu ${mtu} txqueuelen ${qlen} up`,
      `addr add ${this.hostAddress}/30 dev ${dev}`,
      `route add default via ${this.clientAddress} dev ${dev}`,
    ]);
    if (o.rateMbit !== undefined) {
      await tbf(undefined, dev, o.rateMbit);
      await tbf(this.namespace, dev, o.rateMbit);
    }
  }

  async #ask(cmd: "p" | "r"): Promise<Achieved> {
    if (!this.running) {
      throw new Error(
        this.#exitedNow && !this.#stopping
          ? await this.died
          : `${this.#forwarder()} is not running: the link was stopped`,
      );
    }
    await this.#stdin.write(new TextEncoder().encode(`${cmd}\n`));
    let line: string | undefined;
    try {
      line = await within(this.#lines.next(), 10_000, "the forwarder's report");
    } catch (e) {
      // A forwarder that does not answer is broken: end it.
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
      throw e;
    }
    if (line === undefined) {
      throw new Error(
        this.#stopping
          ? `${this.#forwarder()} is not running: the link was stopped`
          : await this.died,
      );
    }
    return parseReport(line);
  }

  /**
   * The delay achieved since the last reset (or the start): one-way hold
   * times per packet, per direction and both together, drops and the
   * forwarder's CPU. With `reset`, the statistics start again afterwards
   * (e.g. at the start of each round).
   */
  achieved(opts: { reset?: boolean } = {}): Promise<Achieved> {
    const next = this.#ctl.then(() => this.#ask(opts.reset ? "r" : "p"));
    this.#ctl = next.catch(() => {});
    return next;
  }

  /** Starts the statistics again (same as `achieved({ reset: true })`). */
  async resetStats(): Promise<void> {
    await this.achieved({ reset: true });
  }

  /**
   * The forwarder's CPU time since it started (user + system), ms, read
   * from /proc (schedstat, ns resolution; 10 ms ticks where the kernel
   * lacks it). After it exits, the last value read.
   */
  cpuMs(): number {
    try {
      const text = Deno.readTextFileSync(`/proc/${this.#pid}/schedstat`);
      const ns = Number(text.split(" ")[0]);
      if (Number.isFinite(ns) && ns > 0) this.#lastCpuMs = ns / 1e6;
    } catch {
      const c = procCpuMs(this.#pid);
      if (c) this.#lastCpuMs = c.self;
    }
    return this.#lastCpuMs;
  }

  /**
   * Stops the forwarder (its devices go with it), kills every process
   * still inside the namespace, and deletes the namespace. Safe to call
   * more than once.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    // The forwarder's process and pipes are unref'd: this keeps the
    // process alive until the link is gone.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await this.#stopSteps();
    } finally {
      clearInterval(keepAlive);
    }
  }

  async #stopSteps(): Promise<void> {
    if (!this.#exitedNow) this.cpuMs();
    try {
      await this.#stdin.write(new TextEncoder().encode("q\n"));
    } catch {
      // already gone
    }
    await this.#stdin.close().catch(() => {});
    const t = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 1000);
    await this.exited;
    clearTimeout(t);
    await this.#lines.cancel();
    await this.#stderr;
    await killNamespacePids(this.namespace);
    await deleteNamespace(this.namespace);
    // The kernel removes a TUN device when its last file closes; wait for
    // it to be gone from the root namespace as well.
    const deadline = performance.now() + 2000;
    while (
      linkDevices().includes(this.device) && performance.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.#offExit();
  }
}
