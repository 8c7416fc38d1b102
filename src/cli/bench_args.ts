/**
 * Command-line arguments of `deno task bench`, parsed and checked into a
 * {@linkcode RunConfig}. Pure: no I/O besides checking the identity file.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../util/errors.ts";
import { parsePool } from "../run/pool.ts";
import { getPreset, type Preset, PRESETS, type Stage } from "../run/presets.ts";
import type {
  ExternalTarget,
  RunConfig,
  ServerProfile,
} from "../run/config.ts";
import type { AlgorithmPins } from "../clients/seam.ts";
import { DEFAULT_PAYLOAD_BYTES } from "../server/payload.ts";
import { readRecord } from "../run/record.ts";
import {
  DEFAULT_SERVER_IMPL,
  SERVER_IMPLS,
  type ServerImpl,
} from "../server/impl.ts";
import { identityProblem } from "../clients/auth.ts";
import { hostProblem, portProblem, userProblem } from "../util/destination.ts";
import { DEFAULT_MAX_FAILURES_PCT } from "../run/summary.ts";
import { replayArgs } from "../run/replay.ts";
import { userPath } from "../util/paths.ts";

/** Text of `--help`. */
export const HELP = `deno task bench [options]

Benchmarks SSH clients under concurrency: rounds of N sessions started
together, N raised step by step, each session running a command and reading
its stdout line by line. Raw per-session timings go to
data/runs/<UTC time>-<name>/ (sessions.csv, rounds.csv, meta.json).

Options:
  --preset NAME          ${
  Object.values(PRESETS).map((p) => `${p.name}: ${p.description}`).join(
    "\n                         ",
  )
}
                         (default: seed)
  --clients A,B          clients to run: ssh2, libssh2, openssh, paramiko, asyncssh, xcrypto
                         (default: all available), each in a worker process of its own;
                         test clients, only by name: ssh2-nagle (ssh2 with Nagle's
                         algorithm left on) and null (no I/O: the harness's own cost)
  --pool SPEC            pool sizes: A..B, A..B:STEP or a list 1,10,30 (replaces the preset's
                         stages, keeping its step time and rounds: seed's without --preset)
  --step-seconds S       minimum seconds per pool size (default: the preset's: ${
  Object.values(PRESETS).map((p) => `${p.name} ${p.stepSeconds}`).join(", ")
})
  --rounds N             minimum rounds per pool size (default: the preset's: ${
  Object.values(PRESETS).map((p) => `${p.name} ${p.minRounds}`).join(", ")
})
  --timeout S            per-session timeout in seconds (default: 60)
  --target URL           an existing server, ssh://user@host:port, instead of the embedded one;
                         repeat it for a fleet (sessions are spread over the hosts round-robin)
  --hosts FILE           a fleet from a file: one ssh://user@host:port per line, # comments
                         (with or instead of --target)
  --servers K            start K embedded servers (each its own port, and with --rtt
                         or --server-rtt its own network namespace) and spread sessions
                         over them round-robin (default 1)
  --server-rtt LIST      each embedded server's own round-trip time in ms, e.g. 0,0,50,200:
                         a mixed fleet, one value per server (sets --servers; needs root)
  --identity FILE        private key for --target; an encrypted one is decrypted once per run
                         into memory that dies with the run, never onto disk (passphrase from
                         the environment variable SSH_BENCH_PASSPHRASE, which no child process
                         inherits, else a prompt on the terminal)
  --agent                log in to --target with the keys of the ssh-agent at SSH_AUTH_SOCK
                         (the default when --identity is left out and SSH_AUTH_SOCK is set);
                         the agent's CPU over each round is counted as the client's
  --known-hosts FILE     known_hosts file the --target host key is checked against before
                         the first session (default: ~/.ssh/known_hosts; hashed and
                         [host]:port entries count); every client then accepts only that key
  --accept-new-host-keys trust a --target host key the known_hosts file does not list, for
                         this run only (recorded in meta.json, not written to the file);
                         a changed key is never accepted
  --command CMD          remote command (default: cat of the generated payload;
                         required with --target)
  --payload-bytes N      size of the generated payload (default: ${DEFAULT_PAYLOAD_BYTES})
  --server-max-startups V   MaxStartups for the embedded sshd, passed unchanged
                         (default: sized so no pool is dropped; OpenSSH's own is 10:30:100)
  --server-profile P     embedded sshd: lean (default: no per-connection re-exec and other
                         per-login work off, same protocol) or stock (OpenSSH's defaults)
  --server-impl I        the embedded server: go (default: golang.org/x/crypto/ssh, about
                         a tenth of sshd's CPU per session or less, so the clients, not the
                         server, bound the run) or openssh (sshd, with --server-profile and
                         --server-max-startups, which choose it when given alone)
  --kex LIST             pin key exchange methods, comma-separated OpenSSH names
                         (e.g. curve25519-sha256; see ssh -Q kex)
  --ciphers LIST         pin ciphers (e.g. aes128-ctr; see ssh -Q cipher)
  --macs LIST            pin MACs (e.g. hmac-sha2-256; see ssh -Q mac)
  --host-key-algorithms LIST   pin host-key algorithms (e.g. ssh-ed25519)
                         Pins apply to every client and, for the embedded server, to its
                         configuration; a client that cannot honour one is left out.
  --commands-per-session K   run the command K times on each authenticated connection,
                         one after another (default 1; reexec_ms times commands 2..K)
  --order O              interleaved (default: within a pool size, clients take turns
                         round by round, the turn order rotating) or sequential (one
                         client's whole sweep after the other's, as in the post)
  --precision P%         end a pool size's step as soon as every client's median total
                         is known to within P% (95% interval; --rounds the minimum,
                         the step's time the maximum)
  --rtt LIST             emulated round-trip times in ms, e.g. 0,25,50 (an outer sweep
                         dimension): the embedded server runs in a network namespace behind
                         a packet-level delay of RTT/2 each way, for every value, 0
                         included (needs root). Without it: loopback.
  --loss PCT             packet loss of the emulated link, 0 to 100 % (with --rtt)
  --rate MBIT            rate limit of the emulated link, Mbit/s (with --rtt)
  --in-process           run the built-in clients in the benchmark process instead of
                         a worker process each (their CPU and RSS are then not their own)
  --like RUN_DIR         repeat the run in RUN_DIR with the arguments it recorded;
                         flags given next to it override them
  --name NAME            run name used in the folder name (default: the preset, or
                         custom when --pool replaces the preset's stages)
  --out DIR              write the run to DIR instead of data/runs/<stamp>-<name>
                         (a new folder, or one that holds no run's files)
  --max-failures PCT     exit with code 3 when more than PCT % of some client's
                         sessions failed (default ${DEFAULT_MAX_FAILURES_PCT}; 100: never); the files are
                         kept. Most of a client's sessions failing is a warning
                         at any PCT
  --no-charts            do not render charts at the end
  -h, --help             this text

Exit codes:
  0    the run completed
  1    the run stopped (a server or a link died, an error); meta.json says failed
  2    bad input: one error line, before anything starts where it can be told
  3    the run completed, but more of some client's sessions failed than
       --max-failures allows (see the warning, and sessions.csv)
  130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM; the files are flushed
`;

