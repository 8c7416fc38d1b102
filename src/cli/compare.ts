/**
 * Entry point of `deno task compare RUN_A RUN_B [RUN ...]`: per client,
 * pool size and metric, each run's median with its interval, the change
 * with its interval, a p-value for information and `~` where the change's
 * interval includes no change (`util/change_rule.ts`); cells where other
 * processes disturbed either run are not comparable. With three or more
 * runs, each is compared with the first. Between runs the run-to-run
 * noise model (`data/noise.json`, from `deno task noise`) widens the
 * intervals; two clients of one run are compared within it. As a table,
 * markdown, CSV or JSON.
 *
 * @module
 */
import { parameterDifferences } from "../analysis/parameter_diff.ts";
import { stringify } from "csv-stringify/sync";
import { loadRuns, type RunData } from "../analysis/load.ts";
import {
  clientSides,
  compareGroups,
  type CompareRow,
  compareValues,
  comparisonNotes,
  formatComparison,
  NOISE_PCT,
  runLoad,
  runValues,
} from "../analysis/run_comparison.ts";
import {
  betweenRun,
  checkRepeats,
  type NoiseModel,
  noiseProvenance,
  readNoiseModel,
} from "../analysis/run_noise.ts";
import { UsageError } from "../util/errors.ts";
import { NOISE_MODEL_PATH, shownPath, userPath } from "../util/paths.ts";
import { parseCommand, requireRunDirs, runMain } from "./main.ts";

export { NOISE_PCT };

/** The line printed when runs are compared without a noise model. */
export const NO_MODEL_WARNING =
  `warning: no noise model, so these intervals and tests are single-run ones and miss run-to-run variation (with a ${NOISE_PCT} % stopgap threshold); to measure it, run the same deno task bench command 3+ times and deno task noise the runs (writes data/noise.json, used by default).`;

