/**
 * Terminal output: a progress bar on a TTY or one line per step otherwise,
 * warnings, and the end-of-run summary table.
 *
 * @module
 */
import { median, quantile } from "../util/quantile.ts";
import type { RoundProgress, StepResult } from "./sweep.ts";

function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/**
 * Progress output of a run. On a TTY it redraws one status line; otherwise
 * it prints one line per finished step.
 *
 * @example
 * ```ts
 * import { Progress } from "./summary.ts";
 * const p = new Progress({ totalSteps: 2, stepSeconds: 1, tty: false, write: () => {} });
 * p.step({ client: "ssh2", pool: 1, rounds: 1, sessions: 1, ok: 1, failures: {},
 *   okTotals: [10], roundWalls: [10], clientCpuMs: 1, serverCpuMs: 2, wallMs: 10, maxRssMb: 50 });
 * ```
 */
export class Progress {
  #totalSteps: number;
  #stepsDone = 0;
  #stepSeconds: number;
  #tty: boolean;
  #write: (s: string) => void;
  #start = performance.now();

  /** `tty` defaults to whether stderr is a terminal; `write` to stderr. */
  constructor(o: {
    totalSteps: number;
    stepSeconds: number;
    tty?: boolean;
    write?: (s: string) => void;
  }) {
    this.#totalSteps = o.totalSteps;
    this.#stepSeconds = o.stepSeconds;
    this.#tty = o.tty ?? Deno.stderr.isTerminal();
    const enc = new TextEncoder();
    this.#write = o.write ?? ((s) => Deno.stderr.writeSync(enc.encode(s)));
  }

