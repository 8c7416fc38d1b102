/**
 * The keys users have, made usable by every client once per run: an
 * encrypted identity file is decrypted once (`ssh-keygen -p` on a copy in
 * memory that dies with the run), so no session pays for the
 * key-derivation function and no decrypted key is ever on disk; an
 * ssh-agent's pid is found from its socket, so its signing CPU can be
 * counted for the client that used it.
 *
 * @module
 */
import { UsageError } from "../util/errors.ts";
import { MemoryFile } from "../util/memory_file.ts";
import { run, type RunResult } from "../util/proc.ts";

/** Environment variable a passphrase for `--identity` is read from. */
export const PASSPHRASE_ENV = "SSH_BENCH_PASSPHRASE";

let stashed: string | undefined;

/**
 * Moves {@linkcode PASSPHRASE_ENV} out of this process's environment into
 * memory, so that no process started afterwards (worker, `ssh`, sshd,
 * helper) inherits it. Called first thing by every run; safe to call again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PASSPHRASE_ENV, takePassphraseEnv } from "./auth.ts";
 * Deno.env.set(PASSPHRASE_ENV, "pw");
 * takePassphraseEnv();
 * assert.equal(Deno.env.get(PASSPHRASE_ENV), undefined);
 * ```
 */
export function takePassphraseEnv(): void {
  const v = Deno.env.get(PASSPHRASE_ENV);
  if (v === undefined) return;
  stashed = v;
  Deno.env.delete(PASSPHRASE_ENV);
}

/**
 * The environment every `ssh-keygen` here runs with: PATH only (no
 * DISPLAY, so it never starts an askpass program; no secret of ours).
 */
function keygenEnv(): Record<string, string> {
  return { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LANG: "C" };
}

/**
 * Runs `ssh-keygen` with a clean environment and, given `stdin`, in a new
 * session (`setsid`): with no controlling terminal it reads a passphrase
 * from stdin, so a passphrase never needs to be on its command line.
 */
async function keygen(args: string[], stdin?: string): Promise<RunResult> {
  const argv = stdin === undefined
    ? ["ssh-keygen", ...args]
    : ["setsid", "-w", "ssh-keygen", ...args];
  const r = await run(argv[0], argv.slice(1), {
    env: keygenEnv(),
    clearEnv: true,
    stdin,
  });
  return { ...r, stderr: r.stderr.replace(/Enter [^:]*: /g, "").trim() };
}

/**
 * Why `path` cannot be used as `--identity`: a public key, not a private
 * key file at all, or readable by others (ssh and ssh-keygen refuse such a
 * key); undefined when it looks usable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { identityProblem } from "./auth.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/k.pub`, "ssh-ed25519 AAAA me\n");
 * assert.match(identityProblem(`${dir}/k.pub`)!, /public key/);
 * Deno.writeTextFileSync(`${dir}/k`, "-----BEGIN OPENSSH PRIVATE KEY-----\n", { mode: 0o644 });
 * Deno.chmodSync(`${dir}/k`, 0o644);
 * assert.match(identityProblem(`${dir}/k`)!, /permissions 0644 .* chmod 600/);
 * Deno.chmodSync(`${dir}/k`, 0o600);
 * assert.equal(identityProblem(`${dir}/k`), undefined);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function identityProblem(path: string): string | undefined {
  let head: string;
  let mode: number;
  try {
    const f = Deno.openSync(path);
    try {
      const buf = new Uint8Array(256);
      const n = f.readSync(buf) ?? 0;
      head = new TextDecoder().decode(buf.subarray(0, n));
      mode = (f.statSync().mode ?? 0) & 0o777;
    } finally {
      f.close();
    }
  } catch (e) {
    return `cannot read it (${
      (e as Error).message
    }); give a private key file this user can read`;
  }
  if (/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+/.test(head)) {
    return `this is a public key; give the private key (${
      path.replace(/\.pub$/, "")
    }?)`;
  }
  if (/%|\$\{/.test(path)) {
    return "the path holds % or ${, which ssh expands in an identity file's name; rename it or give a path without them";
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(head)) {
    return "not a private key file (no -----BEGIN ... PRIVATE KEY----- line); give the path of a private key (e.g. ~/.ssh/id_ed25519)";
  }
  if (mode & 0o077) {
    return `permissions 0${
      mode.toString(8)
    } are too open (ssh refuses a private key others can read); chmod 600 ${path}`;
  }
  return undefined;
}

/**
 * Whether a private key file needs a passphrase (`ssh-keygen -y` with an
 * empty one fails on it).
 */
