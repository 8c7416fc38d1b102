/**
 * The worker protocol against a real sshd, with fake workers that crash
 * mid-round, hang past the timeout, or print a line that is not protocol:
 * the round's sessions become failed rows naming the reason, the run goes
 * on, and the next round gets a new worker.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { ensureGoBinary, type GoProgram } from "../src/util/go_build.ts";
import { UsageError } from "../src/util/errors.ts";
import { WorkerRunner } from "../src/clients/worker_process.ts";
import { runStep } from "../src/run/sweep.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { MemorySink } from "./helpers.ts";

/**
 * A fake worker in Deno: its first process misbehaves in round 1 as told
 * (`crash`, `hang`, `garbage`); the processes started after it behave,
 * reporting sessions that really connect to the server and read its banner.
 */
const FAKE = `
const [mode, stateFile] = Deno.args;
let starts = 0;
try { starts = Number(Deno.readTextFileSync(stateFile)); } catch { /* first */ }
Deno.writeTextFileSync(stateFile, String(starts + 1));
const enc = new TextEncoder();
const send = (m) => Deno.stdout.writeSync(enc.encode(JSON.stringify(m) + "\\n"));
send({ type: "hello", protocol: 1, client: "fake", version: "0" });
const dec = new TextDecoder();
let buf = "";
for await (const chunk of Deno.stdin.readable) {
  buf += dec.decode(chunk);
  let i;
  while ((i = buf.indexOf("\\n")) !== -1) {
    const req = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    const t0 = performance.now();
    if (starts === 0 && req.round === 1) {
      if (mode === "crash") { send({ type: "session", round: 1, session: 1, start_ms: 0, connect_ms: 1, auth_ms: null, exec_ms: null, read_ms: null, close_ms: null, end_ms: 2, reexec_ms: null, commands: 0, bytes: 0, lines: 0, exit_code: null, status: "connect_error", error: "reported before the crash" }); Deno.exit(1); }
      if (mode === "hang") { setInterval(() => {}, 1000); await new Promise(() => {}); }
      if (mode === "garbage") { console.log("Traceback (most recent call last):"); continue; }
    }
    for (let s = 1; s <= req.sessions; s++) {
      const start = performance.now() - t0;
      const conn = await Deno.connect({ hostname: req.host, port: req.port });
      const connected = performance.now() - t0;
      const n = await conn.read(new Uint8Array(256));
      conn.close();
      const end = performance.now() - t0;
      send({ type: "session", round: req.round, session: s, start_ms: start, connect_ms: connected, auth_ms: end, exec_ms: end, read_ms: end, close_ms: end, end_ms: end, reexec_ms: null, commands: 1, bytes: n ?? 0, lines: 1, exit_code: 0, status: "ok", error: "" });
    }
    send({ type: "round_done", round: req.round, cpu_ms: { self: 1 + req.round, children: 0 }, rss_mb: 10 });
  }
}
`;

const opts = { sanitizeResources: false, sanitizeOps: false };

