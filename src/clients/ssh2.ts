/**
 * The `ssh2` client: npm's pure-JavaScript SSH implementation, run on Deno's
 * Node compatibility layer. The pure-language side of the seed's comparison.
 *
 * How a session is driven: a `node:net` socket is connected here (so the
 * TCP connect is timed on its own), with TCP_NODELAY set, and handed to
 * `ssh2.Client`; `ready` ends the auth phase (handshake + userauth); `exec`
 * opens the channel; stdout is split into lines as it arrives; the stream's
 * `close` (the exit status arrived before it) ends the close phase, with
 * the connection still open. With `commandsPerSession` K > 1 the command
 * then runs K - 1 more times on the same connection, each on a new channel
 * (`exec`, read to end, exit status, `close`), which ends the reexec
 * phase; finally `end()` and the client's `close` event end the disconnect
 * phase.
 *
 * Algorithms: pins (`target.algorithms`) become ssh2's `algorithms` connect
 * option (exact lists; ssh2 uses OpenSSH's names), checked first against
 * the lists ssh2 supports, so an unknown one fails the session before it
 * connects, naming it; ssh2 1.17 has no sntrup761x25519 key exchange. The
 * `handshake` event gives what was negotiated ({@linkcode negotiatedOf}).
 * With a known host key (`target.hostKeyBase64`) and no host-key pin, the
 * algorithms of that key's type lead ssh2's host-key list, as OpenSSH
 * orders it for a host it knows. A handshake that fails for lack of a
 * common algorithm (ssh2 says which kind) is named with both sides' lists:
 * the server's are read afresh from its KEXINIT ({@linkcode serverOffer}),
 * as ssh2 keeps none of them on failure.
 *
 * Teardown: once every command has ended (stdout read to end of file and
 * the exit status received), an error while closing the last channel or
 * the connection (say the server closed the connection first, and ssh2's
 * reply hit a closed socket: EPIPE) no longer fails the session: its
 * status stays `ok` (or `exit_nonzero`), the phases not yet ended end
 * then, and the error goes to `teardownError`.
 *
 * @module
 */
