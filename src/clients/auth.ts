/**
 * The keys users have, made usable by every client once per run: an
 * encrypted identity file is decrypted once (`ssh-keygen -p` into a copy
 * in a private temp dir), so no session pays for the key-derivation
 * function; an ssh-agent's pid is found from its socket, so its signing
 * CPU can be counted for the client that used it.
 *
 * @module
 */

/** Environment variable a passphrase for `--identity` is read from. */
export const PASSPHRASE_ENV = "SSH_BENCH_PASSPHRASE";

async function keygen(
  args: string[],
): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = await new Deno.Command("ssh-keygen", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr).trim(),
  };
}

/**
 * Whether a private key file needs a passphrase (`ssh-keygen -y` with an
 * empty one fails on it).
 */
export async function isEncrypted(path: string): Promise<boolean> {
  const r = await keygen(["-y", "-P", "", "-f", path]);
  if (r.code === 0) return false;
  if (/passphrase|incorrect|decrypt/i.test(r.stderr)) return true;
  throw new Error(
    `--identity ${path}: ssh-keygen cannot read it (${r.stderr})`,
  );
}

/**
 * The passphrase: from {@linkcode PASSPHRASE_ENV}, else asked on the
 * terminal without echo; an error naming both when neither is there.
 */
export function readPassphrase(path: string): string {
  const env = Deno.env.get(PASSPHRASE_ENV);
  if (env !== undefined) return env;
  if (!Deno.stdin.isTerminal()) {
    throw new Error(
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
      if (b[0] === 3) throw new Error("passphrase prompt interrupted");
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
 * Decrypts `path` once into `dir` (made 0700): a copy without passphrase
 * and its public key. Returns the copy's path; a wrong passphrase throws.
 */
export async function decryptedCopy(
  path: string,
  passphrase: string,
  dir: string,
): Promise<string> {
  await Deno.chmod(dir, 0o700);
  const copy = `${dir}/identity`;
  await Deno.copyFile(path, copy);
  await Deno.chmod(copy, 0o600);
  const r = await keygen(["-p", "-P", passphrase, "-N", "", "-f", copy]);
  if (r.code !== 0) {
    await Deno.remove(copy).catch(() => {});
    throw new Error(
      `--identity ${path}: cannot decrypt it (${
        r.stderr || "ssh-keygen failed"
      }); check ${PASSPHRASE_ENV} or the passphrase typed`,
    );
  }
  const pub = await keygen(["-y", "-f", copy]);
  if (pub.code !== 0) throw new Error(`ssh-keygen -y: ${pub.stderr}`);
  await Deno.writeTextFile(`${copy}.pub`, pub.stdout);
  return copy;
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
