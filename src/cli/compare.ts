/**
 * Entry point of `deno task compare RUN_A RUN_B [RUN ...]`: per client,
 * pool size and metric, each run's median with its interval, the change,
 * a p-value and `~` where the difference is noise. With three or more
 * runs, each is compared with the first.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { stringify } from "csv-stringify/sync";
import { loadRuns } from "../analysis/load.ts";
import {
  clientSides,
  type CompareRow,
  compareValues,
  formatComparison,
  runValues,
} from "../analysis/run_comparison.ts";
import { UsageError } from "../util/errors.ts";
import { runMain } from "./main.ts";

/**
 * Changes smaller than this (in %) between two runs are shown as `~`:
 * two runs of the same command on this machine differed by up to 3.5 %
 * (README, "Comparisons that hold up in print").
 */
export const NOISE_PCT = 5;

/** Text of `--help`. */
export const COMPARE_HELP = `deno task compare [options] RUN_A RUN_B [RUN ...]
       deno task compare --clients A,B RUN

Compares runs (folders written by deno task bench) per client, pool size and
metric (total, commands start, channel read, client CPU per session): each
run's median with its 95 % interval (bootstrap over whole rounds), the change
in %, the Mann-Whitney U p-value on per-round values, and ~ where the
difference is not significant at alpha 0.05. With three or more runs each is
compared with the first.

With --clients A,B and one run, compares two clients of that run instead
(B against A, matched by pool size).

Options:
  --format F    table (default), markdown or csv
  --clients A,B compare client B with client A within one run
  --noise PCT   changes smaller than PCT % are shown as ~ even when the test
                finds them (default 5: two runs of the same command differed
                by up to 3.5 % here; 0 with --clients, where both sides ran
                interleaved in one run)
  -h, --help    this text
`;

const CSV_HEAD = [
  "client",
  "pool_size",
  "metric",
  "a_median",
  "b_median",
  "delta_pct",
  "p_value",
  "significant",
  "a_ci_low",
  "a_ci_high",
  "b_ci_low",
  "b_ci_high",
  "a_rounds",
  "b_rounds",
];

function csvRows(rows: CompareRow[], prefix: string[] = []): string[][] {
  const n = (v: number) => Number.isFinite(v) ? String(+v.toFixed(4)) : "";
  return rows.map((r) => [
    ...prefix,
    r.client,
    String(r.pool_size),
    r.metric,
    n(r.a.median),
    n(r.b.median),
    n(r.delta_pct),
    n(r.p_value),
    String(r.significant),
    n(r.a.low),
    n(r.a.high),
    n(r.b.low),
    n(r.b.high),
    String(r.a.rounds),
    String(r.b.rounds),
  ]);
}

/**
 * The comparison text of runs `dirs` in `format`.
 *
 * @example
 * ```ts
 * import { compareRuns } from "./compare.ts";
 * import assert from "node:assert/strict";
 * const v1 = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const csv = compareRuns([v1, v1], "csv");
 * assert.equal(csv.split("\n")[0], "client,pool_size,metric,a_median,b_median,delta_pct,p_value,significant,a_ci_low,a_ci_high,b_ci_low,b_ci_high,a_rounds,b_rounds");
 * assert.ok(csv.split("\n").slice(1).filter(Boolean).every((l) => l.includes(",false,")));
 * ```
 */
export function compareRuns(
  dirs: string[],
  format: "table" | "markdown" | "csv",
  noisePct = NOISE_PCT,
): string {
  const runs = dirs.map((d) => loadRuns([d]));
  const values = runs.map((r) => runValues(r.sessions, r.rounds));
  const names = runs.map((r, i) => r.metas[0].run_id ?? dirs[i]);
  const many = dirs.length > 2;
  const out: string[] = [];
  const csv: string[][] = [];
  for (let i = 1; i < dirs.length; i++) {
    const c = compareValues(values[0], values[i], noisePct);
    if (format === "csv") {
      csv.push(...csvRows(c.rows, many ? [names[0], names[i]] : []));
    } else {
      if (many) out.push(`## ${names[i]} against ${names[0]}`, "");
      out.push(formatComparison(c, [names[0], names[i]], format), "");
    }
  }
  if (format === "csv") {
    const head = many ? ["baseline_run", "run", ...CSV_HEAD] : CSV_HEAD;
    return stringify([head, ...csv], { record_delimiter: "unix" });
  }
  return out.join("\n").trimEnd();
}

/**
 * Client `b` against client `a` within one run, by pool size.
 *
 * @example
 * ```ts
 * import { compareClients } from "./compare.ts";
 * import assert from "node:assert/strict";
 * const v1 = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const text = compareClients(v1, "libssh2", "ssh2", "markdown");
 * assert.match(text, /\| libssh2 vs ssh2 \| 1 \| total ms \|/);
 * ```
 */
export function compareClients(
  dir: string,
  a: string,
  b: string,
  format: "table" | "markdown" | "csv",
  noisePct = 0,
): string {
  const run = loadRuns([dir]);
  const [va, vb] = clientSides(runValues(run.sessions, run.rounds), a, b);
  for (const [name, v] of [[a, va], [b, vb]] as const) {
    if (v.size === 0) {
      throw new UsageError(`${dir} has no sessions of client ${name}`);
    }
  }
  const c = compareValues(va, vb, noisePct);
  if (format === "csv") {
    return stringify([CSV_HEAD, ...csvRows(c.rows)], {
      record_delimiter: "unix",
    });
  }
  return formatComparison(c, [a, b], format);
}

function compare(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: "string" },
        clients: { type: "string" },
        noise: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError(
      `${(e as Error).message.split("\n")[0]}; see deno task compare --help`,
    );
  }
  if (parsed.values.help) {
    console.log(COMPARE_HELP);
    return 0;
  }
  const format = parsed.values.format ?? "table";
  if (!["table", "markdown", "csv"].includes(format)) {
    throw new UsageError(
      `--format ${format}: use table, markdown or csv`,
    );
  }
  const dirs = parsed.positionals.map((d) => d.replace(/\/+$/, ""));
  const pair = parsed.values.clients?.split(",").map((c) => c.trim());
  if (pair !== undefined && (pair.length !== 2 || dirs.length !== 1)) {
    throw new UsageError(
      "--clients takes two client names and one run folder, e.g. deno task compare --clients libssh2,paramiko data/runs/RUN",
    );
  }
  if (pair === undefined && dirs.length < 2) {
    throw new UsageError(
      "give two or more run folders, e.g. deno task compare data/runs/A data/runs/B",
    );
  }
  for (const d of dirs) {
    try {
      Deno.statSync(`${d}/sessions.csv`);
    } catch {
      throw new UsageError(
        `${d} is not a run folder (no sessions.csv); give folders written by deno task bench`,
      );
    }
  }
  const f = format as "table" | "markdown" | "csv";
  const noise = parsed.values.noise === undefined
    ? undefined
    : Number(parsed.values.noise);
  if (noise !== undefined && !(noise >= 0)) {
    throw new UsageError(
      `--noise ${parsed.values.noise}: give a percentage >= 0, e.g. --noise 5`,
    );
  }
  console.log(
    pair
      ? compareClients(dirs[0], pair[0], pair[1], f, noise ?? 0)
      : compareRuns(dirs, f, noise ?? NOISE_PCT),
  );
  return 0;
}

/** Runs the command line; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runMain(() => compare(argv));
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
