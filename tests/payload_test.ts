import { assert, assertEquals } from "./assert.ts";
import { countLines, makePayload } from "../src/server/payload.ts";
import { LineReader } from "../src/clients/lines.ts";

Deno.test("payload: exact size, deterministic, ~500 lines of text", () => {
  const a = makePayload(26_000);
  assertEquals(a.length, 26_000);
  assertEquals(new TextEncoder().encode(a).length, 26_000);
  assertEquals(a, makePayload(26_000));
  assert(a.endsWith("\n"));
  const lines = countLines(a);
  assert(lines > 450 && lines < 600, `lines ${lines}`);
  assert(/^[\x20-\x7e\n]+$/.test(a));
  assertEquals(makePayload(1), "\n");
  assertEquals(makePayload(100_000).length, 100_000);
});

Deno.test("LineReader: lines split across chunks, trailing partial line", () => {
  const enc = new TextEncoder();
  const text = makePayload(5000);
  for (const size of [1, 7, 64, 5000]) {
    const r = new LineReader();
    for (let i = 0; i < text.length; i += size) {
      r.push(enc.encode(text.slice(i, i + size)));
    }
    r.end();
    assertEquals(r.bytes, 5000);
    assertEquals(r.lines, countLines(text));
    assertEquals(r.last, text.trimEnd().split("\n").at(-1));
  }
  const r = new LineReader();
  r.push(enc.encode("a\nb"));
  r.end();
  assertEquals([r.lines, r.last], [2, "b"]);
});