/** Text of `--help`. */
export const COMPARE_HELP = `deno task compare [options] RUN_A RUN_B [RUN ...]
       deno task compare [options] A1,A2,A3 B1,B2,B3
       deno task compare --clients A,B RUN

Compares runs (folders written by deno task bench) per client, pool size and
metric (total, commands start, channel read, client CPU per session): each
run's median with its 95 % interval, the change in % with its 95 % interval,
and ~ where that interval as printed includes 0.0 % (one rule, as in the
summary's vs best; the p-value is shown for information). Between runs the
intervals include the run-to-run noise model (see --noise-model); within
one run, and without a model, they are the run's own (bootstrap over whole
rounds), with a Mann-Whitney U p-value on per-round values. Cells where
other processes used more than 10 % of one core in more than 10 % of either
run's rounds are "not comparable (machine busy)". With three or more runs
each is compared with the first.

A comma-separated list of run folders is one side made of repeated runs of
one command (as benchstat's -count): its median is the geometric mean of the
runs' medians, its interval from the larger of the runs' own spread and the
noise model's one-run variance, over the number of runs. Repeats detect
changes that single runs cannot tell from run-to-run noise.

With --clients A,B and one run, compares two clients of that run instead
(B against A, matched by pool size).

Options:
  --format F    table (default), markdown, csv or json (the table's rows
                and values, typed, with the notes and warnings)
  --clients A,B compare client B with client A within one run
  --noise-model FILE  the run-to-run noise model (default: data/noise.json
                when it exists; make it with deno task noise RUN1 RUN2 RUN3
                from 3+ runs of one command). With it, each median's
                interval is widened by the between-run variation tau
                (exp(ln m ± 1.96·sqrt(se² + tau²))), the change's interval
                is exp(d ± 1.96·sqrt(seA² + seB² + 2·tau²)) − 1 with
                d = ln mB − ln mA, and p the z test of the same.
                --noise-model none: single-run intervals only (blind to
                run-to-run noise)
  --noise PCT   also show changes smaller than PCT % as ~ (default: 0 with a
                noise model and with --clients, where both sides ran
                interleaved in one run; 5 without a model, as a stopgap)
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
  "method",
  "between_run_pct",
  "delta_ci_low_pct",
  "delta_ci_high_pct",
  "machine_busy",
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
    r.method,
    r.tau === null ? "" : n(100 * (Math.exp(r.tau) - 1)),
    n(r.delta_ci_low_pct),
    n(r.delta_ci_high_pct),
    r.machine_busy === null ? "" : String(r.machine_busy),
  ]);
}

/** A number for JSON: null for NaN and infinities. */
function num(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** One row of `--format json`: a table row's values, typed. */
export interface CompareJsonRow {
  /** Client name (`A vs B` with `--clients`). */
  client: string;
  /** Pool size. */
  pool_size: number;
  /** Metric (`total_ms`, ...). */
  metric: string;
  /** The baseline's median and 95 % interval. */
  a: {
    median: number | null;
    ci_low: number | null;
    ci_high: number | null;
    rounds: number;
  };
  /** The other run's. */
  b: {
    median: number | null;
    ci_low: number | null;
    ci_high: number | null;
    rounds: number;
  };
  /** The change, %. */
  delta_pct: number | null;
  /** Its 95 % interval, % (null: none, too few rounds or runs). */
  delta_ci_low_pct: number | null;
  /** High end. */
  delta_ci_high_pct: number | null;
  /** For information. */
  p_value: number | null;
  /** `changed`, `~`, or `not comparable` (machine busy). */
  verdict: "changed" | "~" | "not comparable";
  /** Too few rounds or runs for an interval. */
  underpowered: boolean;
  /** Other processes disturbed either run there; null when unknown. */
  machine_busy: boolean | null;
  /** How it was computed. */
  method: string;
  /** The noise model's between-run variation used, %; null without. */
  between_run_pct: number | null;
}

function jsonRows(rows: CompareRow[]): CompareJsonRow[] {
  const side = (i: CompareRow["a"]) => ({
    median: num(i.median),
    ci_low: num(i.low),
    ci_high: num(i.high),
    rounds: i.rounds,
  });
  return rows.map((r) => ({
    client: r.client,
    pool_size: r.pool_size,
    metric: r.metric,
    a: side(r.a),
    b: side(r.b),
    delta_pct: num(r.delta_pct),
    delta_ci_low_pct: num(r.delta_ci_low_pct),
    delta_ci_high_pct: num(r.delta_ci_high_pct),
    p_value: num(r.p_value),
    verdict: r.machine_busy
      ? "not comparable"
      : r.significant
      ? "changed"
      : "~",
    underpowered: r.underpowered,
    machine_busy: r.machine_busy,
    method: r.method,
    between_run_pct: r.tau === null ? null : 100 * (Math.exp(r.tau) - 1),
  }));
}

/** One comparison of `--format json`: a run (or group) against the baseline. */
export interface CompareJson {
  /** The baseline's name. */
  baseline: string;
  /** The other side's. */
  run: string;
  /** The rows, as the table shows them. */
  rows: CompareJsonRow[];
  /** Clients at pool sizes only the baseline has (`client|pool`). */
  only_in_baseline: string[];
  /** Only the other side has. */
  only_in_run: string[];
  /** The notes under the table. */
  notes: string[];
}

/** The output formats. */
export type CompareFormat = "table" | "markdown" | "csv" | "json";

const FORMATS: readonly CompareFormat[] = ["table", "markdown", "csv", "json"];

/** How runs are compared: the noise model (if any) and the threshold. */
export interface CompareOptions {
  /** The noise model; without it the comparison is within-run. */
  model?: NoiseModel;
  /** Where the model came from (for the provenance line). */
  modelPath?: string;
  /** Minimum change in % (default 0 with a model, {@linkcode NOISE_PCT} without). */
  noisePct?: number;
}

function machineOf(m: Record<string, unknown> | undefined): string {
  return `${m?.cpu_model ?? "?"}, ${m?.cores ?? "?"} cores`;
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
 * assert.equal(csv.split("\n")[0], "client,pool_size,metric,a_median,b_median,delta_pct,p_value,significant,a_ci_low,a_ci_high,b_ci_low,b_ci_high,a_rounds,b_rounds,method,between_run_pct,delta_ci_low_pct,delta_ci_high_pct,machine_busy");
 * assert.ok(csv.split("\n").slice(1).filter(Boolean).every((l) => l.includes(",false,")));
 * assert.match(csv.split("\n")[1], /,within-run,,[-0-9.]+,[-0-9.]+,$/); // busy unknown in a version-1 run
 * // With a model: its tau widens the intervals, p is the random-effects one.
 * const model = { made_at: "2026-11-26T06:00:00Z", command: "deno task bench", runs: [],
 *   metrics: { total_ms: { between_run_pct: 2, tau: Math.log(1.02), cells: [] } } } as never;
 * const text = compareRuns([v1, v1], "table", { model, modelPath: "noise.json" });
 * assert.match(text, /^noise model: noise.json, made 2026-11-26 from 0 runs/);
 * assert.match(text, /p: the z test of the same/);
 * assert.match(compareRuns([v1, v1], "csv", { model }), /,random-effects,2,[-0-9.]+,[-0-9.]+,\n/);
 * assert.match(compareRuns([v1, v1], "table"), /^warning: no noise model/);
 * const json = JSON.parse(compareRuns([v1, v1], "json"));
 * assert.match(json.warnings[0], /^warning: no noise model/);
 * assert.equal(json.comparisons[0].rows[0].verdict, "~"); // a run against itself
 * ```
 */
