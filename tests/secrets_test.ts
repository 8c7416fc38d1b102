/**
 * Secrets never outlive a run nor leave the benchmark process: with an
 * encrypted `--identity`, the passphrase is on no process's command line
 * and in no child's environment, the decrypted key is never in a file, and
 * after SIGKILL mid-run no copy of it is anywhere under the temp folder.
 * Against a real sshd, every client logs in with the decrypted key. Killed
 * in calibration and in teardown too, each followed by the next
 * `--target` start: no decrypted copy anywhere under /tmp, and no
 * hostkeys folder of the killed run.
 */
import { assert, assertEquals } from "./assert.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { descendants } from "../src/util/proc.ts";
import { benchCli, waitForRounds } from "./server_helpers.ts";
import { BenchChild, until } from "./bench_child.ts";
import {
  type Footprint,
  footprint,
  killLeft,
  leftOf,
  newFootprint,
} from "./footprint.ts";
import { exists } from "../src/util/fs.ts";
import { ownerOf } from "../src/util/owner.ts";

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
    const owner = ownerOf(child.pid)!;
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
    assertEquals(decryptedCopies(pub), []);
    // Its own known_hosts folder (if no other run's start on this machine
    // removed it already) goes with the next start.
    const said = await nextTargetStart(server, `${dir}/next`);
    assertEquals(hostkeysDirs(owner), [], said);
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

/** Reads an SSH string (uint32 length, bytes) at `at`; its end too. */
function sshString(b: Uint8Array, at: number): [Uint8Array, number] {
  const n = new DataView(b.buffer, b.byteOffset).getUint32(at);
  return [b.subarray(at + 4, at + 4 + n), at + 4 + n];
}

/**
 * The public key blob (base64) and cipher of an OpenSSH-format private
 * key file's text (`openssh-key-v1`: both are in the clear); undefined
 * for anything else.
 */
function opensshKeyHeader(
  text: string,
): { pub: string; cipher: string } | undefined {
  const m =
    /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/
      .exec(text);
  if (!m) return undefined;
  try {
    const b = Uint8Array.from(
      atob(m[1].replace(/\s/g, "")),
      (c) => c.charCodeAt(0),
    );
    const magic = "openssh-key-v1\0";
    if (new TextDecoder().decode(b.subarray(0, magic.length)) !== magic) {
      return undefined;
    }
    let at = magic.length;
    const [cipher, a1] = sshString(b, at);
    const [, a2] = sshString(b, a1); // kdf name
    const [, a3] = sshString(b, a2); // kdf options
    at = a3 + 4; // number of keys
    const [pub] = sshString(b, at);
    return {
      pub: btoa(String.fromCharCode(...pub)),
      cipher: new TextDecoder().decode(cipher),
    };
  } catch {
    return undefined;
  }
}

/**
 * Files anywhere under the temp folder that hold the private key of `pub`
 * without a passphrase: every file grep finds a private key in (OpenSSH's
 * format read here; any other format tried with `ssh-keygen -y` and an
 * empty passphrase).
 */
