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
  Phase,
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
 * // Needs a live server: `target` from EmbeddedServer.start or --target.
 * import { Ssh2Client } from "./ssh2.ts";
 * import { PhaseClock } from "./seam.ts";
 * const c = new Ssh2Client();
 * const out = await c.runSession(target, {
 *   clock: new PhaseClock(), signal: new AbortController().signal, timeoutMs: 60_000,
 * });
 * if (out.status !== "ok") throw new Error(out.error);
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
    const privateKey = this.#key(target.identityFile);
    return new Promise<SessionOutcome>((resolve) => {
      new Ssh2Session(target, ctx, privateKey, this.#noDelay, resolve).start();
    });
  }
}

/**
 * One session of {@linkcode Ssh2Client}, driven by the socket's and the
 * ssh2 client's events; resolves once, with the first outcome reached.
 */
class Ssh2Session {
  #phase: Phase = "connect";
  #exitCode: number | null = null;
  #settled = false;
  #client: Client | undefined;
  readonly #sock = new net.Socket();
  readonly #reader = new LineReader();

  constructor(
    readonly target: Target,
    readonly ctx: SessionContext,
    readonly privateKey: Buffer,
    readonly noDelay: boolean,
    readonly resolve: (o: SessionOutcome) => void,
  ) {}

  /** Connects the socket; everything else follows from events. */
  start(): void {
    const { signal } = this.ctx;
    if (signal.aborted) return this.#onAbort();
    signal.addEventListener("abort", this.#onAbort);
    this.#sock.once("error", (e: Error) => {
      if (this.#phase === "connect") this.#fail(e);
    });
    this.#sock.connect(
      { host: this.target.host, port: this.target.port },
      () => this.#connected(),
    );
  }

  #finish(status: Status, error = ""): void {
    if (this.#settled) return;
    this.#settled = true;
    this.ctx.signal.removeEventListener("abort", this.#onAbort);
    this.#sock.destroy();
    this.resolve({
      bytes: this.#reader.bytes,
      lines: this.#reader.lines,
      exitCode: this.#exitCode,
      status,
      error,
    });
  }

  readonly #fail = (err: Error & { level?: string }): void => {
    const phase = this.#phase;
    const status: Status = phase === "connect"
      ? "connect_error"
      : phase === "auth"
      ? (err.level === "client-authentication" ? "auth_error" : "connect_error")
      : phase === "exec"
      ? "exec_error"
      : "read_error";
    this.#finish(status, `${phase}: ${err.message}`);
  };

  readonly #onAbort = (): void =>
    this.#finish("timeout", `timed out during ${this.#phase}`);

  /** TCP connected: hand the socket to ssh2 (handshake and auth). */
  #connected(): void {
    if (this.#settled) return;
    if (this.noDelay) this.#sock.setNoDelay(true);
    this.ctx.clock.mark("connect");
    this.#phase = "auth";
    const client = new Client();
    this.#client = client;
    client.on("error", this.#fail);
    client.on("close", () => {
      if (this.#phase === "close" && this.#exitCode !== null) {
        this.ctx.clock.mark("close");
        this.#finish(
          this.#exitCode === 0 ? "ok" : "exit_nonzero",
          this.#exitCode === 0 ? "" : `exit code ${this.#exitCode}`,
        );
      } else if (!this.#settled) {
        this.#fail(new Error("connection closed by the server"));
      }
    });
    client.on("ready", () => this.#ready());
    client.connect({
      sock: this.#sock,
      username: this.target.user,
      privateKey: this.privateKey,
      hostVerifier: (key: Buffer) =>
        this.target.hostKeyBase64 === undefined ||
        key.toString("base64") === this.target.hostKeyBase64,
      readyTimeout: 0,
      keepaliveInterval: 0,
    });
  }

  /** Authenticated: exec the command and read its stdout line by line. */
  #ready(): void {
    const { clock } = this.ctx;
    clock.mark("auth");
    this.#phase = "exec";
    this.#client!.exec(this.target.command, (err, stream) => {
      if (err) return this.#fail(err);
      clock.mark("exec");
      this.#phase = "read";
      stream.on("data", (d: Buffer) => this.#reader.push(d));
      stream.stderr.resume();
      stream.on("end", () => {
        this.#reader.end();
        clock.mark("read");
        this.#phase = "close";
      });
      stream.on("exit", (code: number | null) => {
        this.#exitCode = code;
      });
      stream.on("close", () => this.#client!.end());
    });
  }
}

/**
 * Version of the ssh2 package in use (from the resolved npm specifier).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Ssh2Client, SSH2_VERSION } from "./ssh2.ts";
 * assert.match(SSH2_VERSION, /^\d+\.\d+\.\d+/);
 * assert.equal(new Ssh2Client().version(), SSH2_VERSION);
 * ```
 */
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
