/**
 * The shipped Python workers (`src/clients/workers/`: paramiko under gevent,
 * asyncssh) against a real embedded sshd, driven through the worker
 * protocol (src/clients/protocol.ts) as the benchmark drives them: every
 * stdout line must parse, sessions of a round all end with a `session`
 * line, then `round_done`.
 */
import { assert, assertEquals } from "./assert.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import {
  type HelloMessage,
  parseWorkerLine,
  PROTOCOL_VERSION,
  type RoundDone,
  type RoundRequest,
  type SessionReport,
  type WorkerMessage,
} from "../src/clients/protocol.ts";
import type { Target } from "../src/clients/seam.ts";
import { closedPort, strangerKey } from "./server_helpers.ts";

const WORKERS = [
  { client: "paramiko", file: "paramiko_worker.py", package: "python3-gevent" },
  {
    client: "asyncssh",
    file: "asyncssh_worker.py",
    package: "python3-asyncssh",
  },
];

function workerPath(file: string): string {
  return new URL(`../src/clients/workers/${file}`, import.meta.url).pathname;
}

/** One worker process, spoken to through the protocol. */
class Worker {
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout: ReadableStreamDefaultReader<string>;
  #buf = "";
  #round = 0;
  /** Everything the worker wrote to stderr (read as it comes). */
  stderr = "";
  #stderrDone: Promise<void>;

  constructor(file: string, pythonArgs: string[] = []) {
    const child = new Deno.Command("/usr/bin/python3", {
      args: [...pythonArgs, workerPath(file)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#stdout = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    this.#stderrDone = (async () => {
      for await (
        const chunk of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        this.stderr += chunk;
      }
    })();
  }

  /** The next protocol line, parsed and checked; null at end of stdout. */
  async next(): Promise<WorkerMessage | null> {
    while (!this.#buf.includes("\n")) {
      const r = await this.#stdout.read();
      if (r.done) return null;
      this.#buf += r.value;
    }
    const at = this.#buf.indexOf("\n");
    const line = this.#buf.slice(0, at);
    this.#buf = this.#buf.slice(at + 1);
    return parseWorkerLine(line);
  }

  async hello(): Promise<HelloMessage> {
    const m = await this.next();
    assert(m?.type === "hello", `first line: ${JSON.stringify(m)}`);
    return m as HelloMessage;
  }

  /** Runs one round: the sessions' lines (by session number) and round_done. */
  async round(
    target: Target,
    over: Partial<RoundRequest> = {},
  ): Promise<{ sessions: SessionReport[]; done: RoundDone; wallMs: number }> {
    const req: RoundRequest = {
      type: "round",
      round: ++this.#round,
      sessions: 1,
      host: target.host,
      port: target.port,
      user: target.user,
      identity_file: target.identityFile,
      public_key_file: target.publicKeyFile!,
      host_key_policy: "known_hosts",
      known_hosts_file: target.knownHostsFile!,
      command: target.command,
      commands_per_session: 1,
      timeout_ms: 20_000,
      algorithms: null,
      ...over,
    };
    const t0 = performance.now();
    await this.#stdin.write(
      new TextEncoder().encode(JSON.stringify(req) + "\n"),
    );
    const sessions: SessionReport[] = [];
    for (;;) {
      const m = await this.next();
      if (m === null) {
        throw new Error(`worker ended mid-round; stderr:\n${this.stderr}`);
      }
      if (m.type === "round_done") {
        assertEquals(m.round, req.round);
        sessions.sort((a, b) => a.session - b.session);
        assertEquals(
          sessions.map((s) => s.session),
          Array.from({ length: req.sessions }, (_, i) => i + 1),
        );
        return { sessions, done: m, wallMs: performance.now() - t0 };
      }
      assert(m.type === "session", `unexpected ${m.type} line`);
      assertEquals(m.round, req.round);
      sessions.push(m);
    }
  }

