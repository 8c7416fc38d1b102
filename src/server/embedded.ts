/**
 * The embedded OpenSSH server: a private `sshd` on 127.0.0.1 and an
 * ephemeral port, configured from a commented template in a temp directory
 * that holds its host key, the client key, `authorized_keys` and the payload.
 * Stopped and removed by {@linkcode EmbeddedServer.stop}.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import { makePayload, payloadShape } from "./payload.ts";
import { descendants, pidAlive, run, which } from "../util/proc.ts";
import type { AlgorithmPins, Target } from "../clients/seam.ts";
import { opensshVersion } from "../util/ssh_version.ts";
import { loginUser } from "./account.ts";
import { sshdConfig } from "./sshd_config.ts";
import { cgroupName, CpuCgroup } from "../util/cpu_cgroup.ts";
import { makeOwnedTempDir } from "../util/owned_dirs.ts";
import { onExit } from "../util/exit_hooks.ts";
import { serverCpuMs, stopServerTree } from "./stop_tree.ts";
import { killPids } from "../util/owner.ts";

// The login account is checked in account.ts; re-exported for callers.
export { BENCH_USER } from "./account.ts";
/**
 * Prefix of every temp directory the server creates (the owner's pid and
 * start time follow, see `util/owned_dirs.ts`). Distinct from other
 * `ssh-bench-` temp dirs (such as the synthetic data's), which the sweep of
 * stale dirs at a run's start (`run/stale.ts`) must not remove.
 */
export const TEMP_PREFIX = "ssh-bench-sshd-";

/** Options for {@linkcode EmbeddedServer.start}. */
export interface ServerOptions {
  /** Largest pool the run will use; connection limits are sized from it. */
  maxPool: number;
  /** Passed to `MaxStartups` unchanged when set (e.g. OpenSSH's `10:30:100`). */
  maxStartups?: string;
  /** Payload size in bytes. */
  payloadBytes: number;
  /** Command to run; `{payload}` is replaced by the payload's path. */
  command?: string;
  /** `lean` (default) or `stock`; see `SshdConfigOptions.profile`. */
  profile?: "lean" | "stock";
  /** Algorithms to pin, in sshd_config and on the target. */
  algorithms?: AlgorithmPins;
  /** Address to listen on and connect to (default 127.0.0.1). */
  listenAddress?: string;
  /**
   * Command prefix that runs sshd elsewhere, e.g. in a network namespace
   * (`["ip", "netns", "exec", "ns1"]`).
   */
  wrap?: string[];
  /** Extra sshd_config lines (tests). */
  extraConfig?: string;
}

/** The server profile as run (kept in meta.json). */
export interface ServerProfileInfo {
  /** `lean` or `stock`. */
  name: "lean" | "stock";
  /** Extra sshd command-line flags (e.g. `-r`). */
  flags: string[];
  /** What the profile changed on this sshd, one line. */
  note: string;
}

/** What a profile means on this sshd. */
async function profileInfo(
  sshd: string,
  dir: string,
  name: "lean" | "stock",
): Promise<ServerProfileInfo> {
  if (name === "stock") {
    return {
      name,
      flags: [],
      note:
        "OpenSSH's defaults; re-exec per connection as sshd does by default",
    };
  }
  return await supportsNoReexec(sshd, dir)
    ? {
      name,
      flags: ["-r"],
      note: "no re-exec per connection (-r), plus the config's lean lines",
    }
    : {
      name,
      flags: [],
      note:
        "this sshd cannot skip re-exec (no -r from OpenSSH 9.8 on: sshd-session runs per connection); the config's lean lines apply",
    };
}

/**
 * Whether this sshd has `-r` (no re-exec per connection; OpenSSH up to
 * 9.7). From 9.8 on, sshd always executes a separate `sshd-session` per
 * connection and `-r` is gone.
 */
