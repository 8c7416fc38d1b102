/**
 * How a report writes names and values: column labels with units, numbers,
 * lists, `meta.json` fields (known or not) and table cells with their
 * intervals.
 *
 * @module
 */
import type { Field, ReportRow } from "./types.ts";

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
  total_vs_best_p_value: "p vs the best, for information",
  total_vs_best_verdict: "verdict vs the best",
  other_cpu_pct: "other processes' CPU",
  disturbed_rounds_pct: "disturbed rounds",
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

export const UNIT_SUFFIXES: Record<string, string> = {
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
 * import { labelOf } from "./mod.ts";
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
 * import { formatNumber } from "./mod.ts";
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
 * import { formatList } from "./mod.ts";
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
 * import { describeField } from "./mod.ts";
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

/** The base column of an interval column (`total_p50_ci_low_ms` -> `total_p50_ms`). */
export function intervalBase(key: string): string | undefined {
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
 * import { cellText } from "./mod.ts";
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
