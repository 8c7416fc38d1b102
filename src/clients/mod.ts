/**
 * The client registry: names on the command line to client instances.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import type { SshClient } from "./seam.ts";
import { Libssh2Client } from "./libssh2.ts";
import { OpensshClient } from "./openssh.ts";
import { Ssh2Client } from "./ssh2.ts";

/** Every client name, in the order runs use them. */
export const CLIENT_NAMES = ["ssh2", "libssh2", "openssh"] as const;

/** A client factory: a client, or a one-line notice why it is unavailable. */
type Factory = () => Promise<SshClient | string>;

const FACTORIES: Record<string, Factory> = {
  ssh2: () => Promise.resolve(new Ssh2Client()),
  // Diagnostic variant, only by name: ssh2 with Nagle's algorithm left on,
  // to measure what TCP_NODELAY changes (see README, pool-1 latency).
  "ssh2-nagle": () =>
    Promise.resolve(new Ssh2Client({ noDelay: false, name: "ssh2-nagle" })),
  libssh2: () => Libssh2Client.load(),
  openssh: () => OpensshClient.load(),
};

/**
 * Creates the clients asked for (or every available one). A client asked
 * for by name that cannot load is an error; when none was named, it is
 * skipped with a notice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadClients } from "./mod.ts";
 * const notices: string[] = [];
 * const clients = await loadClients(["ssh2"], (l) => notices.push(l));
 * assert.deepEqual(clients.map((c) => c.name), ["ssh2"]);
 * assert.deepEqual(notices, []);
 * await assert.rejects(loadClients(["putty"], () => {}), /unknown client "putty"/);
 * ```
 */
export async function loadClients(
  names: readonly string[] | undefined,
  notice: (line: string) => void,
): Promise<SshClient[]> {
  for (const n of names ?? []) {
    if (!(n in FACTORIES)) {
      throw new UsageError(
        `unknown client "${n}"; use one or more of: ${
          Object.keys(FACTORIES).join(", ")
        }`,
      );
    }
  }
  const out: SshClient[] = [];
  for (const n of names ?? CLIENT_NAMES) {
    const c = await FACTORIES[n]();
    if (typeof c !== "string") out.push(c);
    else if (names) throw new UsageError(`client ${n} cannot be used: ${c}`);
    else notice(`skipping client ${n}: ${c}`);
  }
  if (out.length === 0) {
    throw new UsageError(
      "no client could be loaded; see the notices above for what to install",
    );
  }
  return out;
}