function decryptedCopies(pub: string): string[] {
  const r = new Deno.Command("grep", {
    args: ["-rlIs", "-D", "skip", "--null", "PRIVATE KEY", TMP],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const files = new TextDecoder().decode(r.stdout).split("\0").filter(Boolean);
  const blob = pub.split(" ")[1];
  return files.filter((f) => {
    let text: string;
    try {
      // A key file is a few KB (see keyCopies).
      if (Deno.statSync(f).size > 64 * 1024) return false;
      text = Deno.readTextFileSync(f);
    } catch {
      return false; // gone meanwhile
    }
    const h = opensshKeyHeader(text);
    if (h) return h.pub === blob && h.cipher === "none";
    const y = new Deno.Command("ssh-keygen", {
      args: ["-y", "-P", "", "-f", f],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return y.code === 0 &&
      new TextDecoder().decode(y.stdout).trim().split(" ")[1] === blob;
  });
}

/** A key of the test's own, encrypted, added to the server's accepted keys. */
async function encryptedKey(
  server: EmbeddedServer,
  dir: string,
): Promise<{ enc: string; pub: string }> {
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
  return { enc, pub };
}

/**
 * The next start after a kill: a short `--target` run against `server`
 * with its own plain key; its stderr.
 */
async function nextTargetStart(
  server: EmbeddedServer,
  out: string,
): Promise<string> {
  const t = server.target;
  const r = await benchCli([
    "--target",
    `ssh://${t.user}@${t.host}:${t.port}`,
    "--known-hosts",
    t.knownHostsFile!,
    "--identity",
    t.identityFile,
    "--command",
    "true",
    "--clients",
    "ssh2",
    "--pool",
    "1",
    "--rounds",
    "1",
    "--step-seconds",
    "0",
    "--no-charts",
    "--out",
    out,
  ]);
  assertEquals(r.code, 0, r.stderr);
  return r.stderr;
}

/** The run's hostkeys folders (its own known_hosts) on disk now. */
function hostkeysDirs(run: { pid: number; start: number }): string[] {
  return [...Deno.readDirSync(TMP)].filter((e) =>
    e.isDirectory &&
    e.name.startsWith(`ssh-bench-hostkeys-${run.pid}-t${run.start}-`)
  ).map((e) => `${TMP}/${e.name}`);
}

for (const phase of ["calibration", "teardown"] as const) {
  Deno.test({
    name:
      `secrets: an encrypted-key --target run SIGKILLed in ${phase}, then the next --target start: no decrypted copy under ${TMP}, no hostkeys folder of it`,
    ...opts,
  }, async () => {
    const server = await EmbeddedServer.start({
      maxPool: 2,
      payloadBytes: 100,
    });
    const dir = await Deno.makeTempDir();
    let f: Footprint | undefined;
    try {
      const { enc, pub } = await encryptedKey(server, dir);
      const t = server.target;
      const out = `${dir}/run`;
      const run = new BenchChild([
        "--target",
        `ssh://${t.user}@${t.host}:${t.port}`,
        "--known-hosts",
        t.knownHostsFile!,
        "--identity",
        enc,
        "--command",
        t.command,
        "--clients",
        "openssh,ssh2",
        "--pool",
        "1..2",
        "--rounds",
        "100000",
        "--step-seconds",
        "600",
        "--no-charts",
        "--out",
        out,
      ], { env: { SSH_BENCH_PASSPHRASE: PASSPHRASE } });
      f = newFootprint(run.pid);
      const each = () => footprint(f!);
      const cmds = () => run.processes().map((p) => p.cmd);
      let keysDirs: string[] = [];
      if (phase === "calibration") {
        // A calibration session in flight (the remote no-op), no run folder.
        await until(
          "a calibration session",
          () =>
            cmds().some((c) => /\/ssh .* -- \S+ true$/.test(c.trim())) &&
            !exists(`${out}/meta.json`),
          { each, child: run },
        );
        keysDirs = hostkeysDirs(f.run);
        assertEquals(keysDirs.length, 1, "its hostkeys folder");
      } else {
        await waitForRounds(out, 2, 60_000);
        keysDirs = hostkeysDirs(f.run);
        // Stopped workers hold the teardown: a worker gets 3 s to exit
        // after its stdin closes, then SIGKILL (the one in a round is
        // killed at once, which ends that round).
        const workers = run.processes().filter((p) =>
          p.cmd.includes("deno_worker.ts")
        );
        assertEquals(workers.length, 2, cmds().join("\n"));
        for (const w of workers) Deno.kill(w.pid, "SIGSTOP");
        run.child.kill("SIGINT");
        await until(
          "the interruption",
          () => run.stderr.includes("interrupted"),
          { each, child: run },
        );
        await new Promise((r) => setTimeout(r, 300));
        footprint(f);
      }
      run.child.kill("SIGKILL");
      await run.exit();
      // The kill landed before the run could end (in teardown: the
      // workers' 3 s were not up).
      assertEquals((await run.child.status).signal, "SIGKILL", run.stderr);
      footprint(f);
      assertEquals(decryptedCopies(pub), [], "a decrypted copy after SIGKILL");
      // (The run's command line names the test's own server, which lives.)
      const serverDir = t.identityFile.replace(/\/[^/]*$/, "");
      const leftOfRun = () => leftOf(f!).filter((l) => !l.includes(serverDir));
      const byKill = leftOfRun();
      const said = await nextTargetStart(server, `${dir}/next`);
      console.log(
        `  (${phase}: the kill left ${
          keysDirs.filter((d) => byKill.includes(`folder ${d}`)).length
        } hostkeys folder(s); in all: ${byKill.join("; ") || "nothing"})`,
      );
      assertEquals(hostkeysDirs(f.run), [], said);
      for (const d of keysDirs) assert(!exists(d), `${d}: ${said}`);
      assertEquals(decryptedCopies(pub), []);
      assertEquals(leftOfRun(), [], said);
    } finally {
      if (f) killLeft(f);
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