  /** Estimated time left, ms. */
  eta(): number {
    return (this.#totalSteps - this.#stepsDone) * this.#stepSeconds * 1000;
  }

  /** Redraws the bar after a round (TTY only). */
  round(p: RoundProgress): void {
    if (!this.#tty) return;
    const width = 24;
    const frac = Math.min(1, this.#stepsDone / this.#totalSteps);
    const full = Math.round(frac * width);
    const bar = "#".repeat(full) + "-".repeat(width - full);
    const el = performance.now() - this.#start;
    const line =
      `[${bar}] ${this.#stepsDone}/${this.#totalSteps} ${p.client} pool ${p.pool} round ${p.round} ok ${p.ok} failed ${p.failed} | ${
        fmtDuration(el)
      } elapsed, ~${fmtDuration(this.eta())} left`;
    this.#write(`\r\x1b[2K${line}`);
  }

  /** Records a finished step (prints its line when not on a TTY). */
  step(r: StepResult): void {
    this.#stepsDone++;
    const failed = r.sessions - r.ok;
    const line =
      `${r.client} pool ${r.pool}: ${r.rounds} rounds, ${r.ok}/${r.sessions} ok${
        failed ? ` (${failed} failed)` : ""
      }, median total ${median(r.okTotals).toFixed(1)} ms${
        r.stopped ? ` - stopped: ${r.stopped}` : ""
      }`;
    if (this.#tty) this.#write(`\r\x1b[2K`);
    if (!this.#tty || failed || r.stopped) this.#write(line + "\n");
  }

  /** Prints a line between steps without breaking the bar. */
  note(line: string): void {
    if (this.#tty) this.#write(`\r\x1b[2K`);
    this.#write(line + "\n");
  }

  /** Clears the bar. */
  done(): void {
    if (this.#tty) this.#write(`\r\x1b[2K`);
  }
}

/** One line of the summary, per client and pool size. */
export interface SummaryRow {
  /** Client name. */
  client: string;
  /** Pool size. */
  pool: number;
  /** Sessions run. */
  sessions: number;
  /** Failed sessions. */
  failed: number;
  /** Median total of ok sessions, ms. */
  median_total_ms: number;
  /** 90th percentile total of ok sessions, ms. */
  p90_total_ms: number;
  /** Client CPU per session, ms. */
  client_cpu_ms_per_session: number;
  /** Server CPU per session, ms (NaN for external targets). */
  server_cpu_ms_per_session: number;
  /** Sessions per second of round wall time. */
  sessions_per_s: number;
  /**
   * Throughput the machine allows if CPU were the only limit:
   * cores x 1000 / (server + client CPU ms per session). NaN without
   * server CPU (external target).
   */
  limit_sessions_per_s: number;
  /** sessions_per_s / limit_sessions_per_s, in percent. */
  pct_of_limit: number;
  /** Largest resident set size of the benchmark process, MiB. */
  client_rss_max_mb: number;
}

/**
 * Turns step results into summary rows.
 *
 * @example
 * ```ts
 * import { summarize } from "./summary.ts";
 * const [row] = summarize([{ client: "ssh2", pool: 2, rounds: 1, sessions: 2, ok: 2,
 *   failures: {}, okTotals: [10, 20], roundWalls: [20], clientCpuMs: 8,
 *   serverCpuMs: 30, wallMs: 20, maxRssMb: 60 }]);
 * console.log(row.median_total_ms, row.sessions_per_s); // 15 100
 * console.log(row.limit_sessions_per_s.toFixed(0)); // cores x 1000 / 19 ms
 * ```
 */
export function summarize(
  results: readonly StepResult[],
  cores: number = navigator.hardwareConcurrency,
): SummaryRow[] {
  return results.map((r) => {
    const client = r.clientCpuMs / Math.max(1, r.sessions);
    const server = r.serverCpuMs / Math.max(1, r.sessions);
    const rate = r.wallMs > 0 ? r.sessions / (r.wallMs / 1000) : NaN;
    const limit = server + client > 0 ? cores * 1000 / (server + client) : NaN;
    return {
      client: r.client,
      pool: r.pool,
      sessions: r.sessions,
      failed: r.sessions - r.ok,
      median_total_ms: median(r.okTotals),
      p90_total_ms: quantile(r.okTotals, 0.9),
      client_cpu_ms_per_session: client,
      server_cpu_ms_per_session: server,
      sessions_per_s: rate,
      limit_sessions_per_s: limit,
      pct_of_limit: 100 * rate / limit,
      client_rss_max_mb: r.maxRssMb,
    };
  });
}

/**
 * Hyperfine-style warnings about what the numbers measure: for each
 * client's largest pool, whether sshd's CPU per session exceeds the
 * client's and the run is near the machine's CPU limit (server-bound).
 *
 * @example
 * ```ts
 * import { costWarnings } from "./summary.ts";
 * console.log(costWarnings([]).length); // 0
 * ```
 */
export function costWarnings(rows: readonly SummaryRow[]): string[] {
  const last = new Map<string, SummaryRow>();
  for (const r of rows) {
    const prev = last.get(r.client);
    if (!prev || r.pool >= prev.pool) last.set(r.client, r);
  }
  const out: string[] = [];
  const bound = [...last.values()].filter((r) =>
    Number.isFinite(r.server_cpu_ms_per_session) &&
    r.server_cpu_ms_per_session > r.client_cpu_ms_per_session &&
    r.pct_of_limit >= 50
  );
  if (bound.length > 0) {
    out.push(
      `warning: server-bound: ${
        bound.map((r) =>
          `${r.client} at pool ${r.pool} used ${
            r.server_cpu_ms_per_session.toFixed(1)
          } ms of sshd CPU per session vs ${
            r.client_cpu_ms_per_session.toFixed(1)
          } ms of client CPU, at ${r.pct_of_limit.toFixed(0)}% of the CPU limit`
        ).join("; ")
      }. Wall times there mostly measure the server on this machine: compare clients by client CPU per session (efficiency chart), or put the server on another machine with --target.`,
    );
  }
  return out;
}

/**
 * Formats summary rows as an aligned text table.
 *
 * @example
 * ```ts
 * import { formatSummary } from "./summary.ts";
 * console.log(formatSummary([]).split("\n")[0].includes("client")); // true
 * ```
 */
export function formatSummary(rows: readonly SummaryRow[]): string {
  const head = [
    "client",
    "pool",
    "sessions",
    "failed",
    "median ms",
    "p90 ms",
    "client cpu/session ms",
    "server cpu/session ms",
    "sessions/s",
    "limit/s",
    "% of limit",
    "rss MiB",
  ];
  const f = (v: number, d = 1) => Number.isFinite(v) ? v.toFixed(d) : "-";
  const body = rows.map((r) => [
    r.client,
    String(r.pool),
    String(r.sessions),
    String(r.failed),
    f(r.median_total_ms),
    f(r.p90_total_ms),
    f(r.client_cpu_ms_per_session, 2),
    f(r.server_cpu_ms_per_session, 2),
    f(r.sessions_per_s),
    f(r.limit_sessions_per_s, 0),
    f(r.pct_of_limit, 0),
    f(r.client_rss_max_mb, 0),
  ]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) =>
    r.map((c, i) => i < 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(
      "  ",
    )
  ).join("\n");
}