import * as net from "node:net";
import { Buffer } from "node:buffer";
// @ts-types="npm:@types/ssh2@1.15.5"
import { Client } from "ssh2";
// ssh2's own lists of the algorithms it can use (not typed by @types/ssh2).
import ssh2Constants from "ssh2/lib/protocol/constants.js";
import { IMPLICIT_MAC, type PinKind, unsupportedPins } from "./algorithms.ts";
import { LineReader } from "./lines.ts";
import type { ClientChannel } from "ssh2";
import {
  type AlgorithmPins,
  commandsPerSession,
  type Negotiated,
  type Phase,
  preferKnownHostKey,
  type SessionContext,
  type SessionOutcome,
  type SshClient,
  type Status,
  type Target,
} from "./seam.ts";
import { noCommonAlgorithm, serverOffer } from "./kexinit.ts";

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
    const unsupported = unsupportedPins(
      `ssh2 ${SSH2_VERSION}`,
      target.algorithms,
      (kind, name) => SSH2_SUPPORTED[kind].includes(name),
    );
    if (unsupported) {
      return Promise.resolve({
        bytes: 0,
        lines: 0,
        exitCode: null,
        status: "connect_error",
        error: unsupported,
      });
    }
    const privateKey = target.agentSocket
      ? undefined
      : this.#key(target.identityFile);
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
  #negotiated: Negotiated | undefined;
  #settled = false;
  #client: Client | undefined;
  /** Commands the session runs, and the one under way (from 1). */
  readonly #k: number;
  #command = 0;
  /** Step of a further command under way (the phase is then `reexec`). */
  #step: "exec" | "read" | "close" = "exec";
  /** Commands completed with exit code 0. */
  #done = 0;
  /** The outcome once the disconnect (the client's `close`) is over. */
  #afterDisconnect: { status: Status; error: string } | undefined;
  /**
   * The exit code of the last command the session runs, once its stdout
   * ended and its exit status arrived: from then on an error is a
   * teardown error.
   */
  #final: number | undefined;
  readonly #sock = new net.Socket();
  /** The first command's stdout. */
  readonly #reader = new LineReader();

  constructor(
    readonly target: Target,
    readonly ctx: SessionContext,
    readonly privateKey: Buffer | undefined,
    readonly noDelay: boolean,
    readonly resolve: (o: SessionOutcome) => void,
  ) {
    this.#k = commandsPerSession(target);
  }

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

  /** Ends the session's I/O; false when it had already ended. */
  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.ctx.signal.removeEventListener("abort", this.#onAbort);
    this.#sock.destroy();
    return true;
  }

  #outcome(status: Status, error: string, teardown?: string): SessionOutcome {
    return {
      bytes: this.#reader.bytes,
      lines: this.#reader.lines,
      exitCode: this.#exitCode,
      status,
      error,
      ...(teardown && { teardownError: teardown }),
      commands: this.#done,
      ...(this.#negotiated && { negotiated: this.#negotiated }),
    };
  }

  #finish(status: Status, error = "", teardown?: string): void {
    if (this.#settle()) this.resolve(this.#outcome(status, error, teardown));
  }

  /** `msg` prefixed with the command number for a command after the first. */
  #named(msg: string): string {
    return this.#phase === "reexec"
      ? `command ${this.#command} of ${this.#k}: ${msg}`
      : msg;
  }

  readonly #fail = (err: Error & { level?: string }): void => {
    const phase = this.#phase;
    const step = phase === "reexec" ? this.#step : phase;
    if (this.#settled) return;
    if (this.#final !== undefined) {
      return this.#tornDown(this.#named(`${step}: ${err.message}`));
    }
    if (
      phase === "auth" && err.level === "handshake" &&
      /no matching/i.test(err.message)
    ) return this.#noCommonAlgorithm(err.message);
    const status: Status = phase === "connect"
      ? "connect_error"
      : phase === "auth"
      ? (err.level === "client-authentication" ? "auth_error" : "connect_error")
      : step === "exec"
      ? "exec_error"
      : "read_error";
    this.#finish(status, this.#named(`${step}: ${err.message}`));
  };

  readonly #onAbort = (): void =>
    this.#finish("timeout", `timed out during ${this.#phase}`);

  /**
   * Every command completed, then the teardown failed with `error`: the
   * phases not yet ended end now (the connection is gone), and the status
   * is the commands' own.
   */
  #tornDown(error: string): void {
    const code = this.#final!;
    const { clock } = this.ctx;
    const after = this.#afterDisconnect;
    if (after) {
      clock.mark("disconnect");
      return this.#finish(after.status, after.error, error);
    }
    const first = this.#command === 1;
    this.#exitCode = code;
    if (first) clock.mark("close");
    if (code !== 0) {
      const failure = this.#named(`exit code ${code}`);
      // A further command's nonzero exit ends the session without a
      // disconnect; the first command's disconnects, as with K = 1.
      if (first) clock.mark("disconnect");
      return this.#finish("exit_nonzero", failure, error);
    }
    this.#done++;
    if (this.#k > 1) clock.mark("reexec");
    clock.mark("disconnect");
    this.#finish("ok", "", error);
  }

  /**
   * The handshake failed for lack of a common algorithm: the error names
   * the kind and both sides' lists, the server's read from its KEXINIT.
   */
  #noCommonAlgorithm(message: string): void {
    if (!this.#settle()) return;
    const pins = this.target.algorithms ?? {};
    const ours: AlgorithmPins = {
      kex: pins.kex ?? ssh2Constants.DEFAULT_KEX,
      hostKeyAlgorithms: pins.hostKeyAlgorithms ??
        preferKnownHostKey(
          ssh2Constants.DEFAULT_SERVER_HOST_KEY,
          this.target.hostKeyBase64,
        ) ?? ssh2Constants.DEFAULT_SERVER_HOST_KEY,
      ciphers: pins.ciphers ?? ssh2Constants.DEFAULT_CIPHER,
      macs: pins.macs ?? ssh2Constants.DEFAULT_MAC,
    };
    serverOffer(
      this.target.host,
      this.target.port,
      Math.min(this.ctx.timeoutMs, 5000),
    ).then((offer) => {
      const named = offer && noCommonAlgorithm(ours, offer);
      this.resolve(
        this.#outcome("connect_error", `auth: ${named || message}`),
      );
    });
  }

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
      const after = this.#afterDisconnect;
      if (this.#phase === "disconnect" && after) {
        this.ctx.clock.mark("disconnect");
        this.#finish(after.status, after.error);
      } else if (!this.#settled) {
        this.#fail(new Error("connection closed by the server"));
      }
    });
    client.on("ready", () => this.#ready());
    client.once("handshake", (n: Ssh2Negotiated) => {
      this.#negotiated = negotiatedOf(n);
    });
    client.connect({
      sock: this.#sock,
      ...algorithmsOption(this.target.algorithms, this.target.hostKeyBase64),
      username: this.target.user,
      ...(this.target.agentSocket
        ? { agent: this.target.agentSocket }
        : { privateKey: this.privateKey }),
      hostVerifier: (key: Buffer) =>
        this.target.hostKeyBase64 === undefined ||
        key.toString("base64") === this.target.hostKeyBase64,
      readyTimeout: 0,
      keepaliveInterval: 0,
    });
  }

  /** Authenticated: run the command K times, then disconnect. */
  #ready(): void {
    this.ctx.clock.mark("auth");
    this.#next();
  }

  /**
   * Runs the next command on a new channel: exec, stdout line by line to
   * end of file, exit status, channel close. The first command's steps end
   * the exec, read and close phases; after the last command the reexec
   * phase ends (K > 1) and the connection is closed.
   */
  #next(): void {
    if (this.#settled) return;
    const { clock } = this.ctx;
    const j = ++this.#command;
    const first = j === 1;
    this.#phase = first ? "exec" : "reexec";
    this.#step = "exec";
    this.#client!.exec(this.target.command, (err, stream) => {
      if (this.#settled) return;
      if (err) return this.#fail(err);
      if (first) {
        clock.mark("exec");
        this.#phase = "read";
      }
      this.#step = "read";
      this.#channel(stream, first ? this.#reader : new LineReader(), first);
    });
  }

  /** Follows one command's channel until it closes. */
  #channel(stream: ClientChannel, reader: LineReader, first: boolean): void {
    const { clock } = this.ctx;
    let code: number | null = null;
    let ended = false;
    stream.on("data", (d: Buffer) => reader.push(d));
    stream.stderr.resume();
    /** The last command this session runs has completed. */
    const completed = () => {
      if (ended && code !== null && (code !== 0 || this.#command === this.#k)) {
        this.#final = code;
      }
    };
    stream.on("end", () => {
      // A lost connection ends its channels after the session failed:
      // that is no end of the read, and no phase ends after the outcome.
      if (this.#settled) return;
      reader.end();
      ended = true;
      this.#step = "close";
      if (first) {
        clock.mark("read");
        this.#phase = "close";
      }
      completed();
    });
    stream.on("exit", (c: number | null) => {
      code = c;
      completed();
    });
    stream.on("close", () => {
      if (this.#settled) return;
      if (!ended || code === null) {
        return this.#fail(
          new Error(
            ended
              ? "channel closed without an exit status"
              : "channel closed before end of file",
          ),
        );
      }
      this.#exitCode = code;
      if (first) clock.mark("close");
      if (code !== 0) {
        const error = this.#named(`exit code ${code}`);
        // A further command's failure ends the session here; the first
        // command's nonzero exit still disconnects, as with K = 1.
        if (!first) return this.#finish("exit_nonzero", error);
        return this.#disconnect("exit_nonzero", error);
      }
      this.#done++;
      if (this.#command < this.#k) return this.#next();
      if (this.#k > 1) clock.mark("reexec");
      this.#disconnect("ok", "");
    });
  }

  /** Closes the connection; the client's `close` event ends the session. */
  #disconnect(status: Status, error: string): void {
    this.#phase = "disconnect";
    this.#afterDisconnect = { status, error };
    this.#client!.end();
  }
}

/** ssh2's lists of supported algorithms, by kind of pin. */
const SSH2_SUPPORTED: Record<PinKind, readonly string[]> = {
  kex: ssh2Constants.SUPPORTED_KEX,
  hostKeyAlgorithms: ssh2Constants.SUPPORTED_SERVER_HOST_KEY,
  ciphers: ssh2Constants.SUPPORTED_CIPHER,
  macs: ssh2Constants.SUPPORTED_MAC,
};

/**
 * ssh2's `algorithms` connect option for the pins: each pinned list as an
 * exact list (both directions); without a host-key pin, the known host
 * key's algorithms (`hostKeyBase64`) first in ssh2's default list when
 * they do not lead it already; nothing when nothing changes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { algorithmsOption } from "./ssh2.ts";
 * assert.deepEqual(algorithmsOption(undefined), {});
 * assert.deepEqual(
 *   algorithmsOption({ ciphers: ["aes128-ctr"], macs: ["hmac-sha2-256"] }),
 *   { algorithms: { cipher: ["aes128-ctr"], hmac: ["hmac-sha2-256"] } },
 * );
 * // An ECDSA host key known: its algorithm leads the host-key list.
 * const ecdsa = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA==";
 * assert.equal(algorithmsOption(undefined, ecdsa).algorithms?.serverHostKey[0], "ecdsa-sha2-nistp256");
 * ```
 */
export function algorithmsOption(
  pins: AlgorithmPins | undefined,
  hostKeyBase64?: string,
): { algorithms?: Record<string, string[]> } {
  const algorithms: Record<string, string[]> = {};
  const preferred = pins?.hostKeyAlgorithms
    ? undefined
    : preferKnownHostKey(ssh2Constants.DEFAULT_SERVER_HOST_KEY, hostKeyBase64);
  if (preferred) algorithms.serverHostKey = preferred;
  if (!pins) return preferred ? { algorithms } : {};
  if (pins.kex) algorithms.kex = pins.kex;
  if (pins.hostKeyAlgorithms) algorithms.serverHostKey = pins.hostKeyAlgorithms;
  if (pins.ciphers) algorithms.cipher = pins.ciphers;
  if (pins.macs) algorithms.hmac = pins.macs;
  return Object.keys(algorithms).length ? { algorithms } : {};
}

/** What ssh2's `handshake` event carries (the parts used here). */
export interface Ssh2Negotiated {
  /** Key exchange method. */
  kex: string;
  /** Host-key algorithm. */
  serverHostKey: string;
  /** Client to server: cipher, and MAC (empty for AEAD ciphers). */
  cs: { cipher: string; mac: string };
}

/**
 * The negotiated algorithms in OpenSSH's names from ssh2's `handshake`
 * event: ssh2 already uses OpenSSH's names, and reports an AEAD cipher's
 * MAC as empty, which OpenSSH calls `<implicit>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { negotiatedOf } from "./ssh2.ts";
 * assert.deepEqual(
 *   negotiatedOf({ kex: "curve25519-sha256", serverHostKey: "ssh-ed25519",
 *     cs: { cipher: "aes128-gcm@openssh.com", mac: "" } }),
 *   { kex: "curve25519-sha256", hostKey: "ssh-ed25519",
 *     cipher: "aes128-gcm@openssh.com", mac: "<implicit>" },
 * );
 * ```
 */
export function negotiatedOf(n: Ssh2Negotiated): Negotiated {
  return {
    kex: n.kex,
    hostKey: n.serverHostKey,
    cipher: n.cs.cipher,
    mac: n.cs.mac || IMPLICIT_MAC,
  };
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
