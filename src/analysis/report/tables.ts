/**
 * A report's tables: the key figures and the full summary per client (with
 * intervals where the summary has them), the summary per host, and the
 * comparison of several runs.
 *
 * @module
 */
import {
  HOST_COLUMNS,
  type HostRow,
  SUMMARY_COLUMNS,
} from "../../run/schema.ts";
import type { Analysis } from "../analyse.ts";
import type { RunData } from "../load.ts";
import {
  type BetweenRun,
  changeIntervalCell,
  compareValues,
  deltaCell,
  NOISE_PCT,
  NOT_COMPARABLE,
  runLoad,
  type RunValues,
  runValues,
} from "../run_comparison.ts";
import { type SummaryRow, vsBest } from "../../run/summary.ts";
import { MIN_VERDICT_ROUNDS } from "../../util/change_rule.ts";
import { cellText, intervalBase, labelOf, UNIT_SUFFIXES } from "./format.ts";
import type { ReportRow, Table, TableColumn } from "./types.ts";

/**
 * The summary rows of a run recomputed from its data, in the fields of
 * `SUMMARY_COLUMNS` (plus the pool table's interval columns, when it has
 * them), for a run whose `meta.json` has no summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse } from "../analyse.ts";
 * import { loadRuns } from "../load.ts";
 * import { summaryFromAnalysis } from "./mod.ts";
 * const dir = new URL("../../../data/runs/sample-seed", import.meta.url).pathname;
 * const run = loadRuns([dir]);
 * const rows = summaryFromAnalysis(analyse(run), 2);
 * const first = run.metas[0].summary![0];
 * assert.equal(rows[0].client, first.client);
 * assert.equal(rows[0].sessions, first.sessions);
 * // The CSV keeps 3 decimals, meta.json the full figure.
 * assert.ok(Math.abs(Number(rows[0].total_p50_ms) - first.total_p50_ms) < 0.01);
 * ```
 */
export function summaryFromAnalysis(a: Analysis, cores: number): ReportRow[] {
  const joined = a.pools.join(
    a.rounds.select(
      "series",
      "pool_size",
      "client_cpu_ms_per_session",
      "server_cpu_ms_per_session",
      "sessions_per_s",
      "client_rss_max_mb",
    ),
    { on: ["series", "pool_size"], how: "left" },
  ).sort(["series", "pool_size"]);
  const recs = joined.toRecords() as ReportRow[];
  // The analysis's interval of the median total, under the summary's names.
  const hasCi = joined.columns.includes("total_ci_low_ms");
  const order: string[] = [];
  for (
    const r of a.sessions.select("client").unique({ maintainOrder: true })
      .toRecords() as ReportRow[]
  ) order.push(String(r.client));
  const rows = recs.map((r) => {
    const client = Number(r.client_cpu_ms_per_session);
    const server = Number(r.server_cpu_ms_per_session ?? NaN);
    const limit = server + client > 0 ? cores * 1000 / (server + client) : NaN;
    const rate = Number(r.sessions_per_s);
    const row: ReportRow = {
      client: r.client,
      pool_size: r.pool_size,
      sessions: r.sessions,
      failed: r.failed,
      total_p50_ms: r.total_p50_ms,
      total_p90_ms: r.total_p90_ms,
      client_cpu_ms_per_session: client,
      server_cpu_ms_per_session: server,
      sessions_per_s: rate,
      limit_sessions_per_s: limit,
      pct_of_limit: 100 * rate / limit,
      client_rss_max_mb: r.client_rss_max_mb,
    };
    if (hasCi) {
      row.total_p50_ci_low_ms = r.total_ci_low_ms;
      row.total_p50_ci_high_ms = r.total_ci_high_ms;
    }
    return row;
  });
  return rows.sort((x, y) =>
    order.indexOf(String(x.client)) - order.indexOf(String(y.client)) ||
    Number(x.pool_size) - Number(y.pool_size)
  );
}

/** Units a header need not repeat: its label says them. */
const IMPLIED_UNITS = ["sessions", "sessions/s", "rounds"];