/** The flags of `deno task bench`, as `node:util` `parseArgs` options. */
const OPTIONS = {
  preset: { type: "string" },
  clients: { type: "string" },
  pool: { type: "string" },
  "step-seconds": { type: "string" },
  rounds: { type: "string" },
  timeout: { type: "string" },
  target: { type: "string", multiple: true },
  hosts: { type: "string" },
  servers: { type: "string" },
  "server-rtt": { type: "string" },
  identity: { type: "string" },
  agent: { type: "boolean" },
  "known-hosts": { type: "string" },
  "accept-new-host-keys": { type: "boolean" },
  command: { type: "string" },
  "payload-bytes": { type: "string" },
  "server-max-startups": { type: "string" },
  "server-profile": { type: "string" },
  "server-impl": { type: "string" },
  kex: { type: "string" },
  ciphers: { type: "string" },
  macs: { type: "string" },
  "host-key-algorithms": { type: "string" },
  "commands-per-session": { type: "string" },
  order: { type: "string" },
  precision: { type: "string" },
  "in-process": { type: "boolean" },
  rtt: { type: "string" },
  loss: { type: "string" },
  rate: { type: "string" },
  like: { type: "string" },
  name: { type: "string" },
  out: { type: "string" },
  "max-failures": { type: "string" },
  "no-charts": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The flags whose value is a path: the user's, see {@linkcode userPath}. */
const PATH_FLAGS: ReadonlySet<string> = new Set([
  "out",
  "like",
  "hosts",
  "identity",
  "known-hosts",
]);

/**
 * `argv` with the value of every path flag resolved against the user's
 * folder (`deno task` runs in the project's), before anything reads it,
 * so that the run records paths that work from anywhere. A value that
 * looks like an option is left for `readFlags` to reject.
 */
function withUserPaths(argv: string[]): string[] {
  let tokens;
  try {
    tokens = parseArgs({
      args: argv,
      strict: false,
      allowPositionals: true,
      options: OPTIONS,
      tokens: true,
    }).tokens;
  } catch {
    return argv; // readFlags says what is wrong
  }
  const out = [...argv];
  for (const t of tokens) {
    if (
      t.kind !== "option" || !PATH_FLAGS.has(t.name) ||
      typeof t.value !== "string"
    ) continue;
    if (t.inlineValue) out[t.index] = `${t.rawName}=${userPath(t.value)}`;
    else if (!t.value.startsWith("-")) out[t.index + 1] = userPath(t.value);
  }
  return out;
}

/** The flags as `parseArgs` reads them, or its error. */
function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: OPTIONS,
  }).values;
}