export async function isEncrypted(path: string): Promise<boolean> {
  const r = await keygen(["-y", "-P", "", "-f", path]);
  if (r.code === 0) return false;
  if (/passphrase|incorrect|decrypt/i.test(r.stderr)) return true;
  throw new UsageError(
    `--identity ${path}: ssh-keygen cannot read it (${
      r.stderr.split("\n").filter((l) => l && !l.startsWith("@")).join(" ")
    }); give a private key file`,
  );
}

/**
 * The passphrase: from {@linkcode PASSPHRASE_ENV} (as taken by
 * {@linkcode takePassphraseEnv}), else asked on the terminal without
 * echo; an error naming both when neither is there.
 */
export function readPassphrase(path: string): string {
  takePassphraseEnv();
  if (stashed !== undefined) return stashed;
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(
      `--identity ${path} is encrypted: set ${PASSPHRASE_ENV} to its passphrase (no terminal to ask on), or load it into ssh-agent and use --agent`,
    );
  }
  Deno.stderr.writeSync(
    new TextEncoder().encode(`passphrase for ${path}: `),
  );
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    const b = new Uint8Array(1);
    for (;;) {
      const n = Deno.stdin.readSync(b);
      if (n === null || n === 0 || b[0] === 13 || b[0] === 10) break;
      if (b[0] === 3) throw new UsageError("passphrase prompt interrupted");
      if (b[0] === 127) bytes.pop();
      else bytes.push(b[0]);
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * Decrypts `path` once into a {@linkcode MemoryFile} (never onto disk: it
 * dies with this process, SIGKILL included) and writes its public key to
 * `dir`. The passphrase reaches `ssh-keygen -p` on its stdin, never on a
 * command line or in an environment. A wrong passphrase is bad input.
 */
export async function decryptToMemory(
  path: string,
  passphrase: string,
  dir: string,
): Promise<{ key: MemoryFile; publicKeyFile: string }> {
  if (/[\r\n]/.test(passphrase)) {
    throw new UsageError(
      `--identity ${path}: the passphrase holds a line break; ${PASSPHRASE_ENV} must be the passphrase alone`,
    );
  }
  const key = MemoryFile.create(
    "ssh-bench-identity",
    await Deno.readFile(path),
  );
  try {
    const r = await keygen(["-p", "-f", key.path], `${passphrase}\n\n\n`);
    if (r.code !== 0) {
      throw new UsageError(
        `--identity ${path}: cannot decrypt it (${
          r.stderr.split("\n").at(-1)?.replaceAll(key.path, path) ||
          "ssh-keygen failed"
        }); check ${PASSPHRASE_ENV} or the passphrase typed`,
      );
    }
    const pub = await keygen(["-y", "-P", "", "-f", key.path]);
    if (pub.code !== 0) throw new Error(`ssh-keygen -y: ${pub.stderr}`);
    await Deno.chmod(dir, 0o700);
    const publicKeyFile = `${dir}/identity.pub`;
    await Deno.writeTextFile(publicKeyFile, pub.stdout);
    return { key, publicKeyFile };
  } catch (e) {
    key.close();
    throw e;
  }
}

/**
 * The pid of the process listening on a unix socket (the ssh-agent), from
 * /proc/net/unix and /proc/PID/fd; undefined when not found (another
 * user's agent, no /proc).
 */
export function agentPid(socket: string): number | undefined {
  let inode: string | undefined;
  try {
    for (const line of Deno.readTextFileSync("/proc/net/unix").split("\n")) {
      const f = line.trim().split(/\s+/);
      // Num RefCount Protocol Flags Type St Inode Path; flags 10000: listening.
      if (f[7] === socket && f[3] === "00010000") inode = f[6];
    }
  } catch {
    return undefined;
  }
  if (!inode) return undefined;
  const want = `socket:[${inode}]`;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      for (const fd of Deno.readDirSync(`/proc/${e.name}/fd`)) {
        try {
          if (Deno.readLinkSync(`/proc/${e.name}/fd/${fd.name}`) === want) {
            return Number(e.name);
          }
        } catch {
          // fd closed meanwhile
        }
      }
    } catch {
      // not ours to read, or gone
    }
  }
  return undefined;
}
