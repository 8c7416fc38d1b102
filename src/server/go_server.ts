/**
 * The embedded Go server (`--server-impl go`): `build/ssh-bench-server`
 * (src/server/go/server.go, on golang.org/x/crypto/ssh) as the benchmark
 * account, on 127.0.0.1 (or the namespace's address) and a port the kernel
 * chooses, with a host key generated in memory per run, the run's client
 * key as the only key of the only user, in a CPU cgroup of its own, dying
 * with this process (`setpriv --pdeathsig`).
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import { makePayload, payloadShape } from "./payload.ts";
import { descendants, pidAlive, run, which } from "../util/proc.ts";
import type { AlgorithmPins, Target } from "../clients/seam.ts";
import { loginUser } from "./account.ts";
import { cgroupName, CpuCgroup } from "../util/cpu_cgroup.ts";
import { makeOwnedTempDir } from "../util/owned_dirs.ts";
import { onExit } from "../util/exit_hooks.ts";
import { killPids } from "../util/owner.ts";
import { ensureGoServer } from "./go_program.ts";
import { serverCpuMs, stopServerTree } from "./stop_tree.ts";
import type { ServerOptions } from "./embedded.ts";

/** What the Go server can negotiate (its `-list`). */
export interface GoSupported {
  /** Key exchange methods. */
  kex: string[];
  /** Ciphers. */
  ciphers: string[];
  /** MACs. */
  macs: string[];
  /** Host key algorithms (one key of the first pinned type is made). */
  host_key_algorithms: string[];
  /** x/crypto's version, as linked in. */
  xcrypto: string;
}

const PIN_FLAGS: Record<keyof AlgorithmPins, [keyof GoSupported, string]> = {
  kex: ["kex", "--kex"],
  ciphers: ["ciphers", "--ciphers"],
  macs: ["macs", "--macs"],
  hostKeyAlgorithms: ["host_key_algorithms", "--host-key-algorithms"],
};

/**
 * Why the Go server cannot honour `pins` (one line naming the flag, the
 * names it lacks and what it has), or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pinProblem } from "./go_server.ts";
 * const has = { kex: ["curve25519-sha256"], ciphers: ["aes128-ctr"], macs: ["hmac-sha2-256"],
 *   host_key_algorithms: ["ssh-ed25519"], xcrypto: "0.4.0" };
 * assert.equal(pinProblem({ kex: ["curve25519-sha256"] }, has), undefined);
 * assert.match(pinProblem({ kex: ["sntrup761x25519-sha512@openssh.com"] }, has)!,
 *   /^--kex sntrup761x25519-sha512@openssh.com: the go server \(x\/crypto 0.4.0\) has none of it; it has curve25519-sha256; /);
 * ```
 */
export function pinProblem(
  pins: AlgorithmPins | undefined,
  has: GoSupported,
): string | undefined {
  for (const [kind, [key, flag]] of Object.entries(PIN_FLAGS)) {
    const names = pins?.[kind as keyof AlgorithmPins];
    if (!names) continue;
    const list = has[key] as string[];
    if (!names.some((n) => list.includes(n))) {
      return `${flag} ${
        names.join(",")
      }: the go server (x/crypto ${has.xcrypto}) has none of it; it has ${
        list.join(",")
      }; pin one of those, or use --server-impl openssh`;
    }
  }
  return undefined;
}

/**
 * The pinned names the server has, in the pin's order; null (x/crypto's
 * defaults) when nothing is pinned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usablePins } from "./go_server.ts";
 * assert.deepEqual(usablePins(["sntrup761x25519-sha512@openssh.com", "curve25519-sha256"],
 *   ["curve25519-sha256", "ecdh-sha2-nistp256"]), ["curve25519-sha256"]);
 * assert.equal(usablePins(undefined, ["a"]), null);
 * ```
 */
export function usablePins(
  pins: readonly string[] | undefined,
  has: readonly string[],
): string[] | null {
  return pins ? pins.filter((n) => has.includes(n)) : null;
}

/** The account's uid, gid and home from `getent passwd`. */
async function account(
  user: string,
): Promise<{ uid: number; gid: number; home: string }> {
  const r = await run("getent", ["passwd", user]);
  const f = r.stdout.trim().split(":");
  if (r.code !== 0 || f.length < 7) {
    throw new UsageError(
      `the login account ${user} does not exist: run .ci/setup as root`,
    );
  }
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
}