/** The flags' raw values (strings and booleans, undefined when absent). */
type Flags = ReturnType<typeof parseFlags>;

/**
 * Reads the flags; `parseArgs`'s errors (unknown option, stray argument,
 * missing value, a value that starts with `-`) become one-line
 * {@linkcode UsageError}s.
 */
function readFlags(argv: string[]): Flags {
  let args = argv;
  for (;;) {
    try {
      return parseFlags(args);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const flag = /'([^' ]+)/.exec(msg)?.[1];
      if (/argument is ambiguous/.test(msg) && flag) {
        args = dashValue(args, flag);
        continue;
      }
      throw flagError(msg, flag);
    }
  }
}

/** `parseArgs`'s error message as one line that says what to do. */
function flagError(msg: string, flag: string | undefined): UsageError {
  if (/argument missing/.test(msg) && flag) {
    return new UsageError(`${flag} needs a value; see deno task bench --help`);
  }
  if (/Unknown option/.test(msg)) {
    return new UsageError(
      `unknown option ${flag ?? ""}; see deno task bench --help`,
    );
  }
  if (/Unexpected argument/.test(msg)) {
    return new UsageError(
      `unexpected argument ${
        flag ?? ""
      }: every value goes with a flag; see deno task bench --help`,
    );
  }
  return new UsageError(`${msg.split("\n")[0]}; see deno task bench --help`);
}

/**
 * A flag whose value starts with `-` (`parseArgs` calls it ambiguous): a
 * negative number is passed on as `--flag=-N`, so the flag's own check
 * says what range it takes; the next option instead of a value, or
 * another dash value, is one line saying so.
 */
function dashValue(argv: string[], flag: string): string[] {
  const i = argv.findIndex((a, j) =>
    a === flag && argv[j + 1]?.startsWith("-")
  );
  const v = argv[i + 1] ?? "";
  if (i >= 0 && /^-(\d|\.\d)/.test(v)) {
    return [...argv.slice(0, i), `${flag}=${v}`, ...argv.slice(i + 2)];
  }
  if (v.startsWith("--") || v === "-h") {
    throw new UsageError(
      `${flag} needs a value, but ${v} follows it; see deno task bench --help`,
    );
  }
  throw new UsageError(
    `${flag} ${v}: a value that starts with '-' is written ${flag}=${v}; see deno task bench --help`,
  );
}

/** The first value of `values` that occurs twice, or undefined. */
function repeated<T>(values: readonly T[]): T | undefined {
  return values.find((v, i) => values.indexOf(v) !== i);
}

/** `--clients A,B` as a list; undefined when the flag is absent. */
function parseClients(spec: string | undefined): string[] | undefined {
  const clients = spec?.split(",").map((c) => c.trim()).filter(Boolean);
  if (clients !== undefined && clients.length === 0) {
    throw new UsageError(
      "--clients is empty; name one or more of ssh2, libssh2, openssh, paramiko, asyncssh, xcrypto",
    );
  }
  const twice = repeated(clients ?? []);
  if (twice !== undefined) {
    throw new UsageError(
      `--clients ${spec}: ${twice} is named twice; name each client once (its rows could not be told apart)`,
    );
  }
  return clients;
}

