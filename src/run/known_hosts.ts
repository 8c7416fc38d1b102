/**
 * Host keys of external targets (`--target`), checked by the benchmark
 * itself before the first session: each target's keys are fetched with
 * `ssh-keyscan` and looked up in a known_hosts file (`~/.ssh/known_hosts`
 * or `--known-hosts FILE`), plain, hashed (`|1|salt|hash`) and
 * `[host]:port` entries alike. Every unknown, changed or revoked key and
 * every unreachable target is listed in one error line; otherwise each
 * target gets one verified key, which the run writes to a known_hosts file
 * of its own ({@linkcode knownHostsText}) so that every client accepts
 * exactly that key and no other.
 *
 * What counts, as OpenSSH decides it for `StrictHostKeyChecking=yes`
 * (`CheckHostIP` off, its default): an entry names the host when one of its
 * patterns matches the host (port 22) or `[host]:port` (any other port),
 * `*` and `?` as wildcards and `!pattern` excluding, case-insensitively;
 * a hashed entry when HMAC-SHA1 of that name keyed with its salt is its
 * hash. A server key equal to an entry's (type and key) is known; a server
 * key of a type an entry has with another key has changed; a host whose
 * entries are all of other types, or that has none, is unknown.
 * `@revoked` keys are refused; `@cert-authority` lines are skipped (the
 * clients here do not check certificates).
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { hostKeyAlgorithmsFor } from "../clients/seam.ts";
import { UsageError } from "../util/errors.ts";
import { run, which } from "../util/proc.ts";

/** One key line of a known_hosts file. */
export interface KnownHostsEntry {
  /** Line number, from 1. */
  line: number;
  /** `@revoked` or `@cert-authority`, when the line has a marker. */
  marker?: "@revoked" | "@cert-authority";
  /** The host field: comma-separated patterns, or one `|1|salt|hash`. */
  hosts: string;
  /** Key type, e.g. `ssh-ed25519`. */
  keyType: string;
  /** Public key blob, base64. */
  key: string;
}

/** A host key a server shows (from `ssh-keyscan`). */
export interface HostKey {
  /** Key type, e.g. `ssh-ed25519`. */
  keyType: string;
  /** Public key blob, base64. */
  key: string;
}

/** A server to check: where it is, and the account for messages. */
export interface HostToCheck {
  host: string;
  port: number;
  /** Remote account, only for messages. */
  user?: string;
}

/** The key a run pins for one server, and why it is trusted. */
export interface VerifiedHostKey {
  host: string;
  port: number;
  keyType: string;
  /** Public key blob, base64. */
  key: string;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** `file:line` of the known_hosts entry that lists it; null when accepted new. */
  entry: string | null;
  /** True when `--accept-new-host-keys` trusted it for this run. */
  acceptedNew: boolean;
}

/** What {@linkcode checkHostKeys} verified. */
export interface HostKeyCheck {
  /** The known_hosts file checked. */
  knownHostsFile: string;
  /** One verified key per server, in the order given (unreachable ones left out). */
  hosts: VerifiedHostKey[];
  /**
   * Servers that could not be reached to read a key (only with
   * `unreachableOk`; otherwise they are errors): their sessions fail at
   * connect, and none of them may accept any key.
   */
  unreachable: { host: string; port: number; error: string }[];
}

/** Options of {@linkcode checkHostKeys}. */
export interface CheckOptions {
  /** known_hosts file (default: {@linkcode defaultKnownHostsFile}). */
  knownHostsFile?: string;
  /** Trust an unknown host's key for this run (`--accept-new-host-keys`). */
  acceptNew?: boolean;
  /** Pinned host-key algorithms: the verified key must suit one of them. */
  hostKeyAlgorithms?: string[];
  /**
   * A fleet: a server that cannot be reached is not an error (it is
   * listed in `unreachable`) as long as one server was verified; a key
   * that is unknown, changed or revoked still stops the run.
   */
  unreachableOk?: boolean;
  /** Fetches a server's keys (default: {@linkcode scanHostKeys}). */
  scan?: (host: string, port: number) => Promise<ScanResult>;
}

/** The keys a server showed, or why none could be read. */
export interface ScanResult {
  keys: HostKey[];
  /** Why no key was read (empty `keys`). */
  error?: string;
}

