/**
 * The server's key exchange offer: its KEXINIT message, which it sends in
 * the clear before any key exchange. Parsed ({@linkcode parseKexinit}),
 * read from a live server ({@linkcode serverOffer}), and held against a
 * client's own lists to name an algorithm mismatch with both sides' lists
 * ({@linkcode noCommonAlgorithm}), for the clients whose library does not
 * say which kind of algorithm had nothing in common.
 *
 * @module
 */
import { isAead } from "./algorithms.ts";
import type { AlgorithmPins } from "./seam.ts";

/**
 * What a server offers in its key exchange message (KEXINIT), per kind of
 * pin (ciphers and MACs client to server), read by {@linkcode serverOffer}.
 */
export type ServerOffer = Required<AlgorithmPins>;

/** The words for each kind of algorithm in a mismatch message. */
const OFFER_KINDS: readonly [keyof AlgorithmPins, string][] = [
  ["kex", "key exchange"],
  ["hostKeyAlgorithms", "host key algorithm"],
  ["ciphers", "cipher"],
  ["macs", "MAC"],
];

/**
 * The name-lists of a KEXINIT payload (message number first): key
 * exchange, host key, ciphers and MACs client to server; undefined when it
 * is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKexinit } from "./kexinit.ts";
 * // Message 20, a 16-byte cookie, then the name-lists (kex, host key,
 * // ciphers and MACs each way, compression each way, languages).
 * const names = ["curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr",
 *   "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""];
 * const lists = names.flatMap((n) => [0, 0, 0, n.length, ...new TextEncoder().encode(n)]);
 * const payload = new Uint8Array([20, ...new Array(16).fill(0), ...lists]);
 * assert.deepEqual(parseKexinit(payload), { kex: ["curve25519-sha256"],
 *   hostKeyAlgorithms: ["ssh-ed25519"], ciphers: ["aes128-ctr"], macs: ["hmac-sha2-256"] });
 * assert.equal(parseKexinit(new Uint8Array([21])), undefined); // another message
 * assert.equal(parseKexinit(payload.subarray(0, 40)), undefined); // cut short
 * ```
 */
export function parseKexinit(payload: Uint8Array): ServerOffer | undefined {
  if (payload[0] !== 20) return undefined;
  const view = new DataView(
    payload.buffer,
    payload.byteOffset,
    payload.byteLength,
  );
  const dec = new TextDecoder();
  const lists: string[][] = [];
  let at = 17;
  for (let i = 0; i < 5; i++) {
    if (at + 4 > payload.length) return undefined;
    const n = view.getUint32(at);
    at += 4;
    if (at + n > payload.length) return undefined;
    const text = dec.decode(payload.subarray(at, at + n));
    lists.push(text ? text.split(",") : []);
    at += n;
  }
  return {
    kex: lists[0],
    hostKeyAlgorithms: lists[1],
    ciphers: lists[2],
    macs: lists[4],
  };
}

/**
 * Asks the server at `host:port` for its algorithm offer: connects, sends
 * a version line, and reads the server's version line and KEXINIT (sent in
 * the clear, before any key exchange), then closes. For naming an
 * algorithm mismatch after a client's handshake failed; undefined when the
 * server does not answer so within `timeoutMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serverOffer } from "./kexinit.ts";
 * // A stand-in server: a banner line, its version line, one KEXINIT packet.
 * const names = ["curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr",
 *   "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""];
 * const enc = new TextEncoder();
 * const lists = names.flatMap((n) => [0, 0, 0, n.length, ...enc.encode(n)]);
 * const payload = [20, ...new Array(16).fill(0), ...lists, 0, 0, 0, 0, 0];
 * const packet = [0, 0, 0, 1 + payload.length + 4, 4, ...payload, 0, 0, 0, 0];
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const served = (async () => {
 *   using conn = await listener.accept();
 *   const buf = new Uint8Array(256);
 *   await conn.read(buf); // the probe's version line
 *   await conn.write(new Uint8Array([...enc.encode("hello\r\nSSH-2.0-Stand_in\r\n"), ...packet]));
 *   while (await conn.read(buf) !== null); // until the probe closes
 * })();
 * const offer = await serverOffer("127.0.0.1", listener.addr.port, 5000);
 * assert.deepEqual(offer?.ciphers, ["aes128-ctr"]);
 * await served;
 * listener.close();
 * // Nothing listening there any more: no offer.
 * assert.equal(await serverOffer("127.0.0.1", listener.addr.port, 5000), undefined);
 * ```
 */
export async function serverOffer(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<ServerOffer | undefined> {
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), timeoutMs);
  try {
    conn = await Deno.connect({ hostname: host, port });
    await conn.write(new TextEncoder().encode("SSH-2.0-ssh-bench-probe\r\n"));
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(16384);
    let start = -1;
    for (;;) {
      if (start < 0) {
        // Lines before the binary packets: the version line, maybe others.
        for (let i = 0; i < buf.length; i++) {
          if (buf[i] !== 10) continue;
          const line = new TextDecoder().decode(buf.subarray(0, i));
          buf = buf.subarray(i + 1);
          i = -1;
          if (line.startsWith("SSH-")) {
            start = 0;
            break;
          }
        }
      }
      if (start >= 0 && buf.length >= 5) {
        const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
        if (len > 65536) return undefined;
        if (buf.length >= 4 + len) {
          const padding = buf[4];
          return parseKexinit(buf.subarray(5, 4 + len - padding));
        }
      }
      const n = await conn.read(chunk);
      if (n === null) return undefined;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      if (buf.length > 70000) return undefined;
    }
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // closed by the timer
    }
  }
}

/**
 * The first kind of algorithm a client and a server have none of in
 * common, as an error message naming both lists (`no common cipher with
 * the server (client offers: ...; server offers: ...)`); undefined when
 * every kind given has a common one. A MAC mismatch does not count when
 * the common cipher is an AEAD one (it carries its own integrity).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noCommonAlgorithm } from "./kexinit.ts";
 * const server = { kex: ["curve25519-sha256"], hostKeyAlgorithms: ["ssh-ed25519"],
 *   ciphers: ["chacha20-poly1305@openssh.com"], macs: ["hmac-sha2-256"] };
 * assert.equal(
 *   noCommonAlgorithm({ kex: ["curve25519-sha256"], ciphers: ["aes128-ctr", "aes256-ctr"] }, server),
 *   "no common cipher with the server (client offers: aes128-ctr,aes256-ctr; server offers: chacha20-poly1305@openssh.com)",
 * );
 * assert.equal(noCommonAlgorithm({ ciphers: ["chacha20-poly1305@openssh.com"], macs: ["hmac-sha1"] }, server), undefined);
 * ```
 */
export function noCommonAlgorithm(
  ours: AlgorithmPins,
  theirs: ServerOffer,
): string | undefined {
  const cipher = ours.ciphers?.find((c) => theirs.ciphers.includes(c));
  const aead = cipher !== undefined && isAead(cipher);
  for (const [kind, label] of OFFER_KINDS) {
    const mine = ours[kind];
    if (!mine || (kind === "macs" && aead)) continue;
    if (mine.some((n) => theirs[kind].includes(n))) continue;
    return `no common ${label} with the server (client offers: ${
      mine.join(",")
    }; server offers: ${theirs[kind].join(",") || "none"})`;
  }
  return undefined;
}
