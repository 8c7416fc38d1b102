/**
 * The `ssh2` client: npm's pure-JavaScript SSH implementation, run on Deno's
 * Node compatibility layer. The pure-language side of the seed's comparison.
 *
 * How a session is driven: a `node:net` socket is connected here (so the
 * TCP connect is timed on its own), with TCP_NODELAY set, and handed to
 * `ssh2.Client`; `ready` ends the auth phase (handshake + userauth); `exec`
 * opens the channel; stdout is split into lines as it arrives; the session
 * ends when the exit status arrived, the channel closed and the connection
 * closed.
 *
 * @module
 */
import * as net from "node:net";
import { Buffer } from "node:buffer";
// @ts-types="npm:@types/ssh2@1.15.5"
import { Client } from "ssh2";
import { LineReader } from "./lines.ts";
import type {
  SessionContext,
  SessionOutcome,
  SshClient,
  Status,
  Target,
} from "./seam.ts";

/** Options of {@linkcode Ssh2Client}. */
export interface Ssh2Options {
  /**
   * Disable Nagle's algorithm on the socket (default true). Without it,
   * small SSH packets wait for delayed ACKs on loopback; kept as an option
   * so the difference can be measured.
   */
  noDelay?: boolean;
  /** Name in the CSV (default `ssh2`). */
  name?: string;
}

/**
 * The `ssh2` client behind the {@linkcode SshClient} seam.
 *
 * @example
 * ```ts ignore
 * import { Ssh2Client } from "./ssh2.ts";
 * import { PhaseClock } from "./seam.ts";
 * const c = new Ssh2Client();
 * const out = await c.runSession(target, {
 *   clock: new PhaseClock(), signal: new AbortController().signal, timeoutMs: 60_000,
 * });
 * ```
 */
export class Ssh2Client implements SshClient {
  readonly name: string;
  readonly #noDelay: boolean;
  readonly #keys = new Map<string, Buffer>();

  /** See {@linkcode Ssh2Options}. */
  constructor(opts: Ssh2Options = {}) {
    this.name = opts.name ?? "ssh2";
    this.#noDelay = opts.noDelay ?? true;
  }

  version(): string {
    return SSH2_VERSION;
  }

  #key(path: string): Buffer {
    let k = this.#keys.get(path);
    if (!k) {
      k = Buffer.from(Deno.readFileSync(path));
      this.#keys.set(path, k);
    }
    return k;
  }

  runSession(target: Target, ctx: SessionContext): Promise<SessionOutcome> {
    const { clock, signal } = ctx;
    const reader = new LineReader();
    const privateKey = this.#key(target.identityFile);
    return new Promise<SessionOutcome>((resolve) => {
      let phase: "connect" | "auth" | "exec" | "read" | "close" = "connect";
      let exitCode: number | null = null;
      let settled = false;
      let client: Client | undefined;
      const sock = new net.Socket();
      const finish = (status: Status, error = "") => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        sock.destroy();
        resolve({
          bytes: reader.bytes,
          lines: reader.lines,
          exitCode,
          status,
          error,
        });
      };
      const fail = (err: Error & { level?: string }) => {
        const status: Status = phase === "connect"
          ? "connect_error"
          : phase === "auth"
          ? (err.level === "client-authentication"
            ? "auth_error"
            : "connect_error")
          : phase === "exec"
          ? "exec_error"
          : "read_error";
        finish(status, `${phase}: ${err.message}`);
      };
      const onAbort = () => finish("timeout", `timed out during ${phase}`);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort);

      sock.once("error", (e: Error) => {
        if (phase === "connect") fail(e);
      });
      sock.connect({ host: target.host, port: target.port }, () => {
        if (settled) return;
        if (this.#noDelay) sock.setNoDelay(true);
        clock.mark("connect");
        phase = "auth";
        client = new Client();
        client.on("error", fail);
        client.on("close", () => {
          if (phase === "close" && exitCode !== null) {
            clock.mark("close");
            finish(
              exitCode === 0 ? "ok" : "exit_nonzero",
              exitCode === 0 ? "" : `exit code ${exitCode}`,
            );
          } else if (!settled) {
            fail(new Error("connection closed by the server"));
          }
        });
        client.on("ready", () => {
          clock.mark("auth");
          phase = "exec";
          client!.exec(target.command, (err, stream) => {
            if (err) return fail(err);
            clock.mark("exec");
            phase = "read";
            stream.on("data", (d: Buffer) => reader.push(d));
            stream.stderr.resume();
            stream.on("end", () => {
              reader.end();
              clock.mark("read");
              phase = "close";
            });
            stream.on("exit", (code: number | null) => {
              exitCode = code;
            });
            stream.on("close", () => client!.end());
          });
        });
        client.connect({
          sock,
          username: target.user,
          privateKey,
          hostVerifier: (key: Buffer) =>
            target.hostKeyBase64 === undefined ||
            key.toString("base64") === target.hostKeyBase64,
          readyTimeout: 0,
          keepaliveInterval: 0,
        });
      });
    });
  }
}

/** Version of the ssh2 package in use (from its package.json). */
export const SSH2_VERSION: string = (() => {
  try {
    const url = import.meta.resolve("ssh2");
    const m = /ssh2@([0-9][^/]*)/.exec(url);
    if (m) return m[1];
  } catch {
    // fall through
  }
  return "1.17.0";
})();
