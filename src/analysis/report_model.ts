/**
 * The content of a run's report, independent of its format: the title,
 * the warnings, the key figures and full summary tables (with intervals
 * where the summary has them), the charts, a comparison table when several
 * runs are given, and the provenance of every run read from `meta.json`.
 * `report_page.ts` turns it into HTML, `report_post.ts` into markdown.
 *
 * Unknown `meta.json` fields (written by later versions of the tool) are
 * shown generically, so a report never drops what a run recorded.
 *
 * @module
 */
import {
  analyse,
  type Analysis,
  CHART_NAMES,
  chartsLeftOut,
  type ChartSpecs,
  type LeftOutChart,
  leftOutLines,
} from "./analyse.ts";
import {
  type ChartCaption,
  chartCaption,
  provenanceLines,
  type Spec,
} from "./charts/mod.ts";
import { loadRuns, type RunData } from "./load.ts";
import type { RunMeta } from "../run/record.ts";
import { HOST_COLUMNS, type HostRow, SUMMARY_COLUMNS } from "../run/schema.ts";
import { costWarnings, type SummaryRow } from "../run/summary.ts";
import { givenArgs } from "../run/replay.ts";
import {
  type BetweenRun,
  compareValues,
  deltaCell,
  runValues,
} from "./run_comparison.ts";
import { shownPath } from "../util/paths.ts";

/** One summary or comparison row: field name to value. */
export type ReportRow = Record<string, unknown>;

/** A column of a report table. */
export interface TableColumn {
  /** Field name (in `meta.json` or the analysis). */
  key: string;
  /** Header text. */
  label: string;
  /** Unit, empty when none. */
  unit: string;
  /** One-line meaning (from the schema when known). */
  meaning: string;
  /** True for numbers (right-aligned). */
  numeric: boolean;
}

/** A table whose cells are already formatted. */
export interface Table {
  /** Heading. */
  title: string;
  /** Columns, in order. */
  columns: TableColumn[];
  /** Formatted cells, one array per row. */
  rows: string[][];
  /** A sentence under the table, empty when none. */
  note: string;
}

/** One entry of a provenance section: a value, a long text, or sub-entries. */
export interface Field {
  /** Field name in `meta.json`. */
  key: string;
  /** Label shown. */
  label: string;
  /** Short value. */
  text?: string;
  /** Long or multi-line value (shown preformatted). */
  block?: string;
  /** Nested fields. */
  fields?: Field[];
}

/** A provenance section (run, command, machine, versions, ...). */
export interface Section {
  /** Heading. */
  title: string;
  /** Entries. */
  fields: Field[];
}

/** One run of a report. */
export interface ReportRun {
  /** Run folder (relative to the project when inside it). */
  dir: string;
  /** Run id (from meta.json, else the folder name). */
  id: string;
  /** One line: sessions, clients, pool sizes, date, machine. */
  headline: string;
  /** Where the summary comes from. */
  summarySource: "meta.json" | "analysis";
  /** Summary rows per client and pool size. */
  summary: ReportRow[];
  /** Warnings about what the numbers measure, and about the run's state. */
  warnings: string[];
  /** Key figures: each client at the smallest pool, the largest pool all
   * clients reached, and its own largest pool. */
  key: Table;
  /**
   * The run's provenance as the charts' captions state it (date, machine,
   * server; client versions; negotiated algorithms), one line each.
   */
  captionLines: string[];
  /** The full summary, one table per client. */
  tables: Table[];
  /** Provenance sections. */
  provenance: Section[];
}

/** What a run with no session shows instead of its key figures. */
export const NO_FIGURES =
  "No session was recorded: there are no figures to show.";

/** One chart of a report. */
export interface ReportChart {
  /** Chart name (file stem in `charts/`). */
  name: string;
  /** Chart title. */
  title: string;
  /** The caption under the chart: how to read it, and the run's provenance. */
  caption: ChartCaption;
  /** Vega-Lite spec, data inlined. */
  spec: Spec;
}

/** Everything a report shows. */
export interface Report {
  /** Page title. */
  title: string;
  /** Runs, in the order given. */
  runs: ReportRun[];
  /** Charts drawn, in {@linkcode CHART_NAMES} order. */
  charts: ReportChart[];
  /**
   * Why the charts that are not drawn were left out (the run had nothing
   * for them to show), one sentence per reason; empty when all are drawn.
   */
  chartNotes: string[];
  /** Several runs: median total per client and pool size, run by run. */
  compare?: Table;
  /** The summary columns' units and meanings. */
  legend: TableColumn[];
  /** When the report was made, ISO 8601 UTC. */
  generatedAt: string;
}