/** Reads one line from a byte stream (the server's ready line). */
async function firstLine(
  stream: ReadableStream<Uint8Array>,
): Promise<string | undefined> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      buf += value;
      const i = buf.indexOf("\n");
      if (i >= 0) return buf.slice(0, i);
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * A running Go server and its temp dir.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GoServer } from "./go_server.ts";
 * const server = await GoServer.start({ maxPool: 4, payloadBytes: 26_000 });
 * try {
 *   assert.equal(server.impl, "go");
 *   assert.equal(server.target.host, "127.0.0.1");
 *   assert.match(server.version, /^Go x\/crypto\/ssh \d/);
 *   assert.match(server.target.command, /^cat \/.*\/payload\.txt$/);
 *   assert.ok(server.running && server.cpuMs()! >= 0);
 * } finally {
 *   await server.stop();
 * }
 * assert.equal(server.running, false);
 * ```
 */
export class GoServer {
  /** Always `go`. */
  readonly impl = "go" as const;
  /** Where sessions go; the command is `cat <payload>` by default. */
  readonly target: Target;
  /** The temp directory (removed by `stop`). */
  readonly dir: string;
  /** `Go x/crypto/ssh 0.4.0 (go1.19.8)`. */
  readonly version: string;
  /** The configuration sent to the server, as JSON. */
  readonly config: string;
  /** Expected payload bytes and lines. */
  readonly payload: { bytes: number; lines: number };
  /** Resolves once the server exits. */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #cgroup?: CpuCgroup;
  #stopped = false;
  #log: Promise<void>;
  #offExit: () => void;

  private constructor(p: {
    target: Target;
    dir: string;
    version: string;
    config: string;
    payload: { bytes: number; lines: number };
    child: Deno.ChildProcess;
    cgroup?: CpuCgroup;
    log: Promise<void>;
    offExit: () => void;
  }) {
    this.target = p.target;
    this.dir = p.dir;
    this.version = p.version;
    this.config = p.config;
    this.payload = p.payload;
    this.#child = p.child;
    this.#cgroup = p.cgroup;
    this.#log = p.log;
    this.#offExit = p.offExit;
    this.exited = p.child.status;
  }

  /** Process id of the server. */
  get pid(): number {
    return this.#child.pid;
  }

  /** How its CPU is read. */
  get cpuMethod(): "cgroup" | "proc" {
    return this.#cgroup ? "cgroup" : "proc";
  }

  /** What this build of the server can negotiate. */
  static async supported(): Promise<GoSupported> {
    const bin = await ensureGoServer();
    const r = await run(bin, ["-list"]);
    if (r.code !== 0) {
      throw new UsageError(
        `build/ssh-bench-server -list failed (${r.stderr.trim()}); rebuild it with .ci/setup`,
      );
    }
    return JSON.parse(r.stdout) as GoSupported;
  }

  /**
   * Builds the server if needed, makes the client key and payload, starts
   * the server and waits for its ready line (10 s at most). Throws
   * {@linkcode UsageError} for pins it cannot honour, a missing toolchain
   * or account, and a server that will not start.
   */
  static async start(opts: ServerOptions): Promise<GoServer> {
    if (opts.profile === "stock" || opts.maxStartups !== undefined) {
      throw new UsageError(
        `${
          opts.profile === "stock"
            ? "--server-profile"
            : "--server-max-startups"
        } applies to the openssh server only; drop it or use --server-impl openssh`,
      );
    }
    const bin = await ensureGoServer();
    const has = await GoServer.supported();
    const bad = pinProblem(opts.algorithms, has);
    if (bad) throw new UsageError(bad);
    const keygen = which("ssh-keygen");
    if (!keygen) {
      throw new UsageError(
        "ssh-keygen not found: install openssh-client (run .ci/setup)",
      );
    }
    const user = await loginUser();
    const acct = await account(user);
    // An owned folder (the next run's start removes it once this process
    // is proven dead); a forced exit (a second Ctrl-C) removes it at once.
    const dir = await makeOwnedTempDir("sshd");
    let cgroup: CpuCgroup | undefined;
    let pid: number | undefined;
    const offExit = onExit(() => {
      if (pid) killPids([pid, ...descendants(pid)]);
      cgroup?.killAndRemoveSync();
      Deno.removeSync(dir, { recursive: true });
    });
    try {
      await Deno.chmod(dir, 0o755);
      await Deno.writeTextFile(`${dir}/owner.pid`, String(Deno.pid));
      const kg = await run(keygen, [
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "ssh-bench",
        "-f",
        `${dir}/client_ed25519`,
      ]);
      if (kg.code !== 0) {
        throw new UsageError(`ssh-keygen failed: ${kg.stderr.trim()}`);
      }
      const text = makePayload(opts.payloadBytes);
      const payloadPath = `${dir}/payload.txt`;
      await Deno.writeTextFile(payloadPath, text, { mode: 0o644 });
      await Deno.chmod(payloadPath, 0o644);
      const command = (opts.command ?? "cat {payload}").replaceAll(
        "{payload}",
        payloadPath,
      );
      const host = opts.listenAddress ?? "127.0.0.1";
      const hostKeyType = opts.algorithms?.hostKeyAlgorithms?.find((a) =>
        has.host_key_algorithms.includes(a)
      ) ?? "ssh-ed25519";
      const config = {
        listen: host,
        user,
        home: acct.home,
        authorized_key: (await Deno.readTextFile(`${dir}/client_ed25519.pub`))
          .trim(),
        payload_command: `cat ${payloadPath}`,
        payload_file: payloadPath,
        host_key_type: hostKeyType,
        // Only the pinned names it has: x/crypto would offer the others
        // and then fail the handshake (kex) or the connection (MACs).
        kex: usablePins(opts.algorithms?.kex, has.kex),
        ciphers: usablePins(opts.algorithms?.ciphers, has.ciphers),
        macs: usablePins(opts.algorithms?.macs, has.macs),
        // As the embedded sshd: no pool is dropped, 10 sessions per
        // connection, sshd's MaxAuthTries and a bound on the handshake.
        max_startups: Math.max(100, opts.maxPool * 2 + 10),
        max_sessions: 10,
        handshake_timeout_ms: 60_000,
        max_auth_tries: 6,
      };
      const configText = JSON.stringify(config, null, 2);
      cgroup = CpuCgroup.create(cgroupName(`gosrv-${dir.split("/").pop()}`));
      const setpriv = which("setpriv");
      // pdeathsig: it dies with this process, SIGKILL included. The
      // credential change of the inner setpriv clears it, so the inner one
      // sets it again after dropping to the account.
      const drop = Deno.uid() === 0
        ? [
          setpriv ?? "setpriv",
          `--reuid=${acct.uid}`,
          `--regid=${acct.gid}`,
          "--init-groups",
          "--pdeathsig",
          "KILL",
          "--",
        ]
        : [];
      const argv = [
        ...(setpriv ? [setpriv, "--pdeathsig", "KILL", "--"] : []),
        ...(opts.wrap ?? []),
        ...drop,
        bin,
        "-run-dir",
        // With its slash: the stale sweep finds a dead run's server by it.
        `${dir}/`,
      ];
      const child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        clearEnv: true,
        env: { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      pid = child.pid;
      try {
        cgroup?.add(child.pid);
      } catch {
        // counted from /proc instead
      }
      await Deno.writeTextFile(`${dir}/sshd.pid`, String(child.pid));
      const logFile = await Deno.open(`${dir}/server.log`, {
        create: true,
        append: true,
      });
      const log = child.stderr.pipeTo(logFile.writable).catch(() => {});
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(configText + "\n")).catch(
        () => {},
      );
      await w.close().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const line = await Promise.race([
        firstLine(child.stdout),
        child.status.then(() =>
          undefined
        ),
        new Promise<undefined>((r) => {
          timer = setTimeout(() => r(undefined), 10_000);
        }),
      ]);
      clearTimeout(timer);
      if (line === undefined) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
        await log;
        const tail = (await Deno.readTextFile(`${dir}/server.log`)).trim()
          .split("\n").pop();
        throw new UsageError(
          `the embedded Go server did not start: ${
            tail || "no log"
          }; check that build/ssh-bench-server runs (.ci/setup rebuilds it)`,
        );
      }
      child.stdout.cancel().catch(() => {});
      const ready = JSON.parse(line) as {
        port: number;
        host_key: string;
        version: string;
        go?: string;
      };
      const [keyType, keyB64] = ready.host_key.split(" ");
      const target: Target = {
        host,
        port: ready.port,
        user,
        identityFile: `${dir}/client_ed25519`,
        publicKeyFile: `${dir}/client_ed25519.pub`,
        command,
        knownHostsFile: `${dir}/known_hosts`,
        hostKeyBase64: keyB64,
        algorithms: opts.algorithms,
      };
      await Deno.writeTextFile(
        target.knownHostsFile!,
        `[${host}]:${ready.port} ${keyType} ${keyB64}\n`,
      );
      return new GoServer({
        target,
        dir,
        version: `Go x/crypto/ssh ${ready.version}${
          ready.go ? ` (${ready.go})` : ""
        }`,
        config: configText,
        payload: payloadShape(text),
        child,
        cgroup,
        log,
        offExit,
      });
    } catch (e) {
      offExit();
      if (pid) killPids([pid]);
      await cgroup?.killAndRemove();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /** CPU time of the server, ms (its cgroup, else /proc). */
  cpuMs(): number | undefined {
    return serverCpuMs(this.pid, this.#cgroup, this.#stopped);
  }

  /** True while the server runs. */
  get running(): boolean {
    if (this.#stopped || !pidAlive(this.pid)) return false;
    try {
      const s = Deno.readTextFileSync(`/proc/${this.pid}/stat`);
      return s[s.lastIndexOf(")") + 2] !== "Z";
    } catch {
      return false;
    }
  }

  /** The server's log so far. */
  async log(): Promise<string> {
    return await Deno.readTextFile(`${this.dir}/server.log`).catch(() => "");
  }

  /** Stops the server and the commands it runs, removes its temp dir. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await stopServerTree({
      child: this.#child,
      cgroup: this.#cgroup,
      dir: this.dir,
      offExit: this.#offExit,
      drained: this.#log,
    });
  }
}
