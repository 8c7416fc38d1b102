/**
 * The `libssh2` client: the system's libssh2 (Debian `libssh2-1`), a native
 * C library, loaded with `Deno.dlopen`. No compiled addon, no build step.
 * The native side of the seed's comparison.
 *
 * How a session is driven: a TCP socket is made with libc `socket` and
 * `connect` (non-blocking connect, then `poll` and `SO_ERROR`, so the error
 * code does not depend on which thread ran the call), TCP_NODELAY set as for
 * the other clients; then libssh2's *blocking* API: handshake, public-key
 * auth from the key files, channel open, exec, reads until EOF (split into
 * lines here), close, wait for close, exit status, channel free (the close
 * phase ends here, the session still open); with `commandsPerSession` K >
 * 1 the same on a new channel K - 1 more times (the reexec phase); then
 * disconnect, session free and socket close (the disconnect phase).
 *
 * Why blocking calls on Deno's thread pool: every libssh2 call that can
 * wait on the network is declared `nonblocking: true`, so Deno runs it on
 * its blocking-task thread pool and returns a promise; the event loop stays
 * free and many sessions progress at once. A session's calls are awaited
 * one after another, so one session is never used from two threads at once.
 * The alternative, libssh2's non-blocking mode, returns EAGAIN and needs a
 * readiness wait on the socket; Deno has no API to watch a foreign file
 * descriptor, so that wait would itself be a `poll()` on the same thread
 * pool (one more thread hop per EAGAIN) or a timer loop that adds up to a
 * timer period of latency per wait. The blocking variant is the one with
 * the fewest hops, and its figures, measured here, are in docs/architecture.md (scale): every
 * session ok up to pool 1000, the lowest client CPU per session of the
 * three clients. The non-blocking variant was not built.
 * Beyond Deno's thread-pool size (512 by default) further calls queue; they
 * still complete, as no call waits on another session.
 * The libraries are never unloaded (no `libssh2_exit`, no `dlclose`): a
 * call of a session abandoned after its timeout may still run on a pool
 * thread, and unloading under it would crash the process; a "double free"
 * at exit was seen once while `close()` still did that.
 * Timeouts: `libssh2_session_set_timeout` bounds every blocking call, and
 * an abort shuts the socket down, which wakes a call in flight.
 *
 * Algorithms: pins (`target.algorithms`) are set with
 * `libssh2_session_method_pref` before the handshake (ciphers and MACs for
 * both directions). That call silently drops names it does not know, so
 * each pinned name is first checked against `libssh2_session_supported_algs`
 * (read once, at load): a pin libssh2 cannot honour fails the session
 * before it connects, naming it (libssh2 1.10 has no sntrup761x25519 key
 * exchange, no chacha20-poly1305 or AES-GCM, no `-etm` MACs, no rsa-sha2
 * host keys). After the handshake `libssh2_session_methods` gives what was
 * negotiated. With a known host key (`target.hostKeyBase64`) and no
 * host-key pin, the algorithms of that key's type lead libssh2's host-key
 * preference (libssh2 prefers ECDSA otherwise, and would then meet a
 * server's ECDSA key where its Ed25519 key is the known one), as OpenSSH
 * orders its offer for a host it knows.
 *
 * A handshake that fails with "Unable to exchange encryption keys"
 * (`LIBSSH2_ERROR_KEX_FAILURE`) does not say which kind of algorithm had
 * no common one: the server's offer is then read from its KEXINIT
 * ({@linkcode serverOffer}) and compared with libssh2's, and the error
 * names the kind and both lists.
 *
 * Teardown: an error of the disconnect after every command completed is
 * kept as `teardownError`, the status staying `ok` (or `exit_nonzero`).
 * An error closing the last channel is not: `libssh2_channel_get_exit_status`
 * gives 0 both for an exit status 0 and for none received, so a session
 * whose channel close fails cannot tell that its command completed.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { LineReader } from "./lines.ts";
import {
  IMPLICIT_MAC,
  isAead,
  type PinKind,
  unsupportedPins,
} from "./algorithms.ts";
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

const LIBSSH2_SYMBOLS = {
  libssh2_init: { parameters: ["i32"], result: "i32" },
  libssh2_exit: { parameters: [], result: "void" },
  libssh2_version: { parameters: ["i32"], result: "pointer" },
  libssh2_session_init_ex: {
    parameters: ["pointer", "pointer", "pointer", "pointer"],
    result: "pointer",
  },
  libssh2_session_supported_algs: {
    parameters: ["pointer", "i32", "buffer"],
    result: "i32",
  },
  libssh2_free: { parameters: ["pointer", "pointer"], result: "void" },
  libssh2_session_method_pref: {
    parameters: ["pointer", "i32", "buffer"],
    result: "i32",
  },
  libssh2_session_methods: {
    parameters: ["pointer", "i32"],
    result: "pointer",
  },
  libssh2_session_set_timeout: {
    parameters: ["pointer", "i64"],
    result: "void",
  },
  libssh2_session_handshake: {
    parameters: ["pointer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_session_hostkey: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "pointer",
  },
  libssh2_userauth_publickey_fromfile_ex: {
    parameters: ["pointer", "buffer", "u32", "buffer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_agent_init: { parameters: ["pointer"], result: "pointer" },
  libssh2_agent_set_identity_path: {
    parameters: ["pointer", "buffer"],
    result: "void",
  },
  libssh2_agent_connect: {
    parameters: ["pointer"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_agent_list_identities: {
    parameters: ["pointer"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_agent_get_identity: {
    parameters: ["pointer", "buffer", "pointer"],
    result: "i32",
  },
  libssh2_agent_userauth: {
    parameters: ["pointer", "buffer", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_agent_disconnect: { parameters: ["pointer"], result: "i32" },
  libssh2_agent_free: { parameters: ["pointer"], result: "void" },
  libssh2_channel_open_ex: {
    parameters: ["pointer", "buffer", "u32", "u32", "u32", "pointer", "u32"],
    result: "pointer",
    nonblocking: true,
  },
  // Called on a channel just opened, nothing queued on it yet: it sets a
  // flag and does no I/O, so it runs here, without a thread hop.
  libssh2_channel_handle_extended_data2: {
    parameters: ["pointer", "i32"],
    result: "i32",
  },
  libssh2_channel_process_startup: {
    parameters: ["pointer", "buffer", "u32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_channel_read_ex: {
    parameters: ["pointer", "i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  libssh2_channel_close: {
    parameters: ["pointer"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_channel_wait_closed: {
    parameters: ["pointer"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_channel_get_exit_status: { parameters: ["pointer"], result: "i32" },
  libssh2_channel_free: { parameters: ["pointer"], result: "i32" },
  libssh2_session_disconnect_ex: {
    parameters: ["pointer", "i32", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  libssh2_session_free: { parameters: ["pointer"], result: "i32" },
  libssh2_session_last_error: {
    parameters: ["pointer", "buffer", "buffer", "i32"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  poll: {
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const POLLOUT = 4;
const SHUT_RDWR = 2;
const LIBSSH2_ERROR_KEX_FAILURE = -5;
const LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE = -8;
const LIBSSH2_ERROR_TIMEOUT = -9;
const LIBSSH2_ERROR_SOCKET_TIMEOUT = -30;
const SSH_DISCONNECT_BY_APPLICATION = 11;
const LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE = 1;
// Method types of libssh2_session_method_pref / _methods / _supported_algs.
const LIBSSH2_METHOD_KEX = 0;
const LIBSSH2_METHOD_HOSTKEY = 1;
const LIBSSH2_METHOD_CRYPT_CS = 2;
const LIBSSH2_METHOD_CRYPT_SC = 3;
const LIBSSH2_METHOD_MAC_CS = 4;
const LIBSSH2_METHOD_MAC_SC = 5;
/** The method types each kind of pin sets. */
const PIN_METHODS: Record<PinKind, number[]> = {
  kex: [LIBSSH2_METHOD_KEX],
  hostKeyAlgorithms: [LIBSSH2_METHOD_HOSTKEY],
  ciphers: [LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_CRYPT_SC],
  macs: [LIBSSH2_METHOD_MAC_CS, LIBSSH2_METHOD_MAC_SC],
};

