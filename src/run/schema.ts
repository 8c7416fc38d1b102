/**
 * The data schema, declared once: every column of `sessions.csv` and
 * `rounds.csv`, and every field of the per-client, per-pool summary (in
 * `meta.json`), with its type, unit and meaning. The TypeScript row types,
 * the CSV headers, the polars schema (`src/analysis/load.ts`) and the
 * column tables of `docs/data-format.md` (`deno task docs`, from
 * `schema_doc.ts`) all come from here.
 *
 * Adding a column: add it to the list here with `since: <the new
 * version>`, bump {@linkcode SCHEMA_VERSION}, and fill it where rows are
 * made. Older files, which lack it, still load (the column is null there).
 *
 * @module
 */
import type { Status } from "../clients/seam.ts";
import { markdownTable as textMarkdownTable } from "../util/text_table.ts";

/**
 * Version of the data layout written by this code, recorded in `meta.json`
 * as `schema_version`. Every added or changed column is one step.
 *
 * - 1: the first layout (no `schema_version` in `meta.json`).
 * - 2: summary fields named like the CSV columns (`pool_size`,
 *   `total_p50_ms`, `total_p90_ms` instead of `pool`, `median_total_ms`,
 *   `p90_total_ms`); `schema_version` written.
 * - 3: `rounds.csv` gains `machine_cpu_ms` and `steal_cpu_ms`;
 *   `client_cpu_ms` comes from getrusage (µs) instead of 10 ms ticks; the
 *   summary gains machine and unattributed CPU per session and the
 *   machine's busy share.
 * - 4: every client runs in a worker process of its own: `client_cpu_ms`
 *   and `client_rss_mb` are the worker's; `rounds.csv` gains
 *   `harness_cpu_ms` (the benchmark process's own CPU); `sessions.csv`
 *   gains `commands` and `reexec_ms` (`--commands-per-session`).
 * - 5: the summary gains `ok`, `rounds`, a 95 % interval for the median
 *   total and each client's median total relative to the best client's at
 *   that pool size, with its interval and p-value; the run folder gains
 *   `summary.csv` and `intervals.csv` (an interval for every timing).
 * - 6: `sessions.csv` gains `disconnect_ms` (closing the connection after
 *   the last command), split out of `close_ms`, which is now the exit
 *   status and the first command's channel close with the SSH session
 *   still open (the post's "commands end").
 * - 7: `sessions.csv`, `rounds.csv`, the summary and `intervals.csv` gain
 *   `rtt_ms` (`--rtt`); `rounds.csv` gains the emulated link's achieved
 *   hold times (`link_hold_p50_ms`, `link_hold_p99_ms`) and
 *   `forwarder_cpu_ms`; as root, client and server CPU come from cgroups
 *   (each worker's and sshd's whole process tree), read at the same moments
 *   as the machine's.
 * - 8: `sessions.csv` gains `teardown_error`: an error while tearing down
 *   a session whose command completed (stdout read to end of file, exit
 *   status received) no longer fails it; the status stays `ok` (or
 *   `exit_nonzero`) and the error goes there. `meta.json`'s target gains
 *   `host_keys` (the host keys verified for `--target`).
 * - 9: fleets: `sessions.csv` gains `host` (the server the session went
 *   to: `sshd-N` for the N-th embedded server, `address:port` for an
 *   external one; sessions are spread over the hosts round-robin) and its
 *   `rtt_ms` is that host's own (`--server-rtt`); `meta.json` gains
 *   `hosts` (each host's address, RTT, server CPU and, for a host that
 *   could not be reached, why) and the parameters `servers` and
 *   `server_rtt_ms`; with more than one host the run folder gains
 *   `hosts.csv` (the summary per host, also `host_summary` in
 *   `meta.json`).
 * - 10: the embedded server may be the Go server (`--server-impl go`):
 *   `meta.json` gains the parameter `server_impl` (runs before it embedded
 *   openssh), `versions.server` (the implementation and its version) and
 *   `target.server_config` (the Go server's configuration);
 *   `server_cpu_ms` is then that server's.
 * - 11: `rounds.csv` gains `other_cpu_ms` (CPU used during the round by
 *   processes outside the run, measured from the root cgroup) and
 *   `cpu_window_ms` (the window it and `machine_cpu_ms` were read over);
 *   the summary gains `other_cpu_pct` and `disturbed_rounds_pct` (from
 *   them; NaN for runs before this version: unknown) and
 *   `total_vs_best_verdict` (the change rule's verdict: `slower` where the
 *   95 % interval of the ratio leaves out 1.00x, else `~`), and its ratio
 *   interval is NaN with fewer than 4 rounds a side; `unattributed_cpu_ms_per_session`
 *   is never below 0; `meta.json` gains `interference` and the run folder
 *   `summary.json` (the summary, typed).
 * - 12: the summary gains `bound_by`: whether the step's wall times were
 *   bound by the embedded server (`server`) or by the client (`client`);
 *   empty for `--target`. Earlier runs get it from their summary's CPU
 *   figures, by the same rule, wherever it is shown.
 */
