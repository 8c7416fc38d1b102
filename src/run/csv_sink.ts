/**
 * The raw-data files of a run: `sessions.csv` and `rounds.csv`, written
 * through csv-stringify and appended once per round, so that killing the
 * process loses at most the round in flight.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import {
  columnNames,
  ROUND_COLUMNS,
  type RoundRow,
  SESSION_COLUMNS,
  type SessionRow,
} from "./schema.ts";

/** Header of `sessions.csv`, in order (from the schema). */
export const SESSION_HEADER: readonly (keyof SessionRow & string)[] =
  columnNames(SESSION_COLUMNS);

/** Header of `rounds.csv`, in order (from the schema). */
export const ROUND_HEADER: readonly (keyof RoundRow & string)[] = columnNames(
  ROUND_COLUMNS,
);

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return "";
    return Number.isInteger(v) ? String(v) : v.toFixed(3);
  }
  return String(v);
}

/**
 * Formats rows as CSV text (no header): numbers with at most 3 decimals
 * (µs resolution for ms columns), absent values empty, quoting by
 * csv-stringify.
 *
 * @example
 * ```ts
 * import { toCsv } from "./csv_sink.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toCsv([{ a: 1.23456, b: "x,y" }], ["a", "b"]), '1.235,"x,y"\n');
 * assert.equal(toCsv([{ a: undefined, b: 2 }], ["a", "b"]), ",2\n");
 * ```
 */
export function toCsv<T extends object>(
  rows: readonly T[],
  columns: readonly (keyof T & string)[],
  header = false,
): string {
  const records = rows.map((r) =>
    columns.map((c) => cell((r as Record<string, unknown>)[c]))
  );
  if (header) records.unshift([...columns]);
  return stringify(records, { record_delimiter: "unix" });
}

function writeAll(file: Deno.FsFile, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/**
 * Appends rows to a run folder's `sessions.csv` and `rounds.csv`.
 *
 * @example
 * ```ts
 * import { CsvSink } from "./csv_sink.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const sink = CsvSink.create(dir);
 * sink.write([], { run_id: "x", client: "ssh2", pool_size: 1, round: 1, started_at_ms: 0,
 *   wall_ms: 40, ok: 1, failed: 0, client_cpu_ms: 5, client_rss_mb: 80 });
 * sink.close();
 * assert.equal(Deno.readTextFileSync(`${dir}/rounds.csv`).split("\n")[1], "x,ssh2,1,1,0,40,1,0,5,,80,,,,,,,");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class CsvSink {
  #sessions: Deno.FsFile;
  #rounds: Deno.FsFile;
  #closed = false;

  private constructor(sessions: Deno.FsFile, rounds: Deno.FsFile) {
    this.#sessions = sessions;
    this.#rounds = rounds;
  }

  /** Creates both files in `dir` (which must exist) and writes headers. */
  static create(dir: string): CsvSink {
    const open = (name: string, columns: readonly string[]) => {
      const f = Deno.openSync(`${dir}/${name}`, {
        write: true,
        createNew: true,
      });
      writeAll(f, toCsv([], columns as never[], true));
      return f;
    };
    return new CsvSink(
      open("sessions.csv", SESSION_HEADER),
      open("rounds.csv", ROUND_HEADER),
    );
  }

  /**
   * Appends one round: its session rows, then its round row, each file in
   * a single write so a kill never leaves half a row behind.
   */
  write(sessions: readonly SessionRow[], round: RoundRow): void {
    if (this.#closed) throw new Error("CsvSink is closed");
    writeAll(this.#sessions, toCsv(sessions, SESSION_HEADER));
    writeAll(this.#rounds, toCsv([round], ROUND_HEADER));
  }

  /** Flushes to disk and closes both files. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const f of [this.#sessions, this.#rounds]) {
      try {
        f.syncSync();
      } finally {
        f.close();
      }
    }
  }
}
