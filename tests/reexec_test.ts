/**
 * Re-execute on the same session (`commandsPerSession` K), every client
 * against a real embedded sshd: K commands on one connection, the phases
 * close (first command, session still open), reexec and disconnect, a
 * nonzero exit on a re-execution, a hang on one; openssh's connection
 * master leaves no process and no socket directory behind.
 */
import { assert, assertEquals } from "./assert.ts";
import { loadClients, loadRunners } from "../src/clients/mod.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { runStep } from "../src/run/sweep.ts";
import { timedSession } from "../src/clients/timed.ts";
import { type ClientRunner, InProcessRunner } from "../src/clients/runner.ts";
import type { SshClient, Target } from "../src/clients/seam.ts";
import type { SessionRow } from "../src/run/schema.ts";
import { MemorySink } from "./helpers.ts";
import {
  assertNoNewDirs,
  benchSshdPids,
  serverDirs,
} from "./server_helpers.ts";

const clients: SshClient[] = await loadClients(
  ["ssh2", "libssh2", "openssh"],
  (l) => {
    throw new Error(`client missing in the test environment: ${l}`);
  },
);

const MUX_PREFIX = "ssh-bench-mux-";

/** openssh's connection-master socket directories on disk. */
function muxDirs(): string[] {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  return [...Deno.readDirSync(tmp)].filter((e) =>
    e.isDirectory && e.name.startsWith(MUX_PREFIX)
  ).map((e) => `${tmp}/${e.name}`);
}

/** The worker clients these tests run too (the others are in-process). */
const WORKERS = ["xcrypto"];

/** The in-process clients as runners, then the worker clients'. */
async function allRunners(): Promise<ClientRunner[]> {
  const workers = await loadRunners(WORKERS, () => {}, {
    stderr: () => () => {},
  });
  return [...clients.map((c) => new InProcessRunner(c)), ...workers];
}

/**
 * Pids of `ssh` connection masters of this client, and of this process's
 * children left unreaped (zombies).
 */
function leftovers(): { masters: number[]; zombies: number[] } {
  const masters: number[] = [];
  const zombies: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      if (cmd.includes(`ControlPath=`) && cmd.includes(MUX_PREFIX)) {
        masters.push(Number(e.name));
      }
      // pid (comm) state ppid ...
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z" && Number(ppid) === Deno.pid) {
        zombies.push(Number(e.name));
      }
    } catch {
      // gone
    }
  }
  return { masters, zombies };
}

/** A directory every account can write to (the remote user is another). */
function sharedDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "reexec-test-" });
  Deno.chmodSync(dir, 0o777);
  return dir;
}

/** The phase columns of a row that are set, in order. */
const PHASE_COLS = [
  "connect_ms",
  "auth_ms",
  "exec_ms",
  "read_ms",
  "close_ms",
  "reexec_ms",
  "disconnect_ms",
] as const;

function phaseSum(s: SessionRow): number {
  return PHASE_COLS.reduce((a, c) => a + (s[c] ?? 0), 0);
}

