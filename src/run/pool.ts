/**
 * Parsing of `--pool`: `A..B`, `A..B:STEP` or a list `1,10,30,100`.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";

const MAX_POOL = 100_000;

function int(text: string, what: string, spec: string): number {
  if (/^-\d+$/.test(text)) {
    throw new UsageError(
      `--pool ${spec}: ${what} must be at least 1 (a pool is a number of sessions started together); use e.g. --pool 1..30`,
    );
  }
  if (!/^\d+$/.test(text)) {
    throw new UsageError(
      `--pool ${spec}: "${text}" is not a whole number; use A..B, A..B:STEP or a list like 1,10,30`,
    );
  }
  const n = Number(text);
  if (n < 1) {
    throw new UsageError(
      `--pool ${spec}: ${what} must be at least 1 (a pool of 0 runs nothing); use e.g. --pool 1..30`,
    );
  }
  if (n > MAX_POOL) {
    throw new UsageError(
      `--pool ${spec}: ${what} ${n} is above the limit of ${MAX_POOL}; use a smaller pool`,
    );
  }
  return n;
}

/**
 * Parses a pool specification into the ordered list of pool sizes.
 *
 * @throws {UsageError} on bad syntax, zero or less, a descending range,
 * or a size listed twice (its rows could not be told apart).
 * @example
 * ```ts
 * import { parsePool } from "./pool.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parsePool("1..5"), [1, 2, 3, 4, 5]);
 * assert.deepEqual(parsePool("10..30:10"), [10, 20, 30]);
 * assert.deepEqual(parsePool("1,10,100"), [1, 10, 100]);
 * assert.throws(() => parsePool("0..3"), /at least 1/);
 * assert.throws(() => parsePool("-3"), /--pool -3: each size must be at least 1/);
 * assert.throws(() => parsePool("3,1,3"), /--pool 3,1,3: 3 is listed twice/);
 * ```
 */
export function parsePool(spec: string): number[] {
  const s = spec.trim();
  if (s === "") {
    throw new UsageError(
      "--pool is empty; use A..B, A..B:STEP or a list like 1,10,30",
    );
  }
  const range = /^([^.:,]+)\.\.([^.:,]+)(?::([^.:,]+))?$/.exec(s);
  if (range) {
    const a = int(range[1], "the start", s);
    const b = int(range[2], "the end", s);
    const step = range[3] === undefined ? 1 : int(range[3], "the step", s);
    if (b < a) {
      throw new UsageError(
        `--pool ${s}: the range goes down; write the smaller size first, e.g. --pool ${b}..${a}`,
      );
    }
    const out: number[] = [];
    for (let n = a; n <= b; n += step) out.push(n);
    return out;
  }
  if (s.includes("..") || s.includes(":")) {
    throw new UsageError(
      `--pool ${s}: not a range; use A..B or A..B:STEP, e.g. --pool 1..30 or --pool 10..100:10`,
    );
  }
  const list = s.split(",").map((p) => int(p.trim(), "each size", s));
  const twice = list.find((n, i) => list.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new UsageError(
      `--pool ${s}: ${twice} is listed twice; give each pool size once (its rows could not be told apart)`,
    );
  }
  return list;
}
