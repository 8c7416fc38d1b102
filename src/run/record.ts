/**
 * The run record: `meta.json`, the one typed contract between measuring
 * and analysing. The runner builds it ({@linkcode RunRecord}) and writes it
 * atomically at the start and the end of a run ({@linkcode writeRecord});
 * the analysis and `--like` read it back, in any schema version ever
 * written, as far as it was written ({@linkcode RunMeta},
 * {@linkcode readRecord}).
 *
 * @module
 */
import { run } from "../util/proc.ts";
import { ROOT_DIR } from "../util/paths.ts";
import { isDiskFull, writeError } from "./write_error.ts";
import type { Stage } from "./presets.ts";
import type { HostRow, IntervalRow, SummaryRow } from "./schema.ts";
import type { AlgorithmPins, Negotiated } from "../clients/seam.ts";
import type { ServerProfileInfo } from "../server/embedded.ts";
import type { RecordInterference } from "./interference.ts";

/** How a run ended, or `running` while it runs. */
export type RunState = "running" | "complete" | "interrupted" | "failed";

/** Versions of everything that produced the numbers. */
export interface RecordVersions {
  /** Project git commit (with `-dirty` if src/ had changes), or "unknown". */
  project_commit: string;
  /** Deno version. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** Kernel release. */
  kernel: string;
  /** `sshd -V` of the embedded sshd; null for `--target` and the Go server. */
  openssh_server: string | null;
  /**
   * The embedded server's implementation and version (`OpenSSH_9.2p1`,
   * `x/crypto 0.4.0 (go1.19.8)`); null for `--target`; since version 10.
   */
  server?: string | null;
  /** `ssh -V` of the local OpenSSH client, or "not installed". */
  openssh_client: string;
  /** Version of each client's library or binary, by client name. */
  clients: Record<string, string>;
}

/** The machine the run measured. */
export interface RecordMachine {
  /** CPU model name. */
  cpu_model: string;
  /** Logical cores. */
  cores: number;
  /** Total memory, GiB. */
  mem_gib: number;
}

/** Where the sessions went (never a key). */
export interface RecordTarget {
  /** `embedded` (this run's own sshd) or `external` (`--target`). */
  kind: "embedded" | "external";
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
  /** Remote account. */
  user: string;
  /** Remote command of every session. */
  command: string;
  /** The generated payload (embedded server), else null. */
  payload: { bytes: number; lines: number } | null;
  /** The embedded sshd's config text, else null. */
  sshd_config: string | null;
  /** The embedded server's profile as run, else null; since version 3. */
  server_profile?: ServerProfileInfo | null;
  /** The Go server's configuration (JSON text), else null; since version 10. */
  server_config?: string | null;
  /**
   * The host keys verified before the run for `--target` (every client
   * then accepted only these), else null (the embedded server's key is
   * generated for the run); since version 8.
   */
  host_keys?: RecordHostKeys | null;
  /**
   * How the clients logged in to `--target`, else null (the embedded
   * server's generated key); since version 8, optional.
   */
  auth?: RecordAuth | null;
}

/** How the clients logged in to an external target. */
export interface RecordAuth {
  /**
   * `key` (the identity file as given), `decrypted_key` (an encrypted one,
   * decrypted once for the run into a private temp copy) or `agent`.
   */
  kind: "key" | "decrypted_key" | "agent";
  /** The identity file given, or null with an agent. */
  identity: string | null;
  /** The agent's socket, or null. */
  agent_socket: string | null;
  /**
   * The agent's pid when found: its CPU over each round is then added to
   * that round's client CPU (signing happens in the agent); else null.
   */
  agent_pid: number | null;
  /** Auth each client of the run used. */
  clients: Record<string, string>;
  /** Clients left out because they cannot use this auth, and why. */
  left_out: Record<string, string>;
}

/** The host keys a run verified for its external target(s). */
export interface RecordHostKeys {
  /** The known_hosts file checked (`--known-hosts`, or ~/.ssh/known_hosts). */
  known_hosts_file: string;
  /** `--accept-new-host-keys` was given. */
  accept_new: boolean;
  /** One verified key per server. */
  hosts: RecordHostKey[];
}

