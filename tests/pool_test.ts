import { assertEquals, assertThrows } from "./assert.ts";
import { parsePool } from "../src/run/pool.ts";
import { UsageError } from "../src/util/errors.ts";

Deno.test("parsePool: ranges, steps and lists", () => {
  assertEquals(parsePool("1..5"), [1, 2, 3, 4, 5]);
  assertEquals(parsePool("3..3"), [3]);
  assertEquals(parsePool("10..100:30"), [10, 40, 70, 100]);
  assertEquals(parsePool("10..95:30"), [10, 40, 70]);
  assertEquals(parsePool("1,10,30,100"), [1, 10, 30, 100]);
  assertEquals(parsePool(" 7 "), [7]);
});

Deno.test("parsePool: bad input is a UsageError naming the fix", () => {
  for (
    const [spec, needle] of [
      ["0", "at least 1"],
      ["0..5", "at least 1"],
      ["1..10:0", "at least 1"],
      ["5..1", "range goes down"],
      ["a..b", "not a whole number"],
      ["1...5", "not a range"],
      ["1..", "not a range"],
      ["1,,2", "not a whole number"],
      ["1.5", "not a whole number"],
      ["", "empty"],
      ["-3", "must be at least 1"],
      ["3,1,3", "3 is listed twice"],
      ["200000", "above the limit"],
    ] as const
  ) {
    assertThrows(
      () => parsePool(spec),
      (e: unknown) =>
        e instanceof UsageError && e.message.includes(needle) &&
        !e.message.includes("\n"),
      `--pool ${spec}`,
    );
  }
});