/** The URL's user, percent-decoded; a malformed escape is bad input. */
function decodeUser(raw: string, where: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new UsageError(
      `${where}: the user has a malformed %-escape; write it plainly, e.g. ssh://me@host:22`,
    );
  }
}

function parseTarget(
  url: string,
  identity: string | undefined,
  agent: boolean | undefined,
  where = `--target ${url}`,
): ExternalTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(
      `${where}: not a URL; use ssh://user@host:port, e.g. ssh://me@127.0.0.1:22`,
    );
  }
  if (
    u.protocol !== "ssh:" || !u.hostname || !u.username ||
    (u.pathname !== "" && u.pathname !== "/")
  ) {
    throw new UsageError(
      `${where}: use ssh://user@host:port, e.g. ssh://me@127.0.0.1:22`,
    );
  }
  const target = {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : 22,
    user: decodeUser(u.username, where),
  };
  // Host and user reach ssh and ssh-keyscan command lines: nothing that
  // could read as an option or be expanded gets that far.
  const problem = [
    ["host", u.hostname, hostProblem(u.hostname)],
    ["user", target.user, userProblem(target.user)],
    ["port", String(target.port), portProblem(target.port)],
  ].find(([, , why]) => why);
  if (problem) {
    throw new UsageError(
      `${where}: ${problem[0]} ${JSON.stringify(problem[1])}: ${
        problem[2]
      }; use ssh://user@host:port with a plain host name or address`,
    );
  }
  if (agent && identity) {
    throw new UsageError(
      "--agent and --identity exclude each other; give one way to log in",
    );
  }
  if (agent || !identity) {
    const sock = Deno.env.get("SSH_AUTH_SOCK");
    if (!sock) {
      throw new UsageError(
        agent
          ? "--agent needs a running ssh-agent: SSH_AUTH_SOCK is not set (start one with eval $(ssh-agent) and ssh-add your key)"
          : `--target needs --identity FILE (the private key to log in as ${u.username}) or an ssh-agent (SSH_AUTH_SOCK is not set)`,
      );
    }
    return { ...target, agentSocket: sock };
  }
  try {
    if (!Deno.statSync(identity).isFile) throw new Error();
  } catch {
    throw new UsageError(
      `--identity ${identity}: no such file; give the path of a private key (e.g. ~/.ssh/id_ed25519)`,
    );
  }
  const bad = identityProblem(identity);
  if (bad) throw new UsageError(`--identity ${identity}: ${bad}`);
  return { ...target, identity };
}

/**
 * `--server-impl`: `go` (the default) or `openssh`, embedded server only
 * (undefined with a target); the openssh-only flags choose openssh when
 * given alone and are refused with `go`.
 */
function parseServerImpl(
  values: Flags,
  external: boolean,
): ServerImpl | undefined {
  const v = values["server-impl"];
  if (external) {
    if (v === undefined) return undefined;
    throw new UsageError(
      "--server-impl applies to the embedded server only; drop it or drop --target",
    );
  }
  if (v !== undefined && !(SERVER_IMPLS as readonly string[]).includes(v)) {
    throw new UsageError(
      `--server-impl ${v}: use ${SERVER_IMPLS.join(" or ")}`,
    );
  }
  const sshdOnly = values["server-profile"] !== undefined ||
    values["server-max-startups"] !== undefined;
  const impl =
    (v ?? (sshdOnly ? "openssh" : DEFAULT_SERVER_IMPL)) as ServerImpl;
  if (impl === "go") {
    for (const flag of ["server-profile", "server-max-startups"] as const) {
      if (values[flag] !== undefined) {
        throw new UsageError(
          `--${flag} applies to --server-impl openssh only; drop it with --server-impl go`,
        );
      }
    }
  }
  return impl;
}

/**
 * `--server-profile`: `lean` (the default) or `stock`, embedded server only
 * (undefined with a target).
 */
function parseServerProfile(
  v: string | undefined,
  external: boolean,
): ServerProfile | undefined {
  if (external) {
    if (v === undefined) return undefined;
    throw new UsageError(
      "--server-profile applies to the embedded server only; drop it or drop --target",
    );
  }
  if (v === undefined || v === "lean" || v === "stock") return v ?? "lean";
  throw new UsageError(`--server-profile ${v}: use lean or stock`);
}