/** One server's verified host key. */
export interface RecordHostKey {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
  /** Key type, e.g. `ssh-ed25519`. */
  key_type: string;
  /** SHA256 fingerprint, as `ssh-keygen -l` prints it (`SHA256:...`). */
  fingerprint: string;
  /**
   * `known_hosts` when the file listed it (`entry` says where), or
   * `accepted_new` when `--accept-new-host-keys` trusted it for this run.
   */
  trusted_by: "known_hosts" | "accepted_new";
  /** `file:line` of the known_hosts entry; null when accepted new. */
  entry: string | null;
}

/** The run's parameters, as given or implied by the preset. */
export interface RecordParameters {
  /** Clients run, in order. */
  clients: string[];
  /** Stages of the sweep. */
  stages: Stage[];
  /** Minimum seconds per step. */
  step_seconds: number;
  /** Minimum rounds per step. */
  min_rounds: number;
  /** Per-session timeout, ms. */
  timeout_ms: number;
  /** Remote command. */
  command: string;
  /** Payload bytes (embedded server), else null. */
  payload_bytes: number | null;
  /** `--server-max-startups`, else null. */
  server_max_startups: string | null;
  /** `--server-profile` (embedded server), else null; since version 3. */
  server_profile?: "lean" | "stock" | null;
  /**
   * `--server-impl` (embedded server), else null; since version 10 (runs
   * before it embedded openssh).
   */
  server_impl?: "openssh" | "go" | null;
  /** Pinned algorithms, else null; since version 3. */
  algorithms?: AlgorithmPins | null;
  /** `--commands-per-session`; since version 4. */
  commands_per_session?: number;
  /** `--in-process`: built-in clients in the benchmark process; since version 4. */
  clients_in_process?: boolean;
  /** `--order`; since version 5 (before: sequential). */
  order?: "interleaved" | "sequential";
  /** `--precision` as a fraction, else null; since version 5. */
  precision?: number | null;
  /** `--rtt` values, ms, else null (loopback); since version 7. */
  rtt_ms?: number[] | null;
  /** `--loss`, %, else null; since version 7. */
  loss_pct?: number | null;
  /** `--rate`, Mbit/s, else null; since version 7. */
  rate_mbit?: number | null;
  /** Embedded sshd instances (`--servers`); since version 9. */
  servers?: number | null;
  /** Each embedded server's RTT, ms (`--server-rtt`); since version 9. */
  server_rtt_ms?: number[] | null;
  /**
   * `--max-failures`, %: a client's failed share above it made the run
   * exit 3; absent in runs from before the flag.
   */
  max_failures_pct?: number;
}

/** The no-op calibration of one client, plus its own extras. */
export interface ClientCalibration {
  /** Whole session, ms, per no-op session. */
  total_ms: number[];
  /** exec + read + close, ms, per no-op session. */
  remote_ms: number[];
  /** Median of `total_ms`. */
  total_median_ms: number;
  /** Median of `remote_ms`. */
  remote_median_ms: number;
  /** Median exec phase (channel open + exec reply), ms; since version 3. */
  exec_median_ms: number;
  /** Median time from the exec reply to the exit (the shell), ms; since version 3. */
  shell_median_ms: number;
  /** What the first no-op session negotiated (null when the client cannot tell). */
  negotiated?: Negotiated | null;
  /** Client-specific figures (e.g. openssh's process start). */
  [extra: string]: unknown;
}

