/**
 * Costs and calibration against a real sshd: both server profiles serve
 * sessions; the calibration names a slow login shell (and only that) as a
 * shell problem; the machine CPU of every round covers what the client and
 * the server were charged.
 */
import { assert, assertEquals } from "./assert.ts";
import { loadRunners } from "../src/clients/mod.ts";
import { EmbeddedServer } from "../src/server/embedded.ts";
import { calibrateAll } from "../src/run/calibration.ts";
import { runStep } from "../src/run/sweep.ts";
import { MemorySink } from "./helpers.ts";
import { assertNoNewDirs, serverDirs } from "./server_helpers.ts";

// Worker processes, as a run uses them; closed by the last test.
const clients = await loadRunners(["ssh2", "libssh2"], (l) => {
  throw new Error(`client missing in the test environment: ${l}`);
});

const opts = { sanitizeResources: false, sanitizeOps: false };

for (const profile of ["lean", "stock"] as const) {
  Deno.test({
    name: `costs: the ${profile} server profile starts and serves sessions`,
    ...opts,
  }, async () => {
    const before = serverDirs();
    const server = await EmbeddedServer.start({
      maxPool: 4,
      payloadBytes: 26_000,
      profile,
    });
    try {
      assertEquals(server.profile.name, profile);
      const lean = profile === "lean";
      // OpenSSH <= 9.7 has -r: the lean profile uses it, stock never does.
      assertEquals(server.profile.flags.includes("-r"), lean);
      assert(server.config.includes(`(profile ${profile})`));
      assertEquals(server.config.includes("\nUseDNS no\n"), lean);
      for (const client of clients) {
        const sink = new MemorySink();
        const r = await runStep(client, 4, {
          target: server.target,
          runId: "t",
          runStart: performance.now(),
          stepSeconds: 0,
          minRounds: 2,
          timeoutMs: 30_000,
          sink,
          serverCpuMs: () => server.cpuMs(),
        });
        assertEquals(r.ok, 8, JSON.stringify(sink.sessions.slice(0, 2)));
        for (const round of sink.rounds) {
          // Same window or wider for the machine, whose counters tick every
          // 10 ms on each core: up to one tick per core at each of its two
          // readings.
          const charged = round.client_cpu_ms + (round.server_cpu_ms ?? 0);
          assert(
            round.machine_cpu_ms !== undefined &&
              charged <=
                round.machine_cpu_ms + 10 * 2 * navigator.hardwareConcurrency,
            `client ${round.client_cpu_ms} + server ${round.server_cpu_ms} > machine ${round.machine_cpu_ms}`,
          );
          assert(round.steal_cpu_ms !== undefined && round.steal_cpu_ms >= 0);
        }
      }
    } finally {
      await server.stop();
    }
    assertNoNewDirs(before);
  });
}

async function calibrationLines(extraConfig?: string): Promise<string[]> {
  const server = await EmbeddedServer.start({
    maxPool: 1,
    payloadBytes: 1000,
    extraConfig,
  });
  try {
    const lines: string[] = [];
    await calibrateAll(
      clients,
      server.target,
      30_000,
      (l) => lines.push(l),
      true,
    );
    return lines;
  } finally {
    await server.stop();
  }
}

Deno.test({
  name: "costs: a slow login shell is named as such by the calibration",
  ...opts,
}, async () => {
  // What a login whose rc file sleeps 0.3 s does to every command.
  const lines = await calibrationLines(
    'ForceCommand sleep 0.3; exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
  );
  console.log(lines.join("\n"));
  const warning = lines.find((l) => l.startsWith("warning:"));
  assert(
    warning?.startsWith("warning: the remote login shell is slow:"),
    lines.join("\n"),
  );
  for (const c of clients) {
    const line = lines.find((l) => l.includes(`with ${c.name}:`));
    assert(line?.includes("(slow login shell)"), line);
  }
});

Deno.test({
  name:
    "costs: without a slow shell there is no shell warning, whatever the exec phase",
  ...opts,
}, async () => {
  const lines = await calibrationLines();
  console.log(lines.join("\n"));
  assertEquals(lines.filter((l) => l.startsWith("warning:")), []);
  assertEquals(lines.filter((l) => l.includes("slow login shell")), []);
  for (const l of lines) {
    // An exec phase over 30 ms here is the delayed-ACK stall, said so.
    const exec = Number(/exec ([\d.]+) ms/.exec(l)?.[1]);
    if (exec >= 30) assert(l.includes("delayed-ACK stall"), l);
  }
});

Deno.test({
  name: "costs: workers close and leave no cgroup behind",
  ...opts,
}, async () => {
  await Promise.all(clients.map((c) => c.close()));
  const left: string[] = [];
  for (const root of ["/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup"]) {
    try {
      for (const e of Deno.readDirSync(root)) {
        if (e.name.startsWith(`ssh-bench-${Deno.pid}-`)) left.push(e.name);
      }
    } catch {
      // no such hierarchy on this machine: nothing was created there
    }
  }
  assertEquals(left, []);
});