/**
 * The columns of summary rows: the schema's in order, then any other; for
 * a table header (`header`), units the label implies are left out.
 */
export function summaryColumns(
  rows: readonly ReportRow[],
  skip: string[] = [],
  header = true,
): TableColumn[] {
  const keys = new Set(rows.flatMap((r) => Object.keys(r)));
  // Interval fields are shown in brackets in their base column's cells.
  const known = SUMMARY_COLUMNS.filter((c) =>
    keys.has(c.name) && intervalBase(c.name) === undefined
  ).map((c) => ({
    key: c.name as string,
    label: labelOf(c.name).replace(/ \([^)]*\)$/, ""),
    unit: header && IMPLIED_UNITS.includes(c.unit) ? "" : c.unit,
    meaning: c.meaning,
    numeric: c.type !== "string",
  }));
  const extra = [...keys].filter((k) =>
    !SUMMARY_COLUMNS.some((c) => c.name === k) && intervalBase(k) === undefined
  ).map((k) => ({
    key: k,
    label: labelOf(k).replace(/ \([^)]*\)$/, ""),
    unit: UNIT_SUFFIXES[/_([a-z]+)$/.exec(k)?.[1] ?? ""] ?? "",
    meaning: "",
    numeric: rows.some((r) => typeof r[k] === "number"),
  }));
  return [...known, ...extra].filter((c) => !skip.includes(c.key));
}

function hasIntervals(rows: readonly ReportRow[]): boolean {
  return rows.some((r) => Object.keys(r).some((k) => intervalBase(k)));
}

const INTERVAL_NOTE =
  "In brackets: the interval recorded with the value (its `_ci_low`/`_ci_high` fields).";

/** The change rule as it applies to the "total vs the best" column. */
export const VS_BEST_NOTE =
  `Total vs the best: the median total over the best client's at the same pool size, with its 95 % interval (rounds resampled). One rule calls a difference: \`~\` where that interval as printed includes 1.00x, or where there is none (a side with fewer than ${MIN_VERDICT_ROUNDS} rounds); without \`~\` the client is slower than the best. The p-value beside it (Mann-Whitney U of per-round medians) is for information and decides nothing.`;

/**
 * A summary cell as the report shows it: "total vs the best" through the
 * change rule (`1.07x [1.00, 1.13] ~`, as the terminal summary prints it,
 * for runs of every schema version), its p-value with three decimals, any
 * other value with its interval ({@linkcode cellText}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summaryCell } from "./tables.ts";
 * // A run recorded before schema 11: no verdict field, the rule applies.
 * const row = { total_vs_best_x: 1.07, total_vs_best_ci_low_x: 1.004,
 *   total_vs_best_ci_high_x: 1.13, total_vs_best_p_value: 0.02 };
 * assert.equal(summaryCell(row, "total_vs_best_x"), "1.07x [1.00, 1.13] ~");
 * assert.equal(summaryCell(row, "total_vs_best_p_value"), "0.020");
 * assert.equal(summaryCell({ total_vs_best_p_value: 0 }, "total_vs_best_p_value"), "<0.001");
 * const best = { total_vs_best_x: 1, total_vs_best_ci_low_x: 1,
 *   total_vs_best_ci_high_x: 1, total_vs_best_p_value: null };
 * assert.equal(summaryCell(best, "total_vs_best_x"), "best");
 * assert.equal(summaryCell(best, "total_vs_best_p_value"), "–");
 * ```
 */
export function summaryCell(row: ReportRow, key: string): string {
  if (key === "total_vs_best_x") {
    return vsBest(row as unknown as SummaryRow);
  }
  if (key === "total_vs_best_p_value") {
    const p = row[key];
    if (typeof p !== "number" || !Number.isFinite(p)) return "–";
    return p < 0.001 ? "<0.001" : p.toFixed(3);
  }
  return cellText(row, key);
}

