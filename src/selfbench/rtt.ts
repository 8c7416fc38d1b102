/**
 * `deno task bench:rtt`: how faithful and how costly the emulated link is.
 *
 * - Pool 1: sequential TCP connects through the link (one round trip
 *   each): median and max minus the RTT asked for; also at RTT 0, which
 *   shows the link's own latency.
 * - Pool 100: rounds of 100 concurrent connections each fetching ~26 KB
 *   (the benchmark's payload): the one-way delay the forwarder achieved
 *   (p50, p99, max), drops, and its CPU per packet and per session, with
 *   the forwarder at real-time priority (the default) and without.
 * - Pool 1000: one round, to show the queues are deep enough.
 *
 * Options: `--rtt MS` (50), `--connects N` (20), `--rounds N` (5),
 * `--bytes N` (26000), `--no-1000`. Needs root.
 *
 * @module
 */
import { EmulatedLink } from "../net/emulated_link.ts";
import { connectMs, fetchBytes, type Peer, startPeer } from "../net/netpeer.ts";
import { raiseFileLimit } from "../util/proc.ts";
import { UsageError } from "../util/errors.ts";
import { quantile } from "../util/quantile.ts";

interface Opts {
  rtt: number;
  connects: number;
  rounds: number;
  bytes: number;
  big: boolean;
}

function parse(args: string[]): Opts {
  const o: Opts = {
    rtt: 50,
    connects: 20,
    rounds: 5,
    bytes: 26_000,
    big: true,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const num = () => {
      const v = Number(args[++i]);
      if (!Number.isFinite(v) || v < 0) {
        throw new UsageError(`${a} needs a number, e.g. ${a} 50`);
      }
      return v;
    };
    if (a === "--rtt") o.rtt = num();
    else if (a === "--connects") o.connects = Math.max(1, num());
    else if (a === "--rounds") o.rounds = Math.max(1, num());
    else if (a === "--bytes") o.bytes = num();
    else if (a === "--no-1000") o.big = false;
    else {
      throw new UsageError(
        `unknown option ${a}: use --rtt MS, --connects N, --rounds N, --bytes N, --no-1000`,
      );
    }
  }
  return o;
}

const links = new Set<EmulatedLink>();
const peers = new Set<Peer>();

async function withLink<T>(
  opts: { rttMs: number; realtime?: boolean },
  f: (link: EmulatedLink, peer: Peer) => Promise<T>,
): Promise<T> {
  const link = await EmulatedLink.start(opts);
  links.add(link);
  let peer: Peer | undefined;
  try {
    peer = await startPeer(link);
    peers.add(peer);
    return await f(link, peer);
  } finally {
    if (peer) {
      await peer.stop();
      peers.delete(peer);
    }
    await link.stop();
    links.delete(link);
  }
}

const f2 = (x: number) => x.toFixed(2);
const med = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

async function pool1(rtt: number, n: number): Promise<void> {
  await withLink({ rttMs: rtt }, async (link, peer) => {
    await connectMs(link.hostAddress, peer.tcpPort); // warm-up
    await link.resetStats();
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      ms.push(await connectMs(link.hostAddress, peer.tcpPort));
    }
    const a = await link.achieved();
    const over = ms.map((m) => m - rtt);
    console.log(
      `pool 1, RTT ${rtt} ms: ${n} TCP connects, median ${f2(med(ms))} ms, ` +
        `connect - RTT: median ${f2(med(over))} ms, min ${
          f2(Math.min(...over))
        } ms, max ${f2(Math.max(...over))} ms; the link's own part: ` +
        `hold - RTT/2 per packet p50 ${f2(a.p50Ms - a.oneWayMs)} ms, max ${
          f2(a.maxMs - a.oneWayMs)
        } ms (${a.count} packets)`,
    );
  });
}

interface RoundFigures {
  wallMs: number;
  ok: number;
  connectMedMs: number;
  a: Awaited<ReturnType<EmulatedLink["achieved"]>>;
}

