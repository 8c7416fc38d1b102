/**
 * A small peer for checking and measuring emulated links: run inside a
 * link's namespace (`deno run -A src/net/netpeer.ts HOST`), it serves
 *
 * - TCP: reads a decimal byte count and a newline, writes that many bytes,
 *   and closes (a connection that sends nothing is held until the client
 *   closes it);
 * - UDP: echoes every datagram to its sender;
 *
 * on ephemeral ports, printed as one JSON line `{"tcp":P,"udp":Q}`. It exits
 * when its stdin ends (its owner is gone). The client side is here too:
 * {@linkcode startPeer}, {@linkcode connectMs}, {@linkcode fetchBytes},
 * {@linkcode udpOrder}.
 *
 * @module
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";

/** This file, to be run inside a namespace. */
export const PEER_SCRIPT: string = new URL(import.meta.url).pathname;

/** A running peer. */
export interface Peer {
  /** Its TCP port. */
  tcpPort: number;
  /** Its UDP echo port. */
  udpPort: number;
  /** Its process id. */
  pid: number;
  /** Stops it. */
  stop(): Promise<void>;
}

/**
 * Starts the peer inside a link's namespace (`link.wrap`), listening on
 * `link.hostAddress`, and waits until it is ready.
 */
export async function startPeer(
  link: { wrap: string[]; hostAddress: string },
): Promise<Peer> {
  const child = new Deno.Command(link.wrap[0], {
    args: [
      ...link.wrap.slice(1),
      Deno.execPath(),
      "run",
      "-A",
      PEER_SCRIPT,
      link.hostAddress,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const dec = new TextDecoder();
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  const stop = async () => {
    await child.stdin.close().catch(() => {});
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 2000);
    await child.status;
    clearTimeout(t);
    await reader.cancel().catch(() => {});
  };
  if (!text.includes("\n")) {
    await stop();
    throw new Error("the network peer did not start");
  }
  const ports = JSON.parse(text.slice(0, text.indexOf("\n")));
  return { tcpPort: ports.tcp, udpPort: ports.udp, pid: child.pid, stop };
}

/** Time to open a TCP connection (SYN, SYN-ACK: one round trip), ms. */
export async function connectMs(host: string, port: number): Promise<number> {
  const t0 = performance.now();
  const conn = await Deno.connect({ hostname: host, port });
  const ms = performance.now() - t0;
  conn.close();
  return ms;
}

/**
 * Asks the peer for `bytes` bytes over a new TCP connection and reads them
 * to the end. Returns the connect time, the total time and the bytes read.
 */
export async function fetchBytes(
  host: string,
  port: number,
  bytes: number,
): Promise<{ connectMs: number; totalMs: number; bytes: number }> {
  const t0 = performance.now();
  const conn = await Deno.connect({ hostname: host, port });
  const connected = performance.now() - t0;
  try {
    conn.setNoDelay(true);
    await conn.write(new TextEncoder().encode(`${bytes}\n`));
    const buf = new Uint8Array(65536);
    let got = 0;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += n;
    }
    return {
      connectMs: connected,
      totalMs: performance.now() - t0,
      bytes: got,
    };
  } finally {
    conn.close();
  }
}

/** Result of {@linkcode udpOrder}. */
export interface OrderResult {
  /** Datagrams sent. */
  sent: number;
  /** Echoes received. */
  received: number;
  /** Echoes that came after one with a higher number (0: order kept). */
  outOfOrder: number;
  /** The first such pair, [previous, this]. */
  firstDisorder?: [number, number];
}

/**
 * Sends `count` numbered UDP datagrams of `size` bytes to the peer's echo
 * port, `burst` at a time, and checks that the echoes (which crossed the
 * link both ways) come back in the order sent. Gaps (drops) are allowed;
 * a number lower than one already seen is not.
 */
export async function udpOrder(
  host: string,
  port: number,
  opts: { count: number; size?: number; burst?: number; waitMs?: number },
): Promise<OrderResult> {
  const size = Math.max(8, opts.size ?? 200);
  const burst = opts.burst ?? 200;
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, r));
  let received = 0, outOfOrder = 0, last = -1;
  let firstDisorder: [number, number] | undefined;
  let lastEcho = performance.now();
  sock.on("message", (msg: Uint8Array) => {
    const seq = new DataView(msg.buffer, msg.byteOffset, 4).getUint32(0);
    received++;
    lastEcho = performance.now();
    if (seq <= last) {
      outOfOrder++;
      firstDisorder ??= [last, seq];
    } else {
      last = seq;
    }
  });
  const payload = Buffer.alloc(size);
  for (let i = 0; i < opts.count; i++) {
    payload.writeUInt32BE(i, 0);
    await new Promise<void>((r, j) =>
      sock.send(payload, port, host, (e) => e ? j(e) : r())
    );
    if ((i + 1) % burst === 0) await new Promise((r) => setTimeout(r, 1));
  }
  const waitMs = opts.waitMs ?? 1000;
  lastEcho = Math.max(lastEcho, performance.now());
  while (received < opts.count && performance.now() - lastEcho < waitMs) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise<void>((r) => sock.close(() => r()));
  return { sent: opts.count, received, outOfOrder, firstDisorder };
}

async function serveTcp(conn: Deno.TcpConn): Promise<void> {
  try {
    conn.setNoDelay(true);
    const buf = new Uint8Array(64);
    let text = "";
    while (!text.includes("\n")) {
      const n = await conn.read(buf);
      if (n === null) return;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    let left = Number(text.slice(0, text.indexOf("\n"))) || 0;
    const chunk = new Uint8Array(16384).fill(0x61);
    while (left > 0) {
      const n = await conn.write(
        chunk.subarray(0, Math.min(left, chunk.length)),
      );
      left -= n;
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

async function main(host: string): Promise<void> {
  const tcp = Deno.listen({ hostname: host, port: 0 });
  const udp = dgram.createSocket("udp4");
  // Echoes are sent one after the other (each send waits for the one
  // before), so they leave in the order the datagrams came.
  let sending = Promise.resolve();
  udp.on(
    "message",
    (msg: Uint8Array, rinfo: { port: number; address: string }) => {
      sending = sending.then(() =>
        new Promise<void>((r) =>
          udp.send(msg, rinfo.port, rinfo.address, () => r())
        )
      );
    },
  );
  await new Promise<void>((r) => udp.bind(0, host, r));
  const out = JSON.stringify({
    tcp: (tcp.addr as Deno.NetAddr).port,
    udp: udp.address().port,
  });
  await Deno.stdout.write(new TextEncoder().encode(out + "\n"));
  // Exit when the owner closes stdin or dies.
  (async () => {
    const buf = new Uint8Array(64);
    while (await Deno.stdin.read(buf) !== null) {
      // ignore input
    }
    Deno.exit(0);
  })();
  for await (const conn of tcp) serveTcp(conn);
}

if (import.meta.main) await main(Deno.args[0] ?? "0.0.0.0");