const LABELS: Record<string, string> = {
  client: "client",
  pool_size: "pool size",
  sessions: "sessions",
  failed: "failed",
  total_p50_ms: "median total",
  total_p90_ms: "p90 total",
  client_cpu_ms_per_session: "client CPU / session",
  server_cpu_ms_per_session: "server CPU / session",
  sessions_per_s: "sessions per second",
  limit_sessions_per_s: "CPU limit, sessions per second",
  pct_of_limit: "share of CPU limit",
  client_rss_max_mb: "client RSS, max",
  machine_cpu_ms_per_session: "machine CPU / session",
  unattributed_cpu_ms_per_session: "unattributed CPU / session",
  machine_busy_pct: "machine busy",
  total_vs_best_x: "total vs the best",
  total_vs_best_p_value: "p vs the best",
  run_id: "run id",
  schema_version: "data schema version",
  started_at: "started",
  ended_at: "ended",
  cpu_model: "CPU",
  mem_gib: "memory (GiB)",
  project_commit: "project commit",
  deno: "Deno",
  v8: "V8",
  kernel: "Linux kernel",
  openssh_server: "OpenSSH server",
  server: "embedded server",
  server_impl: "embedded server implementation",
  server_config: "Go server configuration",
  openssh_client: "OpenSSH client",
  step_seconds: "seconds per pool size, at least",
  min_rounds: "rounds per pool size, at least",
  timeout_ms: "session timeout (ms)",
  payload_bytes: "payload (bytes)",
  server_max_startups: "MaxStartups given",
  sshd_config: "sshd_config",
  total_median_ms: "total, median (ms)",
  remote_median_ms: "exec to close, median (ms)",
  spawn_median_ms: "process start, median (ms)",
  negotiated: "negotiated algorithms",
};

const UNIT_SUFFIXES: Record<string, string> = {
  ms: "ms",
  mb: "MiB",
  gib: "GiB",
  pct: "%",
};

/**
 * The label of a field: a known one, else its name with spaces and its
 * unit suffix in brackets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelOf } from "./report_model.ts";
 * assert.equal(labelOf("total_p50_ms"), "median total");
 * assert.equal(labelOf("server_profile"), "server profile");
 * assert.equal(labelOf("spawn_ms"), "spawn (ms)");
 * assert.equal(labelOf("hostKeyAlgorithms"), "host key algorithms");
 * assert.equal(labelOf("idle_cpu_ms_per_session"), "idle CPU / session");
 * ```
 */
export function labelOf(key: string): string {
  if (LABELS[key]) return LABELS[key];
  const per = /^(.+)_ms_per_session$/.exec(key);
  if (per) {
    return `${per[1].replace(/_/g, " ").replace(/\bcpu\b/g, "CPU")} / session`;
  }
  const m = /^(.+)_([a-z]+)$/.exec(key);
  if (m && UNIT_SUFFIXES[m[2]]) {
    return `${m[1].replace(/_/g, " ")} (${UNIT_SUFFIXES[m[2]]})`;
  }
  return key.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/_/g, " ")
    .toLowerCase();
}

/**
 * Formats a number for a table: whole numbers as they are, others with
 * two decimals below 10 and one above; null, undefined and NaN as `–`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatNumber } from "./report_model.ts";
 * assert.equal(formatNumber(277.456), "277.5");
 * assert.equal(formatNumber(1.4567), "1.46");
 * assert.equal(formatNumber(61482), "61482");
 * assert.equal(formatNumber(NaN), "–");
 * ```
 */
export function formatNumber(v: unknown): string {
  if (v === null || v === undefined) return "–";
  const n = Number(v);
  if (typeof v !== "number" && typeof v !== "bigint") return String(v);
  if (!Number.isFinite(n)) return "–";
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(Math.abs(n) < 10 ? 2 : 1);
}

/**
 * Integers as ranges (`1..30, 40`), other lists joined with commas.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatList } from "./report_model.ts";
 * assert.equal(formatList([1, 2, 3, 4, 10, 20, 21]), "1..4, 10, 20, 21");
 * assert.equal(formatList(["ssh2", "libssh2"]), "ssh2, libssh2");
 * ```
 */