export const SCHEMA_VERSION = 12;

/** How a column is stored: text, whole number, number, or a session status. */
export type ColumnType = "string" | "int" | "float" | "status";

/** One column (or summary field). */
export interface Column {
  /** Name in the CSV header and in the row objects. */
  readonly name: string;
  /** Storage type. */
  readonly type: ColumnType;
  /** Unit (`ms`, `MiB`, `sessions`, ...), empty when none. */
  readonly unit: string;
  /** What it means, one line (docs/data-format.md's tables show it). */
  readonly meaning: string;
  /** True when a cell may be empty (absent). */
  readonly optional?: boolean;
  /** Schema version that added it (default 1). */
  readonly since?: number;
}

/** `sessions.csv`: one row per session. */
export const SESSION_COLUMNS = [
  {
    name: "run_id",
    type: "string",
    unit: "",
    meaning: "run id (the folder name)",
  },
  {
    name: "client",
    type: "string",
    unit: "",
    meaning: "client name (`ssh2`, `libssh2`, `openssh`, ...)",
  },
  {
    name: "pool_size",
    type: "int",
    unit: "sessions",
    meaning: "sessions started together in this round",
  },
  {
    name: "round",
    type: "int",
    unit: "",
    meaning: "round number within this client and pool size, from 1",
  },
  {
    name: "session",
    type: "int",
    unit: "",
    meaning: "session number within the round, from 1",
  },
  {
    name: "started_at_ms",
    type: "float",
    unit: "ms",
    meaning: "session start, since the run started",
  },
  {
    name: "connect_ms",
    type: "float",
    unit: "ms",
    meaning: "TCP connect (for `openssh`: process start + connect)",
    optional: true,
  },
  {
    name: "auth_ms",
    type: "float",
    unit: "ms",
    meaning: "SSH handshake (version, key exchange) + public-key user auth",
    optional: true,
  },
  {
    name: "exec_ms",
    type: "float",
    unit: "ms",
    meaning:
      "session channel open + exec request (for `openssh`: until the exec request is sent)",
    optional: true,
  },
  {
    name: "read_ms",
    type: "float",
    unit: "ms",
    meaning: "reading stdout line by line to end of file",
    optional: true,
  },
  {
    name: "close_ms",
    type: "float",
    unit: "ms",
    meaning:
      "exit status and the first command's channel closed, the SSH session still open (before version 6 also the disconnect)",
    optional: true,
  },
  {
    name: "disconnect_ms",
    type: "float",
    unit: "ms",
    meaning:
      "closing the connection after the last command; before version 6 part of `close_ms`",
    optional: true,
    since: 6,
  },
  {
    name: "total_ms",
    type: "float",
    unit: "ms",
    meaning: "whole session, also for failed ones (until the failure)",
  },
  { name: "bytes", type: "int", unit: "bytes", meaning: "stdout bytes read" },
  { name: "lines", type: "int", unit: "lines", meaning: "stdout lines read" },
  {
    name: "exit_code",
    type: "int",
    unit: "",
    meaning: "remote exit code; empty when none was received",
    optional: true,
  },
  {
    name: "status",
    type: "status",
    unit: "",
    meaning:
      "`ok`, `connect_error`, `auth_error`, `exec_error`, `read_error`, `timeout`, `exit_nonzero`",
  },
  {
    name: "error",
    type: "string",
    unit: "",
    meaning: "error message; empty when ok",
  },
  {
    name: "commands",
    type: "int",
    unit: "commands",
    meaning:
      "commands completed on the session's connection (`--commands-per-session`, default 1)",
    optional: true,
    since: 4,
  },
  {
    name: "reexec_ms",
    type: "float",
    unit: "ms",
    meaning:
      "the further commands 2..K on the same authenticated connection, each a new channel, exec and read; empty for K = 1",
    optional: true,
    since: 4,
  },
  {
    name: "rtt_ms",
    type: "float",
    unit: "ms",
    meaning:
      "emulated round-trip time asked for (`--rtt`, or the session's host's `--server-rtt`); empty on loopback",
    optional: true,
    since: 7,
  },
  {
    name: "teardown_error",
    type: "string",
    unit: "",
    meaning:
      "error while tearing down a session whose command completed (stdout read, exit status received); the status stays `ok` or `exit_nonzero`",
    optional: true,
    since: 8,
  },
  {
    name: "host",
    type: "string",
    unit: "",
    meaning:
      "the server the session went to: `sshd-N` (the N-th embedded server, `--servers`) or `address:port` (`--target`, `--hosts`); sessions are spread over the hosts round-robin",
    optional: true,
    since: 9,
  },
] as const satisfies readonly Column[];

