/**
 * The raw-data files of a run: `sessions.csv` and `rounds.csv`, written
 * through csv-stringify and appended once per round, so that killing the
 * process loses at most the round in flight.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import type { RoundRow, SessionRow } from "../clients/seam.ts";

/** Header of `sessions.csv`, in order. */
export const SESSION_COLUMNS = [
  "run_id",
  "client",
  "pool_size",
  "round",
  "session",
  "started_at_ms",
  "connect_ms",
  "auth_ms",
  "exec_ms",
  "read_ms",
  "close_ms",
  "total_ms",
  "bytes",
  "lines",
  "exit_code",
  "status",
  "error",
] as const satisfies readonly (keyof SessionRow)[];

/** Header of `rounds.csv`, in order. */
export const ROUND_COLUMNS = [
  "run_id",
  "client",
  "pool_size",
  "round",
  "started_at_ms",
  "wall_ms",
  "ok",
  "failed",
  "client_cpu_ms",
  "server_cpu_ms",
  "client_rss_mb",
] as const satisfies readonly (keyof RoundRow)[];

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
 * console.log(toCsv([{ a: 1.23456, b: "x,y" }], ["a", "b"])); // 1.235,"x,y"\n
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
 * ```ts ignore
 * import { CsvSink } from "./csv_sink.ts";
 * const sink = CsvSink.create("data/runs/x");
 * sink.write(sessionRows, roundRow);
 * sink.close();
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
      open("sessions.csv", SESSION_COLUMNS),
      open("rounds.csv", ROUND_COLUMNS),
    );
  }

  /**
   * Appends one round: its session rows, then its round row, each file in
   * a single write so a kill never leaves half a row behind.
   */
  write(sessions: readonly SessionRow[], round: RoundRow): void {
    if (this.#closed) throw new Error("CsvSink is closed");
    writeAll(this.#sessions, toCsv(sessions, SESSION_COLUMNS));
    writeAll(this.#rounds, toCsv([round], ROUND_COLUMNS));
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