Deno.test({
  name: "reexec: K = 3 and K = 1 against a real sshd, every client",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const before = serverDirs();
  const muxBefore = muxDirs();
  const server = await EmbeddedServer.start({
    maxPool: 3,
    payloadBytes: 26_000,
  });
  const dir = sharedDir();
  const runners = await allRunners();
  try {
    for (const client of runners) {
      await t.step(client.name, async () => {
        // Each command appends a line to a file named after the sshd
        // process serving its connection: K lines per file when the K
        // commands share one connection.
        const conn = `${dir}/${client.name}`;
        Deno.mkdirSync(conn, { mode: 0o777 });
        Deno.chmodSync(conn, 0o777);
        const target: Target = {
          ...server.target,
          command: `${server.target.command}; echo x >> ${conn}/c.$PPID`,
        };
        for (const k of [3, 1]) {
          const sink = new MemorySink();
          const runStart = performance.now();
          for (const pool of [1, 2, 3]) {
            await runStep(client, pool, {
              target,
              runId: "it",
              runStart,
              stepSeconds: 0,
              minRounds: 2,
              timeoutMs: 20_000,
              sink,
              commandsPerSession: k,
            });
          }
          assertEquals(sink.sessions.length, 2 * (1 + 2 + 3));
          for (const s of sink.sessions) {
            const at = `${client.name}, K = ${k}`;
            assertEquals(s.status, "ok", `${at}: ${s.error}`);
            assertEquals(s.commands, k, at);
            assertEquals(s.exit_code, 0);
            // bytes and lines are the first command's.
            assertEquals(s.bytes, server.payload.bytes);
            assertEquals(s.lines, server.payload.lines);
            for (const c of PHASE_COLS) {
              if (c === "reexec_ms" && k === 1) continue;
              assert(s[c] !== undefined && s[c]! >= 0, `${at}: ${c} ${s[c]}`);
            }
            if (k === 1) assertEquals(s.reexec_ms, undefined, at);
            else assert(s.reexec_ms! > 0, `${at}: reexec ${s.reexec_ms}`);
            // The phases cover the session; what is left is the time from
            // the last mark to the harness's end stamp: reaping the client's
            // processes and the worker's event loop, up to a few ms on a busy
            // 2-core machine (3.8 ms seen for openssh at K = 3 in a CI run).
            // A phase left out would leave far more: re-execute alone is
            // over 8 ms for every client.
            const left = s.total_ms - phaseSum(s);
            assert(
              left > -0.5 && left < Math.max(6, 0.02 * s.total_ms),
              `${at}: phases ${phaseSum(s)} vs total ${s.total_ms}`,
            );
          }
          const files = [...Deno.readDirSync(conn)].map((e) => e.name);
          assertEquals(files.length, sink.sessions.length, "one file each");
          for (const f of files) {
            const n = Deno.readTextFileSync(`${conn}/${f}`).trim().split("\n");
            assertEquals(n.length, k, `${client.name}: commands on ${f}`);
            Deno.removeSync(`${conn}/${f}`);
          }
        }
      });
    }
  } finally {
    await Promise.all(runners.map((r) => r.close()));
    await server.stop();
    Deno.removeSync(dir, { recursive: true });
  }
  assertEquals(benchSshdPids(), []);
  assertNoNewDirs(before);
  assertEquals(muxDirs().filter((d) => !muxBefore.includes(d)), []);
  assertEquals(leftovers(), { masters: [], zombies: [] });
});