export function compareRuns(
  dirs: string[],
  format: CompareFormat,
  options: CompareOptions = {},
): string {
  const { model } = options;
  const noisePct = options.noisePct ?? (model ? 0 : NOISE_PCT);
  // A side is one run, or a comma-separated group of repeats.
  const groups = dirs.map((d) =>
    d.split(",").map((x) => x.replace(/\/+$/, "")).filter(Boolean)
  );
  const repeated = groups.some((g) => g.length > 1);
  const loaded = groups.map((g) => g.map((d) => loadRuns([d])));
  for (const [i, g] of loaded.entries()) {
    if (g.length > 1) {
      checkRepeats(
        g.map((r, k) => [groups[i][k], r.metas[0]] as const),
        "a group of repeats",
      );
    }
  }
  const runs = loaded.flat();
  const allDirs = groups.flat();
  const values = loaded.map((g) =>
    g.map((r) => runValues(r.sessions, r.rounds))
  );
  const loads = loaded.map((g) => g.map((r) => runLoad(r.rounds)));
  const idOf = (r: RunData, d: string) => r.metas[0].run_id ?? d;
  const names = loaded.map((g, i) =>
    g.length > 1
      ? `${idOf(g[0], groups[i][0])} +${g.length - 1} runs`
      : idOf(g[0], groups[i][0])
  );
  const many = dirs.length > 2;
  const out: string[] = [];
  const csv: string[][] = [];
  const json: CompareJson[] = [];
  // First: what else differs between the runs than what is compared.
  const differ = parameterDifferences(
    runs.map((r, i) => [idOf(r, allDirs[i]), r.metas[0]] as const),
  );
  if (differ) out.push(differ);
  if (model) {
    out.push(noiseProvenance(model, options.modelPath ?? "noise model"));
    const elsewhere = runs.map((r, i) =>
      [r.metas[0].machine, idOf(r, allDirs[i])] as const
    )
      .filter(([m]) =>
        m && model.machine &&
        machineOf(m as Record<string, unknown>) !== machineOf(model.machine)
      );
    if (elsewhere.length) {
      out.push(
        `warning: the noise model was measured on ${
          machineOf(model.machine)
        }, ${
          elsewhere.map(([m, n]) =>
            `${n} ran on ${machineOf(m as Record<string, unknown>)}`
          ).join(", ")
        }: its between-run figures may not hold there.`,
      );
    }
  } else out.push(NO_MODEL_WARNING);
  const warnings = [...out];
  out.push("");
  const between = model ? betweenRun(model) : undefined;
  for (let i = 1; i < dirs.length; i++) {
    const sides = { a: loads[0], b: loads[i] };
    const c = repeated
      ? compareGroups(values[0], values[i], noisePct, between, sides)
      : compareValues(values[0][0], values[i][0], noisePct, between, sides);
    if (format === "json") {
      json.push({
        baseline: names[0],
        run: names[i],
        rows: jsonRows(c.rows),
        only_in_baseline: c.onlyA,
        only_in_run: c.onlyB,
        notes: comparisonNotes(c, [names[0], names[i]], noisePct),
      });
    } else if (format === "csv") {
      csv.push(...csvRows(c.rows, many ? [names[0], names[i]] : []));
    } else {
      if (many) out.push(`## ${names[i]} against ${names[0]}`, "");
      out.push(
        formatComparison(c, [names[0], names[i]], format, noisePct),
        "",
      );
    }
  }
  if (format === "csv") {
    const head = many ? ["baseline_run", "run", ...CSV_HEAD] : CSV_HEAD;
    return stringify([head, ...csv], { record_delimiter: "unix" });
  }
  if (format === "json") {
    return JSON.stringify(
      { warnings, noise_model: options.modelPath ?? null, comparisons: json },
      null,
      2,
    );
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
  format: CompareFormat,
  noisePct = 0,
): string {
  const run = loadRuns([dir]);
  const [va, vb] = clientSides(runValues(run.sessions, run.rounds), a, b);
  for (const [name, v] of [[a, va], [b, vb]] as const) {
    if (v.size === 0) {
      throw new UsageError(`${dir} has no sessions of client ${name}`);
    }
  }
  const [la, lb] = clientSides(runLoad(run.rounds), a, b);
  const c = compareValues(va, vb, noisePct, undefined, { a: [la], b: [lb] });
  if (format === "csv") {
    return stringify([CSV_HEAD, ...csvRows(c.rows)], {
      record_delimiter: "unix",
    });
  }
  if (format === "json") {
    return JSON.stringify(
      {
        warnings: [],
        noise_model: null,
        comparisons: [{
          baseline: a,
          run: b,
          rows: jsonRows(c.rows),
          only_in_baseline: c.onlyA,
          only_in_run: c.onlyB,
          notes: comparisonNotes(c, [a, b], noisePct),
        }],
      },
      null,
      2,
    );
  }
  return formatComparison(c, [a, b], format, noisePct);
}

function compare(argv: string[]): number {
  const parsed = parseCommand(argv, "compare", {
    format: { type: "string" },
    clients: { type: "string" },
    noise: { type: "string" },
    "noise-model": { type: "string" },
  }, { interval: false, out: false, lists: true });
  if (parsed.help) {
    console.log(COMPARE_HELP);
    return 0;
  }
  const format = (parsed.values.format as string | undefined) ?? "table";
  if (!FORMATS.includes(format as CompareFormat)) {
    throw new UsageError(
      `--format ${format}: use table, markdown, csv or json`,
    );
  }
  const dirs = parsed.positionals.map((d) => d.replace(/\/+$/, ""));
  const pair = (parsed.values.clients as string | undefined)?.split(",").map((
    c,
  ) => c.trim());
  if (
    pair !== undefined &&
    (pair.length !== 2 || dirs.length !== 1 || dirs[0].includes(","))
  ) {
    throw new UsageError(
      "--clients takes two client names and one run folder, e.g. deno task compare --clients libssh2,paramiko data/runs/RUN",
    );
  }
  if (pair === undefined && dirs.length < 2) {
    throw new UsageError(
      "give two or more run folders, e.g. deno task compare data/runs/A data/runs/B",
    );
  }
  requireRunDirs(dirs.flatMap((x) => x.split(",")).filter(Boolean));
  const f = format as CompareFormat;
  const noise = parsed.values.noise === undefined
    ? undefined
    : Number(parsed.values.noise);
  if (noise !== undefined && !(noise >= 0)) {
    throw new UsageError(
      `--noise ${parsed.values.noise}: give a percentage >= 0, e.g. --noise 5`,
    );
  }
  if (pair) {
    const m = parsed.values["noise-model"] as string | undefined;
    if (m !== undefined && m !== "none") {
      throw new UsageError(
        "--noise-model applies between runs; --clients compares two clients within one run, where they ran interleaved: leave it out",
      );
    }
    console.log(compareClients(dirs[0], pair[0], pair[1], f, noise ?? 0));
    return 0;
  }
  const modelFlag = parsed.values["noise-model"] as string | undefined;
  const { model, path } = chosenModel(
    modelFlag === undefined || modelFlag === "none"
      ? modelFlag
      : userPath(modelFlag),
  );
  if (!model && f === "csv") console.error(NO_MODEL_WARNING);
  console.log(
    compareRuns(dirs, f, { model, modelPath: path, noisePct: noise }),
  );
  return 0;
}

/**
 * The noise model `--noise-model` asks for: a file, `none`, or (not
 * given) data/noise.json when it exists.
 *
 * @throws {UsageError} one line for a missing or unreadable model file.
 * @example
 * ```ts
 * import { chosenModel } from "./compare.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(chosenModel("none"), {});
 * assert.throws(() => chosenModel("/nonexistent/noise.json"), /not found: make one with deno task noise/);
 * ```
 */
export function chosenModel(
  option: string | undefined,
): { model?: NoiseModel; path?: string } {
  if (option === "none") return {};
  if (option === undefined) {
    try {
      Deno.statSync(NOISE_MODEL_PATH);
    } catch {
      return {};
    }
  }
  const path = option ?? NOISE_MODEL_PATH;
  const shown = shownPath(path);
  return { model: readNoiseModel(path), path: shown };
}

/** Runs the command line; returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return runMain(() => compare(argv));
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