/** `rounds.csv`: one row per round. */
export const ROUND_COLUMNS = [
  {
    name: "run_id",
    type: "string",
    unit: "",
    meaning: "run id (the folder name)",
  },
  { name: "client", type: "string", unit: "", meaning: "client name" },
  {
    name: "pool_size",
    type: "int",
    unit: "sessions",
    meaning: "sessions started together in this round",
  },
  {
    name: "round",
    type: "int",
    unit: "",
    meaning: "round number within this client and pool size, from 1",
  },
  {
    name: "started_at_ms",
    type: "float",
    unit: "ms",
    meaning: "round start, since the run started",
  },
  {
    name: "wall_ms",
    type: "float",
    unit: "ms",
    meaning: "first session start to last session end",
  },
  {
    name: "ok",
    type: "int",
    unit: "sessions",
    meaning: "sessions with status ok",
  },
  {
    name: "failed",
    type: "int",
    unit: "sessions",
    meaning: "sessions with any other status",
  },
  {
    name: "client_cpu_ms",
    type: "float",
    unit: "ms",
    meaning:
      "CPU of the client's worker process tree during the round: from version 7, as root, its cgroup read at the same moments as `machine_cpu_ms` (ns); else as the worker reports it (getrusage of itself and its reaped children, µs); version 4 the worker's report; before version 4 the benchmark process's, before version 3 in 10 ms ticks",
  },
  {
    name: "server_cpu_ms",
    type: "float",
    unit: "ms",
    meaning:
      "CPU of the embedded server (the Go server or sshd) during the round: from version 7, as root, its whole process tree by cgroup (exited session processes and commands included); else the listener and its reaped children from /proc; empty for `--target`",
    optional: true,
  },
  {
    name: "client_rss_mb",
    type: "float",
    unit: "MiB",
    meaning:
      "resident memory of the client's worker process at the round's end (before version 4: the benchmark process's)",
  },
  {
    name: "machine_cpu_ms",
    type: "float",
    unit: "ms",
    meaning:
      "busy CPU of all cores (user, nice, system, irq, softirq, steal; /proc/stat) from the round's start until sshd reaped its sessions",
    optional: true,
    since: 3,
  },
  {
    name: "steal_cpu_ms",
    type: "float",
    unit: "ms",
    meaning:
      "CPU a hypervisor gave to others while this machine wanted it, same window (a noisy neighbour on a VM)",
    optional: true,
    since: 3,
  },
  {
    name: "harness_cpu_ms",
    type: "float",
    unit: "ms",
    meaning:
      "CPU of the benchmark process itself during the round (driving the worker, timing, files); empty for in-process clients",
    optional: true,
    since: 4,
  },
  {
    name: "rtt_ms",
    type: "float",
    unit: "ms",
    meaning: "emulated round-trip time asked for; empty without `--rtt`",
    optional: true,
    since: 7,
  },
  {
    name: "link_hold_p50_ms",
    type: "float",
    unit: "ms",
    meaning:
      "median time the forwarder held a packet during the round, both directions (asked: `rtt_ms` / 2)",
    optional: true,
    since: 7,
  },
  {
    name: "link_hold_p99_ms",
    type: "float",
    unit: "ms",
    meaning: "99th percentile of that hold time",
    optional: true,
    since: 7,
  },
  {
    name: "forwarder_cpu_ms",
    type: "float",
    unit: "ms",
    meaning:
      "CPU of the packet forwarder during the round (neither client nor server)",
    optional: true,
    since: 7,
  },
  {
    name: "other_cpu_ms",
    type: "float",
    unit: "ms",
    meaning:
      "CPU used during the round by processes outside the run: every task's CPU (the root cgroup, ns) less the run's own cgroups (servers, workers), the benchmark process and the packet forwarder; kernel network work done for the run stays the run's; never below 0; empty when the root cgroup cannot be read (not root) and before version 11",
    optional: true,
    since: 11,
  },
  {
    name: "cpu_window_ms",
    type: "float",
    unit: "ms",
    meaning:
      "length of the window `machine_cpu_ms` and `other_cpu_ms` were read over (the round's start until the server reaped its sessions)",
    optional: true,
    since: 11,
  },
] as const satisfies readonly Column[];