  /** Closes stdin; the worker's exit code. */
  async close(): Promise<number> {
    await this.#stdin.close().catch(() => {});
    const { code } = await this.#child.status;
    await this.#stderrDone;
    return code;
  }

  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

const MARKS = [
  "start_ms",
  "connect_ms",
  "auth_ms",
  "exec_ms",
  "read_ms",
  "close_ms",
  "end_ms",
] as const;

/** A full session: ok, every mark filled and in order, the whole payload. */
function assertFullSession(
  s: SessionReport,
  payload: { bytes: number; lines: number },
): void {
  const what = `session ${s.session}: ${s.error}`;
  assertEquals(s.status, "ok", what);
  assertEquals(s.error, "");
  assertEquals(s.exit_code, 0);
  assertEquals([s.bytes, s.lines], [payload.bytes, payload.lines]);
  const marks = MARKS.map((k) => s[k]);
  assert(marks.every((v) => typeof v === "number"), `${what} ${marks}`);
  const nums = marks as number[];
  assert(nums[0] >= 0, what);
  for (let i = 1; i < nums.length; i++) {
    assert(nums[i - 1] <= nums[i], `${what}: ${MARKS[i - 1]} > ${MARKS[i]}`);
  }
  assert(s.negotiated, `${what}: no negotiated algorithms`);
}

Deno.test({
  name: "python workers: the protocol against a real sshd",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const server = await EmbeddedServer.start({
    maxPool: 3,
    payloadBytes: 26_000,
  });
  const stranger = await strangerKey();
  const target = server.target;
  const wrongKnownHosts = `${stranger.dir}/known_hosts`;
  const otherKey = (await Deno.readTextFile(`${stranger.key}.pub`)).split(" ");
  await Deno.writeTextFile(
    wrongKnownHosts,
    `[${target.host}]:${target.port} ${otherKey[0]} ${otherKey[1]}\n`,
  );
  try {
    for (const w of WORKERS) {
      await t.step(w.client, async (t) => {
        const worker = new Worker(w.file);
        try {
          const hello = await worker.hello();
          assertEquals(hello.protocol, PROTOCOL_VERSION);
          assertEquals(hello.client, w.client);
          assert(/^\d+\.\d+/.test(hello.version), hello.version);

          let lastCpu = 0;
          const cpuOf = (d: RoundDone) => d.cpu_ms.self + d.cpu_ms.children;

          await t.step("rounds of 1 and 3 sessions, all ok", async () => {
            for (const sessions of [1, 3]) {
              const r = await worker.round(target, { sessions });
              for (const s of r.sessions) assertFullSession(s, server.payload);
              for (const s of r.sessions) {
                assertEquals([s.commands, s.reexec_ms], [1, null]);
              }
              const cpu = cpuOf(r.done);
              assert(cpu > lastCpu, `cpu ${cpu} after ${lastCpu}`);
              lastCpu = cpu;
              assert(r.done.rss_mb > 1, `rss ${r.done.rss_mb}`);
            }
          });

          await t.step("3 commands per session: reexec_ms", async () => {
            const r = await worker.round(target, {
              sessions: 2,
              commands_per_session: 3,
            });
            for (const s of r.sessions) {
              assertFullSession(s, server.payload);
              assertEquals(s.commands, 3);
              assert(s.reexec_ms !== null && s.reexec_ms > 0, `${s.reexec_ms}`);
              assert(s.disconnect_ms! - s.close_ms! >= s.reexec_ms);
            }
            assert(cpuOf(r.done) > lastCpu);
            lastCpu = cpuOf(r.done);
          });

          await t.step(
            "another host key in known_hosts: connect_error",
            async () => {
              const r = await worker.round(target, {
                sessions: 2,
                known_hosts_file: wrongKnownHosts,
              });
              for (const s of r.sessions) {
                assertEquals(s.status, "connect_error", s.error);
                assert(/host key/i.test(s.error), s.error);
                assertEquals([s.auth_ms, s.exec_ms, s.bytes], [null, null, 0]);
              }
            },
          );

          await t.step("host-key policy any", async () => {
            const r = await worker.round(target, {
              host_key_policy: "any",
              known_hosts_file: null,
            });
            assertFullSession(r.sessions[0], server.payload);
          });

          await t.step("closed port: connect_error, quickly", async () => {
            const r = await worker.round(target, { port: closedPort() });
            const s = r.sessions[0];
            assertEquals(s.status, "connect_error");
            assert(/refused/i.test(s.error), s.error);
            assertEquals(s.connect_ms, null);
            assert(r.wallMs < 2000, `${r.wallMs} ms`);
          });

          await t.step("a refused key: auth_error", async () => {
            const r = await worker.round(target, {
              identity_file: stranger.key,
              public_key_file: `${stranger.key}.pub`,
            });
            const s = r.sessions[0];
            assertEquals(s.status, "auth_error", s.error);
            assert(s.connect_ms !== null && s.auth_ms === null);
          });

          await t.step("sleep 30 with a 1 s timeout: timeout", async () => {
            const r = await worker.round(target, {
              command: "sleep 30",
              timeout_ms: 1000,
            });
            const s = r.sessions[0];
            assertEquals(s.status, "timeout", s.error);
            assert(/read/.test(s.error), s.error);
            assert(s.exec_ms !== null && s.read_ms === null);
            assert(s.end_ms >= 1000 && s.end_ms < 3000, `${s.end_ms}`);
            assert(r.wallMs < 3000, `${r.wallMs} ms`);
          });

          await t.step(
            "a nonzero exit, a last line without newline",
            async () => {
              const r = await worker.round(target, {
                command: "printf 'a\\nbb\\nccc'; exit 3",
              });
              const s = r.sessions[0];
              assertEquals(s.status, "exit_nonzero");
              assertEquals([s.exit_code, s.bytes, s.lines], [3, 8, 3]);
              assert(s.close_ms !== null, "closed after a nonzero exit");
            },
          );

          await t.step("pinned algorithms", async () => {
            const pins = {
              kex: ["diffie-hellman-group14-sha256"],
              hostKeyAlgorithms: ["ssh-ed25519"],
              ciphers: ["aes256-ctr"],
              macs: ["hmac-sha2-512-etm@openssh.com"],
            };
            const r = await worker.round(target, { algorithms: pins });
            assertFullSession(r.sessions[0], server.payload);
            assertEquals(r.sessions[0].negotiated, {
              kex: pins.kex[0],
              hostKey: pins.hostKeyAlgorithms[0],
              cipher: pins.ciphers[0],
              mac: pins.macs[0],
            });
            const bad = await worker.round(target, {
              algorithms: { ciphers: ["no-such-cipher@example.com"] },
            });
            const s = bad.sessions[0];
            assertEquals(s.status, "connect_error");
            assert(
              s.error.includes(
                "does not support cipher no-such-cipher@example.com",
              ),
              s.error,
            );
          });

          await t.step("stdin closed: exit 0", async () => {
            assertEquals(await worker.close(), 0, worker.stderr);
          });
        } finally {
          worker.kill();
          await worker.close();
        }
      });
    }
  } finally {
    await server.stop();
    await Deno.remove(stranger.dir, { recursive: true });
  }
});

Deno.test({
  name: "python workers: a missing library is exit 3 naming the package",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  for (const w of WORKERS) {
    // -S: no site packages, so Debian's dist-packages are out of reach.
    const worker = new Worker(w.file, ["-S"]);
    const first = await worker.next();
    assertEquals(first, null, "no protocol line");
    assertEquals(await worker.close(), 3, worker.stderr);
    assert(worker.stderr.includes(`install ${w.package}`), worker.stderr);
    assertEquals(worker.stderr.trim().split("\n").length, 1, worker.stderr);
  }
});