/**
 * The hosts of `--hosts FILE`: one `ssh://user@host:port` per line; blank
 * lines and `#` comments (whole lines, or after the URL) are skipped. Each
 * URL comes with where it was found, for error lines.
 *
 * @example
 * ```ts
 * import { parseHostsText } from "./bench_args.ts";
 * import assert from "node:assert/strict";
 * const hosts = parseHostsText("# web\nssh://a@h1:22\n\n  ssh://a@h2:2222  # db\n", "f");
 * assert.deepEqual(hosts, [{ url: "ssh://a@h1:22", where: "f:2" }, { url: "ssh://a@h2:2222", where: "f:4" }]);
 * ```
 */
export function parseHostsText(
  text: string,
  file: string,
): { url: string; where: string }[] {
  const out: { url: string; where: string }[] = [];
  text.split("\n").forEach((line, i) => {
    const url = line.replace(/(^|\s)#.*$/, "").trim();
    if (url) out.push({ url, where: `${file}:${i + 1}` });
  });
  return out;
}

/** Every host of `--target` (repeated) and `--hosts FILE`, or undefined. */
function fleetUrls(
  values: Flags,
): { url: string; where?: string }[] | undefined {
  const urls: { url: string; where?: string }[] = (values.target ?? []).map(
    (url) => ({ url }),
  );
  if (values.hosts !== undefined) {
    let text: string;
    try {
      text = Deno.readTextFileSync(values.hosts);
    } catch (e) {
      throw new UsageError(
        `--hosts ${values.hosts}: cannot read it (${
          e instanceof Deno.errors.NotFound
            ? "no such file"
            : (e as Error).message
        }); give a file with one ssh://user@host:port per line`,
      );
    }
    const listed = parseHostsText(text, values.hosts);
    if (listed.length === 0) {
      throw new UsageError(
        `--hosts ${values.hosts} lists no host; put one ssh://user@host:port per line`,
      );
    }
    urls.push(...listed);
  }
  return urls.length ? urls : undefined;
}

/**
 * The flags that choose the server and what runs on it (`--target`,
 * `--identity`, `--command`, `--server-max-startups`, `--server-profile`),
 * checked together: which combinations make sense depends on whether there
 * is a target.
 */
function serverOptions(
  values: Flags,
): Pick<
  RunConfig,
  | "targets"
  | "command"
  | "serverMaxStartups"
  | "serverProfile"
  | "serverImpl"
  | "knownHostsFile"
  | "acceptNewHostKeys"
> {
  const urls = fleetUrls(values);
  if ((values.identity !== undefined || values.agent) && !urls) {
    throw new UsageError(
      `${
        values.identity !== undefined ? "--identity" : "--agent"
      } is only used with --target; the embedded server generates its own key`,
    );
  }
  const knownHosts = values["known-hosts"];
  if (!urls && (knownHosts !== undefined || values["accept-new-host-keys"])) {
    throw new UsageError(
      `${
        knownHosts !== undefined ? "--known-hosts" : "--accept-new-host-keys"
      } is only used with --target; the embedded server's host key is generated and known to every client`,
    );
  }
  if (knownHosts !== undefined) {
    try {
      if (!Deno.statSync(knownHosts).isFile) throw new Error();
    } catch {
      throw new UsageError(
        `--known-hosts ${knownHosts}: no such file; give a known_hosts file (e.g. ~/.ssh/known_hosts), or leave the flag out`,
      );
    }
  }
  const targets = urls?.map((u) =>
    parseTarget(u.url, values.identity, values.agent, u.where)
  );
  const seen = new Set<string>();
  for (const t of targets ?? []) {
    // The host column names a host by address and port.
    const key = `${t.host}:${t.port}`;
    if (seen.has(key)) {
      throw new UsageError(
        `${key} is given twice; list each host once (a fleet's sessions are spread over distinct hosts)`,
      );
    }
    seen.add(key);
  }
  const target = targets?.[0];
  if (target && values.command === undefined) {
    throw new UsageError(
      "--target needs --command: the generated payload exists only on the embedded server (e.g. --command 'cat /etc/services')",
    );
  }
  const msu = values["server-max-startups"];
  if (target && msu !== undefined) {
    throw new UsageError(
      "--server-max-startups applies to the embedded server only; drop it or drop --target",
    );
  }
  if (msu !== undefined && !/^\d+(:\d+:\d+)?$/.test(msu)) {
    throw new UsageError(
      `--server-max-startups ${msu}: use N or start:rate:full, e.g. 10:30:100`,
    );
  }
  if (values.command !== undefined && values.command.trim() === "") {
    throw new UsageError(
      "--command is empty; give a remote command, e.g. 'cat /etc/services'",
    );
  }
  return {
    targets,
    command: values.command,
    serverMaxStartups: msu,
    serverProfile: parseServerProfile(values["server-profile"], !!target),
    serverImpl: parseServerImpl(values, !!target),
    knownHostsFile: knownHosts,
    acceptNewHostKeys: values["accept-new-host-keys"] ?? false,
  };
}

/** The pin flags, their keys in {@linkcode AlgorithmPins} and an example. */
const PIN_FLAGS = [
  ["kex", "kex", "kex", "curve25519-sha256"],
  ["ciphers", "ciphers", "cipher", "aes128-ctr"],
  ["macs", "macs", "mac", "hmac-sha2-256"],
  [
    "host-key-algorithms",
    "hostKeyAlgorithms",
    "HostKeyAlgorithms",
    "ssh-ed25519",
  ],
] as const;

/**
 * `--kex`, `--ciphers`, `--macs`, `--host-key-algorithms`: comma-separated
 * lists of OpenSSH algorithm names; undefined when none is given.
 */
function algorithmOptions(values: Flags): AlgorithmPins | undefined {
  const pins: AlgorithmPins = {};
  for (const [flag, key, query, example] of PIN_FLAGS) {
    const v = values[flag];
    if (v === undefined) continue;
    const names = v.split(",").map((n) => n.trim()).filter(Boolean);
    const bad = names.find((n) => !/^[A-Za-z0-9][A-Za-z0-9@._-]*$/.test(n));
    if (names.length === 0 || bad !== undefined) {
      throw new UsageError(
        `--${flag} ${
          bad ?? (v || "''")
        }: give one or more algorithm names, comma-separated, as OpenSSH spells them (e.g. ${example}; ssh -Q ${query} lists them)`,
      );
    }
    pins[key] = names;
  }
  return Object.keys(pins).length > 0 ? pins : undefined;
}

/** `--name`, checked: it becomes part of a folder name. */
function checkName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new UsageError(
      `--name ${name}: use letters, digits, '.', '_' and '-' only (it becomes a folder name)`,
    );
  }
  return name;
}