/**
 * Summary tables of one run: the key figures (each client at the smallest
 * pool, at the largest pool every client reached, and at its own largest)
 * and the full summary, one table per client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summaryTables } from "./mod.ts";
 * import { readRecord } from "../../run/record.ts";
 * const meta = readRecord(
 *   new URL("../../../data/runs/sample-seed-openssh", import.meta.url).pathname,
 * )!;
 * const { key, tables } = summaryTables(meta.summary!);
 * // Every client at pool 1 and 30, and libssh2 (scaled) at 100.
 * assert.deepEqual(key.rows.map((r) => `${r[0]} ${r[1]}`), [
 *   "ssh2 1", "ssh2 30", "libssh2 1", "libssh2 30", "libssh2 100",
 *   "openssh 1", "openssh 30", "paramiko 1", "paramiko 30", "asyncssh 1", "asyncssh 30",
 * ]);
 * assert.match(key.rows[1][5], /^261\.8 \[254\.6, 273\.6\]$/);
 * assert.deepEqual(tables.map((t) => t.rows.length), [30, 44, 30, 30, 30]);
 * ```
 */
export function summaryTables(
  summary: readonly ReportRow[],
): { key: Table; tables: Table[] } {
  const clients = [...new Set(summary.map((r) => String(r.client)))];
  const byClient = new Map(
    clients.map((c) => [
      c,
      summary.filter((r) => String(r.client) === c).sort((a, b) =>
        Number(a.pool_size) - Number(b.pool_size)
      ),
    ]),
  );
  const maxOf = (rows: ReportRow[]) =>
    Math.max(...rows.map((r) => Number(r.pool_size)));
  const common = Math.min(...[...byClient.values()].map(maxOf));
  const keyRows = clients.flatMap((c) => {
    const rows = byClient.get(c)!;
    const pools = new Set([
      Number(rows[0]?.pool_size),
      common,
      maxOf(rows),
    ]);
    return rows.filter((r) => pools.has(Number(r.pool_size)));
  });
  const vsBestShown = summary.some((r) => "total_vs_best_x" in r);
  const note = [
    hasIntervals(summary) ? INTERVAL_NOTE : "",
    vsBestShown ? VS_BEST_NOTE : "",
  ].filter(Boolean).join(" ");
  // The vs-best cell carries its unit (`1.07x`) and its verdict (`~`,
  // `best`), so the verdict column would only repeat it.
  const shown = (cols: TableColumn[]) =>
    cols.map((c) => c.key === "total_vs_best_x" ? { ...c, unit: "" } : c);
  // Left out of the key figures (the full tables have them): ok is
  // sessions less failed, and the rest are details; so the table fits a
  // page of about 1060 px.
  const keyCols = shown(summaryColumns(summary, [
    "ok",
    "limit_sessions_per_s",
    "client_rss_max_mb",
    "unattributed_cpu_ms_per_session",
    "machine_busy_pct",
    "total_vs_best_verdict",
  ]));
  const table = (
    title: string,
    rows: ReportRow[],
    cols: TableColumn[],
  ): Table => ({
    title,
    columns: cols,
    rows: rows.map((r) => cols.map((c) => summaryCell(r, c.key))),
    note,
  });
  const allCols = shown(summaryColumns(summary));
  return {
    key: table(
      clients.length > 1
        ? `Each client at pool ${
          Math.min(...summary.map((r) => Number(r.pool_size)))
        }, at pool ${common} (the largest all clients reached) and at its largest pool`
        : "The smallest and the largest pool size",
      keyRows,
      keyCols,
    ),
    tables: clients.map((c) =>
      table(
        `${c}: ${byClient.get(c)!.length} pool sizes`,
        byClient.get(c)!,
        allCols,
      )
    ),
  };
}

