/**
 * The embedded server's `sshd_config`: a commented template in which every
 * line that differs from OpenSSH's defaults says why. The text is kept in
 * `meta.json` with each run.
 *
 * @module
 */

import type { AlgorithmPins } from "../clients/seam.ts";

/** What varies between runs in {@linkcode sshdConfig}. */
export interface SshdConfigOptions {
  /**
   * `lean` (default): the lines below that save CPU per connection;
   * `stock`: OpenSSH's compiled-in defaults plus only what the benchmark
   * needs (address, port, keys, account, connection limits).
   */
  profile?: "lean" | "stock";
  /** Address to listen on (default 127.0.0.1). */
  listenAddress?: string;
  /** Algorithms pinned for the run, written as sshd's own lists. */
  algorithms?: AlgorithmPins;
  /** Extra lines appended as they are (tests: e.g. a ForceCommand). */
  extra?: string;
  /** The run's temp directory (host key, authorized_keys). */
  dir: string;
  /** Loopback port to listen on. */
  port: number;
  /** The only account allowed to log in. */
  user: string;
  /** `MaxStartups` value, e.g. `110` or OpenSSH's default `10:30:100`. */
  maxStartups: string;
  /** `MaxSessions` value (session channels per connection). */
  maxSessions: number;
  /** True when this sshd knows `PerSourcePenalties` (OpenSSH >= 9.8). */
  penalties: boolean;
}

/**
 * The sshd_config text for one run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sshdConfig } from "./sshd_config.ts";
 * const text = sshdConfig({
 *   dir: "/tmp/x", port: 2222, user: "me", maxStartups: "110",
 *   maxSessions: 10, penalties: false,
 * });
 * assert.ok(text.includes("\nPort 2222\n"));
 * assert.ok(text.includes("\nMaxStartups 110\n"));
 * assert.ok(text.includes("\nHostKey /tmp/x/host_ed25519\n"));
 * assert.ok(!text.includes("\nPerSourcePenalties"));
 * ```
 */
export function sshdConfig(o: SshdConfigOptions): string {
  const stock = o.profile === "stock";
  return [
    `# sshd_config written by ssh-bench for one run (profile ${
      stock ? "stock" : "lean"
    }); removed with the run.`,
    stock
      ? "# OpenSSH's compiled-in defaults, plus only the lines the benchmark needs."
      : "# Only lines that differ from OpenSSH's defaults are here, each with its reason.",
    "",
    required(o),
    stock ? "" : leanLines(o),
    pinLines(o.algorithms),
    o.extra ? `# Added for this run.\n${o.extra.trimEnd()}\n` : "",
  ].filter((s) => s !== "").join("\n");
}

/** The lines every profile needs. */
function required(o: SshdConfigOptions): string {
  return `# One address, on an ephemeral port chosen free just before start.
ListenAddress ${o.listenAddress ?? "127.0.0.1"}
Port ${o.port}
# A host key generated for this run, so no system key is touched or needed.
HostKey ${o.dir}/host_ed25519
# No pid file in /run: the benchmark tracks the process itself.
PidFile none
# One account, whose key list lives in the temp dir (read as that user).
AllowUsers ${o.user}
AuthorizedKeysFile ${o.dir}/authorized_keys
# Temp dir ownership (root, the benchmark's uid) would fail the mode checks.
StrictModes no
# Connection limits sized from the largest pool so the server drops nothing
# (OpenSSH's default 10:30:100 refuses or drops above 10 unauthenticated).
MaxStartups ${o.maxStartups}
${
    o.penalties
      ? `# OpenSSH >= 9.8 penalises sources that open many connections: off here.
PerSourcePenalties no
PerSourceMaxStartups none
`
      : `# (PerSourcePenalties is not supported by this sshd, nothing to turn off.)
`
  }`;
}

/** The lean profile's lines: less work per connection, same protocol. */
function leanLines(o: SshdConfigOptions): string {
  return `# Key-only auth: the benchmark measures publickey auth.
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# One session channel per connection is used; keep the per-connection limit.
MaxSessions ${o.maxSessions}
# No reverse DNS lookups on the client address (loopback anyway).
UseDNS no
# Nothing printed at login, no subsystems, no forwarding: less work per session.
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTTY no
# Errors only, into the run's log file (shown when something fails).
LogLevel ERROR
`;
}

/** sshd's own lists for the pinned algorithms, if any. */
function pinLines(a: AlgorithmPins | undefined): string {
  if (!a) return "";
  const lines = [
    a.kex && `KexAlgorithms ${a.kex.join(",")}`,
    a.ciphers && `Ciphers ${a.ciphers.join(",")}`,
    a.macs && `MACs ${a.macs.join(",")}`,
    a.hostKeyAlgorithms && `HostKeyAlgorithms ${a.hostKeyAlgorithms.join(",")}`,
  ].filter(Boolean);
  return lines.length === 0
    ? ""
    : `# Algorithms pinned for a like-for-like run (--kex, --ciphers, ...).\n${
      lines.join("\n")
    }\n`;
}