/** Preference among a server's keys when several are trusted. */
const KEY_PREFERENCE = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
];

/**
 * `~/.ssh/known_hosts` of the user running the benchmark.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultKnownHostsFile } from "./known_hosts.ts";
 * assert.match(defaultKnownHostsFile(), /\/\.ssh\/known_hosts$/);
 * ```
 */
export function defaultKnownHostsFile(): string {
  return `${Deno.env.get("HOME") ?? "."}/.ssh/known_hosts`;
}

/**
 * The name a known_hosts file gives a server: the host for port 22,
 * `[host]:port` for any other, lower-cased.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostName } from "./known_hosts.ts";
 * assert.equal(hostName("Example.COM", 22), "example.com");
 * assert.equal(hostName("127.0.0.1", 2222), "[127.0.0.1]:2222");
 * ```
 */
export function hostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/**
 * The key lines of a known_hosts file (comments, blank and malformed
 * lines skipped), with their line numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKnownHosts } from "./known_hosts.ts";
 * const e = parseKnownHosts([
 *   "# a comment", "",
 *   "host1,10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@x",
 *   "@revoked * ssh-rsa AAAAB3NzaC1yc2E=",
 *   "broken line",
 * ].join("\n"));
 * assert.equal(e.length, 2);
 * assert.deepEqual([e[0].line, e[0].hosts, e[0].keyType], [3, "host1,10.0.0.1", "ssh-ed25519"]);
 * assert.deepEqual([e[1].line, e[1].marker], [4, "@revoked"]);
 * ```
 */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const out: KnownHostsEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === "" || fields[0].startsWith("#")) return;
    let marker: KnownHostsEntry["marker"];
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") {
      marker = fields.shift() as KnownHostsEntry["marker"];
    } else if (fields[0].startsWith("@")) return;
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key || !/^[A-Za-z0-9+/]+=*$/.test(key)) return;
    out.push({ line: i + 1, ...(marker && { marker }), hosts, keyType, key });
  });
  return out;
}

/** `*` and `?` wildcard match of a whole string (OpenSSH's match_pattern). */
function wildcard(name: string, pattern: string): boolean {
  const re = new RegExp(
    "^" +
      pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
    "s",
  );
  return re.test(name);
}

/**
 * Whether a known_hosts host field names `host:port`: a hashed field when
 * HMAC-SHA1 of {@linkcode hostName} with its salt is its hash; a pattern
 * list when a pattern matches and no negated one does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashedHostName, namesHost } from "./known_hosts.ts";
 * assert.ok(namesHost("db1,web1", "web1", 22));
 * assert.ok(!namesHost("web1", "web1", 2222));
 * assert.ok(namesHost("[web1]:2222", "WEB1", 2222));
 * assert.ok(namesHost("*.example.com,!bad.example.com", "a.example.com", 22));
 * assert.ok(!namesHost("*.example.com,!bad.example.com", "bad.example.com", 22));
 * assert.ok(namesHost("[10.0.0.?]:2222", "10.0.0.7", 2222));
 * const hashed = hashedHostName("[10.0.0.7]:2222", "c2FsdHNhbHRzYWx0c2FsdHNhbHQ=");
 * assert.ok(namesHost(hashed, "10.0.0.7", 2222));
 * assert.ok(!namesHost(hashed, "10.0.0.7", 22));
 * ```
 */
export function namesHost(hosts: string, host: string, port: number): boolean {
  const name = hostName(host, port);
  if (hosts.startsWith("|1|")) {
    const [, , salt, hash] = hosts.split("|");
    if (!salt || !hash) return false;
    return hashedHostName(name, salt) === hosts;
  }
  let hit = false;
  for (const p of hosts.toLowerCase().split(",")) {
    if (p.startsWith("!")) {
      if (wildcard(name, p.slice(1))) return false;
    } else if (wildcard(name, p)) hit = true;
  }
  return hit;
}

/**
 * A hashed known_hosts host field (`|1|salt|hash`, as `ssh-keygen -H`
 * writes it) for `name` with the given salt (base64, 20 bytes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashedHostName } from "./known_hosts.ts";
 * assert.match(hashedHostName("host", "c2FsdHNhbHRzYWx0c2FsdHNhbHQ="), /^\|1\|c2FsdHNhbHRzYWx0c2FsdHNhbHQ=\|[A-Za-z0-9+/]{27}=$/);
 * ```
 */
