/** Helpers for tests against a real embedded sshd. */
import { TEMP_PREFIX } from "../src/server/embedded.ts";
import { BENCH_USER } from "../src/server/account.ts";

/** Temp dirs of embedded servers currently on disk. */
export function serverDirs(): string[] {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  return [...Deno.readDirSync(tmp)].filter((e) =>
    e.isDirectory && e.name.startsWith(TEMP_PREFIX)
  ).map((e) => `${tmp}/${e.name}`);
}

/** Fails if a server temp dir exists that was not in `before`. */
export function assertNoNewDirs(before: readonly string[]): void {
  const left = serverDirs().filter((d) => !before.includes(d));
  if (left.length > 0) throw new Error(`temp dirs left behind: ${left}`);
}

/**
 * Pids of sshd processes started from one of our temp dirs, and of session
 * processes serving the benchmark account (`sshd: ssh-bench...`).
 */
export function benchSshdPids(): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      if (
        (cmd.includes("sshd") && cmd.includes(TEMP_PREFIX)) ||
        cmd.startsWith(`sshd: ${BENCH_USER}`)
      ) {
        out.push(Number(e.name));
      }
    } catch {
      // gone
    }
  }
  return out;
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/** A fresh ed25519 key pair the server does not know. */
export async function strangerKey(): Promise<{ key: string; dir: string }> {
  const dir = await Deno.makeTempDir();
  const r = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/id`],
  }).output();
  if (r.code !== 0) throw new Error("ssh-keygen failed");
  return { key: `${dir}/id`, dir };
}

/**
 * Runs the bench CLI as a subprocess, no stdin (so never a terminal to
 * prompt on), with `env` added to this process's environment.
 */
export async function benchCli(
  args: string[],
  env: Record<string, string> = {},
  o: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      new URL("../src/cli/bench.ts", import.meta.url).pathname,
      ...args,
    ],
    env,
    cwd: o.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** A local TCP port with nothing listening on it. */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Waits until `<runDir>/rounds.csv` holds at least `n` rounds (header
 * aside); throws after `timeoutMs`.
 */
export async function waitForRounds(
  runDir: string,
  n: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const lines = Deno.readTextFileSync(`${runDir}/rounds.csv`).trim()
        .split("\n");
      if (lines.length - 1 >= n) return;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) {
      throw new Error(`no ${n} rounds written in ${timeoutMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