for (
  const [mode, status, reason] of [
    ["crash", "read_error", /worker: the worker exited \(code 1\)/],
    ["hang", "timeout", /worker: the worker did not finish in time/],
    [
      "garbage",
      "read_error",
      /worker: the worker printed a malformed line \(not JSON: Traceback/,
    ],
  ] as const
) {
  Deno.test({
    name: `workers: a worker that ${
      { crash: "crashes", hang: "hangs", garbage: "prints garbage" }[mode]
    } mid-round gives failed rows, and a new worker serves the next round`,
    ...opts,
  }, async () => {
    const dir = await Deno.makeTempDir();
    const server = await EmbeddedServer.start({
      maxPool: 3,
      payloadBytes: 100,
    });
    try {
      await Deno.writeTextFile(`${dir}/fake.js`, FAKE);
      const runner = await WorkerRunner.start("fake", [
        Deno.execPath(),
        "run",
        "-A",
        `${dir}/fake.js`,
        mode,
        `${dir}/starts`,
      ]);
      assert(typeof runner !== "string", String(runner));
      const sink = new MemorySink();
      const t0 = performance.now();
      const r = await runStep(runner, 3, {
        target: server.target,
        runId: "t",
        runStart: performance.now(),
        stepSeconds: 0,
        minRounds: 3,
        // The hang is caught at the timeout plus the worker grace (5 s).
        timeoutMs: 500,
        sink,
      });
      await runner.close();
      assertEquals(r.rounds, 3);
      const first = sink.sessions.filter((s) => s.round === 1);
      if (mode === "crash") {
        // What the worker reported before it died is kept as it was.
        assertEquals(first[0].error, "reported before the crash");
        first.shift();
      }
      for (const s of first) {
        assertEquals(s.status, status);
        assert(reason.test(s.error), s.error);
      }
      // The failed round's CPU: measured from outside where the worker has a
      // cgroup (root), else unknown (the worker never reported it).
      const cgroup = runner.cpuNow !== undefined;
      const failedCpu = sink.rounds[0].client_cpu_ms;
      assert(cgroup ? failedCpu >= 0 : Number.isNaN(failedCpu), `${failedCpu}`);
      // Rounds 2 and 3: a restarted worker, real connections, all ok.
      const later = sink.sessions.filter((s) => s.round > 1);
      assertEquals(later.map((s) => s.status), Array(6).fill("ok"));
      assert(later.every((s) => s.bytes > 0 && s.connect_ms! >= 0));
      assertEquals(runner.restarts, 1);
      if (!cgroup) assertEquals(sink.rounds[2].client_cpu_ms, 1); // 4 - 3, as reported
      else assert(sink.rounds[2].client_cpu_ms > 0);
      assert(performance.now() - t0 < 15_000);
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test({
  name: "workers: a worker whose library is missing is a notice, not a crash",
  ...opts,
}, async () => {
  const r = await WorkerRunner.start("gone", [
    Deno.execPath(),
    "eval",
    "console.error('install python3-nothing'); Deno.exit(3)",
  ]);
  assertEquals(r, "install python3-nothing");
});

Deno.test({
  name:
    "workers: a compiled worker is built on first use, rebuilt when its source is newer; a failed build names .ci/setup",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const program: GoProgram = {
      what: "a test program",
      source: `${dir}/main.go`,
      bin: `${dir}/main`,
    };
    const say = (v: string) =>
      `package main\n\nimport "fmt"\n\nvar xcryptoVersion = "?"\n\nfunc main() { fmt.Println("${v}", xcryptoVersion) }\n`;
    const output = async () =>
      new TextDecoder().decode(
        (await new Deno.Command(program.bin).output()).stdout,
      ).trim();
    await Deno.writeTextFile(program.source, say("one"));
    assertEquals(await ensureGoBinary(program), program.bin);
    // x/crypto's Debian version is linked in.
    assertMatch(await output(), /^one \d+\.\d+\.\d+$/);
    // Up to date: not built again.
    const built = Deno.statSync(program.bin).mtime!.getTime();
    await ensureGoBinary(program);
    assertEquals(Deno.statSync(program.bin).mtime!.getTime(), built);
    // A newer source: rebuilt.
    await Deno.writeTextFile(program.source, say("two"));
    const later = new Date(built + 2000);
    await Deno.utime(program.source, later, later);
    await ensureGoBinary(program);
    assertMatch(await output(), /^two /);
    // A source that does not compile: one line naming the file, the line
    // and .ci/setup; the old binary stays, no temporary file is left.
    await Deno.writeTextFile(
      program.source,
      "package main\n\nfunc main() { x }\n",
    );
    const broken = new Date(built + 4000);
    await Deno.utime(program.source, broken, broken);
    const err = await ensureGoBinary(program).then(() => undefined, (e) => e);
    assert(err instanceof UsageError, String(err));
    assertMatch(
      err.message,
      /^building a test program failed \(go build \S*main\.go, GOPATH=\/usr\/share\/gocode\): \S*main\.go:3:\d+: .*; run \.ci\/setup$/,
    );
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["main", "main.go"],
    );
    assertMatch(await output(), /^two /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