export function hashedHostName(name: string, saltBase64: string): string {
  const salt = Uint8Array.from(atob(saltBase64), (c) => c.charCodeAt(0));
  const hash = createHmac("sha1", salt).update(name).digest("base64");
  return `|1|${saltBase64}|${hash}`;
}

/**
 * The SHA256 fingerprint of a public key blob (base64), as `ssh-keygen -l`
 * prints it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fingerprint } from "./known_hosts.ts";
 * assert.match(fingerprint("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"), /^SHA256:[A-Za-z0-9+/]{43}$/);
 * ```
 */
export function fingerprint(keyBase64: string): string {
  const blob = Uint8Array.from(atob(keyBase64), (c) => c.charCodeAt(0));
  return `SHA256:${
    createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")
  }`;
}

/**
 * Fetches a server's host keys with `ssh-keyscan` (ed25519, ecdsa, rsa);
 * an empty list with the reason when none could be read.
 *
 * @example
 * ```ts ignore
 * // Needs a live server.
 * import { scanHostKeys } from "./known_hosts.ts";
 * console.log(await scanHostKeys("127.0.0.1", 22));
 * ```
 */
export async function scanHostKeys(
  host: string,
  port: number,
  timeoutS = 10,
): Promise<ScanResult> {
  const keyscan = which("ssh-keyscan");
  if (!keyscan) {
    return {
      keys: [],
      error: "ssh-keyscan not found; install the openssh-client package",
    };
  }
  const r = await run(keyscan, [
    "-T",
    String(timeoutS),
    "-p",
    String(port),
    "-t",
    "ed25519,ecdsa,rsa",
    "--", // the host is never read as an option, however it looks
    host,
  ]);
  const keys: HostKey[] = [];
  for (const line of r.stdout.split("\n")) {
    const [name, keyType, key] = line.trim().split(/\s+/);
    if (name && !name.startsWith("#") && keyType && key) {
      keys.push({ keyType, key });
    }
  }
  if (keys.length > 0) return { keys };
  const why = r.stderr.split("\n").map((l) => l.trim()).filter((l) =>
    l && !l.startsWith("#")
  ).at(-1);
  return { keys, error: why ? `ssh-keyscan: ${why}` : "no answer" };
}

/** The known_hosts verdict on one server. */
type Verdict =
  | { kind: "known"; key: HostKey; entry: KnownHostsEntry }
  | { kind: "unpinned"; entries: KnownHostsEntry[] }
  | { kind: "unknown"; keys: HostKey[]; others: KnownHostsEntry[] }
  | { kind: "changed"; key: HostKey; old: KnownHostsEntry[] }
  | { kind: "revoked"; key: HostKey; entry: KnownHostsEntry };

/** The keys the pins allow (all when nothing is pinned), best first. */
function usable(keys: HostKey[], pins: string[] | undefined): HostKey[] {
  const rank = (t: string) => {
    const i = KEY_PREFERENCE.indexOf(t);
    return i < 0 ? KEY_PREFERENCE.length : i;
  };
  return keys.filter((k) =>
    !pins || hostKeyAlgorithmsFor(k.keyType).some((a) => pins.includes(a))
  ).sort((a, b) => rank(a.keyType) - rank(b.keyType));
}

/** What the known_hosts entries say about a server showing `keys`. */
function judge(
  keys: HostKey[],
  entries: KnownHostsEntry[],
  host: string,
  port: number,
  pins: string[] | undefined,
): Verdict {
  const mine = entries.filter((e) =>
    e.marker !== "@cert-authority" && namesHost(e.hosts, host, port)
  );
  const same = (e: KnownHostsEntry, k: HostKey) =>
    e.keyType === k.keyType && e.key === k.key;
  for (const k of keys) {
    const revoked = mine.find((e) => e.marker === "@revoked" && same(e, k));
    if (revoked) return { kind: "revoked", key: k, entry: revoked };
  }
  const plain = mine.filter((e) => !e.marker);
  const matching = keys.filter((k) => plain.some((e) => same(e, k)));
  const known = usable(matching, pins);
  if (known.length > 0) {
    const key = known[0];
    return { kind: "known", key, entry: plain.find((e) => same(e, key))! };
  }
  if (matching.length > 0) {
    return {
      kind: "unpinned",
      entries: plain.filter((e) => matching.some((k) => same(e, k))),
    };
  }
  for (const k of keys) {
    const old = plain.filter((e) => e.keyType === k.keyType);
    if (old.length > 0) return { kind: "changed", key: k, old };
  }
  return { kind: "unknown", keys, others: plain };
}