const ERRNO: Record<number, string> = {
  101: "Network is unreachable",
  110: "Connection timed out",
  111: "Connection refused",
  113: "No route to host",
};

const enc = new TextEncoder();
/** A NUL-terminated copy of `s` for C. */
function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(enc.encode(s).length + 1);
  enc.encodeInto(s, b);
  return b;
}

type Lib = Deno.DynamicLibrary<typeof LIBSSH2_SYMBOLS>["symbols"];
type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/**
 * The native handles and progress of one session: each handle is null
 * (fd -1) until made and again once freed.
 */
interface Live {
  fd: number;
  session: Deno.PointerValue;
  channel: Deno.PointerValue;
  exitCode: number | null;
  /** Commands completed with exit code 0. */
  commands: number;
  negotiated?: Negotiated;
  phase: Phase;
  readonly signal: AbortSignal;
  readonly reader: LineReader;
}

class Failure extends Error {
  constructor(readonly status: Status, message: string) {
    super(message);
  }
}

/**
 * The libssh2 client behind the {@linkcode SshClient} seam. Create it with
 * {@linkcode Libssh2Client.load}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Libssh2Client } from "./libssh2.ts";
 * const c = await Libssh2Client.load();
 * assert.ok(typeof c !== "string", c as string); // a notice when it is missing
 * assert.equal(c.name, "libssh2");
 * assert.match(c.version(), /^\d+\.\d+/);
 * ```
 */