export function formatList(values: readonly unknown[]): string {
  if (
    values.length > 2 &&
    values.every((v) => typeof v === "number" && Number.isInteger(v))
  ) {
    const nums = values as number[];
    const parts: string[] = [];
    let i = 0;
    while (i < nums.length) {
      let j = i;
      while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
      if (j - i >= 2) parts.push(`${nums[i]}..${nums[j]}`);
      else for (let k = i; k <= j; k++) parts.push(String(nums[k]));
      i = j + 1;
    }
    return parts.join(", ");
  }
  return values.map((v) => typeof v === "number" ? formatNumber(v) : String(v))
    .join(", ");
}

function isScalar(v: unknown): boolean {
  return v === null || ["string", "number", "boolean", "bigint"].includes(
    typeof v,
  );
}

function scalarText(v: unknown): string {
  if (v === null || v === undefined) return "none";
  if (typeof v === "number") return formatNumber(v);
  return String(v);
}

/**
 * Describes any `meta.json` value as a field: scalars as text, long or
 * multi-line strings as blocks, lists of scalars on one line (integers as
 * ranges), flat objects in a list one per line, objects as nested fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeField } from "./report_model.ts";
 * assert.deepEqual(describeField("pools", [1, 2, 3]), {
 *   key: "pools", label: "pools", text: "1..3",
 * });
 * const f = describeField("algorithms", { ssh2: { kex: "curve25519-sha256" } });
 * assert.equal(f.fields?.[0].fields?.[0].text, "curve25519-sha256");
 * assert.equal(describeField("sshd_config", "a\nb").block, "a\nb");
 * ```
 */
export function describeField(key: string, value: unknown): Field {
  const label = labelOf(key);
  if (isScalar(value) || value === undefined) {
    if (
      typeof value === "string" && (value.includes("\n") || value.length > 160)
    ) {
      return { key, label, block: value.replace(/\n$/, "") };
    }
    return { key, label, text: scalarText(value) };
  }
  if (Array.isArray(value)) {
    if (value.every(isScalar)) {
      return { key, label, text: value.length ? formatList(value) : "none" };
    }
    return {
      key,
      label,
      fields: value.map((item, i) => {
        const flat = item && typeof item === "object" && !Array.isArray(item) &&
          Object.values(item).every((v) =>
            isScalar(v) || (Array.isArray(v) && v.every(isScalar))
          );
        if (flat) {
          return {
            key: String(i + 1),
            label: String(i + 1),
            text: Object.entries(item as ReportRow).map(([k, v]) =>
              `${labelOf(k)} ${
                Array.isArray(v) ? formatList(v) : scalarText(v)
              }`
            ).join(" · "),
          };
        }
        return describeField(String(i + 1), item);
      }),
    };
  }
  return {
    key,
    label,
    fields: Object.entries(value as ReportRow).map(([k, v]) =>
      describeField(k, v)
    ),
  };
}

/**
 * The `deno task bench` command that repeats a run: the command recorded
 * in `meta.json` when there is one (`command_line` or `argv`), else one
 * rebuilt from the recorded parameters (flags only where they differ from
 * the preset's defaults).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { benchCommand } from "./report_model.ts";
 * import { readRecord } from "../run/record.ts";
 * const meta = readRecord(
 *   new URL("../../data/runs/sample-seed", import.meta.url).pathname,
 * )!;
 * // The sample run recorded its arguments: none, the default seed run.
 * assert.deepEqual(benchCommand(meta), { text: "deno task bench", recorded: true });
 * // An older run without them: rebuilt from its parameters.
 * const older = {
 *   ...meta,
 *   argv: undefined,
 *   parameters: {
 *     ...meta.parameters,
 *     clients: ["ssh2", "libssh2"],
 *     server_profile: "stock" as const,
 *     algorithms: { kex: ["curve25519-sha256"] },
 *   },
 * };
 * assert.equal(
 *   benchCommand(older)?.text,
 *   "deno task bench --preset seed --clients ssh2,libssh2 --server-profile stock --kex curve25519-sha256",
 * );
 * assert.equal(benchCommand({ argv: ["--pool", "1..3"] } as never)?.text,
 *   "deno task bench --pool 1..3");
 * ```
 */