/** `host:port` of a server, with the account when given. */
function where(h: HostToCheck): string {
  return `${h.user ? `${h.user}@` : ""}${h.host}:${h.port}`;
}

/**
 * Checks the host keys of every server against a known_hosts file before
 * any session, and returns one verified key per server. Every server that
 * cannot be checked is listed in one error: unreachable, unknown (with the
 * `ssh-keyscan` line that adds it, or `--accept-new-host-keys`), changed
 * (with the old entry's `file:line`), revoked. With `acceptNew`, an
 * unknown server's key is trusted for this run (never a changed one); the
 * file is never written.
 *
 * @throws {UsageError} listing every server that failed the check.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkHostKeys, hashedHostName } from "./known_hosts.ts";
 * const ed = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
 * const other = "AAAAC3NzaC1lZDI1NTE5AAAAIEZrJHMBuv0v8jTx3BMhRfsZ3CMM1c1Sqcm1Jg8Xx9Bp";
 * const file = await Deno.makeTempFile();
 * const salt = "c2FsdHNhbHRzYWx0c2FsdHNhbHQ=";
 * await Deno.writeTextFile(file, `${hashedHostName("[a]:2222", salt)} ssh-ed25519 ${ed}\n` +
 *   `b ssh-ed25519 ${ed}\n`);
 * const scan = (host: string) => Promise.resolve({ keys: [{ keyType: "ssh-ed25519", key: host === "a" ? ed : other }] });
 * const ok = await checkHostKeys([{ host: "a", port: 2222 }], { knownHostsFile: file, scan });
 * assert.deepEqual([ok.hosts[0].entry, ok.hosts[0].acceptedNew], [`${file}:1`, false]);
 * // b's key changed, c is unknown: both in one line.
 * await assert.rejects(
 *   checkHostKeys([{ host: "b", port: 22 }, { host: "c", port: 22 }], { knownHostsFile: file, scan }),
 *   (e: Error) => /b:22 has CHANGED.*:2 has/.test(e.message) && /unknown host key for c:22/.test(e.message),
 * );
 * const accepted = await checkHostKeys([{ host: "c", port: 22 }], { knownHostsFile: file, scan, acceptNew: true });
 * assert.deepEqual([accepted.hosts[0].acceptedNew, accepted.hosts[0].entry], [true, null]);
 * // A fleet: an unreachable server is listed, not an error, when another one is verified.
 * const down = (host: string) => host === "d" ? Promise.resolve({ keys: [], error: "refused" }) : scan(host);
 * const fleet = await checkHostKeys([{ host: "a", port: 2222 }, { host: "d", port: 22 }],
 *   { knownHostsFile: file, scan: down, unreachableOk: true });
 * assert.deepEqual([fleet.hosts.length, fleet.unreachable], [1, [{ host: "d", port: 22, error: "refused" }]]);
 * await assert.rejects(checkHostKeys([{ host: "d", port: 22 }], { knownHostsFile: file, scan: down, unreachableOk: true }),
 *   /cannot connect to/);
 * await Deno.remove(file);
 * ```
 */