export class Libssh2Client implements SshClient {
  readonly name = "libssh2";
  #ssh: Deno.DynamicLibrary<typeof LIBSSH2_SYMBOLS>;
  #libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
  #version: string;
  /** Names libssh2 supports, per kind of pin (client to server). */
  #supported: Record<PinKind, Set<string>>;

  private constructor(
    ssh: Deno.DynamicLibrary<typeof LIBSSH2_SYMBOLS>,
    libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>,
  ) {
    this.#ssh = ssh;
    this.#libc = libc;
    const rc = ssh.symbols.libssh2_init(0);
    if (rc !== 0) throw new Error(`libssh2_init failed: ${rc}`);
    const v = ssh.symbols.libssh2_version(0);
    this.#version = v ? Deno.UnsafePointerView.getCString(v) : "unknown";
    this.#supported = this.#supportedAlgs();
  }

  /** `libssh2_session_supported_algs` for each kind of pin, on a scratch session. */
  #supportedAlgs(): Record<PinKind, Set<string>> {
    const s: Lib = this.#ssh.symbols;
    const session = s.libssh2_session_init_ex(null, null, null, null);
    if (session === null) throw new Error("libssh2_session_init_ex failed");
    const read = (type: number): Set<string> => {
      const out = new BigUint64Array(1);
      const n = s.libssh2_session_supported_algs(
        session,
        type,
        new Uint8Array(out.buffer),
      );
      const arr = Deno.UnsafePointer.create(out[0]);
      const names = new Set<string>();
      if (n <= 0 || arr === null) return names;
      const view = new Deno.UnsafePointerView(arr);
      for (let i = 0; i < n; i++) {
        const p = Deno.UnsafePointer.create(view.getBigUint64(i * 8));
        if (p) names.add(Deno.UnsafePointerView.getCString(p));
      }
      s.libssh2_free(session, arr);
      return names;
    };
    try {
      return {
        kex: read(LIBSSH2_METHOD_KEX),
        hostKeyAlgorithms: read(LIBSSH2_METHOD_HOSTKEY),
        ciphers: read(LIBSSH2_METHOD_CRYPT_CS),
        macs: read(LIBSSH2_METHOD_MAC_CS),
      };
    } finally {
      s.libssh2_session_free(session);
    }
  }

  /**
   * Loads libssh2 and libc. When libssh2 cannot be loaded, returns a
   * one-line notice naming the package to install (nothing is installed
   * here: `.ci/setup` does that).
   */
  static load(): Promise<Libssh2Client | string> {
    try {
      return Promise.resolve(
        new Libssh2Client(
          Deno.dlopen("libssh2.so.1", LIBSSH2_SYMBOLS),
          Deno.dlopen("libc.so.6", LIBC_SYMBOLS),
        ),
      );
    } catch (e) {
      const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
      return Promise.resolve(
        `libssh2.so.1 cannot be loaded (${msg}); install the libssh2-1 package (run .ci/setup, or apt-get install libssh2-1)`,
      );
    }
  }

  version(): string {
    return this.#version;
  }

  #lastError(session: Deno.PointerValue): string {
    const msgPtr = new BigUint64Array(1);
    const len = new Int32Array(1);
    const code = this.#ssh.symbols.libssh2_session_last_error(
      session,
      new Uint8Array(msgPtr.buffer),
      new Uint8Array(len.buffer),
      0,
    );
    const p = Deno.UnsafePointer.create(msgPtr[0]);
    const text = p ? Deno.UnsafePointerView.getCString(p) : "";
    return `${text || "unknown error"} (libssh2 error ${code})`;
  }

  /** Opens a TCP connection; returns the fd or throws a Failure. */
  async #connect(
    host: string,
    port: number,
    timeoutMs: number,
    onFd: (fd: number) => void,
  ): Promise<number> {
    const c: Libc = this.#libc.symbols;
    let addr = host;
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(addr)) {
      try {
        addr = (await lookup(host, { family: 4 })).address;
      } catch (e) {
        throw new Failure(
          "connect_error",
          `connect: cannot resolve ${host}: ${(e as Error).message}`,
        );
      }
    }
    const fd = c.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Failure("connect_error", "connect: socket() failed");
    onFd(fd);
    const sa = new Uint8Array(16);
    const view = new DataView(sa.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    addr.split(".").forEach((o, i) => sa[4 + i] = Number(o));
    c.connect(fd, sa, 16); // returns -1/EINPROGRESS: completion via poll
    const pfd = new Uint8Array(8);
    const pv = new DataView(pfd.buffer);
    pv.setInt32(0, fd, true);
    pv.setInt16(4, POLLOUT, true);
    const ready = await c.poll(pfd, 1n, Math.ceil(timeoutMs));
    if (ready === 0) {
      throw new Failure("timeout", `connect: no answer within ${timeoutMs} ms`);
    }
    const err = new Int32Array(1);
    const errLen = new Uint32Array([4]);
    c.getsockopt(
      fd,
      SOL_SOCKET,
      SO_ERROR,
      new Uint8Array(err.buffer),
      new Uint8Array(errLen.buffer),
    );
    if (ready < 0 || err[0] !== 0) {
      throw new Failure(
        "connect_error",
        `connect: ${ERRNO[err[0]] ?? `errno ${err[0]}`}`,
      );
    }
    c.setsockopt(
      fd,
      IPPROTO_TCP,
      TCP_NODELAY,
      new Uint8Array(new Int32Array([1]).buffer),
      4,
    );
    return fd;
  }

  /** Throws the Failure for a libssh2 return code below 0, or an abort. */
  #check(live: Live, rc: number | bigint, status: Status, what: string): void {
    if (live.signal.aborted) {
      throw new Failure("timeout", `timed out during ${live.phase}`);
    }
    if (rc < 0) {
      const code = Number(rc);
      throw new Failure(
        code === LIBSSH2_ERROR_TIMEOUT || code === LIBSSH2_ERROR_SOCKET_TIMEOUT
          ? "timeout"
          : status,
        `${what}: ${this.#lastError(live.session)}`,
      );
    }
  }

  /**
   * What this session offers of each kind: the pins, else libssh2's
   * defaults, the known host key's algorithms first.
   */
  #offer(target: Target): Required<AlgorithmPins> {
    const pins = target.algorithms ?? {};
    const hostKeys = [...this.#supported.hostKeyAlgorithms];
    return {
      kex: pins.kex ?? [...this.#supported.kex],
      hostKeyAlgorithms: pins.hostKeyAlgorithms ??
        preferKnownHostKey(hostKeys, target.hostKeyBase64) ?? hostKeys,
      ciphers: pins.ciphers ?? [...this.#supported.ciphers],
      macs: pins.macs ?? [...this.#supported.macs],
    };
  }

  /**
   * The pinned algorithms as libssh2's preferences (before the handshake);
   * without a host-key pin, the known host key's algorithms first.
   */
  #pin(live: Live, target: Target): void {
    const preferred = target.algorithms?.hostKeyAlgorithms
      ? undefined
      : preferKnownHostKey(
        [...this.#supported.hostKeyAlgorithms],
        target.hostKeyBase64,
      );
    for (const [kind, types] of Object.entries(PIN_METHODS)) {
      const names = target.algorithms?.[kind as PinKind] ??
        (kind === "hostKeyAlgorithms" ? preferred : undefined);
      if (!names) continue;
      for (const type of types) {
        const rc = this.#ssh.symbols.libssh2_session_method_pref(
          live.session,
          type,
          cstr(names.join(",")),
        );
        this.#check(live, rc, "connect_error", "handshake: pinning " + kind);
      }
    }
  }

  /** What the handshake negotiated, in OpenSSH's names. */
  #negotiated(session: Deno.PointerValue): Negotiated {
    const method = (type: number): string => {
      const p = this.#ssh.symbols.libssh2_session_methods(session, type);
      return p ? Deno.UnsafePointerView.getCString(p) : "";
    };
    const cipher = method(LIBSSH2_METHOD_CRYPT_CS);
    return {
      kex: method(LIBSSH2_METHOD_KEX),
      hostKey: method(LIBSSH2_METHOD_HOSTKEY),
      cipher,
      mac: isAead(cipher) ? IMPLICIT_MAC : method(LIBSSH2_METHOD_MAC_CS),
    };
  }

  /** SSH handshake on the connected fd, then the host key check. */
  async #handshake(live: Live, target: Target, timeoutMs: number) {
    const s: Lib = this.#ssh.symbols;
    live.session = s.libssh2_session_init_ex(null, null, null, null);
    if (live.session === null) {
      throw new Failure("connect_error", "libssh2_session_init_ex failed");
    }
    s.libssh2_session_set_timeout(live.session, BigInt(timeoutMs));
    this.#pin(live, target);
    const rc = await s.libssh2_session_handshake(live.session, live.fd);
    if (
      (rc === LIBSSH2_ERROR_KEX_FAILURE ||
        rc === LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE) && !live.signal.aborted
    ) {
      const offer = await serverOffer(
        target.host,
        target.port,
        Math.min(timeoutMs, 5000),
      );
      const named = offer && noCommonAlgorithm(this.#offer(target), offer);
      if (named) {
        throw new Failure(
          "connect_error",
          `handshake: ${named}; ${this.#lastError(live.session)}`,
        );
      }
    }
    this.#check(live, rc, "connect_error", "handshake");
    live.negotiated = this.#negotiated(live.session);
    if (target.hostKeyBase64 === undefined) return;
    const len = new BigUint64Array(1);
    const type = new Int32Array(1);
    const key = s.libssh2_session_hostkey(
      live.session,
      new Uint8Array(len.buffer),
      new Uint8Array(type.buffer),
    );
    const raw = key
      ? new Uint8Array(
        Deno.UnsafePointerView.getArrayBuffer(key, Number(len[0])).slice(0),
      )
      : new Uint8Array();
    if (btoa(String.fromCharCode(...raw)) !== target.hostKeyBase64) {
      throw new Failure("connect_error", "handshake: host key does not match");
    }
  }

  /**
   * Public-key user auth from the target's key files, or with each key of
   * the target's ssh-agent in turn (libssh2_agent_*) until one is accepted.
   */
  async #auth(live: Live, target: Target) {
    const user = cstr(target.user);
    if (target.agentSocket) return await this.#agentAuth(live, target, user);
    this.#check(
      live,
      await this.#ssh.symbols.libssh2_userauth_publickey_fromfile_ex(
        live.session,
        user,
        user.length - 1,
        cstr(target.publicKeyFile ?? `${target.identityFile}.pub`),
        cstr(target.identityFile),
        cstr(""),
      ),
      "auth_error",
      "auth",
    );
  }

  async #agentAuth(live: Live, target: Target, user: Uint8Array) {
    const s: Lib = this.#ssh.symbols;
    const agent = s.libssh2_agent_init(live.session);
    if (agent === null) this.#check(live, -1, "auth_error", "agent init");
    try {
      s.libssh2_agent_set_identity_path(agent, cstr(target.agentSocket!));
      this.#check(
        live,
        await s.libssh2_agent_connect(agent),
        "auth_error",
        "agent connect",
      );
      this.#check(
        live,
        await s.libssh2_agent_list_identities(agent),
        "auth_error",
        "agent identities",
      );
      const store = new BigUint64Array(1);
      let prev: Deno.PointerValue = null;
      for (;;) {
        const rc = s.libssh2_agent_get_identity(
          agent,
          new Uint8Array(store.buffer),
          prev,
        );
        if (rc === 1) {
          throw new Failure(
            "auth_error",
            "auth: the server accepted none of the agent's keys",
          );
        }
        this.#check(live, rc, "auth_error", "agent identity");
        const id = Deno.UnsafePointer.create(store[0]);
        if (await s.libssh2_agent_userauth(agent, user, id) === 0) return;
        if (live.signal.aborted) this.#check(live, -1, "timeout", "auth");
        prev = id;
      }
    } finally {
      s.libssh2_agent_disconnect(agent);
      s.libssh2_agent_free(agent);
    }
  }

  /** Opens a session channel and execs `command` on it. */
  async #exec(live: Live, command: string) {
    const s: Lib = this.#ssh.symbols;
    live.channel = await s.libssh2_channel_open_ex(
      live.session,
      cstr("session"),
      7,
      2 * 1024 * 1024,
      32768,
      null,
      0,
    );
    if (live.channel === null) {
      this.#check(live, -1, "exec_error", "channel open");
    }
    // stderr is not read: ignored, libssh2 discards it and gives its
    // window back. Queued unread, it would fill the channel's window and
    // stall stdout behind it.
    this.#check(
      live,
      s.libssh2_channel_handle_extended_data2(
        live.channel,
        LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE,
      ),
      "exec_error",
      "channel open",
    );
    const cmd = cstr(command);
    this.#check(
      live,
      await s.libssh2_channel_process_startup(
        live.channel,
        cstr("exec"),
        4,
        cmd,
        cmd.length - 1,
      ),
      "exec_error",
      "exec",
    );
  }

  /** Reads stdout to EOF into `reader` (the first command's: the session's). */
  async #read(live: Live, reader: LineReader = live.reader) {
    const buf = new Uint8Array(32768);
    for (;;) {
      const n = await this.#ssh.symbols.libssh2_channel_read_ex(
        live.channel,
        0,
        buf,
        BigInt(buf.length),
      );
      this.#check(live, n, "read_error", "read");
      if (n === 0n) break;
      reader.push(buf.subarray(0, Number(n)));
    }
    reader.end();
  }

  /**
   * Closes the channel and waits for the server's close, takes the exit
   * status and frees the channel (cleared once freed, so `#release` does
   * not free it again); the session stays open.
   */
  async #closeChannel(live: Live) {
    const s: Lib = this.#ssh.symbols;
    this.#check(
      live,
      await s.libssh2_channel_close(live.channel),
      "read_error",
      "close",
    );
    this.#check(
      live,
      await s.libssh2_channel_wait_closed(live.channel),
      "read_error",
      "close",
    );
    live.exitCode = s.libssh2_channel_get_exit_status(live.channel);
    s.libssh2_channel_free(live.channel);
    live.channel = null;
  }

  /**
   * Runs command `j` of `k` (after the first) on a new channel: exec, read
   * to end of file, close; a failure names the command, and a nonzero exit
   * is one.
   */
  async #again(live: Live, command: string, j: number, k: number) {
    const named = (e: unknown): Failure => {
      const f = e instanceof Failure
        ? e
        : new Failure("read_error", (e as Error).message);
      return new Failure(f.status, `command ${j} of ${k}: ${f.message}`);
    };
    live.exitCode = null;
    try {
      await this.#exec(live, command);
      await this.#read(live, new LineReader());
      await this.#closeChannel(live);
    } catch (e) {
      throw named(e);
    }
    if (live.exitCode !== 0) {
      throw named(new Failure("exit_nonzero", `exit code ${live.exitCode}`));
    }
  }

  /**
   * Disconnects and frees the session and the socket (each handle is
   * cleared once freed, so `#release` does not free it again). Returns the
   * disconnect's error (e.g. the server closed the connection first), or
   * undefined.
   */
  async #disconnect(live: Live): Promise<string | undefined> {
    const s: Lib = this.#ssh.symbols;
    const rc = await s.libssh2_session_disconnect_ex(
      live.session,
      SSH_DISCONNECT_BY_APPLICATION,
      cstr("done"),
      cstr(""),
    );
    const error = rc < 0 && !live.signal.aborted
      ? `disconnect: ${this.#lastError(live.session)}`
      : undefined;
    s.libssh2_session_free(live.session);
    live.session = null;
    this.#libc.symbols.close(live.fd);
    live.fd = -1;
    return error;
  }

  /** Frees what a failed session still holds (nothing after `#close`). */
  #release(live: Live): void {
    if (live.channel !== null) {
      this.#ssh.symbols.libssh2_channel_free(live.channel);
    }
    if (live.session !== null) {
      this.#ssh.symbols.libssh2_session_free(live.session);
    }
    if (live.fd >= 0) this.#libc.symbols.close(live.fd);
  }

  async runSession(
    target: Target,
    ctx: SessionContext,
  ): Promise<SessionOutcome> {
    const { clock, signal } = ctx;
    const live: Live = {
      fd: -1,
      session: null,
      channel: null,
      exitCode: null,
      commands: 0,
      phase: "connect",
      signal,
      reader: new LineReader(),
    };
    const onAbort = () => {
      // Wakes a blocking call in flight; the fd is closed after it returns.
      if (live.fd >= 0) this.#libc.symbols.shutdown(live.fd, SHUT_RDWR);
    };
    signal.addEventListener("abort", onAbort);
    const { reader } = live;
    try {
      const unsupported = unsupportedPins(
        `libssh2 ${this.#version}`,
        target.algorithms,
        (kind, name) => this.#supported[kind].has(name),
      );
      if (unsupported) throw new Failure("connect_error", unsupported);
      live.fd = await this.#connect(
        target.host,
        target.port,
        ctx.timeoutMs,
        (f) => {
          live.fd = f;
        },
      );
      if (signal.aborted) {
        throw new Failure("timeout", "timed out during connect");
      }
      clock.mark("connect");
      live.phase = "auth";
      await this.#handshake(live, target, ctx.timeoutMs);
      await this.#auth(live, target);
      clock.mark("auth");
      live.phase = "exec";
      await this.#exec(live, target.command);
      clock.mark("exec");
      live.phase = "read";
      await this.#read(live);
      clock.mark("read");
      live.phase = "close";
      await this.#closeChannel(live);
      clock.mark("close");
      const first = live.exitCode;
      if (first === 0) {
        live.commands = 1;
        const k = commandsPerSession(target);
        if (k > 1) {
          live.phase = "reexec";
          for (let j = 2; j <= k; j++) {
            await this.#again(live, target.command, j, k);
            live.commands = j;
          }
          clock.mark("reexec");
        }
      }
      // After every command, or the first one's nonzero exit (as for K = 1).
      live.phase = "disconnect";
      const teardown = await this.#disconnect(live);
      clock.mark("disconnect");
      return {
        bytes: reader.bytes,
        lines: reader.lines,
        exitCode: first,
        status: first === 0 ? "ok" : "exit_nonzero",
        error: first === 0 ? "" : `exit code ${first}`,
        ...(teardown && { teardownError: teardown }),
        negotiated: live.negotiated,
        commands: live.commands,
      };
    } catch (e) {
      const f = e instanceof Failure
        ? e
        : new Failure("read_error", `${live.phase}: ${(e as Error).message}`);
      return {
        bytes: reader.bytes,
        lines: reader.lines,
        exitCode: live.exitCode,
        status: signal.aborted ? "timeout" : f.status,
        error: f.message,
        commands: live.commands,
        ...(live.negotiated && { negotiated: live.negotiated }),
      };
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#release(live);
    }
  }
}
