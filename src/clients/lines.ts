/**
 * Line-by-line reading of a byte stream, shared by all clients so that
 * `bytes` and `lines` mean the same for each of them.
 *
 * @module
 */

const NL = 0x0a;

/**
 * Splits incoming chunks into lines (as the seed's clients iterate stdout)
 * and counts bytes and lines. A line split across chunks is joined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineReader } from "./lines.ts";
 * const r = new LineReader();
 * const enc = new TextEncoder();
 * r.push(enc.encode("one\ntw"));
 * r.push(enc.encode("o\nthree"));
 * assert.deepEqual([r.lines, r.last], [2, "two"]);
 * r.end();
 * assert.deepEqual([r.bytes, r.lines, r.last], [13, 3, "three"]);
 * ```
 */
export class LineReader {
  /** Bytes seen. */
  bytes = 0;
  /** Complete lines seen (after `end()`, a trailing partial line counts). */
  lines = 0;
  /** The most recent complete line (kept so reading is real work). */
  last = "";
  #pending: Uint8Array[] = [];
  #decoder = new TextDecoder();

  /** Feeds one chunk. */
  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    let from = 0;
    let i = chunk.indexOf(NL, from);
    while (i !== -1) {
      this.#emit(chunk.subarray(from, i));
      from = i + 1;
      i = chunk.indexOf(NL, from);
    }
    if (from < chunk.length) this.#pending.push(chunk.slice(from));
  }

  /** Ends the stream: a pending partial line counts as a line. */
  end(): void {
    if (this.#pending.length > 0) this.#emit(new Uint8Array(0));
  }

  #emit(tail: Uint8Array): void {
    let bytes = tail;
    if (this.#pending.length > 0) {
      const size = this.#pending.reduce((s, p) => s + p.length, tail.length);
      bytes = new Uint8Array(size);
      let at = 0;
      for (const p of this.#pending) {
        bytes.set(p, at);
        at += p.length;
      }
      bytes.set(tail, at);
      this.#pending = [];
    }
    this.last = this.#decoder.decode(bytes);
    this.lines++;
  }
}