export async function checkHostKeys(
  hosts: readonly HostToCheck[],
  opts: CheckOptions = {},
): Promise<HostKeyCheck> {
  const file = opts.knownHostsFile ?? defaultKnownHostsFile();
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new UsageError(
        `cannot read the known_hosts file ${file} (${
          (e as Error).message
        }); give a readable one with --known-hosts`,
      );
    }
  }
  const entries = parseKnownHosts(text);
  const scan = opts.scan ?? ((h: string, p: number) => scanHostKeys(h, p));
  const scans = await Promise.all(hosts.map((h) => scan(h.host, h.port)));
  const problems: string[] = [];
  const verified: VerifiedHostKey[] = [];
  const unreachable: HostKeyCheck["unreachable"] = [];
  const pins = opts.hostKeyAlgorithms;
  const someReached = scans.some((s) => s.keys.length > 0);
  hosts.forEach((h, i) => {
    const { keys, error } = scans[i];
    const name = hostName(h.host, h.port);
    const at = `${h.host}:${h.port}`;
    if (keys.length === 0 && opts.unreachableOk && someReached) {
      unreachable.push({
        host: h.host,
        port: h.port,
        error: error ?? "no key",
      });
      return;
    }
    if (keys.length === 0) {
      problems.push(
        `cannot connect to ${
          where(h)
        } to read its host key; check the host and port and that sshd runs there (${
          error ?? "no key"
        })`,
      );
      return;
    }
    const v = judge(keys, entries, h.host, h.port, pins);
    const fp = (k: HostKey) => `${k.keyType} ${fingerprint(k.key)}`;
    if (v.kind === "known") {
      verified.push({
        host: h.host,
        port: h.port,
        ...v.key,
        fingerprint: fingerprint(v.key.key),
        entry: `${file}:${v.entry.line}`,
        acceptedNew: false,
      });
    } else if (v.kind === "changed") {
      problems.push(
        `the host key of ${at} has CHANGED: the server shows ${
          fp(v.key)
        }, but ${
          v.old.map((e) => `${file}:${e.line} has ${fp(e)}`).join(" and ")
        } (the server was reinstalled, or someone is in between); if the new key is right, remove the old entry (ssh-keygen -R '${name}' -f ${file}) and add the new one; --accept-new-host-keys never accepts a changed key`,
      );
    } else if (v.kind === "unpinned") {
      problems.push(
        `the pinned host key algorithms ${
          pins!.join(",")
        } suit none of the known keys of ${at} (${
          v.entries.map((e) => `${e.keyType} at ${file}:${e.line}`).join(", ")
        }); pin one that does, or drop --host-key-algorithms`,
      );
    } else if (v.kind === "revoked") {
      problems.push(
        `the host key of ${at} (${
          fp(v.key)
        }) is marked @revoked in ${file}:${v.entry.line}; the server must get a new key`,
      );
    } else {
      const best = usable(v.keys, pins)[0];
      if (!best) {
        problems.push(
          `${at} has no host key for the pinned host key algorithms ${
            pins!.join(",")
          } (it shows ${v.keys.map((k) => k.keyType).join(", ")})`,
        );
      } else if (opts.acceptNew) {
        verified.push({
          host: h.host,
          port: h.port,
          ...best,
          fingerprint: fingerprint(best.key),
          entry: null,
          acceptedNew: true,
        });
      } else {
        const others = v.others.length
          ? `; ${file} lists only other key types for it (${
            v.others.map((e) => `${e.keyType} at line ${e.line}`).join(", ")
          })`
          : "";
        problems.push(
          `unknown host key for ${at} (${
            fp(best)
          }): it is not in ${file}${others}; if that is the server's key, add it with ssh-keyscan -p ${h.port} ${h.host} >> ${file}, or run with --accept-new-host-keys to trust it for this run only`,
        );
      }
    }
  });
  if (problems.length === 1) {
    throw new UsageError(
      `host key check failed, no session started: ${problems[0]}`,
    );
  }
  if (problems.length > 1) {
    throw new UsageError(
      `host key check failed for ${problems.length} servers, no session started: ${
        problems.map((p, i) => `(${i + 1}) ${p}`).join("; ")
      }`,
    );
  }
  return { knownHostsFile: file, hosts: verified, unreachable };
}

/**
 * A run's own known_hosts text: one plain line per verified key
 * (`[host]:port type key`, `host type key` for port 22), which every
 * client reads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { knownHostsText } from "./known_hosts.ts";
 * const k = { keyType: "ssh-ed25519", key: "AAAA", fingerprint: "", entry: null, acceptedNew: true };
 * assert.equal(knownHostsText([{ host: "h", port: 2222, ...k }, { host: "g", port: 22, ...k }]),
 *   "[h]:2222 ssh-ed25519 AAAA\ng ssh-ed25519 AAAA\n");
 * ```
 */
export function knownHostsText(keys: readonly VerifiedHostKey[]): string {
  return keys.map((k) =>
    `${
      k.port === 22 ? k.host : `[${k.host}]:${k.port}`
    } ${k.keyType} ${k.key}\n`
  ).join("");
}
