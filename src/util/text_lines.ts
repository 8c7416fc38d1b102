/**
 * Text lines from a byte stream (a child's stdout or stderr, a worker's
 * stdin), decoded as UTF-8 across chunk boundaries.
 *
 * @module
 */

/**
 * The lines of `stream`, without their `\n` (or `\r\n`); a last line
 * without a newline is yielded too. An error of the stream (a killed
 * process) ends the lines early, as the end of the stream does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textLines } from "./text_lines.ts";
 * const bytes = new TextEncoder().encode("a\r\nbé\n\nc");
 * // Split inside the two-byte "é": decoded across the chunk boundary.
 * const stream = ReadableStream.from([bytes.slice(0, 5), bytes.slice(5)]);
 * const lines = [];
 * for await (const line of textLines(stream)) lines.push(line);
 * assert.deepEqual(lines, ["a", "bé", "", "c"]);
 * ```
 */
export async function* textLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) !== -1) {
        yield buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
      }
    }
  } catch {
    // The stream broke (its process was killed): what came is all there is.
  }
  buf += dec.decode();
  if (buf !== "") yield buf.replace(/\r$/, "");
}