/** The key of the per-step tables: one row per client and pool size. */
const STEP_KEY_COLUMNS = [
  { name: "client", type: "string", unit: "", meaning: "client name" },
  {
    name: "pool_size",
    type: "int",
    unit: "sessions",
    meaning: "sessions started together",
  },
] as const satisfies readonly Column[];

/** The summary per client and pool size (`meta.json` `summary`, terminal table). */
export const SUMMARY_COLUMNS = [
  ...STEP_KEY_COLUMNS,
  {
    name: "sessions",
    type: "int",
    unit: "sessions",
    meaning: "sessions run at this pool size",
  },
  {
    name: "ok",
    type: "int",
    unit: "sessions",
    meaning: "sessions with status ok",
    since: 5,
  },
  {
    name: "failed",
    type: "int",
    unit: "sessions",
    meaning: "sessions with a status other than ok",
  },
  {
    name: "rounds",
    type: "int",
    unit: "rounds",
    meaning: "rounds run (the unit of every interval and test)",
    since: 5,
  },
  {
    name: "total_p50_ms",
    type: "float",
    unit: "ms",
    meaning: "median `total_ms` of ok sessions",
  },
  {
    name: "total_p50_ci_low_ms",
    type: "float",
    unit: "ms",
    meaning:
      "95 % interval of that median, low end (bootstrap over whole rounds); equal to the median with one round",
    since: 5,
  },
  {
    name: "total_p50_ci_high_ms",
    type: "float",
    unit: "ms",
    meaning: "95 % interval of that median, high end",
    since: 5,
  },
  {
    name: "total_p90_ms",
    type: "float",
    unit: "ms",
    meaning: "90th percentile `total_ms` of ok sessions",
  },
  {
    name: "client_cpu_ms_per_session",
    type: "float",
    unit: "ms",
    meaning: "`client_cpu_ms` summed over the rounds / sessions",
  },
  {
    name: "server_cpu_ms_per_session",
    type: "float",
    unit: "ms",
    meaning:
      "`server_cpu_ms` summed over the rounds / sessions; NaN (null in meta.json) for `--target`",
  },
  {
    name: "machine_cpu_ms_per_session",
    type: "float",
    unit: "ms",
    meaning:
      "`machine_cpu_ms` summed over the rounds / sessions: what a session costs the whole machine; NaN before version 3",
    since: 3,
  },
  {
    name: "unattributed_cpu_ms_per_session",
    type: "float",
    unit: "ms",
    meaning:
      "machine CPU per session that is neither the client's nor the server's (kernel network work in softirq, other processes); NaN without server CPU; from version 11 never below 0: the machine's count is sampled in 10 ms ticks, the client's and server's exact, so where it came out below their sum it is shown as 0 (a note says so)",
    since: 3,
  },
  {
    name: "machine_busy_pct",
    type: "float",
    unit: "%",
    meaning:
      "busy share of all cores during the step's rounds (over ~90 %: the machine was saturated)",
    since: 3,
  },
  {
    name: "sessions_per_s",
    type: "float",
    unit: "sessions/s",
    meaning: "sessions / summed round `wall_ms`",
  },
  {
    name: "limit_sessions_per_s",
    type: "float",
    unit: "sessions/s",
    meaning:
      "throughput if CPU were the only limit: cores x 1000 / machine CPU ms per session (before version 3: / (server + client CPU ms per session))",
  },
  {
    name: "pct_of_limit",
    type: "float",
    unit: "%",
    meaning: "`sessions_per_s` / `limit_sessions_per_s`",
  },
  {
    name: "bound_by",
    type: "string",
    unit: "",
    meaning:
      "what bound the step's wall times: `server` where the embedded server spent more CPU per session than the client with the step at 50 % of `limit_sessions_per_s` or more, else `client`; empty without server CPU (`--target`)",
    since: 12,
  },
  {
    name: "client_rss_max_mb",
    type: "float",
    unit: "MiB",
    meaning: "largest `client_rss_mb` of the rounds",
  },
  {
    name: "total_vs_best_x",
    type: "float",
    unit: "x",
    meaning:
      "median total / the lowest median total of any client at this pool size (1 for the best)",
    since: 5,
  },
  {
    name: "total_vs_best_ci_low_x",
    type: "float",
    unit: "x",
    meaning:
      "95 % interval of that ratio, low end (rounds of both resampled); from version 11 NaN when a side has fewer than 4 rounds",
    since: 5,
  },
  {
    name: "total_vs_best_ci_high_x",
    type: "float",
    unit: "x",
    meaning: "95 % interval of that ratio, high end",
    since: 5,
  },
  {
    name: "total_vs_best_p_value",
    type: "float",
    unit: "",
    meaning:
      "Mann-Whitney U p-value, per-round median totals of this client against the best's, for information (from version 11 `total_vs_best_verdict` decides); NaN for the best",
    since: 5,
  },
  {
    name: "total_vs_best_verdict",
    type: "string",
    unit: "",
    meaning:
      "`best`; `slower` where the ratio's 95 % interval, rounded to 2 decimals as printed, leaves out 1.00x; `~` where it includes 1.00x or a side has fewer than 4 rounds (no interval)",
    since: 11,
  },
  {
    name: "other_cpu_pct",
    type: "float",
    unit: "%",
    meaning:
      "CPU of processes outside the run during the step's rounds, in % of one core (`other_cpu_ms` summed / `cpu_window_ms` summed); over 10 %, the step was disturbed (a warning, and `deno task compare` calls it not comparable); NaN when unknown",
    since: 11,
  },
  {
    name: "disturbed_rounds_pct",
    type: "float",
    unit: "%",
    meaning:
      "share of the step's rounds during which processes outside the run used more than 10 % of one core (information: in a round of a few ms a quiet machine's background can pass it); NaN when unknown",
    since: 11,
  },
  {
    name: "rtt_ms",
    type: "float",
    unit: "ms",
    meaning: "emulated round-trip time; empty without `--rtt`",
    optional: true,
    since: 7,
  },
] as const satisfies readonly Column[];

