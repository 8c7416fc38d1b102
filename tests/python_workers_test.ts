/**
 * The shipped worker programs (`src/clients/workers/`: the Python ones,
 * paramiko under gevent and asyncssh, and the Go one, xcrypto, built on
 * first use) against a real embedded sshd, driven through the worker
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
  type RoundHost,
  type RoundRequest,
  type SessionReport,
  type WorkerMessage,
} from "../src/clients/protocol.ts";
import type { Target } from "../src/clients/seam.ts";
import { closedPort, strangerKey } from "./server_helpers.ts";
import { ensureXcryptoWorker } from "../src/clients/xcrypto.ts";

/** A shipped worker: its client, how it starts, and a MAC it can pin. */
interface Shipped {
  client: string;
  argv: () => Promise<string[]>;
  mac: string;
}

/** The Python workers, with the package a missing library names. */
const PYTHON = [
  { client: "paramiko", file: "paramiko_worker.py", package: "python3-gevent" },
  {
    client: "asyncssh",
    file: "asyncssh_worker.py",
    package: "python3-asyncssh",
  },
];

const python = (file: string, pythonArgs: string[] = []) =>
  Promise.resolve(["/usr/bin/python3", ...pythonArgs, workerPath(file)]);

const WORKERS: Shipped[] = [
  ...PYTHON.map((w) => ({
    client: w.client,
    argv: () => python(w.file),
    mac: "hmac-sha2-512-etm@openssh.com",
  })),
  // x/crypto 0.4.0 has no SHA-512 MAC.
  {
    client: "xcrypto",
    argv: async () => [await ensureXcryptoWorker()],
    mac: "hmac-sha2-256-etm@openssh.com",
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

  constructor(argv: string[]) {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
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

  /** Writes one request line as it is (checked or not). */
  async send(req: unknown): Promise<void> {
    await this.#stdin.write(
      new TextEncoder().encode(JSON.stringify(req) + "\n"),
    );
  }

  /** Runs one round: the sessions' lines (by session number) and round_done. */
  async round(
    target: Target,
    over: Partial<RoundRequest> = {},
  ): Promise<{ sessions: SessionReport[]; done: RoundDone; wallMs: number }> {
    const req = roundRequest(target, ++this.#round, over);
    const t0 = performance.now();
    await this.send(req);
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

/** A round request for `target` (its known_hosts checked), with `over`. */
function roundRequest(
  target: Target,
  round: number,
  over: Partial<RoundRequest> = {},
): RoundRequest {
  return {
    type: "round",
    round,
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
  name: "shipped workers: the protocol against a real sshd",
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
        const worker = new Worker(await w.argv());
        try {
          const hello = await worker.hello();
          assertEquals(hello.protocol, PROTOCOL_VERSION);
          assertEquals(hello.client, w.client);
          assert(/^\d+\.\d+/.test(hello.version), hello.version);
          if (w.client === "xcrypto") {
            // x/crypto's version as linked in, and Go's.
            assert(
              /^\d+\.\d+\.\d+ \(go1\.\d+/.test(hello.version),
              hello.version,
            );
          }

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
            "3 commands per session, the second exits 3: it ends there",
            async () => {
              const dir = Deno.makeTempDirSync({ prefix: "pyworker-reexec-" });
              Deno.chmodSync(dir, 0o777);
              try {
                // Exits 3 from its second run on a connection on ($PPID:
                // the connection's sshd process, the same for each channel).
                const command =
                  `${target.command}; f=${dir}/s.$PPID; if [ -e $f ]; then exit 3; fi; touch $f`;
                const r = await worker.round(target, {
                  sessions: 2,
                  commands_per_session: 3,
                  command,
                });
                for (const s of r.sessions) {
                  assertEquals(s.status, "exit_nonzero", s.error);
                  assertEquals(s.error, "exit code 3 (command 2 of 3)");
                  assertEquals([s.exit_code, s.reexec_ms], [3, null]);
                  assertEquals(s.bytes, server.payload.bytes);
                  assert(s.close_ms !== null, "the first command closed");
                }
              } finally {
                Deno.removeSync(dir, { recursive: true });
              }
            },
          );

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
              macs: [w.mac],
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
  for (const w of PYTHON) {
    // -S: no site packages, so Debian's dist-packages are out of reach.
    const worker = new Worker(await python(w.file, ["-S"]));
    const first = await worker.next();
    assertEquals(first, null, "no protocol line");
    assertEquals(await worker.close(), 3, worker.stderr);
    assert(worker.stderr.includes(`install ${w.package}`), worker.stderr);
    assertEquals(worker.stderr.trim().split("\n").length, 1, worker.stderr);
  }
});

/** A fleet entry (protocol 2) for `target`: its address, account and files. */
function hostOf(target: Target): RoundHost {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    identity_file: target.identityFile,
    public_key_file: target.publicKeyFile!,
    known_hosts_file: target.knownHostsFile!,
  };
}

/** What `seq n` prints: bytes and lines. */
function seqOutput(n: number): { bytes: number; lines: number } {
  const text = Array.from({ length: n }, (_, i) => `${i + 1}\n`).join("");
  return { bytes: text.length, lines: n };
}

/**
 * An embedded server whose every session prints `seq n` whatever command it
 * is sent (ForceCommand), and whose log records each accepted login. Both
 * are the server's own evidence of where a session went: the round's
 * top-level command names the first server's payload file, which any
 * server on this machine could read, so a payload size alone would prove
 * nothing. (The lean profile's `LogLevel ERROR` comes first and sshd keeps
 * the first value of a keyword; a `Match` block overrides it.)
 */
async function fleetServer(n: number): Promise<EmbeddedServer> {
  return await EmbeddedServer.start({
    maxPool: 4,
    payloadBytes: 1_000,
    extraConfig: `Match all\n  LogLevel INFO\n  ForceCommand seq ${n}\n`,
  });
}

/** Logins the server accepted so far, from its log. */
async function acceptedLogins(server: EmbeddedServer): Promise<number> {
  return (await server.log()).match(/^Accepted publickey for /gm)?.length ?? 0;
}

Deno.test({
  name: "shipped workers: a fleet of two servers (protocol 2 hosts)",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const servers: EmbeddedServer[] = [];
  try {
    servers.push(await fleetServer(10));
    servers.push(await fleetServer(100));
    const [a, b] = servers;
    const outA = seqOutput(10);
    const outB = seqOutput(100);
    // Each server has its own client key and known_hosts file: a session
    // that used another host's files would fail its host key or its auth.
    const fleet = [hostOf(a.target), hostOf(b.target)];
    /** Runs `body`; the logins each server accepted meanwhile. */
    const logins = async (body: () => Promise<void>) => {
      const before = [await acceptedLogins(a), await acceptedLogins(b)];
      await body();
      return [
        await acceptedLogins(a) - before[0],
        await acceptedLogins(b) - before[1],
      ];
    };
    for (const w of WORKERS) {
      await t.step(w.client, async (t) => {
        const worker = new Worker(await w.argv());
        try {
          assertEquals((await worker.hello()).protocol, 2);

          await t.step("4 sessions: 1 and 3 on A, 2 and 4 on B", async () => {
            const accepted = await logins(async () => {
              const r = await worker.round(a.target, {
                sessions: 4,
                hosts: fleet,
              });
              const where = r.sessions.map((s) =>
                s.bytes === outA.bytes ? "A" : s.bytes === outB.bytes ? "B" : s
              );
              assertEquals(where, ["A", "B", "A", "B"]);
              for (const s of r.sessions) {
                assertFullSession(s, s.session % 2 === 1 ? outA : outB);
              }
            });
            assertEquals(accepted, [2, 2]);
          });

          await t.step(
            "hosts empty: every session on the top-level host",
            async () => {
              const accepted = await logins(async () => {
                const r = await worker.round(b.target, {
                  sessions: 2,
                  hosts: [],
                });
                for (const s of r.sessions) assertFullSession(s, outB);
              });
              assertEquals(accepted, [0, 2]);
            },
          );

          await t.step(
            "a closed port in the fleet: its sessions connect_error",
            async () => {
              const accepted = await logins(async () => {
                const r = await worker.round(a.target, {
                  sessions: 4,
                  hosts: [fleet[0], { ...fleet[1], port: closedPort() }],
                });
                for (const s of r.sessions) {
                  if (s.session % 2 === 1) {
                    assertFullSession(s, outA);
                  } else {
                    assertEquals(s.status, "connect_error", s.error);
                    assert(/refused/i.test(s.error), s.error);
                    assertEquals([s.connect_ms, s.bytes], [null, 0]);
                  }
                }
              });
              assertEquals(accepted, [2, 0]);
            },
          );

          await t.step(
            "a fleet host without a known_hosts file: refused, not trusted",
            async () => {
              const accepted = await logins(async () => {
                const r = await worker.round(a.target, {
                  sessions: 2,
                  hosts: [fleet[0], { ...fleet[1], known_hosts_file: null }],
                });
                assertFullSession(r.sessions[0], outA);
                const s = r.sessions[1];
                assertEquals(s.status, "connect_error", s.error);
                assert(/known_hosts/.test(s.error), s.error);
                assertEquals(s.connect_ms, null);
              });
              assertEquals(accepted, [1, 0]);
            },
          );

          await t.step("stdin closed: exit 0", async () => {
            assertEquals(await worker.close(), 0, worker.stderr);
          });
        } finally {
          worker.kill();
          await worker.close();
        }

        // A malformed fleet is a malformed request: the worker says why on
        // stderr and exits 2 before any session, as for any bad request.
        const malformed: [string, unknown, RegExp][] = [
          [
            "an entry without port",
            [fleet[0], { host: "127.0.0.1" }],
            /hosts\[1\] without a valid port/,
          ],
          [
            "a port as text",
            [{ ...fleet[0], port: String(a.target.port) }],
            /hosts\[0\] without a valid port/,
          ],
          [
            "a known_hosts_file number",
            [{ ...fleet[0], known_hosts_file: 1 }],
            /hosts\[0\]: known_hosts_file/,
          ],
          ["not a list", fleet[0], /hosts must be a list/],
        ];
        for (const [what, hosts, why] of malformed) {
          await t.step(`malformed hosts (${what}): exit 2`, async () => {
            const bad = new Worker(await w.argv());
            try {
              await bad.hello();
              await bad.send({
                ...roundRequest(a.target, 1, { sessions: 2 }),
                hosts,
              });
              assertEquals(await bad.next(), null, "no session line");
              assertEquals(await bad.close(), 2, bad.stderr);
              assert(/bad request/.test(bad.stderr), bad.stderr);
              assert(why.test(bad.stderr), bad.stderr);
            } finally {
              bad.kill();
              await bad.close();
            }
          });
        }
      });
    }
  } finally {
    for (const s of servers) await s.stop();
  }
});
