/**
 * The raw-data files of a run: `sessions.csv` and `rounds.csv`, written
 * through csv-stringify and appended once per round, so that killing the
 * process loses at most the round in flight, and a write that fails (a
 * full disk) takes the round back out, so both files end at a round.
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
import { writeError } from "./write_error.ts";

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

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/** One of the sink's files: where it is and how long its whole rounds are. */
interface SinkFile {
  path: string;
  file: Deno.FsFile;
  /** Bytes of the header and the rounds written whole. */
  length: number;
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
 * assert.equal(Deno.readTextFileSync(`${dir}/rounds.csv`).split("\n")[1], "x,ssh2,1,1,0,40,1,0,5,,80,,,,,,,,,");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class CsvSink {
  #sessions: SinkFile;
  #rounds: SinkFile;
  #closed = false;
  #enc = new TextEncoder();

  private constructor(sessions: SinkFile, rounds: SinkFile) {
    this.#sessions = sessions;
    this.#rounds = rounds;
  }

  /**
   * Creates both files in `dir` (which must exist) and writes headers.
   *
   * @throws {UsageError} (exit code 1) naming the file that could not be
   * written, e.g. on a full disk.
   * @example
   * ```ts
   * import { CsvSink } from "./csv_sink.ts";
   * import assert from "node:assert/strict";
   * assert.throws(
   *   () => CsvSink.create("/nonexistent"),
   *   /could not write \/nonexistent\/sessions\.csv: No such file or directory/,
   * );
   * ```
   */
  static create(dir: string): CsvSink {
    const enc = new TextEncoder();
    const open = (name: string, columns: readonly string[]): SinkFile => {
      const path = `${dir}/${name}`;
      let f: Deno.FsFile | undefined;
      try {
        f = Deno.openSync(path, { write: true, createNew: true });
        const header = enc.encode(toCsv([], columns as never[], true));
        writeAll(f, header);
        return { path, file: f, length: header.length };
      } catch (e) {
        f?.close();
        throw writeError(path, e);
      }
    };
    const sessions = open("sessions.csv", SESSION_HEADER);
    try {
      return new CsvSink(sessions, open("rounds.csv", ROUND_HEADER));
    } catch (e) {
      sessions.file.close();
      throw e;
    }
  }

  /**
   * Appends one round: its session rows, then its round row, each file in
   * a single write so a kill never leaves half a row behind. When a write
   * fails (a full disk), both files are cut back to where the round began
   * (no torn row, no session without its round) and the error names the
   * file.
   *
   * @throws {UsageError} (exit code 1) naming the file and the fix.
   */
  write(sessions: readonly SessionRow[], round: RoundRow): void {
    if (this.#closed) throw new Error("CsvSink is closed");
    const rows = this.#enc.encode(toCsv(sessions, SESSION_HEADER));
    const row = this.#enc.encode(toCsv([round], ROUND_HEADER));
    for (
      const [f, bytes] of [[this.#sessions, rows], [this.#rounds, row]] as const
    ) {
      try {
        writeAll(f.file, bytes);
      } catch (e) {
        this.#rewind();
        throw writeError(f.path, e);
      }
    }
    this.#sessions.length += rows.length;
    this.#rounds.length += row.length;
  }

  /** Cuts both files back to their whole rounds (never needs space). */
  #rewind(): void {
    for (const f of [this.#sessions, this.#rounds]) {
      try {
        f.file.truncateSync(f.length);
        f.file.seekSync(f.length, Deno.SeekMode.Start);
      } catch {
        // The loader drops a torn last row in any case.
      }
    }
  }

  /**
   * Flushes to disk and closes both files.
   *
   * @throws {UsageError} (exit code 1) naming a file whose flush failed,
   * after closing both.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let failed: Error | undefined;
    for (const f of [this.#sessions, this.#rounds]) {
      try {
        f.file.syncSync();
      } catch (e) {
        failed ??= writeError(f.path, e);
      } finally {
        f.file.close();
      }
    }
    if (failed) throw failed;
  }
}