/** `meta.json`. */
export interface RunRecord {
  /** Data layout version (see `SCHEMA_VERSION` in schema.ts); 1 when absent. */
  schema_version: number;
  /** Run id (the folder's name unless `--out`). */
  run_id: string;
  /** State; `running` until the run ends. */
  status: RunState;
  /** Preset name (`custom` when `--pool` replaced its stages). */
  preset: string;
  /** The `deno task bench` arguments as given (`--like` expanded); since version 5. */
  argv?: string[];
  /** Parameters. */
  parameters: RecordParameters;
  /** Start, ISO 8601 UTC. */
  started_at: string;
  /** End, ISO 8601 UTC; null while running. */
  ended_at: string | null;
  /** Versions. */
  versions: RecordVersions;
  /** Machine. */
  machine: RecordMachine;
  /** Target. */
  target: RecordTarget;
  /** Remote no-op calibration before the sweep. */
  calibration: {
    command: string;
    clients: Record<string, ClientCalibration>;
  };
  /** What each client negotiated (from its calibration); since version 3. */
  negotiated?: Record<string, Negotiated | null>;
  /** Why the run did not complete; null when it did. */
  reason?: string | null;
  /** Per client and pool size, at the end. */
  summary?: SummaryRow[];
  /** Round trips per client and timing (two or more RTTs); since version 7. */
  round_trips?: Record<string, Record<string, number>>;
  /** Every timing's median and interval per client and pool size; since version 5. */
  intervals?: IntervalRow[];
  /** Warnings about what the numbers measure, at the end. */
  warnings?: string[];
  /**
   * Whether other processes disturbed the run (see `interference.ts`),
   * at the end; null when unknown (no access to the root cgroup); since
   * version 11.
   */
  interference?: RecordInterference | null;
  /**
   * The hosts sessions were spread over, round-robin, in order (one entry
   * for a single server); since version 9.
   */
  hosts?: RecordHost[];
  /** The summary per host (more than one host); since version 9. */
  host_summary?: HostRow[];
}

/**
 * `meta.json` as read back ({@linkcode readRecord}): the same record as
 * {@linkcode RunRecord}, as far as it was written, in any schema version:
 * every field, and every field of its objects, may be absent (a run killed
 * before the end, an older version, a record that is not one).
 */
export type RunMeta = {
  [K in keyof RunRecord]?: RunRecord[K] extends unknown[] ? RunRecord[K]
    : RunRecord[K] extends object ? Partial<RunRecord[K]>
    : RunRecord[K];
};

/** One host of a run (an embedded server or an external one). */
export interface RecordHost {
  /** The `host` column's value: `address:port`. */
  label: string;
  /** `embedded` or `external`. */
  kind: "embedded" | "external";
  /** Address. */
  host: string;
  /** Port. */
  port: number;
  /** Account. */
  user: string;
  /** Its own emulated RTT, ms (`--server-rtt`); null otherwise (with `--rtt` every host has each step's). */
  rtt_ms: number | null;
  /**
   * CPU of its sshd over the whole run, ms (embedded servers; null for an
   * external host); per RTT place with `--rtt`, summed.
   */
  server_cpu_ms: number | null;
  /**
   * Why no session could reach it, when its host key could not be read
   * before the run (its sessions are failed rows); null otherwise.
   */
  unreachable: string | null;
}

/** Machine facts and versions that do not depend on the run. */
export interface Provenance {
  /** See {@linkcode RecordVersions.project_commit}. */
  project_commit: string;
  /** Deno version. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** Kernel release. */
  kernel: string;
  /** The machine. */
  machine: RecordMachine;
}

/**
 * Reads versions and machine facts.
 *
 * @example
 * ```ts
 * import { provenance } from "./record.ts";
 * import assert from "node:assert/strict";
 * const p = await provenance();
 * assert.ok(p.machine.cores >= 1);
 * assert.equal(p.deno, Deno.version.deno);
 * ```
 */
export async function provenance(): Promise<Provenance> {
  const git = (args: string[]) => run("git", ["-C", ROOT_DIR, ...args]);
  const commit = await git(["rev-parse", "--short=12", "HEAD"]);
  const dirty = await git(["status", "--porcelain", "--", "src", "deno.json"]);
  let cpu = "unknown";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = /model name\s*:\s*(.*)/.exec(info)?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  return {
    project_commit: commit.code === 0
      ? commit.stdout.trim() + (dirty.stdout.trim() ? "-dirty" : "")
      : "unknown",
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    kernel: Deno.osRelease(),
    machine: {
      cpu_model: cpu,
      cores: navigator.hardwareConcurrency,
      mem_gib: Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10,
    },
  };
}