/** A numeric flag's value, `def` when absent; anything else is one line. */
function num(
  v: string | undefined,
  flag: string,
  def: number,
  o: { int?: boolean; min: number },
): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (
    v.trim() === "" || !Number.isFinite(n) || (o.int && !Number.isInteger(n)) ||
    n < o.min
  ) {
    throw new UsageError(
      `${flag} ${v}: expected ${
        o.int ? "a whole number" : "a number"
      } >= ${o.min}`,
    );
  }
  return n;
}

/** The numeric flags, defaults from the preset (or the tool's own). */
function numericOptions(
  values: Flags,
  preset: Preset,
): Pick<RunConfig, "stepSeconds" | "minRounds" | "timeoutMs" | "payloadBytes"> {
  return {
    stepSeconds: num(
      values["step-seconds"],
      "--step-seconds",
      preset.stepSeconds,
      { min: 0 },
    ),
    minRounds: num(values.rounds, "--rounds", preset.minRounds, {
      int: true,
      min: 1,
    }),
    timeoutMs: num(values.timeout, "--timeout", 60, { min: 0.001 }) * 1000,
    payloadBytes: num(
      values["payload-bytes"],
      "--payload-bytes",
      DEFAULT_PAYLOAD_BYTES,
      { int: true, min: 1 },
    ),
  };
}

/**
 * Parses `deno task bench` arguments. Returns `"help"` for `--help`.
 * The path flags (`--out`, `--like`, `--hosts`, `--identity`,
 * `--known-hosts`) are resolved against the user's folder
 * ({@linkcode userPath}).
 *
 * @throws {UsageError} with a one-line message for any bad input.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBenchArgs } from "./bench_args.ts";
 * const c = parseBenchArgs(["--preset", "quick", "--pool", "1..3"]);
 * assert(c !== "help");
 * assert.deepEqual(c.stages, [{ pools: [1, 2, 3], clients: "all" }]);
 * assert.equal(c.name, "quick");
 * assert.equal(parseBenchArgs(["-h"]), "help");
 * assert.throws(() => parseBenchArgs(["--pool", "0"]), /must be at least 1/);
 * ```
 */
