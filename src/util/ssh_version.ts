/**
 * The version of an OpenSSH binary, shared by the embedded server (`sshd`)
 * and the `openssh` client (`ssh`), so neither imports the other.
 *
 * @module
 */
import { run } from "./proc.ts";

/**
 * The version part of OpenSSH's `-V` text (the part before the first comma).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOpensshVersion } from "./ssh_version.ts";
 * assert.equal(
 *   parseOpensshVersion("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19\n"),
 *   "OpenSSH_9.2p1 Debian-2+deb12u10",
 * );
 * ```
 */
export function parseOpensshVersion(text: string): string {
  return text.trim().split(",")[0];
}

/**
 * Version of an OpenSSH binary (`ssh` or `sshd`) as `-V` reports it, e.g.
 * `OpenSSH_9.2p1 Debian-2+deb12u10`; undefined when it cannot be run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { opensshVersion } from "./ssh_version.ts";
 * assert.match((await opensshVersion("ssh")) ?? "", /^OpenSSH_\d/);
 * ```
 */
export async function opensshVersion(
  binary: string,
): Promise<string | undefined> {
  const r = await run(binary, ["-V"]);
  return r.code === 0 ? parseOpensshVersion(r.stderr) : undefined;
}