async function poolRound(
  link: EmulatedLink,
  peer: Peer,
  pool: number,
  bytes: number,
): Promise<RoundFigures> {
  await link.resetStats();
  const t0 = performance.now();
  const rs = await Promise.all(
    Array.from(
      { length: pool },
      () =>
        fetchBytes(link.hostAddress, peer.tcpPort, bytes).catch(() =>
          undefined
        ),
    ),
  );
  const wallMs = performance.now() - t0;
  const a = await link.achieved();
  const ok = rs.filter((r) => r?.bytes === bytes);
  return {
    wallMs,
    ok: ok.length,
    connectMedMs: med(ok.map((r) => r!.connectMs)),
    a,
  };
}

function describe(label: string, pool: number, rs: RoundFigures[]): void {
  const sum = (f: (r: RoundFigures) => number) =>
    rs.reduce((s, r) => s + f(r), 0);
  const packets = sum((r) => r.a.count);
  const cpu = sum((r) => r.a.cpuMs);
  const sessions = sum((r) => r.ok);
  const p99s = rs.map((r) => r.a.p99Ms);
  console.log(
    `pool ${pool}, ${label}: ${rs.length} round(s), ${sessions}/${
      rs.length * pool
    } sessions ok, round wall median ${f2(med(rs.map((r) => r.wallMs)))} ms`,
  );
  for (const r of rs) {
    const a = r.a;
    console.log(
      `  round: one-way hold asked ${f2(a.oneWayMs)} ms; achieved p50 ${
        f2(a.p50Ms)
      } p99 ${f2(a.p99Ms)} max ${f2(a.maxMs)} ms (to server p99 ${
        f2(a.toServer.p99Ms)
      }, to client p99 ${
        f2(a.toClient.p99Ms)
      }); ${a.count} packets, drops ${a.drops}, peak queue ${a.peakQueue}; ` +
        `connect median ${f2(r.connectMedMs)} ms; forwarder CPU ${
          f2(a.cpuMs)
        } ms, ${a.wakeups} wake-ups`,
    );
  }
  console.log(
    `  => achieved p99 (median of rounds) ${f2(med(p99s))} ms, worst ${
      f2(Math.max(...p99s))
    } ms for ${f2(rs[0].a.oneWayMs)} ms asked; forwarder CPU ${
      (cpu / packets * 1000).toFixed(1)
    } µs per packet, ${f2(cpu / Math.max(1, sessions))} ms per session (${
      (packets / Math.max(1, sessions)).toFixed(1)
    } packets per session)`,
  );
}

async function poolN(
  rtt: number,
  pool: number,
  rounds: number,
  bytes: number,
  realtime: boolean,
): Promise<void> {
  await withLink({ rttMs: rtt, realtime }, async (link, peer) => {
    await poolRound(link, peer, Math.min(pool, 10), bytes); // warm-up
    const rs: RoundFigures[] = [];
    for (let i = 0; i < rounds; i++) {
      rs.push(await poolRound(link, peer, pool, bytes));
    }
    describe(
      `RTT ${rtt} ms, ${bytes} B each, forwarder ${
        link.realtime ? "real-time (SCHED_FIFO)" : "normal priority"
      }`,
      pool,
      rs,
    );
  });
}

async function main(): Promise<void> {
  const o = parse(Deno.args);
  raiseFileLimit(4096);
  console.log(
    `bench:rtt: emulated link (TUN devices + forwarder), ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
  );
  await pool1(o.rtt, o.connects);
  await pool1(0, o.connects);
  await poolN(o.rtt, 100, o.rounds, o.bytes, true);
  await poolN(o.rtt, 100, o.rounds, o.bytes, false);
  if (o.big) await poolN(o.rtt, 1000, 1, o.bytes, true);
}

async function cleanupAndExit(code: number): Promise<never> {
  for (const p of peers) await p.stop().catch(() => {});
  for (const l of links) await l.stop().catch(() => {});
  Deno.exit(code);
}

if (import.meta.main) {
  Deno.addSignalListener("SIGINT", () => cleanupAndExit(130));
  Deno.addSignalListener("SIGTERM", () => cleanupAndExit(143));
  try {
    await main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      await cleanupAndExit(e.exitCode);
    }
    throw e;
  }
  Deno.exit(0);
}
