/**
 * The embedded server's `sshd_config`: a commented template in which every
 * line that differs from OpenSSH's defaults says why. The text is kept in
 * `meta.json` with each run.
 *
 * @module
 */

/** What varies between runs in {@linkcode sshdConfig}. */
export interface SshdConfigOptions {
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
  return `# sshd_config written by ssh-bench for one run; removed with the run.
# Only lines that differ from OpenSSH's defaults are here, each with its reason.

# Loopback only, on an ephemeral port chosen free just before start.
ListenAddress 127.0.0.1
Port ${o.port}
# A host key generated for this run, so no system key is touched or needed.
HostKey ${o.dir}/host_ed25519
# No pid file in /run: the benchmark tracks the process itself.
PidFile none
# Key-only auth for one account: the benchmark measures publickey auth.
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers ${o.user}
# The key list lives in the temp dir; sshd reads it as the target user.
AuthorizedKeysFile ${o.dir}/authorized_keys
# Temp dir ownership (root, the benchmark's uid) would fail the mode checks.
StrictModes no
# Connection limits sized from the largest pool so the server drops nothing
# (OpenSSH's default 10:30:100 refuses or drops above 10 unauthenticated).
MaxStartups ${o.maxStartups}
# One session channel per connection is used; keep the per-connection limit.
MaxSessions ${o.maxSessions}
${
    o.penalties
      ? `# OpenSSH >= 9.8 penalises sources that open many connections: off here.
PerSourcePenalties no
PerSourceMaxStartups none
`
      : `# (PerSourcePenalties is not supported by this sshd, nothing to turn off.)
`
  }# No reverse DNS lookups on the client address (loopback anyway).
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
