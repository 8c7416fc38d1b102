/**
 * Loading run folders (`sessions.csv`, `rounds.csv`, `meta.json`) into
 * polars DataFrames with a typed schema: integers as Int64, milliseconds as
 * Float64, empty cells (phases not reached) as null.
 *
 * @module
 */
import pl from "nodejs-polars";
import type { DataFrame } from "nodejs-polars";
import { UsageError } from "../util/errors.ts";
import { RUNS_DIR } from "../run/record.ts";

/** Schema of `sessions.csv`. */
export const SESSION_SCHEMA = {
  run_id: pl.Utf8,
  client: pl.Utf8,
  pool_size: pl.Int64,
  round: pl.Int64,
  session: pl.Int64,
  started_at_ms: pl.Float64,
  connect_ms: pl.Float64,
  auth_ms: pl.Float64,
  exec_ms: pl.Float64,
  read_ms: pl.Float64,
  close_ms: pl.Float64,
  total_ms: pl.Float64,
  bytes: pl.Int64,
  lines: pl.Int64,
  exit_code: pl.Int64,
  status: pl.Utf8,
  error: pl.Utf8,
};

/** Schema of `rounds.csv`. */
export const ROUND_SCHEMA = {
  run_id: pl.Utf8,
  client: pl.Utf8,
  pool_size: pl.Int64,
  round: pl.Int64,
  started_at_ms: pl.Float64,
  wall_ms: pl.Float64,
  ok: pl.Int64,
  failed: pl.Int64,
  client_cpu_ms: pl.Float64,
  server_cpu_ms: pl.Float64,
  client_rss_mb: pl.Float64,
};

/** Metadata of a run as written by the benchmark (`meta.json`). */
// deno-lint-ignore no-explicit-any
export type RunMeta = Record<string, any>;

/** One or several runs, loaded. */
export interface RunData {
  /** Run folders, in the order given. */
  dirs: string[];
  /** meta.json of each run (same order). */
  metas: RunMeta[];
  /**
   * Every session row, plus `series`: the client name, or
   * `client (run_id)` when several runs are loaded.
   */
  sessions: DataFrame;
  /** Every round row, plus `series`. */
  rounds: DataFrame;
}

function readTyped(path: string, schema: Record<string, unknown>): DataFrame {
  let text: string;
  try {
    // Only the header is read here; polars reads the file itself.
    using f = Deno.openSync(path);
    const buf = new Uint8Array(4096);
    const n = f.readSync(buf) ?? 0;
    text = new TextDecoder().decode(buf.subarray(0, n));
  } catch {
    throw new UsageError(
      `${path} not found: give a run folder written by deno task bench`,
    );
  }
  const header = text.split("\n")[0];
  const want = Object.keys(schema).join(",");
  if (header !== want) {
    throw new UsageError(
      `${path}: unexpected header; expected ${want} (is this a run folder of deno task bench?)`,
    );
  }
  // deno-lint-ignore no-explicit-any
  return pl.readCSV(path, { schema: schema as any, hasHeader: true });
}

/**
 * Loads one or several run folders.
 *
 * @example
 * ```ts ignore
 * import { loadRuns } from "./load.ts";
 * const run = loadRuns(["data/runs/sample-seed"]);
 * console.log(run.sessions.height);
 * ```
 */
export function loadRuns(dirs: readonly string[]): RunData {
  if (dirs.length === 0) throw new UsageError("no run folder given");
  const many = dirs.length > 1;
  const metas: RunMeta[] = [];
  const sessions: DataFrame[] = [];
  const rounds: DataFrame[] = [];
  for (const dir of dirs) {
    let meta: RunMeta = {};
    try {
      meta = JSON.parse(Deno.readTextFileSync(`${dir}/meta.json`));
    } catch {
      // A run killed before meta.json was written still has data.
    }
    metas.push(meta);
    const series = (df: DataFrame) =>
      df.withColumns(
        (many
          ? pl.concatString([
            pl.col("client"),
            pl.lit(" ("),
            pl.col("run_id"),
            pl.lit(")"),
          ], "")
          : pl.col("client")).alias("series"),
      );
    sessions.push(series(readTyped(`${dir}/sessions.csv`, SESSION_SCHEMA)));
    rounds.push(series(readTyped(`${dir}/rounds.csv`, ROUND_SCHEMA)));
  }
  return {
    dirs: [...dirs],
    metas,
    sessions: many ? pl.concat(sessions) : sessions[0],
    rounds: many ? pl.concat(rounds) : rounds[0],
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
 * ```ts ignore
 * import { newestRun } from "./load.ts";
 * console.log(newestRun());
 * ```
 */
export function newestRun(root: string = RUNS_DIR): string {
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(root)].filter((e) =>
      e.isDirectory && /^\d{8}T\d{6}Z-/.test(e.name)
    ).map((e) => e.name).filter((n) => {
      try {
        Deno.statSync(`${root}/${n}/sessions.csv`);
        return true;
      } catch {
        return false;
      }
    }).sort();
  } catch {
    // no runs folder yet
  }
  if (names.length > 0) return `${root}/${names[names.length - 1]}`;
  try {
    Deno.statSync(`${SAMPLE_RUN}/sessions.csv`);
    return SAMPLE_RUN;
  } catch {
    throw new UsageError(
      `no run under ${root}; run deno task bench first (or give a run folder)`,
    );
  }
}
