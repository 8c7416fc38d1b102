/**
 * The timings a summary gives an interval for: the five phases and the
 * seed's composites (commands start = connect + auth + exec, commands end
 * = close, channel read = read) and the total, read off a session row.
 * The analysis computes the same composites with polars
 * (`src/analysis/stats.ts`).
 *
 * @module
 */
import type { SessionRow } from "./schema.ts";

/** Timing names, as in the CSV and the analysis tables (without `_ms`). */
export const TIMINGS = [
  "connect",
  "auth",
  "exec",
  "read",
  "close",
  "disconnect",
  "reexec",
  "commands_start",
  "commands_end",
  "channel_read",
  "total",
] as const;

/** One timing's name. */
export type Timing = typeof TIMINGS[number];

/**
 * A timing of one session, ms; undefined when a phase it needs was not
 * reached.
 *
 * @example
 * ```ts
 * import { timing } from "./timings.ts";
 * import assert from "node:assert/strict";
 * const row = { connect_ms: 1, auth_ms: 30, exec_ms: 4, read_ms: 2, close_ms: 1, total_ms: 38 };
 * assert.equal(timing(row as never, "commands_start"), 35);
 * assert.equal(timing({ connect_ms: 1 } as never, "commands_start"), undefined);
 * ```
 */
export function timing(row: SessionRow, t: Timing): number | undefined {
  switch (t) {
    case "commands_start":
      return row.connect_ms === undefined || row.auth_ms === undefined ||
          row.exec_ms === undefined
        ? undefined
        : row.connect_ms + row.auth_ms + row.exec_ms;
    case "commands_end":
      return row.close_ms;
    case "channel_read":
      return row.read_ms;
    default:
      return row[`${t}_ms`];
  }
}
