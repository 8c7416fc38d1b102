/**
 * Loading run folders (`sessions.csv`, `rounds.csv`, `meta.json`) into
 * polars DataFrames with a typed schema: integers as Int64, milliseconds as
 * Float64, empty cells (phases not reached) as null. A last row cut short
 * as it was written (a full disk, a kill mid-write) is dropped, with a
 * warning that says so.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import pl from "nodejs-polars";
import type { DataFrame, DataType } from "nodejs-polars";
import { readRecord, type RunMeta } from "../run/record.ts";
import { type Column, ROUND_COLUMNS, SESSION_COLUMNS } from "../run/schema.ts";
import { UsageError } from "../util/errors.ts";
import { exists } from "../util/fs.ts";
import { RUNS_DIR } from "../util/paths.ts";
import { gunzipSync } from "node:zlib";
import { isRunDir } from "../run/run_dir.ts";

const POLARS_TYPES = {
  string: pl.Utf8,
  status: pl.Utf8,
  int: pl.Int64,
  float: pl.Float64,
} as const;

/**
 * The polars schema of a column list (from `src/run/schema.ts`).
 *
 * @example
 * ```ts
 * import { polarsSchema } from "./load.ts";
 * import { ROUND_COLUMNS } from "../run/schema.ts";
 * import pl from "nodejs-polars";
 * import assert from "node:assert/strict";
 * const s = polarsSchema(ROUND_COLUMNS);
 * assert.equal(s.pool_size, pl.Int64);
 * assert.equal(s.wall_ms, pl.Float64);
 * ```
 */
export function polarsSchema(
  cols: readonly Column[],
): Record<string, DataType> {
  return Object.fromEntries(cols.map((c) => [c.name, POLARS_TYPES[c.type]]));
}

/** `meta.json` as read back: defined with the record, in `src/run/record.ts`. */
export type { RunMeta };

/** One or several runs, loaded. */
export interface RunData {
  /** Run folders, in the order given. */
  dirs: string[];
  /** meta.json of each run (same order), upgraded to the current shape. */
  metas: RunMeta[];
  /**
   * Every session row, plus `series`: the client name, or
   * `client (run_id)` when several runs are loaded.
   */
  sessions: DataFrame;
  /** Every round row, plus `series`. */
  rounds: DataFrame;
  /**
   * What loading had to do to the files, one sentence each, naming the
   * file: e.g. a torn last row dropped. Empty for whole files.
   */
  warnings: string[];
}

/**
 * A gzip-compressed CSV (`PATH.gz` where `PATH` is missing) as its whole
 * records, or undefined when there is none.
 */
function gzippedCsv(path: string): Buffer | undefined {
  if (exists(path) || !exists(`${path}.gz`)) return undefined;
  const body = gunzipSync(Deno.readFileSync(`${path}.gz`));
  // Whole records only, as for a plain file (see dropTornRow).
  const end = body.lastIndexOf(0x0a);
  return Buffer.from(body.buffer, body.byteOffset, end + 1);
}

function readHeader(path: string): string[] {
  try {
    // Only the header is read here; polars reads the file itself.
    using f = Deno.openSync(path);
    const buf = new Uint8Array(4096);
    const n = f.readSync(buf) ?? 0;
    return new TextDecoder().decode(buf.subarray(0, n)).split("\n")[0]
      .split(",");
  } catch {
    throw new UsageError(
      `${path} not found: give a run folder written by deno task bench`,
    );
  }
}

/** Bytes read at a time by {@linkcode wholeLength}. */
const SCAN_CHUNK = 1 << 20;

