/**
 * `deno task bench:harness`: the harness's own CPU per session. Runs the
 * sweep with the null client (no I/O) at pool 100 and 1000, writing real
 * CSV files and driving the progress output, and compares its CPU per
 * session with the cheapest real client's, measured in the same process
 * against the embedded server at pool 10. Target: under 2 %.
 *
 * @module
 */
import { loadClients } from "../clients/mod.ts";
import { NullClient } from "../clients/null.ts";
import { CsvSink } from "../run/csv_sink.ts";
import { procCpuMs } from "../util/proc.ts";
import { Progress } from "../run/progress.ts";
import { EmbeddedServer } from "../server/embedded.ts";
import { runStep } from "../run/sweep.ts";
import type { SshClient, Target } from "../clients/seam.ts";

function cpu(): number {
  const c = procCpuMs("self")!;
  return c.self + c.children;
}

async function harnessCost(pool: number, seconds: number): Promise<number> {
  const dir = await Deno.makeTempDir();
  try {
    const sink = CsvSink.create(dir);
    const progress = new Progress({
      totalSteps: 1,
      stepSeconds: seconds,
      tty: false,
      write: () => {},
    });
    const client = new NullClient();
    const c0 = cpu();
    const r = await runStep(client, pool, {
      target: {} as Target,
      runId: "harness",
      runStart: performance.now(),
      stepSeconds: seconds,
      minRounds: 5,
      timeoutMs: 60_000,
      sink,
      onRound: (p) => progress.round(p),
    });
    progress.step(r);
    sink.close();
    const used = cpu() - c0;
    console.log(
      `null client, pool ${pool}: ${r.sessions} sessions in ${r.rounds} rounds, harness CPU ${
        (used / r.sessions * 1000).toFixed(1)
      } µs per session`,
    );
    return used / r.sessions;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function cheapestClient(
  seconds: number,
): Promise<{ name: string; ms: number }> {
  const server = await EmbeddedServer.start({
    maxPool: 10,
    payloadBytes: 26_000,
  });
  const clients: SshClient[] = await loadClients(undefined, console.error);
  try {
    let best = { name: "", ms: Infinity };
    for (const c of clients) {
      const r = await runStep(c, 10, {
        target: server.target,
        runId: "harness",
        runStart: performance.now(),
        stepSeconds: seconds,
        minRounds: 3,
        timeoutMs: 60_000,
        sink: { write: () => {} },
        clientCpuMs: cpu,
      });
      const ms = r.clientCpuMs / r.sessions;
      console.log(
        `${c.name}, pool 10: ${r.sessions} sessions, client CPU ${
          ms.toFixed(2)
        } ms per session`,
      );
      if (ms < best.ms) best = { name: c.name, ms };
    }
    return best;
  } finally {
    await server.stop();
    for (const c of clients) c.close?.();
  }
}

if (import.meta.main) {
  const h100 = await harnessCost(100, 3);
  const h1000 = await harnessCost(1000, 3);
  const best = await cheapestClient(3);
  const worst = Math.max(h100, h1000);
  const pct = 100 * worst / best.ms;
  console.log(
    `\nharness: ${(h100 * 1000).toFixed(1)} µs/session at pool 100, ${
      (h1000 * 1000).toFixed(1)
    } µs/session at pool 1000; cheapest client ${best.name}: ${
      best.ms.toFixed(2)
    } ms/session; harness = ${pct.toFixed(2)} % of it (target < 2 %): ${
      pct < 2 ? "PASS" : "FAIL"
    }`,
  );
}
