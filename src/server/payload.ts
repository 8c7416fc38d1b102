/**
 * The remote file each session reads: deterministic text generated here,
 * about 500 lines for the default 26 KB, like the seed's license file.
 *
 * @module
 */

/** Default payload size in bytes (the seed's file was ~26 KB). */
export const DEFAULT_PAYLOAD_BYTES = 26_000;

const WORDS = [
  "session",
  "channel",
  "server",
  "client",
  "packet",
  "window",
  "cipher",
  "exchange",
  "key",
  "host",
  "pool",
  "round",
  "median",
  "latency",
  "socket",
  "stream",
  "line",
  "read",
  "write",
  "close",
  "the",
  "of",
  "and",
  "a",
  "to",
  "in",
  "is",
  "for",
  "on",
  "with",
];

/**
 * Generates `bytes` bytes of ASCII text in lines of 36-63 characters, every
 * line ending with `\n`. The same size always gives the same text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makePayload } from "./payload.ts";
 * const text = makePayload(26_000);
 * assert.equal(text.length, 26_000);
 * assert.equal(text.split("\n").length - 1, 515);
 * assert.equal(text, makePayload(26_000));
 * assert.ok(text.endsWith("\n"));
 * ```
 */
export function makePayload(bytes: number = DEFAULT_PAYLOAD_BYTES): string {
  if (!Number.isInteger(bytes) || bytes < 1) {
    throw new RangeError(`payload size must be a positive integer: ${bytes}`);
  }
  let seed = 0x2545f491;
  const next = () => {
    // xorshift32: small, deterministic, no dependency.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  const lines: string[] = [];
  let size = 0;
  let n = 1;
  while (size < bytes) {
    const target = 36 + Math.floor(next() * 28);
    let line = String(n).padStart(4, "0");
    while (line.length < target) {
      line += " " + WORDS[Math.floor(next() * WORDS.length)];
    }
    line = line.slice(0, target);
    const room = bytes - size - 1;
    if (line.length > room) line = line.slice(0, Math.max(room, 0));
    lines.push(line + "\n");
    size += line.length + 1;
    n++;
  }
  return lines.join("");
}

/**
 * Counts the lines of a text the way clients do: newline-terminated lines,
 * plus a last line without newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countLines } from "./payload.ts";
 * assert.equal(countLines("a\nb\n"), 2);
 * assert.equal(countLines("a\nb"), 2);
 * assert.equal(countLines(""), 0);
 * ```
 */
export function countLines(text: string): number {
  if (text === "") return 0;
  const nl = text.split("\n").length - 1;
  return text.endsWith("\n") ? nl : nl + 1;
}

/**
 * What a client must read of a payload: its bytes (UTF-8) and lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { payloadShape } from "./payload.ts";
 * assert.deepEqual(payloadShape("a\nbé\n"), { bytes: 6, lines: 2 });
 * ```
 */
export function payloadShape(text: string): { bytes: number; lines: number } {
  return {
    bytes: new TextEncoder().encode(text).length,
    lines: text.split("\n").length - 1,
  };
}
