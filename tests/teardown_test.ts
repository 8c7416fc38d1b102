/**
 * Servers that behave unlike a stock OpenSSH: a session whose command
 * completed (stdout read to end of file, exit status received) is not
 * failed by an error while tearing down (its status stays `ok`, the error
 * goes to `teardown_error`), and a handshake without a common algorithm
 * names the kind and both sides' lists.
 *
 * The teardown errors come from a small SSH server made with ssh2's own
 * server side, in this process: after the command's output, EOF and exit
 * status it ends the TCP connection without closing the channel (what
 * tinysshd's early close looks like to a client), deterministically. The
 * mismatches come from the embedded sshd with a cipher list of its own.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { Buffer } from "node:buffer";
// @ts-types="npm:@types/ssh2@1.15.5"
import { Server } from "ssh2";
import type { Socket } from "node:net";
import { FAKE_TARGET, FakeClient, MemorySink } from "./helpers.ts";
import { runStep } from "../src/run/sweep.ts";
import { InProcessRunner } from "../src/clients/runner.ts";
import { loadClients, loadRunners } from "../src/clients/mod.ts";
import { timedSession } from "../src/clients/timed.ts";
import type { SshClient, Target } from "../src/clients/seam.ts";
import { CsvSink } from "../src/run/csv_sink.ts";
import { calibrate } from "../src/run/calibration.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { benchCli, strangerKey } from "./server_helpers.ts";
import { UsageError } from "../src/util/errors.ts";
import { run } from "../src/util/proc.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("teardown: a completed session's teardown error keeps it ok, in its own column", async () => {
  const sink = new MemorySink();
  const client = new FakeClient({
    behave: (n) => n === 2 ? "teardown" : "ok",
  });
  await runStep(new InProcessRunner(client, () => 0), 3, {
    target: FAKE_TARGET,
    runId: "t",
    runStart: performance.now(),
    stepSeconds: 0,
    minRounds: 1,
    timeoutMs: 5_000,
    sink,
    harnessCpuMs: () => 0,
  });
  assertEquals(sink.sessions.map((s) => s.status), ["ok", "ok", "ok"]);
  assertEquals(sink.sessions.map((s) => s.teardown_error), [
    undefined,
    "disconnect: write EPIPE",
    undefined,
  ]);
  assertEquals(sink.sessions[1].error, "");
  assertEquals([sink.rounds[0].ok, sink.rounds[0].failed], [3, 0]);
  // In sessions.csv: the last column.
  const dir = await Deno.makeTempDir();
  try {
    const csv = CsvSink.create(dir);
    csv.write(sink.sessions, sink.rounds[0]);
    csv.close();
    const lines = (await Deno.readTextFile(`${dir}/sessions.csv`)).trim()
      .split("\n");
    assert(lines[0].endsWith(",teardown_error,host"));
    assert(lines[2].endsWith(",disconnect: write EPIPE,"), lines[2]);
    assert(lines[1].endsWith(",,"), lines[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs a Python snippet with the workers' shared module importable. */