/** `intervals.csv`: the median of every timing with its interval. */
export const INTERVAL_COLUMNS = [
  ...STEP_KEY_COLUMNS,
  {
    name: "metric",
    type: "string",
    unit: "",
    meaning:
      "`connect`, `auth`, `exec`, `read`, `close`, `disconnect`, `reexec`, `commands_start`, `commands_end`, `channel_read` or `total`",
  },
  {
    name: "rounds",
    type: "int",
    unit: "rounds",
    meaning: "rounds with at least one ok session",
  },
  {
    name: "sessions",
    type: "int",
    unit: "sessions",
    meaning: "ok sessions that reached this timing",
  },
  { name: "p50_ms", type: "float", unit: "ms", meaning: "median" },
  {
    name: "ci_low_ms",
    type: "float",
    unit: "ms",
    meaning: "95 % interval, low end (bootstrap over whole rounds)",
  },
  {
    name: "ci_high_ms",
    type: "float",
    unit: "ms",
    meaning: "95 % interval, high end",
  },
  {
    name: "rtt_ms",
    type: "float",
    unit: "ms",
    meaning: "emulated round-trip time; empty without `--rtt`",
    optional: true,
    since: 7,
  },
] as const satisfies readonly Column[];

/**
 * `hosts.csv` (fleets, when sessions went to more than one host): the
 * summary per client, pool size and host, so a slow or failing host
 * stands out.
 */
