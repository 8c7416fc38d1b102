/**
 * The embedded server as the run's "place" code sees it, whichever
 * implementation serves: OpenSSH's sshd ({@linkcode EmbeddedServer}) or
 * the Go server on golang.org/x/crypto/ssh ({@linkcode GoServer}). Start,
 * address (the target), host key (in the target's known_hosts file), CPU
 * (its own cgroup), stop.
 *
 * @module
 */
import type { Target } from "../clients/seam.ts";
import { EmbeddedServer, type ServerOptions } from "./embedded.ts";
import { GoServer } from "./go_server.ts";
import type { ServerImpl } from "./impl.ts";

export { SERVER_IMPLS, type ServerImpl } from "./impl.ts";

/** What every embedded server offers the run. */
export interface SshServer {
  /** Which implementation this is. */
  readonly impl: ServerImpl;
  /** Where sessions go (address, port, user, key, known_hosts, command). */
  readonly target: Target;
  /** The implementation's version (`OpenSSH_9.2p1`, `x/crypto 0.4.0`). */
  readonly version: string;
  /** The configuration in use, as text (kept in meta.json). */
  readonly config: string;
  /** Expected payload bytes and lines. */
  readonly payload: { bytes: number; lines: number };
  /** Process id of the listener. */
  readonly pid: number;
  /** True while the listener runs. */
  readonly running: boolean;
  /** Resolves once the listener exits. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** `cgroup` (its whole process tree) or `proc` (listener and children). */
  readonly cpuMethod: "cgroup" | "proc";
  /** CPU time so far, ms; undefined once it is gone (proc method). */
  cpuMs(): number | undefined;
  /** Its log so far. */
  log(): Promise<string>;
  /** Stops it and everything under it, removes its temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts the embedded server of `impl`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 * for (const impl of ["openssh", "go"] as const) {
 *   const s = await startServer(impl, { maxPool: 2, payloadBytes: 1000 });
 *   try {
 *     assert.equal(s.impl, impl);
 *     assert.ok(s.running && s.target.port > 0);
 *   } finally {
 *     await s.stop();
 *   }
 * }
 * ```
 */
export async function startServer(
  impl: ServerImpl,
  opts: ServerOptions,
): Promise<SshServer> {
  return impl === "go"
    ? await GoServer.start(opts)
    : await EmbeddedServer.start(opts);
}