/**
 * The per-host summary of a fleet as a table (undefined without one):
 * the columns of `hosts.csv`, named and explained by the schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostTable } from "./mod.ts";
 * const t = hostTable([{ client: "c", pool_size: 8, host: "sshd-1", host_rtt_ms: 50,
 *   sessions: 4, ok: 4, failed: 0, total_p50_ms: 700.04, total_p50_ci_low_ms: 690,
 *   total_p50_ci_high_ms: 710, total_vs_fleet_x: 1.5, slowest_pct: 100 }]);
 * assert.deepEqual(t?.rows[0].slice(0, 4), ["c", "8", "sshd-1", "50"]);
 * assert.equal(t?.rows[0][t.columns.findIndex((c) => c.key === "total_p50_ms")], "700.0 [690.0, 710.0]");
 * assert.equal(hostTable([]), undefined);
 * ```
 */
export function hostTable(rows: readonly HostRow[]): Table | undefined {
  if (rows.length === 0) return undefined;
  const keys = [
    "client",
    "pool_size",
    "host",
    "host_rtt_ms",
    "sessions",
    "failed",
    "total_p50_ms",
    "total_vs_fleet_x",
    "slowest_pct",
  ];
  const columns = keys.map((key): TableColumn => {
    const c = HOST_COLUMNS.find((x) => x.name === key)!;
    return {
      key,
      label: key === "total_p50_ms" ? "total_p50_ms [95% CI]" : key,
      unit: c.unit,
      meaning: c.meaning,
      numeric: c.type !== "string",
    };
  });
  const num = (v: unknown, d: number) =>
    typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "-";
  return {
    title: "By host: sessions were spread over the hosts round-robin",
    columns,
    rows: rows.map((r) =>
      keys.map((k) => {
        const v = (r as Record<string, unknown>)[k];
        if (k === "total_p50_ms") {
          return `${num(v, 1)} [${num(r.total_p50_ci_low_ms, 1)}, ${
            num(r.total_p50_ci_high_ms, 1)
          }]`;
        }
        if (k === "total_vs_fleet_x") return `${num(v, 2)}x`;
        if (k === "host_rtt_ms" || k === "slowest_pct") return num(v, 0);
        return v === undefined || v === null ? "-" : String(v);
      })
    ),
    note:
      "slowest_pct: share of rounds whose last session to end (the round's all-hosts time) was on this host.",
  };
}

/** A run-to-run noise model for comparing runs, with its provenance line. */
export interface RunNoise {
  /** Between-run SD of ln(median) per client, pool size and metric. */
  between: BetweenRun;
  /** One line naming the model (see `noiseProvenance`). */
  line: string;
}

/**
 * Several runs compared as `deno task compare` does (in the spirit of
 * benchstat): per client and pool size, each run's median total with its
 * 95 % interval (bootstrap over whole rounds), the change against the
 * first run with its 95 % interval, `~` when that interval includes no
 * change (without a noise model, also when the change is under
 * {@linkcode NOISE_PCT} %, as its note says), "not comparable" where
 * either run's machine was busy, and the
 * p-value for information. Steps missing from a run are left to
 * {@linkcode coverageTable}; `values` (each run's per-round values) is
 * given when the caller has them already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareTable } from "./mod.ts";
 * import { loadRuns } from "../load.ts";
 * const v1 = new URL("../../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const t = compareTable([loadRuns([v1]), loadRuns([v1])], ["a", "b"]);
 * assert.equal(t.rows[0][0], "libssh2");
 * assert.match(t.rows[0][4], /^~ \(\+0\.0%\)$/); // a run against itself
 * ```
 */
