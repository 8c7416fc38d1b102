/**
 * The schema module against everything that depends on it: the files of
 * every version written so far, the generated docs/data-format.md, and
 * the statistics of committed runs (golden files computed before the
 * schema module existed).
 */
import { assert, assertEquals } from "./assert.ts";
import { gunzipSync } from "node:zlib";
import { loadRuns, readCsv } from "../src/analysis/load.ts";
import {
  intervalMedians,
  poolStats,
  withComposites,
} from "../src/analysis/stats.ts";
import { CsvSink } from "../src/run/csv_sink.ts";
import { readRecord } from "../src/run/record.ts";
import {
  type Column,
  HOST_COLUMNS,
  INTERVAL_COLUMNS,
  markdownTable,
  ROUND_COLUMNS,
  SCHEMA_VERSION,
  SESSION_COLUMNS,
  SUMMARY_COLUMNS,
} from "../src/run/schema.ts";
import { DATA_FORMAT_PATH, dataFormatDoc } from "../src/run/schema_doc.ts";

const here = (p: string) => new URL(p, import.meta.url).pathname;
/** A frozen excerpt of a version-1 run (sample-maxstartups, pools 1, 2, 20, 40). */
const V1_RUN = here("./fixtures/v1-run");

/**
 * Statistics as plain JSON (NaN and null alike), without `series`.
 */
function stats(dir: string): unknown {
  const s = withComposites(loadRuns([dir]).sessions);
  return JSON.parse(JSON.stringify({
    pools: poolStats(s).drop("series").toRecords(),
    intervals: intervalMedians(s, 5000).drop("series").toRecords(),
  }));
}

for (
  const [name, dir] of [
    ["v1-run", V1_RUN],
    // The committed sample runs: when they are regenerated, regenerate
    // their golden files with the code of the same commit.
    ["sample-seed", here("../data/runs/sample-seed")],
    ["sample-seed-openssh", here("../data/runs/sample-seed-openssh")],
    ["sample-maxstartups", here("../data/runs/sample-maxstartups")],
  ]
) {
  Deno.test(`schema: per-pool and interval statistics of ${name} match its golden file`, () => {
    const golden = JSON.parse(
      Deno.readTextFileSync(here(`./fixtures/golden/${name}.json`)),
    );
    assertEquals(stats(dir), golden);
  });
}

/** The header of a version's files: the columns it had, in today's order. */
function headerOf(cols: readonly Column[], version: number): string {
  return cols.filter((c) => (c.since ?? 1) <= version).map((c) => c.name)
    .join(",");
}

/** The first line of a file, or undefined when there is no such file. */
function firstLine(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).split("\n")[0];
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  // A committed sample kept small: the same file, gzip-compressed.
  try {
    const body = gunzipSync(Deno.readFileSync(`${path}.gz`));
    return body.subarray(0, body.indexOf(0x0a)).toString();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Every committed run folder (the samples and the version-1 excerpt). */
function committedRuns(): { dir: string; version: number }[] {
  const root = here("../data/runs");
  return [
    V1_RUN,
    ...[...Deno.readDirSync(root)].filter((e) => e.isDirectory)
      .map((e) => `${root}/${e.name}`).sort(),
  ].map((dir) => ({ dir, version: readRecord(dir)?.schema_version ?? 1 }));
}

const FILES: [string, readonly Column[]][] = [
  ["sessions.csv", SESSION_COLUMNS],
  ["rounds.csv", ROUND_COLUMNS],
  ["summary.csv", SUMMARY_COLUMNS],
  ["intervals.csv", INTERVAL_COLUMNS],
  ["hosts.csv", HOST_COLUMNS],
];

Deno.test("schema: every committed run's CSV headers are its version's columns (`since`), in order", () => {
  const runs = committedRuns();
  assert(runs.length > 10, `${runs.length} runs`);
  let checked = 0;
  for (const { dir, version } of runs) {
    for (const [file, cols] of FILES) {
      const header = firstLine(`${dir}/${file}`);
      if (header === undefined) continue;
      assertEquals(
        header,
        headerOf(cols, version),
        `${dir}/${file} (schema version ${version})`,
      );
      checked++;
    }
  }
  assert(checked >= 2 * runs.length, `${checked} files`);
});

Deno.test("schema: the CSV writer's headers, less later columns, are the newest committed run's", () => {
  const newest = committedRuns().reduce((a, b) =>
    b.version > a.version ? b : a
  );
  assert(newest.version <= SCHEMA_VERSION);
  const dir = Deno.makeTempDirSync();
  try {
    CsvSink.create(dir).close();
    for (const file of ["sessions.csv", "rounds.csv"]) {
      const written = firstLine(`${dir}/${file}`)!.split(",");
      const committed = firstLine(`${newest.dir}/${file}`)!.split(",");
      const cols: readonly Column[] = file === "sessions.csv"
        ? SESSION_COLUMNS
        : ROUND_COLUMNS;
      const later = new Set<string>(
        cols.filter((c) => (c.since ?? 1) > newest.version).map((c) => c.name),
      );
      assertEquals(
        written.filter((name) => !later.has(name)),
        committed,
        `${file}: written now vs ${newest.dir} (version ${newest.version})`,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("schema: docs/data-format.md is what deno task docs writes from the schema", async () => {
  const committed = Deno.readTextFileSync(here(`../${DATA_FORMAT_PATH}`));
  const generated = await dataFormatDoc();
  assert(
    committed === generated,
    `${DATA_FORMAT_PATH} is not what the schema generates: run deno task docs and commit the result`,
  );
  // The page carries every table of the schema.
  for (
    const cols of [
      SESSION_COLUMNS,
      ROUND_COLUMNS,
      SUMMARY_COLUMNS,
      INTERVAL_COLUMNS,
      HOST_COLUMNS,
    ]
  ) {
    assert(committed.includes(markdownTable(cols)), markdownTable(cols));
  }
});

Deno.test("schema: a version-1 meta.json reads with the current summary names", () => {
  const r = readRecord(V1_RUN);
  assert(r !== undefined);
  assertEquals(r.schema_version, 1);
  assert(SCHEMA_VERSION > 1);
  const row = r.summary![0] as unknown as Record<string, unknown>;
  assertEquals(typeof row.pool_size, "number");
  assertEquals(typeof row.total_p50_ms, "number");
  assertEquals(row.pool, undefined);
  assertEquals(row.median_total_ms, undefined);
});

Deno.test("schema: a file without a column added later loads it as nulls", () => {
  const later: Column[] = [
    ...ROUND_COLUMNS,
    { name: "added_ms", type: "float", unit: "ms", meaning: "x", since: 99 },
  ];
  const df = readCsv(`${V1_RUN}/rounds.csv`, later);
  assertEquals(df.columns.at(-1), "added_ms");
  assertEquals(df.getColumn("added_ms").nullCount(), df.height);
  // A column of version 1 missing from a file is an error, not a null.
  const lost: Column[] = [
    ...ROUND_COLUMNS,
    { name: "old_ms", type: "float", unit: "ms", meaning: "x" },
  ];
  let message = "";
  try {
    readCsv(`${V1_RUN}/rounds.csv`, lost);
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("unexpected header"), message);
});
