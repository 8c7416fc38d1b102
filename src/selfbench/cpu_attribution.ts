/**
 * `deno task bench:cpu [POOL] [ROUNDS]`: where the machine's CPU goes
 * during rounds of one client (ssh2 in its worker) against the embedded
 * sshd, and what the part attributed to neither client nor server is.
 * Per round it reads /proc/stat by category (user, system, softirq, irq,
 * steal), the worker's, the benchmark's and sshd's own CPU as the run
 * does, and the CPU of every other process on the machine (from
 * /proc/<pid>/stat before and after), and prints the totals.
 *
 * @module
 */
import { loadRunners } from "../clients/registry.ts";
import { runStep } from "../run/sweep.ts";
import type { RoundRow } from "../run/schema.ts";
import { EmbeddedServer } from "../server/embedded.ts";
import { machineCpu } from "../util/cpu.ts";
import { descendants, procCpuMs } from "../util/proc.ts";

/** CPU (self, not children) of every process now, ms, by pid. */
function allProcesses(): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const c = procCpuMs(Number(e.name));
    if (c) out.set(Number(e.name), c.self);
  }
  return out;
}

if (import.meta.main) {
  const pool = Number(Deno.args[0] ?? 100);
  const rounds = Number(Deno.args[1] ?? 6);
  const server = await EmbeddedServer.start({
    maxPool: pool,
    payloadBytes: 26_000,
  });
  const [client] = await loadRunners(["ssh2"], console.error);
  try {
    // Warm-up round, not counted.
    await client.runRound({
      round: 0,
      sessions: pool,
      target: server.target,
      commandsPerSession: 1,
      timeoutMs: 60_000,
    });
    const ours = new Set<number>([Deno.pid, server.pid]);
    const rows: RoundRow[] = [];
    const m0 = machineCpu()!;
    const p0 = allProcesses();
    const r = await runStep(client, pool, {
      target: server.target,
      runId: "cpu",
      runStart: performance.now(),
      stepSeconds: 0,
      minRounds: rounds,
      timeoutMs: 60_000,
      sink: { write: (_, round) => rows.push(round) },
      serverCpuMs: () => server.cpuMs(),
      settle: async () => {
        const deadline = performance.now() + 200;
        while (
          descendants(server.pid).length > 0 && performance.now() < deadline
        ) await new Promise((res) => setTimeout(res, 5));
      },
    });
    const m1 = machineCpu()!;
    const p1 = allProcesses();
    // Processes other than the benchmark, its worker(s) and sshd's tree.
    for (const pid of descendants(Deno.pid)) ours.add(pid);
    let others = 0;
    const top: [number, number][] = [];
    for (const [pid, cpu] of p1) {
      if (ours.has(pid)) continue;
      const d = cpu - (p0.get(pid) ?? 0);
      if (d > 0) {
        others += d;
        top.push([pid, d]);
      }
    }
    const sum = (k: keyof RoundRow) =>
      rows.reduce((s, x) => s + (Number(x[k]) || 0), 0);
    const n = r.sessions;
    const machine = sum("machine_cpu_ms");
    const client_ = sum("client_cpu_ms");
    const serverCpu = sum("server_cpu_ms");
    const harness = sum("harness_cpu_ms");
    const un = machine - client_ - serverCpu;
    const per = (v: number) => `${(v / n).toFixed(2)} ms/session`;
    console.log(
      `ssh2 pool ${pool}, ${r.rounds} rounds, ${n} sessions (${r.ok} ok)`,
    );
    console.log(`machine busy (rounds' windows)  ${per(machine)}`);
    console.log(`  client (ssh2 worker)          ${per(client_)}`);
    console.log(`  server (sshd and sessions)    ${per(serverCpu)}`);
    console.log(
      `  unattributed                  ${per(un)} (${
        (100 * un / machine).toFixed(1)
      } % of the machine)`,
    );
    console.log(`    of which the harness        ${per(harness)}`);
    const wall = {
      softirq: m1.softirqMs - m0.softirqMs,
      irq: m1.irqMs - m0.irqMs,
      steal: m1.stealMs - m0.stealMs,
      busy: m1.busyMs - m0.busyMs,
    };
    console.log(
      `whole step (incl. between rounds): busy ${per(wall.busy)}, softirq ${
        per(wall.softirq)
      }, irq ${per(wall.irq)}, steal ${per(wall.steal)}, other processes ${
        per(others)
      }`,
    );
    top.sort((a, b) => b[1] - a[1]);
    for (const [pid, d] of top.slice(0, 5)) {
      let name = "?";
      try {
        name = Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
      } catch {
        // gone
      }
      console.log(`    other: ${name} (${pid}) ${d.toFixed(0)} ms`);
    }
  } finally {
    await client.close();
    await server.stop();
  }
}