export function compareTable(
  runs: readonly RunData[],
  ids: readonly string[],
  noise?: RunNoise,
  values: readonly RunValues[] = runs.map((r) =>
    runValues(r.sessions, r.rounds)
  ),
): Table {
  const loads = runs.map((r) => runLoad(r.rounds));
  const rows: string[][] = [];
  const notes: string[] = [
    noise
      ? `Median total with its 95 % interval widened by the run-to-run variation of the noise model (${noise.line}); change against ${
        ids[0]
      } with its 95 % interval (random-effects, the quantity its z test uses).`
      : `Median total with its 95 % interval (bootstrap over whole rounds); change against ${
        ids[0]
      } with its 95 % interval (bootstrap of the ratio of medians). No run-to-run noise model was given: one run's intervals miss run-to-run variation (measure it with deno task noise).`,
    `~: the change's 95 % interval as printed includes 0.0 % (or a side has fewer than ${MIN_VERDICT_ROUNDS} rounds)${
      noise
        ? ""
        : `, or the change is under ${NOISE_PCT} % (the stopgap threshold without a noise model)`
    }; p for information, it does not decide.`,
    `${NOT_COMPARABLE}: other processes used the cores during that cell's rounds in either run.`,
  ];
  const fmt = (i: { median: number; low: number; high: number }) =>
    `${i.median.toFixed(1)} [${i.low.toFixed(1)}, ${i.high.toFixed(1)}]`;
  for (let k = 1; k < runs.length; k++) {
    const c = compareValues(
      values[0],
      values[k],
      noise ? 0 : NOISE_PCT,
      noise?.between,
      { a: [loads[0]], b: [loads[k]] },
    );
    for (const r of c.rows.filter((x) => x.metric === "total_ms")) {
      rows.push([
        r.client,
        String(r.pool_size),
        fmt(r.a),
        fmt(r.b),
        deltaCell(r),
        changeIntervalCell(r),
        r.p_value.toFixed(3),
        ...(runs.length > 2 ? [ids[k]] : []),
      ]);
    }
  }
  const col = (
    key: string,
    label: string,
    unit: string,
    meaning: string,
    numeric = true,
  ): TableColumn => ({ key, label, unit, meaning, numeric });
  return {
    title: "Runs compared: median total per client and pool size",
    columns: [
      col("client", "client", "", "client name", false),
      col("pool_size", "pool size", "", "sessions started together"),
      col("a", `median total, ${ids[0]}`, "ms", "median with its interval"),
      col("b", "median total, other run", "ms", "median with its interval"),
      col(
        "delta",
        "change",
        "%",
        "against the first run; ~ when its interval includes no change",
      ),
      col("delta_ci", "change, 95 % interval", "%", "decides the change"),
      col("p", "p", "", "for information (test of the same change)"),
      ...(runs.length > 2
        ? [col("run", "run", "", "the run compared with the first", false)]
        : []),
    ],
    rows,
    note: notes.join(" "),
  };
}

/**
 * The pool sizes that are not in every run, per client, as a table (one
 * row per client and pool size: the runs that have it and those that do
 * not); undefined when every run has the same ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coverageTable } from "./tables.ts";
 * const t = coverageTable(["A", "B"], [new Set(["ssh2|1", "ssh2|2"]), new Set(["ssh2|1"])]);
 * assert.deepEqual(t?.rows, [["ssh2", "2", "A", "B"]]);
 * assert.equal(coverageTable(["A", "B"], [new Set(["x|1"]), new Set(["x|1"])]), undefined);
 * ```
 */
export function coverageTable(
  ids: readonly string[],
  keys: readonly ReadonlySet<string>[],
): Table | undefined {
  const all = [...new Set(keys.flatMap((k) => [...k]))].map((k) => {
    const [client, pool] = k.split("|");
    return { key: k, client, pool: Number(pool) };
  }).sort((a, b) => a.client.localeCompare(b.client) || a.pool - b.pool);
  const rows = all.filter((x) => keys.some((k) => !k.has(x.key))).map((x) => [
    x.client,
    String(x.pool),
    ids.filter((_, i) => keys[i].has(x.key)).join(", "),
    ids.filter((_, i) => !keys[i].has(x.key)).join(", "),
  ]);
  if (rows.length === 0) return undefined;
  const col = (key: string, label: string, numeric = false): TableColumn => ({
    key,
    label,
    unit: "",
    meaning: "",
    numeric,
  });
  return {
    title: "Pool sizes not in every run",
    columns: [
      col("client", "client"),
      col("pool_size", "pool size", true),
      col("in", "in"),
      col("missing", "not in"),
    ],
    rows,
    note:
      "These are left out of the comparison above: each cell is compared only where both runs measured it.",
  };
}