async function supportsNoReexec(sshd: string, dir: string): Promise<boolean> {
  const probe = `${dir}/probe_config`;
  await Deno.writeTextFile(probe, `HostKey ${dir}/host_ed25519\n`);
  const r = await run(sshd, ["-t", "-r", "-f", probe]);
  await Deno.remove(probe);
  return r.code === 0;
}

/**
 * Paths of `sshd` and `ssh-keygen`; throws {@linkcode UsageError} naming
 * the package to install when one is missing (nothing is installed here).
 */
function findOpenSsh(): { sshd: string; keygen: string } {
  const sshd = which("sshd");
  if (!sshd) {
    throw new UsageError(
      "sshd not found: install openssh-server (run .ci/setup, or apt-get install openssh-server), or use --target for an existing server",
    );
  }
  const keygen = which("ssh-keygen");
  if (!keygen) {
    throw new UsageError(
      "ssh-keygen not found: install openssh-client (run .ci/setup, or apt-get install openssh-client), or use --target for an existing server",
    );
  }
  return { sshd, keygen };
}

/**
 * Generates the host and client keys in `dir` and authorizes the client
 * key; returns the host public key as `[type, base64]`.
 */
async function makeKeys(keygen: string, dir: string): Promise<string[]> {
  for (const k of ["host_ed25519", "client_ed25519"]) {
    const r = await run(keygen, [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "ssh-bench",
      "-f",
      `${dir}/${k}`,
    ]);
    if (r.code !== 0) {
      throw new UsageError(`ssh-keygen failed: ${r.stderr.trim()}`);
    }
  }
  const clientPub = await Deno.readTextFile(`${dir}/client_ed25519.pub`);
  await Deno.writeTextFile(`${dir}/authorized_keys`, clientPub, {
    mode: 0o644,
  });
  await Deno.chmod(`${dir}/authorized_keys`, 0o644);
  return (await Deno.readTextFile(`${dir}/host_ed25519.pub`)).trim().split(
    " ",
  );
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function supportsPenalties(sshd: string, dir: string): Promise<boolean> {
  const probe = `${dir}/probe_config`;
  await Deno.writeTextFile(
    probe,
    `HostKey ${dir}/host_ed25519\nPerSourcePenalties no\n`,
  );
  const r = await run(sshd, ["-t", "-f", probe]);
  await Deno.remove(probe);
  return r.code === 0;
}

async function waitForBanner(
  hostname: string,
  port: number,
  deadline: number,
): Promise<boolean> {
  while (performance.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname, port });
      try {
        const buf = new Uint8Array(64);
        const n = await conn.read(buf);
        if (
          n && new TextDecoder().decode(buf.subarray(0, n)).startsWith("SSH-")
        ) {
          return true;
        }
      } finally {
        conn.close();
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/**
 * Starts sshd from `dir` on a free port, with the config `configFor(port)`,
 * and waits up to 10 s for its banner. Tries another port (3 tries in all)
 * when the one chosen was taken meanwhile; otherwise throws
 * {@linkcode UsageError} with the last line of sshd's log.
 */
async function spawnSshd(
  sshd: string,
  dir: string,
  configFor: (port: number) => string,
  o: {
    flags: string[];
    wrap: string[];
    host: string;
    onSpawn?: (pid: number) => void;
  },
): Promise<{ child: Deno.ChildProcess; port: number; config: string }> {
  const setpriv = which("setpriv");
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const config = configFor(port);
    await Deno.writeTextFile(`${dir}/sshd_config`, config);
    const args = [
      "-D",
      ...o.flags,
      "-f",
      `${dir}/sshd_config`,
      "-E",
      `${dir}/sshd.log`,
    ];
    // setpriv --pdeathsig: sshd dies with this process even on SIGKILL.
    const argv = [
      ...(setpriv ? [setpriv, "--pdeathsig", "TERM", "--"] : []),
      ...o.wrap,
      sshd,
      ...args,
    ];
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    o.onSpawn?.(child.pid);
    await Deno.writeTextFile(`${dir}/sshd.pid`, String(child.pid));
    const ready = await Promise.race([
      waitForBanner(o.host, port, performance.now() + 10_000),
      child.status.then(() => false),
    ]);
    if (ready) return { child, port, config };
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    const log = await Deno.readTextFile(`${dir}/sshd.log`).catch(() => "");
    if (attempt >= 3 || !/Address already in use/.test(log)) {
      throw new UsageError(
        `the embedded sshd did not start: ${
          log.trim().split("\n").pop() || "no log"
        }; check that ${sshd} runs (sshd -t -f ${dir}/sshd_config)`,
      );
    }
  }
}

/**
 * A running private sshd and everything it needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EmbeddedServer } from "./embedded.ts";
 * const server = await EmbeddedServer.start({ maxPool: 10, payloadBytes: 26_000 });
 * try {
 *   assert.equal(server.target.host, "127.0.0.1");
 *   assert.ok(server.running && server.target.port > 0);
 *   assert.match(server.version, /^OpenSSH_/);
 *   assert.deepEqual(server.payload.bytes, 26_000);
 *   assert.match(server.target.command, /^cat \/.*\/payload\.txt$/);
 * } finally {
 *   await server.stop();
 * }
 * assert.equal(server.running, false);
 * ```
 */
export class EmbeddedServer {
  /** Always `openssh` (see `server.ts`). */
  readonly impl = "openssh" as const;
  /** Where sessions should go; the command is `cat <payload>` by default. */
  readonly target: Target;
  /** The temp directory (removed by `stop`). */
  readonly dir: string;
  /** `OpenSSH_x.y` as reported by `sshd -V`. */
  readonly version: string;
  /** The sshd_config text in use. */
  readonly config: string;
  /** Payload path on the server. */
  readonly payloadPath: string;
  /** Expected payload bytes and lines, to check clients against. */
  readonly payload: { bytes: number; lines: number };
  #child: Deno.ChildProcess;
  #pid: number;
  #stopped = false;
  /** Resolves with the exit status once sshd exits. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** The profile in use, the extra sshd flags, and what they mean here. */
  readonly profile: ServerProfileInfo;
  #cgroup?: CpuCgroup;
  #offExit: () => void;

  /**
   * How server CPU is read: `cgroup` (sshd's whole process tree, exited
   * processes included) or `proc` (the listener and its reaped children).
   */
  get cpuMethod(): "cgroup" | "proc" {
    return this.#cgroup ? "cgroup" : "proc";
  }

  private constructor(p: {
    target: Target;
    dir: string;
    version: string;
    config: string;
    payloadPath: string;
    payload: { bytes: number; lines: number };
    child: Deno.ChildProcess;
    profile: ServerProfileInfo;
    cgroup?: CpuCgroup;
    offExit: () => void;
  }) {
    this.#offExit = p.offExit;
    this.profile = p.profile;
    this.#cgroup = p.cgroup;
    this.target = p.target;
    this.dir = p.dir;
    this.version = p.version;
    this.config = p.config;
    this.payloadPath = p.payloadPath;
    this.payload = p.payload;
    this.#child = p.child;
    this.#pid = p.child.pid;
    this.exited = p.child.status;
  }

  /** Process id of the sshd listener. */
  get pid(): number {
    return this.#pid;
  }

  /**
   * Generates keys and config, starts sshd and waits for its banner.
   * Throws {@linkcode UsageError} when sshd or the login account is missing
   * or unusable, or sshd will not start. Changes nothing outside its temp
   * directory (as root it makes sure sshd's /run/sshd exists).
   */
  static async start(opts: ServerOptions): Promise<EmbeddedServer> {
    let cgroup: CpuCgroup | undefined;
    const { sshd, keygen } = findOpenSsh();
    const user = await loginUser();
    const dir = await makeOwnedTempDir("sshd");
    // Until stop() (or the catch below): a forced exit (Deno.exit on a
    // second Ctrl-C) skips both, so sshd, its sessions, its cgroup and the
    // dir go then.
    let pid: number | undefined;
    const offExit = onExit(() => {
      if (pid) killPids([pid, ...descendants(pid)]);
      cgroup?.killAndRemoveSync();
      Deno.removeSync(dir, { recursive: true });
    });
    try {
      // Older versions' clean-up takes a server dir without owner.pid for
      // an abandoned one: written first.
      await Deno.writeTextFile(`${dir}/owner.pid`, String(Deno.pid));
      // Readable by the login account (sshd reads authorized_keys as it).
      await Deno.chmod(dir, 0o755);
      const hostPub = await makeKeys(keygen, dir);
      const text = makePayload(opts.payloadBytes);
      const payloadPath = `${dir}/payload.txt`;
      await Deno.writeTextFile(payloadPath, text);
      await Deno.chmod(payloadPath, 0o644);
      const version = (await opensshVersion(sshd)) ?? "unknown";
      const penalties = await supportsPenalties(sshd, dir);
      if (Deno.uid() === 0) {
        // Debian's sshd refuses to start without its privilege separation dir.
        await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
      }
      const maxStartups = opts.maxStartups ??
        String(Math.max(100, opts.maxPool * 2 + 10));
      const profile = await profileInfo(sshd, dir, opts.profile ?? "lean");
      cgroup = CpuCgroup.create(cgroupName(`sshd-${dir.split("/").pop()}`));
      const host = opts.listenAddress ?? "127.0.0.1";
      const { child, port, config } = await spawnSshd(
        sshd,
        dir,
        (port) =>
          sshdConfig({
            dir,
            port,
            user,
            maxStartups,
            maxSessions: 10,
            penalties,
            profile: profile.name,
            listenAddress: host,
            algorithms: opts.algorithms,
            extra: opts.extraConfig,
          }),
        {
          flags: profile.flags,
          wrap: opts.wrap ?? [],
          host,
          onSpawn: (p) => {
            pid = p;
            try {
              cgroup?.add(p);
            } catch {
              // counted from /proc instead
            }
          },
        },
      );
      const target: Target = {
        host,
        port,
        user,
        identityFile: `${dir}/client_ed25519`,
        publicKeyFile: `${dir}/client_ed25519.pub`,
        command: (opts.command ?? "cat {payload}").replaceAll(
          "{payload}",
          payloadPath,
        ),
        knownHostsFile: `${dir}/known_hosts`,
        hostKeyBase64: hostPub[1],
        algorithms: opts.algorithms,
      };
      await Deno.writeTextFile(
        target.knownHostsFile!,
        `[${host}]:${port} ${hostPub[0]} ${hostPub[1]}\n`,
      );
      return new EmbeddedServer({
        target,
        dir,
        version,
        config,
        payloadPath,
        payload: payloadShape(text),
        child,
        profile,
        cgroup,
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

  /**
   * CPU time of sshd in ms: its cgroup's usage (every process of its tree,
   * exited ones included) where it has one, else the listener's own and
   * its reaped children's from /proc (undefined once sshd has exited).
   */
  cpuMs(): number | undefined {
    return serverCpuMs(this.#pid, this.#cgroup, this.#stopped);
  }

  /** True while the sshd listener runs. */
  get running(): boolean {
    return !this.#stopped && pidAlive(this.#pid) &&
      procState(this.#pid) !== "Z";
  }

  /** The server's log so far (errors only). */
  async log(): Promise<string> {
    return await Deno.readTextFile(`${this.dir}/sshd.log`).catch(() => "");
  }

  /**
   * Kills sshd: the listener and every process under it (per-connection
   * monitors, their session processes, the commands they run), then
   * removes the temp dir.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await stopServerTree({
      child: this.#child,
      cgroup: this.#cgroup,
      dir: this.dir,
      offExit: this.#offExit,
    });
  }
}

function procState(pid: number): string {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3);
  } catch {
    return "";
  }
}