/**
 * The length of a CSV file's whole records: the bytes up to and including
 * the last record delimiter (a newline outside quotes). The writer ends
 * every record with a newline, so anything after that is a record cut
 * short as it was written. Quoted cells may hold newlines and doubled
 * quotes, so quotes are followed from the start.
 *
 * @example
 * ```ts
 * import { wholeLength } from "./load.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const check = (text: string) => {
 *   Deno.writeTextFileSync(`${dir}/x.csv`, text);
 *   return wholeLength(`${dir}/x.csv`);
 * };
 * assert.deepEqual(check("a,b\n1,2\n"), { whole: 8, size: 8 });
 * assert.deepEqual(check("a,b\n1,2\n3,"), { whole: 8, size: 10 });
 * // Cut after a newline inside a quoted cell.
 * assert.deepEqual(check('a,b\n1,"x\n'), { whole: 4, size: 9 });
 * assert.deepEqual(check('a,b\n1,"x\n""y"""\n'), { whole: 16, size: 16 });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function wholeLength(path: string): { whole: number; size: number } {
  using f = Deno.openSync(path);
  const buf = new Uint8Array(SCAN_CHUNK);
  const QUOTE = 0x22;
  const NL = 0x0a;
  let pos = 0;
  let quoted = false;
  let whole = 0;
  for (;;) {
    const n = f.readSync(buf);
    if (n === null || n === 0) break;
    const chunk = buf.subarray(0, n);
    let i = 0;
    while (i < n) {
      const q = chunk.indexOf(QUOTE, i);
      const stop = q === -1 ? n : q;
      if (!quoted && stop > i) {
        // The last newline in [i, stop) ends a whole record.
        const nl = chunk.subarray(i, stop).lastIndexOf(NL);
        if (nl !== -1) whole = pos + i + nl + 1;
      }
      if (q === -1) break;
      quoted = !quoted;
      i = q + 1;
    }
    pos += n;
  }
  return { whole, size: pos };
}

/**
 * A CSV file's whole records as a buffer when its last record was cut
 * short (and the warning that says so), else undefined (read the file).
 */
function dropTornRow(
  path: string,
): { body: Buffer; warning: string } | undefined {
  const { whole, size } = wholeLength(path);
  // No whole header: left to the header check.
  if (whole === size || whole === 0) return undefined;
  const bytes = new Uint8Array(whole);
  using f = Deno.openSync(path);
  let off = 0;
  while (off < whole) {
    const n = f.readSync(bytes.subarray(off));
    if (n === null || n === 0) break;
    off += n;
  }
  return {
    body: Buffer.from(bytes.buffer, 0, off),
    warning:
      `${path}: its last row was cut short (a full disk, or the run killed while writing it): 1 torn row dropped`,
  };
}

/**
 * Reads a CSV written in any schema version: its header must be the
 * current columns in order, less columns added by later versions (those
 * come back as nulls), so every column has its current type and place. A
 * last row cut short as it was written is dropped, and a warning naming
 * the file is pushed onto `warnings`.
 *
 * @throws {UsageError} for a missing file or an unknown header.
 * @example
 * ```ts
 * import { readCsv } from "./load.ts";
 * import { ROUND_COLUMNS } from "../run/schema.ts";
 * import assert from "node:assert/strict";
 * const warnings: string[] = [];
 * const df = readCsv(new URL("../../data/runs/sample-seed/rounds.csv", import.meta.url).pathname, ROUND_COLUMNS, warnings);
 * assert.equal(df.columns.length, ROUND_COLUMNS.length);
 * assert.deepEqual(warnings, []);
 * ```
 */
export function readCsv(
  path: string,
  cols: readonly Column[],
  warnings: string[] = [],
): DataFrame {
  const gz = gzippedCsv(path);
  const header = gz
    ? gz.subarray(0, Math.max(0, gz.indexOf(0x0a))).toString().split(",")
    : readHeader(path);
  const present = cols.filter((c) => header.includes(c.name));
  const missingOld = cols.filter((c) =>
    !header.includes(c.name) && (c.since ?? 1) <= 1
  );
  if (
    missingOld.length > 0 ||
    header.join(",") !== present.map((c) => c.name).join(",")
  ) {
    throw new UsageError(
      `${path}: unexpected header; expected ${
        cols.map((c) => c.name).join(",")
      } (or an older version of it; is this a run folder of deno task bench?)`,
    );
  }
  const torn = gz ? undefined : dropTornRow(path);
  if (torn) warnings.push(torn.warning);
  const df = pl.readCSV(gz ?? torn?.body ?? path, {
    // deno-lint-ignore no-explicit-any
    schema: polarsSchema(present) as any,
    hasHeader: true,
  });
  const added = cols.filter((c) => !header.includes(c.name));
  if (added.length === 0) return df;
  return df.withColumns(
    ...added.map((c) => pl.lit(null).cast(POLARS_TYPES[c.type]).alias(c.name)),
  ).select(...cols.map((c) => c.name));
}