export function benchCommand(
  meta: RunMeta,
): { text: string; recorded: boolean; uncovered?: string[] } | undefined {
  const m = meta as ReportRow;
  if (typeof m.command_line === "string") {
    return { text: m.command_line, recorded: true };
  }
  const given = givenArgs(meta);
  if (!given) return undefined;
  const text = ["deno task bench", ...given.args.map(shellWord)].join(" ");
  if (given.recorded) return { text, recorded: true };
  const uncovered = Object.keys(meta.parameters ?? {}).filter((k) =>
    !COMMAND_PARAMS.includes(k)
  );
  return { text, recorded: false, ...(uncovered.length ? { uncovered } : {}) };
}

/** Recorded parameters {@linkcode benchCommand} turns into flags. */
const COMMAND_PARAMS = [
  "clients",
  "stages",
  "step_seconds",
  "min_rounds",
  "timeout_ms",
  "command",
  "payload_bytes",
  "server_max_startups",
  "server_profile",
  "algorithms",
];

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Top-level `meta.json` fields given their own place in a report. */
const PLACED = new Set([
  "run_id",
  "status",
  "reason",
  "preset",
  "started_at",
  "ended_at",
  "schema_version",
  "machine",
  "versions",
  "parameters",
  "target",
  "calibration",
  "summary",
  "warnings",
  "command_line",
  "argv",
  "intervals",
]);

/**
 * A run's provenance from its `meta.json`: run, command, machine,
 * versions, then every field this code does not know (a server profile,
 * negotiated algorithms, ...), then parameters, target and calibration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { provenanceSections } from "./report_model.ts";
 * const s = provenanceSections({
 *   run_id: "r", started_at: "2026-11-25T21:58:45.951Z",
 *   ended_at: "2026-11-25T22:12:47.999Z", machine: { cores: 2 },
 *   server_profile: "lean",
 * } as never);
 * assert.deepEqual(s.map((x) => x.title), ["Run", "Machine", "Server profile"]);
 * assert.equal(s[0].fields.find((f) => f.key === "duration")?.text, "14 min 2 s");
 * assert.equal(s[2].fields[0].text, "lean");
 * ```
 */