Deno.test({
  name:
    "reexec: a nonzero exit on the first command or a re-execution, a hang on a re-execution",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const muxBefore = muxDirs();
  const server = await EmbeddedServer.start({ maxPool: 3, payloadBytes: 1000 });
  const dir = sharedDir();
  try {
    for (const client of clients) {
      await t.step(client.name, async () => {
        const conn = `${dir}/${client.name}`;
        Deno.mkdirSync(conn);
        Deno.chmodSync(conn, 0o777);
        // Fails (or hangs) from its second run on a connection on.
        const second = (then: string, first = server.target.command) =>
          `${first}; f=${conn}/s.$PPID; if [ -e $f ]; then ${then}; fi; touch $f`;
        const session = (command: string, k: number, timeoutMs = 20_000) =>
          Promise.all(
            [1, 2].map(() =>
              timedSession(client, {
                ...server.target,
                command,
                commandsPerSession: k,
              }, timeoutMs)
            ),
          );

        for (const d of await session(second("exit 3"), 3)) {
          const o = d.outcome;
          assertEquals(o.status, "exit_nonzero", `${client.name}: ${o.error}`);
          assertEquals(o.commands, 1);
          assertEquals(o.exitCode, 3);
          assert(/command 2 of 3/.test(o.error), o.error);
          assertEquals(o.bytes, server.payload.bytes);
          assert(d.clock.phases.close !== undefined, "first command closed");
          assertEquals(d.clock.phases.reexec, undefined);
          assertEquals(d.clock.phases.disconnect, undefined);
        }

        // The first command fails: no re-execution, a normal disconnect.
        for (const d of await session(`${server.target.command}; exit 5`, 3)) {
          const o = d.outcome;
          assertEquals(o.status, "exit_nonzero", `${client.name}: ${o.error}`);
          assertEquals([o.commands, o.exitCode], [0, 5]);
          assertEquals(d.clock.phases.reexec, undefined);
          assert(d.clock.phases.disconnect !== undefined, "disconnected");
        }

        const t0 = performance.now();
        // (No payload path in this one: a shell left sleeping on the
        // server would look like one of its processes to benchSshdPids.)
        for (const d of await session(second("sleep 5", "echo x"), 3, 1500)) {
          const o = d.outcome;
          assertEquals(o.status, "timeout", `${client.name}: ${o.error}`);
          assertEquals(o.commands, 1);
          assert(/reexec/.test(o.error), o.error);
        }
        assert(performance.now() - t0 < 4500, "timeout returned promptly");
        if (client.name === "openssh") {
          assertEquals(leftovers(), { masters: [], zombies: [] });
          assertEquals(muxDirs().filter((d) => !muxBefore.includes(d)), []);
        }
      });
    }
    // The worker clients, through the protocol: the same cases, the step
    // named as the worker protocol names it.
    const workers = await loadRunners(WORKERS, () => {}, {
      stderr: () => () => {},
    });
    try {
      for (const runner of workers) {
        await t.step(runner.name, async () => {
          const conn = `${dir}/${runner.name}`;
          Deno.mkdirSync(conn);
          Deno.chmodSync(conn, 0o777);
          const second = (then: string, first = server.target.command) =>
            `${first}; f=${conn}/s.$PPID; if [ -e $f ]; then ${then}; fi; touch $f`;
          let round = 0;
          const sessions = async (command: string, timeoutMs = 20_000) =>
            (await runner.runRound({
              round: ++round,
              sessions: 2,
              target: { ...server.target, command },
              commandsPerSession: 3,
              timeoutMs,
            }))!.sessions;

          for (const s of await sessions(second("exit 3"))) {
            assertEquals(
              s.status,
              "exit_nonzero",
              `${runner.name}: ${s.error}`,
            );
            // Only the commands that exited 0 count as completed (the
            // seam's rule, which every worker follows).
            assertEquals([s.commands, s.exit_code], [1, 3]);
            assert(/command 2 of 3/.test(s.error), s.error);
            assertEquals(s.bytes, server.payload.bytes);
            assert(s.close_ms !== null, "first command closed");
            assertEquals(s.reexec_ms, null);
          }

          for (const s of await sessions(`${server.target.command}; exit 5`)) {
            assertEquals(
              s.status,
              "exit_nonzero",
              `${runner.name}: ${s.error}`,
            );
            assertEquals([s.commands, s.exit_code, s.reexec_ms], [0, 5, null]);
            assert(s.disconnect_ms !== null, "disconnected");
          }

          const t0 = performance.now();
          for (const s of await sessions(second("sleep 5", "echo x"), 1500)) {
            assertEquals(s.status, "timeout", `${runner.name}: ${s.error}`);
            assertEquals(s.commands, 1);
            assert(/command 2 of 3/.test(s.error), s.error);
            assertEquals([s.reexec_ms, s.disconnect_ms], [null, null]);
          }
          assert(performance.now() - t0 < 4500, "timeout returned promptly");
        });
      }
    } finally {
      await Promise.all(workers.map((r) => r.close()));
    }
  } finally {
    await server.stop();
    Deno.removeSync(dir, { recursive: true });
  }
  assertEquals(benchSshdPids(), []);
  assertEquals(muxDirs().filter((d) => !muxBefore.includes(d)), []);
  assertEquals(leftovers(), { masters: [], zombies: [] });
});