export function parseBenchArgs(typed: string[]): RunConfig | "help" {
  const argv = withUserPaths(typed);
  const first = readFlags(argv);
  if (first.help) return "help";
  // --like: the recorded arguments first, the flags given here after them
  // (a later value of a flag wins).
  const args = first.like !== undefined
    ? [...likeArgs(first.like), ...withoutLike(argv)]
    : argv;
  const values = first.like !== undefined ? readFlags(args) : first;
  const preset = getPreset(values.preset ?? "seed");
  const stages: Stage[] = values.pool !== undefined
    ? [{ pools: parsePool(values.pool), clients: "all" }]
    : preset.stages;
  const clients = parseClients(values.clients);
  const {
    targets,
    command,
    serverMaxStartups,
    serverProfile,
    serverImpl,
    knownHostsFile,
    acceptNewHostKeys,
  } = serverOptions(values);
  const custom = values.pool !== undefined && values.preset === undefined;
  const name = checkName(values.name ?? (custom ? "custom" : preset.name));
  const { stepSeconds, minRounds, timeoutMs, payloadBytes } = numericOptions(
    values,
    preset,
  );
  return {
    preset: custom ? "custom" : preset.name,
    name,
    clients,
    stages,
    stepSeconds,
    minRounds,
    timeoutMs,
    command,
    targets,
    knownHostsFile,
    acceptNewHostKeys,
    payloadBytes,
    serverMaxStartups,
    serverProfile,
    serverImpl,
    algorithms: algorithmOptions(values),
    out: values.out,
    charts: !values["no-charts"],
    maxFailuresPct: pct(values["max-failures"], "--max-failures", "20") ??
      DEFAULT_MAX_FAILURES_PCT,
    ...sweepOptions(values),
    ...linkOptions(values, targets !== undefined),
    argv: withoutOut(args),
  };
}

/** The sweep's own flags: commands per session, order, precision, in-process. */
function sweepOptions(
  values: Flags,
): Pick<RunConfig, "commandsPerSession" | "order" | "precision" | "inProcess"> {
  const order = values.order ?? "interleaved";
  if (order !== "interleaved" && order !== "sequential") {
    throw new UsageError(`--order ${order}: use interleaved or sequential`);
  }
  let precision: number | undefined;
  if (values.precision !== undefined) {
    const m = /^(\d+(?:\.\d+)?)%$/.exec(values.precision.trim());
    precision = m ? Number(m[1]) / 100 : NaN;
    if (!(precision > 0 && precision < 1)) {
      throw new UsageError(
        `--precision ${values.precision}: give a percentage above 0 and below 100, e.g. --precision 5%`,
      );
    }
  }
  return {
    commandsPerSession: num(
      values["commands-per-session"],
      "--commands-per-session",
      1,
      { int: true, min: 1 },
    ),
    order,
    precision,
    inProcess: values["in-process"] ?? false,
  };
}

/**
 * A percentage from 0 to 100, written `5` or `5%` (`--loss`,
 * `--max-failures`); undefined when the flag is absent.
 */
function pct(
  v: string | undefined,
  flag: string,
  example: string,
): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*%?\s*$/.exec(v);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100)) {
    throw new UsageError(
      `${flag} ${v}: give a percentage from 0 to 100, e.g. ${flag} ${example}`,
    );
  }
  return n;
}

/** A list of round-trip times in ms (`--rtt`, `--server-rtt`). */
function rttList(flag: string, v: string): number[] {
  return v.split(",").map((x) => x.trim()).map((x) => {
    const n = Number(x);
    if (x === "" || !Number.isFinite(n) || n < 0 || n > 10_000) {
      throw new UsageError(
        `${flag} ${v}: give round-trip times in ms from 0 to 10000, e.g. ${flag} 0,25,50`,
      );
    }
    return n;
  });
}

/**
 * `--servers K` and `--server-rtt LIST`: a fleet of embedded servers
 * (one value of `--server-rtt` per server; it sets K when `--servers` is
 * absent).
 */