export function provenanceSections(meta: RunMeta): Section[] {
  const m = meta as ReportRow;
  const out: Section[] = [];
  const run: Field[] = [
    "run_id",
    "status",
    "reason",
    "preset",
    "started_at",
    "ended_at",
  ]
    .filter((k) => m[k] !== undefined && m[k] !== null)
    .map((k) => describeField(k, m[k]));
  if (meta.started_at && meta.ended_at) {
    const s = Math.round(
      (Date.parse(meta.ended_at) - Date.parse(meta.started_at)) / 1000,
    );
    if (Number.isFinite(s)) {
      run.push({
        key: "duration",
        label: "duration",
        text: s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`,
      });
    }
  }
  if (m.schema_version !== undefined) {
    run.push(describeField("schema_version", m.schema_version));
  }
  if (run.length) out.push({ title: "Run", fields: run });
  const cmd = benchCommand(meta);
  if (cmd) {
    out.push({
      title: "Command",
      fields: [
        {
          key: cmd.recorded ? "command_line" : "parameters",
          label: cmd.recorded ? "command line" : "equivalent command",
          text: cmd.text,
        },
        ...(cmd.uncovered
          ? [{
            key: "uncovered",
            label: "not in the command",
            text: `${
              cmd.uncovered.map(labelOf).join(", ")
            } (see Parameters: the report does not turn them into flags)`,
          }]
          : []),
      ],
    });
  }
  const section = (key: string, title: string) => {
    if (m[key] === undefined || m[key] === null) return;
    const f = describeField(key, m[key]);
    out.push({ title, fields: f.fields ?? [f] });
  };
  section("machine", "Machine");
  section("versions", "Versions");
  for (const key of Object.keys(m)) {
    if (!PLACED.has(key)) {
      const t = labelOf(key);
      section(key, t.charAt(0).toUpperCase() + t.slice(1));
    }
  }
  section("parameters", "Parameters");
  section("target", "Target");
  section("calibration", "Calibration (no-op sessions before the sweep)");
  return out;
}

/**
 * The summary rows of a run recomputed from its data, in the fields of
 * `SUMMARY_COLUMNS` (plus the pool table's interval columns, when it has
 * them), for a run whose `meta.json` has no summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse } from "./analyse.ts";
 * import { loadRuns } from "./load.ts";
 * import { summaryFromAnalysis } from "./report_model.ts";
 * const dir = new URL("../../data/runs/sample-seed", import.meta.url).pathname;
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

/** The base column of an interval column (`total_p50_ci_low_ms` -> `total_p50_ms`). */
function intervalBase(key: string): string | undefined {
  const m = /^(.*)_ci_(low|high)(_[a-z]+)?$/.exec(key);
  return m ? `${m[1]}${m[3] ?? ""}` : undefined;
}

/**
 * A value with its interval when the row has one: `value [low, high]`
 * from the fields `<base>_ci_low_<unit>` and `<base>_ci_high_<unit>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cellText } from "./report_model.ts";
 * const row = { total_p50_ms: 277.5, total_p50_ci_low_ms: 270.12, total_p50_ci_high_ms: 285 };
 * assert.equal(cellText(row, "total_p50_ms"), "277.5 [270.1, 285]");
 * assert.equal(cellText({ failed: 0 }, "failed"), "0");
 * ```
 */
export function cellText(row: ReportRow, key: string): string {
  const v = row[key];
  let text = formatNumber(v);
  const m = /^(.*?)(_[a-z]+)?$/.exec(key)!;
  const low = row[`${m[1]}_ci_low${m[2] ?? ""}`];
  const high = row[`${m[1]}_ci_high${m[2] ?? ""}`];
  if (typeof low === "number" && typeof high === "number") {
    text += ` [${formatNumber(low)}, ${formatNumber(high)}]`;
  }
  return text;
}

/** Units a header need not repeat: its label says them. */
const IMPLIED_UNITS = ["sessions", "sessions/s", "rounds"];

/**
 * The columns of summary rows: the schema's in order, then any other; for
 * a table header (`header`), units the label implies are left out.
 */
function summaryColumns(
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

/**
 * Summary tables of one run: the key figures (each client at the smallest
 * pool, at the largest pool every client reached, and at its own largest)
 * and the full summary, one table per client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summaryTables } from "./report_model.ts";
 * import { readRecord } from "../run/record.ts";
 * const meta = readRecord(
 *   new URL("../../data/runs/sample-seed-openssh", import.meta.url).pathname,
 * )!;
 * const { key, tables } = summaryTables(meta.summary!);
 * // Every client at pool 1 and 30, and libssh2 (scaled) at 100.
 * assert.deepEqual(key.rows.map((r) => `${r[0]} ${r[1]}`), [
 *   "ssh2 1", "ssh2 30", "libssh2 1", "libssh2 30", "libssh2 100",
 *   "openssh 1", "openssh 30", "paramiko 1", "paramiko 30", "asyncssh 1", "asyncssh 30",
 * ]);
 * assert.match(key.rows[1][6], /^261\.8 \[254\.6, 273\.6\]$/);
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
  const note = hasIntervals(summary) ? INTERVAL_NOTE : "";
  const keyCols = summaryColumns(summary, [
    "limit_sessions_per_s",
    "client_rss_max_mb",
    "unattributed_cpu_ms_per_session",
    "machine_busy_pct",
  ]);
  const table = (
    title: string,
    rows: ReportRow[],
    cols: TableColumn[],
  ): Table => ({
    title,
    columns: cols,
    rows: rows.map((r) => cols.map((c) => cellText(r, c.key))),
    note,
  });
  const allCols = summaryColumns(summary);
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
 * import { hostTable } from "./report_model.ts";
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
 * first run, `~` when a Mann-Whitney U test on per-round medians finds no
 * significant difference at alpha 0.05, and the p-value. Steps missing
 * from a run are named in the note, not dropped silently.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareTable } from "./report_model.ts";
 * import { loadRuns } from "./load.ts";
 * const v1 = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const t = compareTable([loadRuns([v1]), loadRuns([v1])], ["a", "b"]);
 * assert.equal(t.rows[0][0], "libssh2");
 * assert.match(t.rows[0][4], /^~ \(\+0\.0%\)$/); // a run against itself
 * ```
 */
export function compareTable(
  runs: readonly RunData[],
  ids: readonly string[],
  noise?: RunNoise,
): Table {
  const values = runs.map((r) => runValues(r.sessions, r.rounds));
  const rows: string[][] = [];
  const notes: string[] = [
    noise
      ? `Median total with its 95 % interval widened by the run-to-run variation of the noise model (${noise.line}); change against ${
        ids[0]
      }; ~: not significant at alpha 0.05 (random-effects z test of the log ratio).`
      : `Median total with its 95 % interval (bootstrap over whole rounds); change against ${
        ids[0]
      }; ~: not significant at alpha 0.05 (Mann-Whitney U on per-round medians) or under 5 %. No run-to-run noise model was given: one run's intervals miss run-to-run variation (measure it with deno task noise).`,
  ];
  const fmt = (i: { median: number; low: number; high: number }) =>
    `${i.median.toFixed(1)} [${i.low.toFixed(1)}, ${i.high.toFixed(1)}]`;
  for (let k = 1; k < runs.length; k++) {
    const c = compareValues(
      values[0],
      values[k],
      noise ? 0 : 5,
      noise?.between,
    );
    for (const r of c.rows.filter((x) => x.metric === "total_ms")) {
      rows.push([
        r.client,
        String(r.pool_size),
        fmt(r.a),
        fmt(r.b),
        deltaCell(r),
        r.p_value.toFixed(3),
        ...(runs.length > 2 ? [ids[k]] : []),
      ]);
    }
    const where = (keys: string[]) =>
      keys.map((x) => x.replace("|", " at pool ")).join(", ");
    if (c.onlyA.length) notes.push(`Only in ${ids[0]}: ${where(c.onlyA)}.`);
    if (c.onlyB.length) notes.push(`Only in ${ids[k]}: ${where(c.onlyB)}.`);
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
        "against the first run; ~ when not significant",
      ),
      col("p", "p", "", "Mann-Whitney U p-value on per-round medians"),
      ...(runs.length > 2
        ? [col("run", "run", "", "the run compared with the first", false)]
        : []),
    ],
    rows,
    note: notes.join(" "),
  };
}

function headline(
  run: RunData,
  i: number,
  summary: readonly ReportRow[],
): string {
  const meta = run.metas[i];
  const sessions = summary.reduce((s, r) => s + Number(r.sessions ?? 0), 0);
  const failed = summary.reduce((s, r) => s + Number(r.failed ?? 0), 0);
  const clients = [...new Set(summary.map((r) => String(r.client)))];
  const pools = [...new Set(summary.map((r) => Number(r.pool_size)))].sort((
    a,
    b,
  ) => a - b);
  const m = meta.machine ?? {};
  return [
    `${sessions.toLocaleString("en-US")} sessions, ${
      failed ? `${failed.toLocaleString("en-US")} failed` : "none failed"
    }`,
    clients.length ? `clients ${clients.join(", ")}` : undefined,
    pools.length ? `pool sizes ${formatList(pools)}` : undefined,
    meta.started_at ? String(meta.started_at).slice(0, 10) : undefined,
    m.cores ? `${m.cores} cores ${m.cpu_model ?? ""}`.trim() : undefined,
  ].filter(Boolean).join(" · ");
}

function runWarnings(
  meta: RunMeta,
  summary: ReportRow[],
  fromMeta: boolean,
): string[] {
  const out: string[] = [];
  if (meta.status && meta.status !== "complete") {
    out.push(
      `This run is ${meta.status}${
        meta.reason ? `: ${meta.reason}` : ""
      }; its figures cover only what it measured.`,
    );
  }
  if (!meta.run_id) {
    out.push("meta.json is missing or unreadable: provenance unknown.");
  }
  const warnings = fromMeta
    ? meta.warnings ?? []
    : costWarnings(summary as unknown as SummaryRow[]);
  for (const w of warnings) out.push(w.replace(/^warning:\s*/, ""));
  return out;
}

/**
 * The charts absent from `specs`, with the reason the analysis gives
 * (computed only when one is absent).
 */
function leftOutOf(run: RunData, specs: ChartSpecs): LeftOutChart[] {
  const missing = CHART_NAMES.filter((n) => !specs[n]);
  if (missing.length === 0) return [];
  const why = new Map(chartsLeftOut(analyse(run)).map((c) => [c.name, c]));
  return missing.map((name) => why.get(name) ?? { name, reason: "not drawn" });
}

/**
 * A Vega-Lite spec made interactive for a page: every unit with encoded
 * fields gets a tooltip (the counts and intervals in its data are added to
 * an existing one), the first colour legend toggles its series (click one,
 * shift-click more; the others fade: each layer keeps its own opacity when
 * selected, e.g. an interval band its faint one, and drops to 15 % of it
 * when faded), and layers without data are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interactiveSpec } from "./report_model.ts";
 * const spec = interactiveSpec({
 *   data: { values: [{ x: 1, y: 2, series: "ssh2", sessions: 9 }] },
 *   mark: "point",
 *   encoding: {
 *     x: { field: "x", type: "quantitative" },
 *     y: { field: "y", type: "quantitative" },
 *     color: { field: "series", type: "nominal" },
 *   },
 * });
 * assert.deepEqual(spec.encoding.tooltip.map((t: { field: string }) => t.field),
 *   ["x", "y", "series", "sessions"]);
 * assert.equal(spec.params[0].bind, "legend");
 * assert.equal(spec.encoding.opacity.condition.param, spec.params[0].name);
 * assert.equal(spec.encoding.opacity.condition.value, 1);
 * // A band drawn at 0.18 stays at 0.18 when its series is selected.
 * const band = interactiveSpec({
 *   data: { values: [{ x: 1, lo: 1, hi: 2, series: "ssh2" }] },
 *   mark: { type: "area", opacity: 0.18 },
 *   encoding: {
 *     x: { field: "x", type: "quantitative" },
 *     y: { field: "lo", type: "quantitative" }, y2: { field: "hi" },
 *     color: { field: "series", type: "nominal" },
 *   },
 * });
 * assert.deepEqual(band.encoding.opacity, {
 *   condition: { param: band.params[0].name, value: 0.18 },
 *   value: 0.027,
 * });
 * ```
 */
export function interactiveSpec(spec: Spec): Spec {
  const out: Spec = structuredClone(spec);
  let legend: string | undefined;
  const extraKey = (k: string) =>
    /^(ok|failed|sessions|rounds|count)$/.test(k) ||
    intervalBase(k) !== undefined;
  const visit = (node: Spec, values: ReportRow[] | undefined) => {
    if (!node || typeof node !== "object") return;
    const own = Array.isArray(node.data?.values) ? node.data.values : values;
    if (node.mark && node.encoding) unit(node, own ?? []);
    if (Array.isArray(node.layer)) {
      // A layer with no data (e.g. failure marks when none failed) draws
      // nothing and only makes vega warn about an empty extent.
      const kept = node.layer.filter((c: Spec) =>
        !(Array.isArray(c?.data?.values) && c.data.values.length === 0)
      );
      if (kept.length) node.layer = kept;
    }
    for (const k of ["layer", "vconcat", "hconcat", "concat"]) {
      if (Array.isArray(node[k])) { for (const c of node[k]) visit(c, own); }
    }
    if (node.spec) visit(node.spec, own);
  };
  const unit = (u: Spec, values: ReportRow[]) => {
    const enc = u.encoding;
    const mark = typeof u.mark === "string" ? { type: u.mark } : u.mark;
    if (mark.type === "text" || mark.opacity === 0) return;
    if (enc.tooltip === null) return; // turned off on purpose
    const fields: Spec[] = enc.tooltip === undefined
      ? []
      : Array.isArray(enc.tooltip)
      ? enc.tooltip
      : [enc.tooltip];
    const has = new Set(fields.map((t) => t.field));
    const tooltip: Spec[] = fields.length
      ? fields.map((t) =>
        t.title || !t.field ? t : { ...t, title: labelOf(String(t.field)) }
      )
      : Object.entries(enc)
        .filter(([ch, d]) =>
          !["detail", "strokeDash", "opacity"].includes(ch) &&
          (d as Spec)?.field && !has.has((d as Spec).field)
        ).map(([, d]) => {
          const def = d as Spec;
          has.add(def.field);
          return {
            field: def.field,
            type: def.type,
            ...(def.title ? { title: def.title } : {}),
          };
        });
    const keys = new Set(values.flatMap((v) => Object.keys(v)));
    for (const k of keys) {
      if (extraKey(k) && !has.has(k)) {
        tooltip.push({ field: k, title: labelOf(k) });
        has.add(k);
      }
    }
    if (tooltip.length) enc.tooltip = tooltip;
    const color = enc.color?.field;
    if (color && !enc.opacity) {
      if (legend === undefined) {
        legend = `legend_${String(color).replace(/\W/g, "_")}`;
        u.params = [...(u.params ?? []), {
          name: legend,
          select: { type: "point", fields: [color] },
          bind: "legend",
        }];
      }
      if (legend === `legend_${String(color).replace(/\W/g, "_")}`) {
        // The layer's own opacity when selected (a band's is faint: an
        // opacity channel overrides the mark's), a fraction when faded.
        const own = typeof mark.opacity === "number" ? mark.opacity : 1;
        enc.opacity = {
          condition: { param: legend, value: own },
          value: Math.round(own * 0.15 * 1000) / 1000,
        };
      }
    }
  };
  visit(out, undefined);
  return out;
}

/**
 * Builds a report of one or several loaded runs from their analysis and
 * chart specs. A run whose `meta.json` has no summary gets one computed
 * from its data. A chart absent from `specs` is left out of the report,
 * which says why ({@linkcode chartsLeftOut}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyse, CHART_NAMES, chartSpecs } from "./analyse.ts";
 * import { loadRuns } from "./load.ts";
 * import { buildReport } from "./report_model.ts";
 * const v1 = new URL("../../tests/fixtures/v1-run", import.meta.url).pathname;
 * const run = loadRuns([v1]);
 * const a = analyse(run);
 * const r = buildReport(run, chartSpecs(a, run.metas[0]));
 * assert.equal(r.runs[0].summarySource, "meta.json");
 * // One host and no emulated RTT: no rtt or hosts chart, and why.
 * assert.equal(r.charts.length, CHART_NAMES.length - 2);
 * assert.equal(r.chartNotes.length, 2);
 * assert.match(r.charts[0].caption.note, /^Median of the ok sessions/);
 * assert.equal(r.compare, undefined);
 * assert.ok(r.runs[0].provenance.some((s) => s.title === "Versions"));
 * ```
 */
export function buildReport(
  run: RunData,
  specs: ChartSpecs,
  now: Date = new Date(),
  noise?: RunNoise,
): Report {
  const runs: ReportRun[] = run.dirs.map((dir, i) => {
    const meta = run.metas[i] ?? {};
    const id = meta.run_id ?? dir.split("/").filter(Boolean).at(-1) ?? dir;
    const fromMeta = Array.isArray(meta.summary) && meta.summary.length > 0;
    const summary: ReportRow[] = fromMeta
      ? (meta.summary as unknown as ReportRow[])
      : summaryFromAnalysis(
        run.dirs.length === 1 ? analyse(run) : analyse(loadRuns([dir])),
        meta.machine?.cores ?? navigator.hardwareConcurrency,
      );
    const { key, tables } = summaryTables(summary);
    const captionLines = provenanceLines(meta);
    const byHost = hostTable(meta.host_summary ?? []);
    if (byHost) tables.push(byHost);
    return {
      dir: shownPath(dir),
      id,
      headline: headline(run, i, summary),
      summarySource: fromMeta ? "meta.json" : "analysis",
      summary,
      warnings: [
        ...runWarnings(meta, summary, fromMeta),
        // What loading did to this run's files (e.g. a torn row dropped).
        ...run.warnings.filter((w) => w.startsWith(`${dir}/`)).map((w) =>
          w.replace(`${dir}/`, "")
        ),
      ],
      key,
      captionLines,
      tables,
      provenance: provenanceSections(meta),
    };
  });
  const legendRows = runs.flatMap((r) => r.summary);
  return {
    title: runs.length === 1
      ? `SSH clients under concurrency: run ${runs[0].id}`
      : `SSH clients under concurrency: ${runs.length} runs compared`,
    runs,
    charts: CHART_NAMES.flatMap((name) => {
      const spec = specs[name];
      if (!spec) return [];
      const c = chartCaption(spec);
      return [{
        name,
        title: String(spec.title?.text ?? name),
        caption: c ?? { note: "", provenance: [] },
        spec: interactiveSpec(spec),
      }];
    }),
    chartNotes: leftOutLines(leftOutOf(run, specs)),
    compare: runs.length > 1
      ? compareTable(
        run.dirs.map((d) => loadRuns([d])),
        runs.map((r) => r.id),
        noise,
      )
      : undefined,
    legend: summaryColumns(legendRows, [], false),
    generatedAt: now.toISOString(),
  };
}