async function python(code: string): Promise<unknown> {
  const dir = new URL("../src/clients/workers/", import.meta.url).pathname;
  const out = await run("/usr/bin/python3", [
    "-c",
    `import sys, json\nsys.dont_write_bytecode = True\nsys.path.insert(0, ${
      JSON.stringify(dir)
    })\nimport worker_common as wc\n${code}`,
  ]);
  assertEquals(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

Deno.test("teardown: the Python workers' session record keeps a completed session ok", async () => {
  const r = await python(`
import time
def first(k):
    s = wc.Session(1, 1, time.perf_counter(), k)
    for p in ("connect", "auth", "exec"):
        s.mark(p)
    s.line(b"x\\n")
    s.mark("read")
    return s
out = {}
# The exit status came, then closing the channel failed.
s = first(1); s.exit_status(0); s.fail("EOFError")
out["closing"] = s.report()
# The channel closed without an exit status: a failure, as before.
s = first(1); s.exit_status(None); s.command_done(None)
out["no_status"] = s.report()
# An error before the exit status: a failure, as before.
s = first(1); s.fail("Connection reset by peer")
out["early"] = s.report()
# Nonzero exit, then the disconnect failed: exit_nonzero stays.
s = first(1); s.exit_status(2); s.command_done(2); s.mark("close"); s.fail("Broken pipe")
out["nonzero"] = s.report()
# Three commands: the third one's close failed.
s = first(3); s.exit_status(0); s.command_done(0); s.mark("close")
s.reexec_start = s.now()
s.command = 2; s.exit_status(0); s.command_done(0)
s.command = 3; s.phase = "close"; s.exit_status(0); s.fail("EOFError")
out["third"] = s.report()
# Three commands, the second failed: the session ends there.
s = first(3); s.exit_status(0); s.command_done(0); s.mark("close")
s.command = 2; s.phase = "close"; s.exit_status(1); s.fail("EOFError")
out["second"] = s.report()
print(json.dumps(out))
`) as Record<string, Record<string, unknown>>;
  const pick = (k: string) => {
    const s = r[k];
    return [s.status, s.error, s.teardown_error, s.exit_code, s.commands];
  };
  assertEquals(pick("closing"), ["ok", "", "close: EOFError", 0, 1]);
  assert(r.closing.close_ms !== null && r.closing.disconnect_ms !== null);
  assertEquals(pick("no_status"), [
    "read_error",
    "close: channel closed without an exit status",
    null,
    null,
    0,
  ]);
  assertEquals(pick("early"), [
    "read_error",
    "close: Connection reset by peer",
    null,
    null,
    0,
  ]);
  assertEquals(pick("nonzero"), [
    "exit_nonzero",
    "exit code 2",
    "disconnect: Broken pipe",
    2,
    0,
  ]);
  assertEquals(pick("third"), [
    "ok",
    "",
    "close (command 3 of 3): EOFError",
    0,
    3,
  ]);
  assert(typeof r.third.reexec_ms === "number");
  assertEquals(pick("second"), [
    "exit_nonzero",
    "exit code 1 (command 2 of 3)",
    "close (command 2 of 3): EOFError",
    1,
    1,
  ]);
});

Deno.test("teardown: the Python workers run commands 2..K until one does not exit 0", async () => {
  // Each case: K, then the exit code of each command (null: none came).
  const r = await python(`
import time
def run(k, codes):
    s = wc.Session(1, 1, time.perf_counter(), k)
    for p in ("connect", "auth", "exec", "read"):
        s.mark(p)
    s.command_done(codes[0])
    s.mark("close")
    seen = []
    for i in s.further_commands():
        seen.append([i, s.command])
        s.phase = "read"
        s.command_done(codes[i - 1])
    command, phase = s.command, s.phase
    if s.status in (None, "exit_nonzero"):
        s.mark("disconnect")
    return {"seen": seen, "command": command, "phase": phase,
            "reexec": s.reexec_ms is not None, "report": s.report()}
print(json.dumps([run(1, [0]), run(3, [0, 0, 0]), run(3, [0, 4, 0]),
                  run(3, [0, None, 0]), run(3, [2, 0, 0])]))
`) as {
    seen: number[][];
    command: number;
    phase: string;
    reexec: boolean;
    report: Record<string, unknown>;
  }[];
  const pick = (i: number) => {
    const c = r[i];
    return [c.seen, c.reexec, c.report.status, c.report.error];
  };
  assertEquals(pick(0), [[], false, "ok", ""]); // K = 1: none further
  assertEquals(pick(1), [[[2, 2], [3, 3]], true, "ok", ""]);
  assertEquals(r[1].report.commands, 3);
  assertEquals(pick(2), [
    [[2, 2]],
    false,
    "exit_nonzero",
    "exit code 4 (command 2 of 3)",
  ]);
  assertEquals(pick(3), [
    [[2, 2]],
    false,
    "read_error",
    "read (command 2 of 3): channel closed without an exit status",
  ]);
  assertEquals(pick(4), [[], false, "exit_nonzero", "exit code 2"]);
  // Afterwards the session is at its disconnect, as command 1 again.
  for (const c of r) assertEquals([c.command, c.phase], [1, "disconnect"]);
});

Deno.test("teardown: the Python workers name a cipher mismatch from both KEXINITs", async () => {
  const r = await python(`
import struct
def kexinit(kex, hk, cipher, mac):
    lists = [kex, hk, cipher, cipher, mac, mac, "none", "none", "", ""]
    body = b"".join(struct.pack(">I", len(l)) + l.encode() for l in lists)
    return b"\\x14" + bytes(16) + body + b"\\x00" + bytes(4)
c = kexinit("curve25519-sha256", "ssh-ed25519", "aes128-ctr,aes256-ctr", "hmac-sha2-256")
s = kexinit("curve25519-sha256", "ssh-ed25519", "chacha20-poly1305@openssh.com", "hmac-sha1")
same = kexinit("curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256")
print(json.dumps([wc.no_common_algorithm(c, s), wc.no_common_algorithm(c, same)]))
`) as (string | null)[];
  assertEquals(r, [
    "no common cipher with the server (client offers: aes128-ctr,aes256-ctr; server offers: chacha20-poly1305@openssh.com)",
    null,
  ]);
});

// ---------------------------------------------------------------------------
// A real client against a server that ends the connection first.

const PAYLOAD = "line one\nline two\nline three\n";

/**
 * An SSH server in this process (ssh2's server side) that accepts any
 * login and answers every exec with {@linkcode PAYLOAD}, exit status 0
 * and EOF; then `drop` ends the TCP connection 100 ms later without
 * closing the channel, `clean` closes the channel as OpenSSH does.
 */
async function fakeServer(mode: "drop" | "clean") {
  const dir = await Deno.makeTempDir();
  const r = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host`],
  }).output();
  assertEquals(r.code, 0);
  const server = new Server(
    { hostKeys: [Buffer.from(await Deno.readFile(`${dir}/host`))] },
    (client) => {
      client.on("error", () => {});
      client.on("authentication", (ctx) => ctx.accept());
      client.on("ready", () => {
        client.on("session", (accept) => {
          accept().on("exec", (acceptExec) => {
            const stream = acceptExec();
            stream.write(PAYLOAD);
            // (ssh2 sends an exit status only while the channel is open.)
            stream.exit(0);
            stream.eof();
            if (mode === "clean") {
              stream.end();
              return;
            }
            // A moment later, so that every client has taken in the exit
            // status and EOF (asyncssh's exec would otherwise still wait
            // for its own bookkeeping when the connection goes).
            const sock = (client as unknown as { _sock: Socket })._sock;
            setTimeout(() => sock.end(), 100);
          });
        });
      });
    },
  );
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  const port = (server.address() as { port: number }).port;
  const hostPub = (await Deno.readTextFile(`${dir}/host.pub`)).split(" ");
  const key = await strangerKey();
  const knownHostsFile = `${dir}/known_hosts`;
  await Deno.writeTextFile(
    knownHostsFile,
    `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`,
  );
  const target: Target = {
    host: "127.0.0.1",
    port,
    user: "me",
    identityFile: key.key,
    command: "cat something",
    knownHostsFile,
    hostKeyBase64: hostPub[1],
  };
  return {
    target,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(key.dir, { recursive: true });
    },
  };
}

const inProcess: SshClient[] = await loadClients(
  ["ssh2", "openssh"],
  (l) => {
    throw new Error(`client missing in the test environment: ${l}`);
  },
);

Deno.test({
  name:
    "teardown: ssh2 and openssh keep a session ok when the server ends the connection after the exit status",
  ...opts,
}, async (t) => {
  const drop = await fakeServer("drop");
  const clean = await fakeServer("clean");
  try {
    for (const client of inProcess) {
      await t.step(client.name, async () => {
        const torn = await timedSession(client, drop.target, 10_000);
        const o = torn.outcome;
        assertEquals(o.status, "ok", o.error);
        assertEquals(o.error, "");
        assertEquals([o.bytes, o.lines], [PAYLOAD.length, 3]);
        assert(
          client.name === "ssh2"
            ? o.teardownError === "close: connection closed by the server"
            : /^disconnect: Connection to 127\.0\.0\.1 closed by remote host\./
              .test(o.teardownError ?? ""),
          `${client.name}: ${o.teardownError}`,
        );
        if (client.name === "ssh2") assertEquals(o.exitCode, 0);
        for (const p of ["read", "close", "disconnect"] as const) {
          assert(torn.clock.phases[p] !== undefined, p);
        }
        // The same server closing the channel first: no teardown error.
        const fine = await timedSession(client, clean.target, 10_000);
        assertEquals(fine.outcome.status, "ok", fine.outcome.error);
        assertEquals(fine.outcome.teardownError, undefined);
        assertEquals(fine.outcome.exitCode, 0);
      });
    }
    await t.step(
      "ssh2 through the sweep: the row is ok with teardown_error",
      async () => {
        const sink = new MemorySink();
        await runStep(new InProcessRunner(inProcess[0]), 2, {
          target: drop.target,
          runId: "t",
          runStart: performance.now(),
          stepSeconds: 0,
          minRounds: 1,
          timeoutMs: 10_000,
          sink,
        });
        for (const s of sink.sessions) {
          assertEquals(s.status, "ok", s.error);
          assertEquals(
            s.teardown_error,
            "close: connection closed by the server",
          );
          assert(s.close_ms !== undefined && s.disconnect_ms !== undefined);
        }
        assertEquals(sink.rounds[0].failed, 0);
      },
    );
    await t.step("the clients in their worker processes: ok", async () => {
      // Not asyncssh: its exec fails against this ssh2-made server even
      // when the server closes the channel properly ("SSH connection
      // closed"), so it tells nothing here; its teardown handling is the
      // shared session record's, tested above.
      const runners = await loadRunners(
        ["ssh2", "libssh2", "openssh", "paramiko", "xcrypto"],
        () => {},
      );
      try {
        for (const r of runners) {
          const round = await r.runRound({
            round: 1,
            sessions: 1,
            target: drop.target,
            commandsPerSession: 1,
            timeoutMs: 10_000,
          });
          const s = round!.sessions[0];
          // libssh2 cannot tell its command completed (its exit status
          // reads 0 whether or not one came): when its read or channel
          // close meets the closed socket, it stays a failure.
          if (r.name === "libssh2" && s.status === "read_error") continue;
          assertEquals(s.status, "ok", `${r.name}: ${s.error}`);
          assertEquals(s.bytes, PAYLOAD.length);
        }
      } finally {
        await Promise.all(runners.map((r) => r.close()));
      }
    });
  } finally {
    await drop.close();
    await clean.close();
  }
});

// ---------------------------------------------------------------------------
// No common algorithm, against the embedded sshd.

const ALL = ["ssh2", "libssh2", "openssh", "paramiko", "asyncssh", "xcrypto"];

Deno.test({
  name:
    "teardown: a cipher mismatch names the kind and both lists, for every client",
  ...opts,
}, async (t) => {
  const server = await EmbeddedServer.start({
    maxPool: 1,
    payloadBytes: 100,
    algorithms: { ciphers: ["aes256-ctr"] },
  });
  const runners = await loadRunners(ALL, () => {});
  try {
    const target: Target = {
      ...server.target,
      algorithms: { ciphers: ["aes128-ctr"] },
    };
    for (const r of runners) {
      await t.step(r.name, async () => {
        const round = await r.runRound({
          round: 1,
          sessions: 1,
          target,
          commandsPerSession: 1,
          timeoutMs: 20_000,
        });
        const s = round!.sessions[0];
        assertEquals(s.status, "connect_error", s.error);
        assert(
          s.error.includes(
            "no common cipher with the server (client offers: aes128-ctr; server offers: aes256-ctr)",
          ),
          `${r.name}: ${s.error}`,
        );
        // The calibration's line says so, instead of "cannot connect".
        await assertRejects(
          calibrate(r, target, 20_000),
          (e: unknown) =>
            e instanceof UsageError &&
            e.message.startsWith(
              `no common key exchange/cipher with the server ${target.user}@127.0.0.1:${target.port}`,
            ),
        );
      });
    }
  } finally {
    await Promise.all(runners.map((r) => r.close()));
    await server.stop();
  }
});

Deno.test({
  name:
    "teardown: libssh2 against a server offering only chacha20-poly1305: the line says no common cipher",
  ...opts,
}, async () => {
  // libssh2 1.10 has no chacha20-poly1305: unpinned, it shares no cipher
  // with such a server (as with tinysshd).
  const server = await EmbeddedServer.start({
    maxPool: 1,
    payloadBytes: 100,
    extraConfig: "Ciphers chacha20-poly1305@openssh.com",
  });
  try {
    const t = server.target;
    const r = await benchCli([
      "--target",
      `ssh://${t.user}@${t.host}:${t.port}`,
      "--identity",
      t.identityFile,
      "--command",
      "true",
      "--clients",
      "libssh2",
      "--known-hosts",
      t.knownHostsFile!,
      "--pool",
      "1",
      "--no-charts",
      "--out",
      `${server.dir}/never`,
    ]);
    assertEquals(r.code, 2, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
    assertEquals(lines.length, 1, r.stderr);
    assert(
      lines[0].startsWith(
        `error: no common key exchange/cipher with the server ${t.user}@${t.host}:${t.port}; `,
      ),
      lines[0],
    );
    assert(
      /\(libssh2: handshake: no common cipher with the server \(client offers: [^;]*aes128-ctr[^;]*; server offers: chacha20-poly1305@openssh\.com\)/
        .test(lines[0]),
      lines[0],
    );
  } finally {
    await server.stop();
  }
});