function embeddedFleet(
  values: Flags,
  external: boolean,
): Pick<RunConfig, "servers" | "serverRttMs"> {
  const k = values.servers === undefined
    ? undefined
    : num(values.servers, "--servers", 1, { int: true, min: 1 });
  if (k !== undefined && k > 64) {
    throw new UsageError(
      `--servers ${values.servers}: at most 64 embedded servers (2 cores share them all)`,
    );
  }
  const flag = values.servers !== undefined
    ? "--servers"
    : values["server-rtt"] !== undefined
    ? "--server-rtt"
    : undefined;
  if (flag && external) {
    throw new UsageError(
      `${flag} starts embedded servers; drop it or drop --target/--hosts`,
    );
  }
  if (values["server-rtt"] === undefined) return { servers: k };
  if (values.rtt !== undefined) {
    throw new UsageError(
      "--rtt and --server-rtt exclude each other: --rtt sweeps one RTT for every server, --server-rtt gives each server its own",
    );
  }
  const serverRttMs = rttList("--server-rtt", values["server-rtt"]);
  if (serverRttMs.length > 64) {
    throw new UsageError(
      `--server-rtt has ${serverRttMs.length} values: at most 64 embedded servers (2 cores share them all)`,
    );
  }
  if (k !== undefined && k !== serverRttMs.length) {
    throw new UsageError(
      `--server-rtt has ${serverRttMs.length} values for --servers ${k}: give one round-trip time per server`,
    );
  }
  return { servers: serverRttMs.length, serverRttMs };
}

/**
 * `--rtt`, `--loss`, `--rate` (the emulated link, embedded servers only),
 * and the fleet of embedded servers.
 */
function linkOptions(
  values: Flags,
  external: boolean,
): Pick<
  RunConfig,
  "rttMs" | "lossPct" | "rateMbit" | "servers" | "serverRttMs"
> {
  const fleet = embeddedFleet(values, external);
  if (values.rtt === undefined) {
    if (fleet.serverRttMs) {
      return { ...fleet, ...linkShape(values) };
    }
    if (values.loss !== undefined || values.rate !== undefined) {
      throw new UsageError(
        "--loss and --rate shape the emulated link: give --rtt too (e.g. --rtt 50)",
      );
    }
    return fleet;
  }
  if (external) {
    throw new UsageError(
      "--rtt emulates a network in front of the embedded server; drop it or drop --target",
    );
  }
  const rttMs = rttList("--rtt", values.rtt);
  const twice = repeated(rttMs);
  if (twice !== undefined) {
    throw new UsageError(
      `--rtt ${values.rtt}: ${twice} is listed twice; give each round-trip time once (its rows could not be told apart)`,
    );
  }
  return { ...fleet, rttMs, ...linkShape(values) };
}

/** `--loss` and `--rate`: the emulated link's loss and rate limit. */
function linkShape(values: Flags): Pick<RunConfig, "lossPct" | "rateMbit"> {
  return {
    lossPct: pct(values.loss, "--loss", "1"),
    rateMbit: values.rate === undefined
      ? undefined
      : num(values.rate, "--rate", 0, { min: 0.001 }),
  };
}

/** The arguments a run recorded (or its parameters give), for --like. */
function likeArgs(dir: string): string[] {
  const file = `${dir.replace(/\/+$/, "")}/meta.json`;
  const give = "give a run folder written by deno task bench";
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    throw new UsageError(
      `--like ${dir}: ${
        e instanceof Deno.errors.NotFound
          ? "no meta.json there"
          : `cannot read ${file} (${(e as Error).message.split("\n")[0]})`
      }; ${give}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `--like ${dir}: ${file} is not valid JSON (${
        (e as Error).message.split("\n")[0]
      }); ${give}, or repair that file`,
    );
  }
  const record = typeof parsed === "object" && parsed !== null &&
      !Array.isArray(parsed)
    ? readRecord(dir.replace(/\/+$/, ""))
    : undefined;
  if (!record) {
    throw new UsageError(
      `--like ${dir}: ${file} is not a run record; ${give}`,
    );
  }
  const args = replayArgs(record);
  if (!args) {
    throw new UsageError(
      `--like ${dir}: its stages cannot be given by flags; give --pool and --clients instead`,
    );
  }
  return withoutOut(args);
}

/** `argv` without `--like DIR` (it is expanded, not repeated). */
function withoutLike(argv: string[]): string[] {
  return drop(argv, "--like");
}

/** `argv` without `--out DIR` (a repeat writes a folder of its own). */
function withoutOut(argv: string[]): string[] {
  return drop(argv, "--out");
}

function drop(argv: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) i++;
    else if (!argv[i].startsWith(`${flag}=`)) out.push(argv[i]);
  }
  return out;
}
