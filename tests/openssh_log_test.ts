/**
 * The openssh client reads two pipes of `ssh -v`: stdout (the command's
 * output) and stderr (the log its phases come from). Nothing orders the two
 * as they are read here: under load, stdout's end can be seen before the
 * log's `Sending command:` line (measured: 0.03 to 0.25 ms before it, in 5
 * to 14 of 290 sessions at pool 29). Such a session completed (all output,
 * exit code 0) and must be `ok`, not a `read_error` with the empty
 * reason `read: ssh failed`.
 *
 * Reproduced two ways against the embedded sshd: deterministically, with
 * an `ssh` on PATH that runs the real one and holds its log back until it
 * has exited (so stdout always ends first); and as found, many sessions at
 * once. A log with no error line at all (ssh killed by a signal) names
 * what happened instead of `ssh failed`.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { OpensshClient } from "../src/clients/openssh.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { timedSession } from "../src/clients/timed.ts";
import { runStep } from "../src/run/sweep.ts";
import { InProcessRunner } from "../src/clients/runner.ts";
import { PHASES } from "../src/clients/seam.ts";
import { which } from "../src/util/proc.ts";
import { MemorySink } from "./helpers.ts";
import { strangerKey } from "./server_helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const realSsh = which("ssh")!;

/**
 * An OpensshClient whose `ssh` is a Python wrapper of the real one (`body`
 * runs with `p`, the real ssh's process, its stderr piped).
 */
async function wrappedClient(
  body: string,
): Promise<{ client: OpensshClient; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "openssh-log-test-" });
  await Deno.writeTextFile(
    `${dir}/ssh`,
    `#!/usr/bin/python3
import os, signal, subprocess, sys, time
p = subprocess.Popen([${
      JSON.stringify(realSsh)
    }, *sys.argv[1:]], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
os.close(1)  # stdout is the real ssh's alone: it ends when that one exits
${body}
`,
  );
  await Deno.chmod(`${dir}/ssh`, 0o755);
  const path = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", `${dir}:${path}`);
  try {
    const client = await OpensshClient.load();
    if (typeof client === "string") throw new Error(client);
    return { client, dir };
  } finally {
    Deno.env.set("PATH", path);
  }
}

/** Holds the whole log back until ssh has exited, then writes it. */
const LOG_AFTER_EXIT = `log = p.stderr.read()
code = p.wait()
time.sleep(0.2)
os.write(2, log)
sys.exit(code)`;

/** Passes the log on until ssh authenticated, then SIGKILLs it and itself. */
const KILLED_AFTER_AUTH = `for line in p.stderr:
    os.write(2, line)
    if line.startswith(b"Authenticated to "):
        p.kill()
        p.wait()
        os.kill(os.getpid(), signal.SIGKILL)
sys.exit(p.wait())`;

Deno.test({
  name:
    "openssh: stdout ended before the log's exec line was read: the session is ok",
  ...opts,
}, async () => {
  const { client, dir } = await wrappedClient(LOG_AFTER_EXIT);
  const server = await EmbeddedServer.start({
    maxPool: 2,
    payloadBytes: 26_000,
  });
  const stranger = await strangerKey();
  try {
    for (let i = 0; i < 3; i++) {
      const { outcome, clock } = await timedSession(
        client,
        server.target,
        20_000,
      );
      assertEquals(
        [outcome.status, outcome.error, outcome.exitCode],
        ["ok", "", 0],
        `session ${i}: ${outcome.status} ${outcome.error}`,
      );
      assertEquals(outcome.teardownError, undefined);
      assertEquals(
        [outcome.bytes, outcome.lines],
        [server.payload.bytes, server.payload.lines],
      );
      assertEquals(outcome.negotiated?.hostKey, "ssh-ed25519");
      // Every phase was marked, none negative (the log came late: its
      // marks came after stdout's end, and read is then 0).
      for (const p of PHASES.filter((p) => p !== "reexec")) {
        const ms = clock.phases[p];
        assert(ms !== undefined && ms >= 0, `${p}: ${ms}`);
      }
    }
    // The same late log still tells a failed command and a refused key.
    const three = await timedSession(client, {
      ...server.target,
      command: "exit 3",
    }, 20_000);
    assertEquals(
      [three.outcome.status, three.outcome.exitCode, three.outcome.error],
      ["exit_nonzero", 3, "exit code 3"],
    );
    const refused = await timedSession(client, {
      ...server.target,
      identityFile: stranger.key,
    }, 20_000);
    assertEquals(refused.outcome.status, "auth_error", refused.outcome.error);
    assertMatch(refused.outcome.error, /Permission denied/);
  } finally {
    await server.stop();
    await Deno.remove(stranger.dir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "openssh: ssh killed with nothing in its log says so, not 'ssh failed'",
  ...opts,
}, async () => {
  const { client, dir } = await wrappedClient(KILLED_AFTER_AUTH);
  const server = await EmbeddedServer.start({
    maxPool: 1,
    payloadBytes: 1000,
  });
  try {
    const { outcome } = await timedSession(client, server.target, 20_000);
    assertEquals(outcome.status, "exec_error", outcome.error);
    assertEquals(outcome.exitCode, null);
    assertMatch(
      outcome.error,
      /^exec: ssh was killed by SIGKILL \(its log ends: Authenticated to /,
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "openssh: pool 29 against the embedded sshd, every session ok",
  ...opts,
}, async () => {
  const client = await OpensshClient.load();
  if (typeof client === "string") throw new Error(client);
  const pool = 29;
  const rounds = 8;
  const server = await EmbeddedServer.start({
    maxPool: pool,
    payloadBytes: 26_000,
  });
  const sink = new MemorySink();
  try {
    await runStep(new InProcessRunner(client), pool, {
      target: server.target,
      runId: "load",
      runStart: performance.now(),
      stepSeconds: 0,
      minRounds: rounds,
      timeoutMs: 60_000,
      sink,
    });
  } finally {
    await server.stop();
  }
  assertEquals(sink.sessions.length, pool * rounds);
  const failed = sink.sessions.filter((s) =>
    s.status !== "ok" || s.teardown_error
  ).map((s) =>
    `${s.status} ${s.error} ${
      s.teardown_error ?? ""
    } (exit ${s.exit_code}, ${s.bytes} bytes)`
  );
  assertEquals(failed, []);
  for (const s of sink.sessions) {
    assertEquals([s.exit_code, s.bytes], [0, server.payload.bytes]);
  }
});