/**
 * Loads one or several run folders.
 *
 * @example
 * ```ts
 * import { loadRuns } from "./load.ts";
 * import assert from "node:assert/strict";
 * const v1 = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const run = loadRuns([v1, v1]);
 * assert.equal(run.metas[0].schema_version, 1);
 * assert.equal(run.sessions.height, 2 * 980);
 * assert.equal(run.sessions.getColumn("series").get(0), "ssh2 (20261125T211412Z-maxstartups-default)");
 * assert.deepEqual(run.warnings, []); // whole files
 * ```
 */
export function loadRuns(dirs: readonly string[]): RunData {
  if (dirs.length === 0) throw new UsageError("no run folder given");
  const many = dirs.length > 1;
  const metas: RunMeta[] = [];
  const sessions: DataFrame[] = [];
  const rounds: DataFrame[] = [];
  const warnings: string[] = [];
  for (const dir of dirs) {
    // A run killed before meta.json was written still has data.
    metas.push(readRecord(dir) ?? {});
    const s = readCsv(`${dir}/sessions.csv`, SESSION_COLUMNS, warnings);
    const r = readCsv(`${dir}/rounds.csv`, ROUND_COLUMNS, warnings);
    // With emulated RTTs swept (`--rtt`), each (client, RTT) is a series of
    // its own. The rounds say so: with `--server-rtt` the sessions' RTT is
    // their host's, a fleet's mix within one round, not a series.
    const rtt = r.getColumn("rtt_ms").nullCount() < r.height;
    const series = (df: DataFrame) =>
      df.withColumns(
        pl.concatString([
          pl.col("client"),
          ...(rtt
            ? [
              pl.lit(" @"),
              pl.col("rtt_ms").cast(pl.Int64).cast(pl.Utf8),
              pl.lit(" ms"),
            ]
            : []),
          ...(many ? [pl.lit(" ("), pl.col("run_id"), pl.lit(")")] : []),
        ], "").alias("series"),
      );
    sessions.push(series(s));
    rounds.push(series(r));
  }
  return {
    dirs: [...dirs],
    metas,
    sessions: many ? pl.concat(sessions) : sessions[0],
    rounds: many ? pl.concat(rounds) : rounds[0],
    warnings,
  };
}

/** Folder of the committed sample run (used when no run exists yet). */
export const SAMPLE_RUN: string = new URL(
  "../../data/runs/sample-seed",
  import.meta.url,
).pathname;

/**
 * The newest run folder under `root` (by name, which starts with the UTC
 * time), skipping the committed sample; the sample if there is no other.
 *
 * @example
 * ```ts
 * import { newestRun, SAMPLE_RUN } from "./load.ts";
 * import assert from "node:assert/strict";
 * const empty = await Deno.makeTempDir();
 * assert.equal(newestRun(empty), SAMPLE_RUN); // no run yet: the committed sample
 * await Deno.remove(empty);
 * ```
 */
export function newestRun(root: string = RUNS_DIR): string {
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(root)].filter((e) =>
      e.isDirectory && /^\d{8}T\d{6}Z-/.test(e.name)
    ).map((e) => e.name).filter((n) => isRunDir(`${root}/${n}`))
      .sort();
  } catch {
    // no runs folder yet
  }
  if (names.length > 0) return `${root}/${names[names.length - 1]}`;
  if (isRunDir(SAMPLE_RUN)) return SAMPLE_RUN;
  throw new UsageError(
    `no run under ${root}; run deno task bench first (or give a run folder)`,
  );
}

/**
 * The run folders a command was given (trailing slashes dropped), or the
 * newest run when none; each must be a folder.
 *
 * @throws {UsageError} naming a path that is not a folder.
 * @example
 * ```ts
 * import { resolveRunDirs } from "./load.ts";
 * import assert from "node:assert/strict";
 * const v1 = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * assert.deepEqual(resolveRunDirs([`${v1}/`]), [v1]);
 * assert.throws(() => resolveRunDirs(["/nonexistent"]), /is not a run folder/);
 * ```
 */
export function resolveRunDirs(dirs: readonly string[]): string[] {
  const runs = dirs.length
    ? dirs.map((d) => d.replace(/\/+$/, ""))
    : [newestRun()];
  for (const d of runs) {
    try {
      if (!Deno.statSync(d).isDirectory) throw new Error();
    } catch {
      throw new UsageError(
        `${d} is not a run folder; give a folder written by deno task bench (data/runs/...)`,
      );
    }
  }
  return runs;
}
