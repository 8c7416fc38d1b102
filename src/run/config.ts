/**
 * The engine's input: everything a run needs, as the user asked for it.
 * The command line (`src/cli/bench_args.ts`) builds it; tests and other
 * front ends may build it directly.
 *
 * @module
 */
import type { AlgorithmPins } from "../clients/seam.ts";
import type { Stage } from "./presets.ts";
import type { ServerImpl } from "../server/impl.ts";

/**
 * The embedded server's profile: `lean` turns off what costs CPU per
 * connection without changing the protocol (no re-exec where sshd has
 * `-r`; no DNS, motd, lastlog, forwarding; errors-only log); `stock` is
 * OpenSSH's compiled-in defaults plus the lines the benchmark needs.
 */
export type ServerProfile = "lean" | "stock";

/** An external server given with `--target`. */
export interface ExternalTarget {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
  /** Remote account. */
  user: string;
  /**
   * Private key path (absent with agent auth). An encrypted key is
   * decrypted once per run, into a temp copy.
   */
  identity?: string;
  /** ssh-agent socket to log in with (`--agent`, or no `--identity`). */
  agentSocket?: string;
}

/**
 * Everything a run needs.
 *
 * @example
 * ```ts
 * import type { RunConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 * const cfg: RunConfig = {
 *   preset: "quick", name: "quick", stages: [{ pools: [1, 2], clients: "all" }],
 *   stepSeconds: 0, minRounds: 1, timeoutMs: 60_000, payloadBytes: 26_000,
 *   charts: false,
 * };
 * assert.equal(cfg.stages[0].pools.length, 2);
 * ```
 */
export interface RunConfig {
  /** Preset name (`seed` unless `--preset`). */
  preset: string;
  /** Run name in the folder name (`--name`, default: the preset). */
  name: string;
  /** Client names asked for, or undefined for every available client. */
  clients?: string[];
  /** Stages to run (from the preset, or one stage from `--pool`). */
  stages: Stage[];
  /** Minimum seconds per step. */
  stepSeconds: number;
  /** Minimum rounds per step. */
  minRounds: number;
  /** Per-session timeout, ms. */
  timeoutMs: number;
  /** Remote command; undefined means `cat <payload>` on the embedded server. */
  command?: string;
  /**
   * External servers (`--target`, repeatable, or `--hosts FILE`), or
   * undefined for the embedded one(s). Sessions are spread over them
   * round-robin.
   */
  targets?: ExternalTarget[];
  /** Embedded sshd instances to start (`--servers K`, default 1). */
  servers?: number;
  /**
   * Each embedded server's own emulated RTT, ms (`--server-rtt 0,0,50,200`:
   * a mixed fleet, one value per server), instead of one `--rtt` for all.
   */
  serverRttMs?: number[];
  /**
   * known_hosts file the target's host key is checked against before the
   * first session (`--known-hosts`; undefined: `~/.ssh/known_hosts`).
   */
  knownHostsFile?: string;
  /**
   * Trust a target's host key that the known_hosts file does not list, for
   * this run only (`--accept-new-host-keys`; recorded in meta.json, never
   * written to the file). A changed key is never accepted.
   */
  acceptNewHostKeys?: boolean;
  /** Payload size for the embedded server, bytes. */
  payloadBytes: number;
  /** `MaxStartups` passed through to the embedded sshd. */
  serverMaxStartups?: string;
  /** Output folder (`--out`), or undefined for data/runs/<stamp>-<name>. */
  out?: string;
  /** Render charts at the end (off with `--no-charts`). */
  charts: boolean;
  /** Embedded server profile (`--server-profile`, default `lean`). */
  serverProfile?: ServerProfile;
  /** Embedded server implementation (`--server-impl`; the command line defaults to `go`; undefined here: `openssh`). */
  serverImpl?: ServerImpl;
  /** Pinned algorithms (`--kex`, `--ciphers`, `--macs`, `--host-key-algorithms`). */
  algorithms?: AlgorithmPins;
  /** Commands run on each authenticated connection (`--commands-per-session`, default 1). */
  commandsPerSession?: number;
  /** Run the built-in clients in the benchmark process (`--in-process`). */
  inProcess?: boolean;
  /**
   * `interleaved` (default): within a pool size, clients take turns round
   * by round; `sequential`: one client's whole sweep after the other's.
   */
  order?: "interleaved" | "sequential";
  /**
   * End a step once every client's median total is known to within this
   * fraction (`--precision 5%`: 0.05).
   */
  precision?: number;
  /**
   * Emulated round-trip times, ms (`--rtt 0,25,50`): an outer sweep
   * dimension; the embedded server runs in a network namespace behind a
   * packet-level delay for every value, 0 included. Undefined: loopback.
   */
  rttMs?: number[];
  /** Packet loss in the emulated link, % (`--loss`). */
  lossPct?: number;
  /** Rate limit of the emulated link, Mbit/s (`--rate`). */
  rateMbit?: number;
  /**
   * The failed share of a client's sessions above which the run exits 3,
   * % (`--max-failures`, default 50).
   */
  maxFailuresPct?: number;
  /** The command-line arguments as given (kept in meta.json for --like). */
  argv?: string[];
}