/**
 * Writes `meta.json` atomically (temp file + rename), so a kill never
 * leaves it half-written, and never leaves the temp file behind.
 *
 * On a full disk (no room for the temp copy) an existing `meta.json` is
 * rewritten in place instead, compact, when that fits in the bytes it
 * already has (so no new block is needed): first the whole record, else
 * the record without its summary tables (`summary`, `intervals`,
 * `round_trips`, `host_summary`, which the analysis recomputes from the
 * CSV files), with a warning saying so. A run that fills the disk is
 * still marked as it ended.
 *
 * @throws {UsageError} (exit code 1) naming `meta.json`, the cause and
 * the fix, when neither can be written; the old `meta.json` is then kept.
 * @example
 * ```ts
 * import { readRecord, writeRecord } from "./record.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await writeRecord(dir, { schema_version: 2, run_id: "x" } as never);
 * assert.equal(readRecord(dir)?.run_id, "x");
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["meta.json"]);
 * await assert.rejects(
 *   writeRecord(`${dir}/missing`, { run_id: "y" } as never),
 *   /^UsageError: could not write .*\/missing\/meta\.json: No such file or directory/,
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeRecord(
  dir: string,
  record: RunRecord,
): Promise<void> {
  const path = `${dir}/meta.json`;
  const tmp = `${dir}/.meta.json.tmp`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(record, null, 2) + "\n");
    await Deno.rename(tmp, path);
  } catch (e) {
    // A failed write may have left the temp file, empty or cut short.
    await Deno.remove(tmp).catch(() => {});
    if (isDiskFull(e) && writeInPlace(path, record)) return;
    throw writeError(path, e);
  }
}

/**
 * Overwrites `path` with the record, compact, when it fits in the file's
 * current length (see {@linkcode writeRecord}); false when it does not fit
 * or the file cannot be opened.
 */
function writeInPlace(path: string, record: RunRecord): boolean {
  let size: number;
  try {
    size = Deno.statSync(path).size;
  } catch {
    return false;
  }
  const enc = new TextEncoder();
  const slim: RunRecord = {
    ...record,
    summary: undefined,
    intervals: undefined,
    round_trips: undefined,
    host_summary: undefined,
    warnings: [
      ...(record.warnings ?? []),
      "meta.json was rewritten in place on a full disk, without its summary tables: the analysis computes them from sessions.csv and rounds.csv",
    ],
  };
  const bytes = [record, slim].map((r) => enc.encode(JSON.stringify(r) + "\n"))
    .find((b) => b.length <= size);
  if (!bytes) return false;
  try {
    using f = Deno.openSync(path, { write: true });
    let off = 0;
    while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
    f.truncateSync(bytes.length);
    return true;
  } catch {
    return false;
  }
}

/** Summary field names of schema version 1, and their names since 2. */
const V1_SUMMARY_NAMES: Record<string, string> = {
  pool: "pool_size",
  median_total_ms: "total_p50_ms",
  p90_total_ms: "total_p90_ms",
};

/**
 * Brings a parsed `meta.json` of any schema version to the current shape
 * (its `schema_version` stays the one written, so readers can tell).
 *
 * @example
 * ```ts
 * import { upgradeRecord } from "./record.ts";
 * import assert from "node:assert/strict";
 * const r = upgradeRecord({ run_id: "old", summary: [{ client: "ssh2", pool: 1, median_total_ms: 38 }] });
 * assert.equal(r.schema_version, 1);
 * assert.deepEqual(r.summary?.[0], { client: "ssh2", pool_size: 1, total_p50_ms: 38 } as never);
 * ```
 */
export function upgradeRecord(json: Record<string, unknown>): RunMeta {
  const version = typeof json.schema_version === "number"
    ? json.schema_version
    : 1;
  const record = { ...json, schema_version: version } as RunMeta;
  if (version < 2 && Array.isArray(json.summary)) {
    record.summary = json.summary.map((row: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [V1_SUMMARY_NAMES[k] ?? k, v]),
      )
    ) as unknown as SummaryRow[];
  }
  return record;
}

/**
 * Reads a run folder's `meta.json` in any schema version; undefined when
 * there is none (a run killed before it was written still has data) or it
 * cannot be parsed.
 *
 * @example
 * ```ts
 * import { readRecord } from "./record.ts";
 * import assert from "node:assert/strict";
 * const r = readRecord(new URL("../../data/runs/sample-seed", import.meta.url).pathname);
 * assert.equal(r?.target?.kind, "embedded");
 * assert.equal(typeof r?.summary?.[0].pool_size, "number");
 * ```
 */
export function readRecord(dir: string): RunMeta | undefined {
  try {
    return upgradeRecord(
      JSON.parse(Deno.readTextFileSync(`${dir}/meta.json`)),
    );
  } catch {
    return undefined;
  }
}
