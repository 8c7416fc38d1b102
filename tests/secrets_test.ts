/**
 * Secrets never outlive a run nor leave the benchmark process: with an
 * encrypted `--identity`, the passphrase is on no process's command line
 * and in no child's environment, the decrypted key is never in a file, and
 * after SIGKILL mid-run no copy of it is anywhere under the temp folder.
 * Against a real sshd, every client logs in with the decrypted key.
 */
import { assert, assertEquals } from "./assert.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { descendants } from "../src/util/proc.ts";
import { waitForRounds } from "./server_helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const PASSPHRASE = "pp-7f3c91e2-do-not-leak";
const TMP = Deno.env.get("TMPDIR") ?? "/tmp";

/** Every regular file under the temp folder's ssh-bench-* folders. */
function benchTempFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    try {
      for (const e of Deno.readDirSync(d)) {
        const p = `${d}/${e.name}`;
        if (e.isDirectory) walk(p);
        else if (e.isFile) out.push(p);
      }
    } catch {
      // gone meanwhile, or not ours
    }
  };
  for (const e of Deno.readDirSync(TMP)) {
    if (e.isDirectory && e.name.startsWith("ssh-bench-")) {
      walk(`${TMP}/${e.name}`);
    }
  }
  return out;
}

/**
 * Files under the ssh-bench temp folders that hold the private key of
 * `pub` without a passphrase.
 */
function keyCopies(pub: string): string[] {
  return benchTempFiles().filter((f) => {
    try {
      // A key file is a few KB; ssh-keygen spends minutes on a large
      // binary that happens to hold the words (a copied node_modules).
      if (Deno.statSync(f).size > 64 * 1024) return false;
      if (!Deno.readTextFileSync(f).includes("PRIVATE KEY")) return false;
    } catch {
      return false;
    }
    const r = new Deno.Command("ssh-keygen", {
      args: ["-y", "-P", "", "-f", f],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return r.code === 0 &&
      new TextDecoder().decode(r.stdout).trim().split(" ")[1] ===
        pub.split(" ")[1];
  });
}

/** What a process shows of its command line and environment ("" if gone). */
function procText(pid: number, what: "cmdline" | "environ"): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/${what}`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

Deno.test({
  name:
    "secrets: an encrypted key's passphrase is on no argv and in no child's environment; no decrypted copy survives SIGKILL",
  ...opts,
}, async () => {
  const server = await EmbeddedServer.start({ maxPool: 2, payloadBytes: 100 });
  const dir = await Deno.makeTempDir();
  try {
    // A key of this test's own, encrypted, that the server accepts.
    const enc = `${dir}/enc`;
    const kg = await new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", "ed25519", "-N", PASSPHRASE, "-C", "", "-f", enc],
      stdout: "null",
      stderr: "null",
    }).output();
    assertEquals(kg.code, 0);
    const pub = (await Deno.readTextFile(`${enc}.pub`)).trim();
    const keys = `${
      server.target.identityFile.replace(/\/[^/]*$/, "")
    }/authorized_keys`;
    await Deno.writeTextFile(keys, `${pub}\n`, { append: true });

    const t = server.target;
    const out = `${dir}/run`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        new URL("../deno.json", import.meta.url).pathname,
        new URL("../src/cli/bench.ts", import.meta.url).pathname,
        "--target",
        `ssh://${t.user}@${t.host}:${t.port}`,
        "--known-hosts",
        t.knownHostsFile!,
        "--identity",
        enc,
        "--command",
        t.command,
        "--clients",
        "ssh2,libssh2,openssh,paramiko,asyncssh,xcrypto",
        "--commands-per-session",
        "2",
        "--pool",
        "2",
        "--rounds",
        "100000",
        "--step-seconds",
        "600",
        "--no-charts",
        "--out",
        out,
      ],
      env: { SSH_BENCH_PASSPHRASE: PASSPHRASE },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    // Watch every process of the run while it decrypts, calibrates and
    // runs rounds: no argv with the passphrase, no environment with it.
    const seen = new Set<number>();
    const leaks: string[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const pid of [child.pid, ...descendants(child.pid)]) {
          seen.add(pid);
          const argv = procText(pid, "cmdline");
          if (argv.includes(PASSPHRASE)) leaks.push(`argv of ${pid}: ${argv}`);
          // A child between fork and exec still shows the benchmark's own
          // command line and start-up environment: not a child yet.
          const env = procText(pid, "environ");
          if (
            pid !== child.pid && argv !== procText(child.pid, "cmdline") &&
            env.includes("SSH_BENCH_PASSPHRASE")
          ) {
            leaks.push(`environment of ${pid} (${argv})`);
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      await waitForRounds(out, 6 * 3, 60_000);
      // Mid-run: the run's temp folders hold no private key.
      assertEquals(keyCopies(pub), [], "a decrypted key is on disk");
    } finally {
      watching = false;
      await watch;
      child.kill("SIGKILL");
      await child.status;
    }
    assertEquals(leaks, []);
    assert(seen.size > 5, `only ${seen.size} processes seen`);
    // After SIGKILL: no copy of the key anywhere under the temp folder.
    assertEquals(keyCopies(pub), [], (await stderr).slice(-2000));
    // Every client logged in with the key (the rounds so far are all ok).
    const rows = (await Deno.readTextFile(`${out}/sessions.csv`)).trim()
      .split("\n").slice(1);
    assert(rows.length >= 6 * 3 * 2);
    const bad = rows.filter((l) => !l.includes(",ok,"));
    assertEquals(bad, []);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
