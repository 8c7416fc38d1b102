/**
 * Every client against a real embedded sshd: full sessions at small pools,
 * a refused key, a closed port, a hanging command; no leaks, no leftovers.
 */
import { assert, assertEquals } from "./assert.ts";
import { loadClients } from "../src/clients/mod.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { runStep } from "../src/run/sweep.ts";
import { timedSession } from "../src/clients/timed.ts";
import { InProcessRunner } from "../src/clients/runner.ts";
import type { SshClient } from "../src/clients/seam.ts";
import { MemorySink } from "./helpers.ts";
import {
  assertNoNewDirs,
  benchSshdPids,
  closedPort,
  openFds,
  serverDirs,
  strangerKey,
} from "./server_helpers.ts";

const clients: SshClient[] = await loadClients(
  ["ssh2", "libssh2", "openssh"],
  (l) => {
    throw new Error(`client missing in the test environment: ${l}`);
  },
);

Deno.test({
  name: "clients: pool 1..3 against a real sshd, every session ok",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const before = serverDirs();
  const server = await EmbeddedServer.start({
    maxPool: 3,
    payloadBytes: 26_000,
  });
  try {
    for (const client of clients) {
      await t.step(client.name, async () => {
        const sink = new MemorySink();
        const runStart = performance.now();
        let serverCpu = 0;
        for (const pool of [1, 2, 3]) {
          const r = await runStep(new InProcessRunner(client), pool, {
            target: server.target,
            runId: "it",
            runStart,
            stepSeconds: 0,
            minRounds: 2,
            timeoutMs: 20_000,
            sink,
            serverCpuMs: () => server.cpuMs(),
          });
          serverCpu += r.serverCpuMs;
        }
        assertEquals(sink.sessions.length, 2 * (1 + 2 + 3));
        for (const s of sink.sessions) {
          assertEquals(s.status, "ok", `${client.name}: ${s.error}`);
          assertEquals(s.exit_code, 0);
          assertEquals(s.bytes, server.payload.bytes);
          assertEquals(s.lines, server.payload.lines);
          const phases = [
            s.connect_ms,
            s.auth_ms,
            s.exec_ms,
            s.read_ms,
            s.close_ms,
            s.disconnect_ms,
          ];
          for (const p of phases) assert(p !== undefined && p >= 0);
          // One command: no re-execution.
          assertEquals([s.commands, s.reexec_ms], [1, undefined]);
          const sum = phases.reduce((a, b) => a! + b!, 0)!;
          assert(
            Math.abs(sum - s.total_ms) < 1,
            `phases ${sum} vs ${s.total_ms}`,
          );
        }
        assertEquals(sink.rounds.length, 6);
        assert(sink.rounds.every((r) => r.server_cpu_ms !== undefined));
        assert(serverCpu > 0, "sshd spent CPU on 12 sessions");
      });
    }
  } finally {
    await server.stop();
  }
  assertEquals(benchSshdPids(), []);
  assertNoNewDirs(before);
});

Deno.test({
  name: "clients: refused key, closed port and a hanging command",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const server = await EmbeddedServer.start({ maxPool: 5, payloadBytes: 1000 });
  const stranger = await strangerKey();
  try {
    for (const client of clients) {
      await t.step(client.name, async () => {
        const fds = openFds();
        for (let i = 0; i < 5; i++) {
          const bad = await timedSession(client, {
            ...server.target,
            identityFile: stranger.key,
            publicKeyFile: `${stranger.key}.pub`,
          }, 10_000);
          assertEquals(
            bad.outcome.status,
            "auth_error",
            `${client.name}, refused key: ${bad.outcome.status} ${bad.outcome.error}`,
          );
          assert(bad.outcome.error.length > 0);
          // The key exchange was done before auth failed: it is reported.
          assertEquals(
            bad.outcome.negotiated?.hostKey,
            "ssh-ed25519",
            `${client.name}, refused key: negotiated`,
          );
          const closed = await timedSession(client, {
            ...server.target,
            port: closedPort(),
          }, 10_000);
          assertEquals(
            closed.outcome.status,
            "connect_error",
            closed.outcome.error,
          );
          assert(/refused/i.test(closed.outcome.error), closed.outcome.error);
          assertEquals(closed.outcome.negotiated, undefined);
        }
        const t0 = performance.now();
        const hang = await timedSession(client, {
          ...server.target,
          command: "sleep 30",
        }, 1000);
        assertEquals(
          hang.outcome.status,
          "timeout",
          `${client.name}, hang: ${hang.outcome.status} ${hang.outcome.error}`,
        );
        assert(performance.now() - t0 < 4000, "timeout returned promptly");
        // Give child processes and sockets a moment to be reaped.
        await new Promise((r) => setTimeout(r, 300));
        assert(openFds() <= fds + 2, `fds ${fds} -> ${openFds()}`);
      });
    }
  } finally {
    await server.stop();
    await Deno.remove(stranger.dir, { recursive: true });
  }
  assertEquals(benchSshdPids(), []);
});

Deno.test({
  name: "libssh2: 200 failing sessions free their sockets and sessions",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const libssh2 = clients.find((c) => c.name === "libssh2")!;
  const server = await EmbeddedServer.start({ maxPool: 20, payloadBytes: 100 });
  const stranger = await strangerKey();
  try {
    const fds = openFds();
    const rss = Deno.memoryUsage().rss;
    const bad = {
      ...server.target,
      identityFile: stranger.key,
      publicKeyFile: `${stranger.key}.pub`,
    };
    const closed = { ...server.target, port: closedPort() };
    const statuses = new Map<string, number>();
    const odd: string[] = [];
    for (let round = 0; round < 10; round++) {
      const done = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => timedSession(libssh2, i % 2 ? bad : closed, 10_000),
        ),
      );
      for (const [i, d] of done.entries()) {
        const want = i % 2 ? "auth_error" : "connect_error";
        if (d.outcome.status !== want) {
          odd.push(`${want} expected: ${d.outcome.status} ${d.outcome.error}`);
        }
        statuses.set(
          d.outcome.status,
          (statuses.get(d.outcome.status) ?? 0) + 1,
        );
      }
    }
    assertEquals(odd, []);
    assertEquals(Object.fromEntries(statuses), {
      auth_error: 100,
      connect_error: 100,
    });
    assert(openFds() <= fds + 2, `fds ${fds} -> ${openFds()}`);
    const grown = (Deno.memoryUsage().rss - rss) / 2 ** 20;
    assert(grown < 64, `RSS grew by ${grown.toFixed(1)} MiB`);
  } finally {
    await server.stop();
    await Deno.remove(stranger.dir, { recursive: true });
  }
});
