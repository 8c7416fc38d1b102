/**
 * Servers other than OpenSSH for tests: dropbear (Debian `dropbear-bin`)
 * and tinysshd (Debian `tinysshd` under `tcpserver` from `ucspi-tcp`),
 * each on a free loopback port with a host key generated for it, logging
 * in to the benchmark account (`ssh-bench`, created by `.ci/setup`) with a
 * client key generated for it. Both servers read the login user's
 * `~/.ssh/authorized_keys` (neither can be told another file), so the
 * account's is written for the test and removed (or put back) at the end.
 * Root only: both servers switch to the login user.
 */
import { BENCH_USER } from "../src/server/account.ts";
import { closedPort } from "./server_helpers.ts";
import { GoServer } from "../src/server/go_server.ts";
import { run } from "../src/util/proc.ts";

/** A running server. */
export interface OtherServer {
  /** `dropbear` or `tinysshd`. */
  name: string;
  port: number;
  user: string;
  /** Client private key the account accepts. */
  identity: string;
  /** known_hosts from ssh-keyscan of the server. */
  knownHostsFile: string;
  /** Kills the server, removes its files and the authorized_keys. */
  stop(): Promise<void>;
}

/** Why these servers cannot run here, or undefined when they can. */
export function otherServersMissing(): string | undefined {
  if (Deno.uid() !== 0) return "not root";
  for (
    const bin of [
      "/usr/sbin/dropbear",
      "/usr/bin/dropbearkey",
      "/usr/sbin/tinysshd",
      "/usr/sbin/tinysshd-makekey",
      "/usr/bin/tcpserver",
    ]
  ) {
    try {
      Deno.statSync(bin);
    } catch {
      return `${bin} missing (run .ci/setup)`;
    }
  }
  return undefined;
}

/** The stdout of a command that must succeed. */
async function stdoutOf(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function home(user: string): string {
  for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const f = line.split(":");
    if (f[0] === user) return f[5];
  }
  throw new Error(`no account ${user} (run .ci/setup as root)`);
}

/** Writes the account's authorized_keys; returns how to undo it. */
async function authorize(
  user: string,
  pub: string,
): Promise<() => Promise<void>> {
  const ssh = `${home(user)}/.ssh`;
  const file = `${ssh}/authorized_keys`;
  let hadDir = true;
  let old: string | undefined;
  try {
    await Deno.stat(ssh);
  } catch {
    hadDir = false;
  }
  try {
    old = await Deno.readTextFile(file);
  } catch {
    // none
  }
  await Deno.mkdir(ssh, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(file, pub, { mode: 0o600 });
  await stdoutOf("chown", ["-R", `${user}:`, ssh]);
  return async () => {
    if (!hadDir) await Deno.remove(ssh, { recursive: true }).catch(() => {});
    else if (old !== undefined) await Deno.writeTextFile(file, old);
    else await Deno.remove(file).catch(() => {});
  };
}

async function waitForPort(port: number, child: Deno.ChildProcess) {
  for (let i = 0; i < 250; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  child.kill("SIGKILL");
  throw new Error(`server on port ${port} did not start`);
}

/**
 * Starts `name` on a free loopback port: dropbear, tinysshd, or the
 * project's own Go server on golang.org/x/crypto/ssh (as an external
 * server here: its commands run through /bin/sh).
 */
export async function startOtherServer(
  name: "dropbear" | "tinysshd" | "go",
): Promise<OtherServer> {
  if (name === "go") {
    const s = await GoServer.start({ maxPool: 3, payloadBytes: 100 });
    return {
      name,
      port: s.target.port,
      user: s.target.user,
      identity: s.target.identityFile,
      knownHostsFile: s.target.knownHostsFile!,
      stop: () => s.stop(),
    };
  }
  const dir = await Deno.makeTempDir({ prefix: `ssh-bench-${name}-` });
  const port = closedPort();
  let child: Deno.ChildProcess | undefined;
  let unauthorize: (() => Promise<void>) | undefined;
  try {
    const identity = `${dir}/id_ed25519`;
    await stdoutOf("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-f",
      identity,
    ]);
    unauthorize = await authorize(
      BENCH_USER,
      await Deno.readTextFile(`${identity}.pub`),
    );
    let argv: string[];
    if (name === "dropbear") {
      await stdoutOf("dropbearkey", [
        "-t",
        "ed25519",
        "-f",
        `${dir}/host_ed25519`,
      ]);
      // -s: no password logins; -F -E: foreground, log to stderr.
      argv = [
        "dropbear",
        "-F",
        "-E",
        "-s",
        "-p",
        `127.0.0.1:${port}`,
        "-r",
        `${dir}/host_ed25519`,
        "-P",
        `${dir}/dropbear.pid`,
      ];
    } else {
      await stdoutOf("tinysshd-makekey", [`${dir}/keys`]);
      // -H -R: no DNS or ident look-ups; -D: TCP_NODELAY; -l0: local name.
      argv = [
        "tcpserver",
        "-HRDl0",
        "127.0.0.1",
        String(port),
        "tinysshd",
        `${dir}/keys`,
      ];
    }
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port, child);
    const scan = await stdoutOf("ssh-keyscan", [
      "-p",
      String(port),
      "-t",
      "ed25519",
      "127.0.0.1",
    ]);
    const knownHostsFile = `${dir}/known_hosts`;
    await Deno.writeTextFile(knownHostsFile, scan);
    const c = child;
    const undo = unauthorize;
    return {
      name,
      port,
      user: BENCH_USER,
      identity,
      knownHostsFile,
      stop: async () => {
        try {
          c.kill("SIGTERM");
        } catch {
          // gone
        }
        await c.status;
        await undo();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (e) {
    try {
      child?.kill("SIGKILL");
      await child?.status;
    } catch {
      // gone
    }
    await unauthorize?.();
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}