export const HOST_COLUMNS = [
  ...STEP_KEY_COLUMNS,
  {
    name: "rtt_ms",
    type: "float",
    unit: "ms",
    meaning:
      "the step's emulated round-trip time (`--rtt`); empty on loopback or with `--server-rtt`",
    optional: true,
  },
  {
    name: "host",
    type: "string",
    unit: "",
    meaning: "the host, as in `sessions.csv`",
  },
  {
    name: "host_rtt_ms",
    type: "float",
    unit: "ms",
    meaning:
      "this host's emulated round-trip time (`--server-rtt` or `--rtt`); empty on loopback",
    optional: true,
  },
  {
    name: "sessions",
    type: "int",
    unit: "sessions",
    meaning: "sessions that went to this host",
  },
  { name: "ok", type: "int", unit: "sessions", meaning: "of them ok" },
  {
    name: "failed",
    type: "int",
    unit: "sessions",
    meaning: "of them not ok",
  },
  {
    name: "total_p50_ms",
    type: "float",
    unit: "ms",
    meaning: "median `total_ms` of this host's ok sessions",
  },
  {
    name: "total_p50_ci_low_ms",
    type: "float",
    unit: "ms",
    meaning: "95 % interval of that median, low end (bootstrap over rounds)",
  },
  {
    name: "total_p50_ci_high_ms",
    type: "float",
    unit: "ms",
    meaning: "95 % interval of that median, high end",
  },
  {
    name: "total_vs_fleet_x",
    type: "float",
    unit: "x",
    meaning:
      "this host's median total over the median total of every host's ok sessions in the step",
  },
  {
    name: "slowest_pct",
    type: "float",
    unit: "%",
    meaning:
      "share of the step's rounds whose last session to end (the round's \"all hosts\" time) was on this host",
  },
] as const satisfies readonly Column[];

/** One row of `hosts.csv`. */
export type HostRow = Row<typeof HOST_COLUMNS>;

/** One row of `intervals.csv`. */
export type IntervalRow = Row<typeof INTERVAL_COLUMNS>;

type Value<C extends Column> = C["type"] extends "string" ? string
  : C["type"] extends "status" ? Status
  : number;

/**
 * The row object of a column list: required columns as properties,
 * optional ones as optional properties.
 */
export type Row<Cs extends readonly Column[]> =
  & {
    -readonly [
      C in Cs[number] as C extends { optional: true } ? never : C["name"]
    ]: Value<C>;
  }
  & {
    -readonly [
      C in Cs[number] as C extends { optional: true } ? C["name"] : never
    ]?: Value<C>;
  };

/**
 * One row of `sessions.csv`.
 *
 * @example
 * ```ts
 * import type { SessionRow } from "./schema.ts";
 * import assert from "node:assert/strict";
 * const r: SessionRow = {
 *   run_id: "x", client: "ssh2", pool_size: 1, round: 1, session: 1,
 *   started_at_ms: 0, connect_ms: 1, total_ms: 15, bytes: 10, lines: 1,
 *   status: "timeout", error: "timed out during auth",
 * };
 * assert.equal(r.auth_ms, undefined); // a phase not reached stays absent
 * ```
 */
export type SessionRow = Row<typeof SESSION_COLUMNS>;

/** One row of `rounds.csv`. */
export type RoundRow = Row<typeof ROUND_COLUMNS>;

/** One row of the summary (per client and pool size). */
export type SummaryRow = Row<typeof SUMMARY_COLUMNS>;

/**
 * The names of a column list, in order (a CSV header).
 *
 * @example
 * ```ts
 * import { columnNames, ROUND_COLUMNS } from "./schema.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(columnNames(ROUND_COLUMNS).slice(0, 3), ["run_id", "client", "pool_size"]);
 * ```
 */
export function columnNames<Cs extends readonly Column[]>(
  cols: Cs,
): Cs[number]["name"][] {
  return cols.map((c) => c.name);
}

/**
 * A column list as a markdown table (`column | unit | meaning`), the form
 * docs/data-format.md shows.
 *
 * @example
 * ```ts
 * import { markdownTable } from "./schema.ts";
 * import assert from "node:assert/strict";
 * const t = markdownTable([{ name: "a_ms", type: "float", unit: "ms", meaning: "A" }]);
 * assert.equal(t.split("\n")[2], "| `a_ms` | ms   | A       |");
 * ```
 */
export function markdownTable(cols: readonly Column[]): string {
  return textMarkdownTable(
    [{ head: "column" }, { head: "unit" }, { head: "meaning" }],
    cols.map((c) => [`\`${c.name}\``, c.unit, c.meaning]),
    { pad: true },
  );
}
